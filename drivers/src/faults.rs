//! Fault injection for tests: a source wrapper whose reads fail on chosen pages, or
//! are slowed down (to interrupt an acquisition while it runs).

use crate::{Error, PhysRange, ReadError, Source};
use std::collections::BTreeSet;
use std::time::Duration;

/// Wraps a source; any read touching a listed page fails with EIO, and every read
/// first sleeps for the configured delay.
pub struct FaultInjectingSource {
    inner: Box<dyn Source>,
    bad_pages: BTreeSet<u64>,
    delay: Duration,
}

impl FaultInjectingSource {
    /// Fails reads touching the 4 KiB pages starting at the addresses in `bad_pages`.
    pub fn new(inner: Box<dyn Source>, bad_pages: BTreeSet<u64>) -> Self {
        FaultInjectingSource {
            inner,
            bad_pages,
            delay: Duration::ZERO,
        }
    }

    /// Makes every read sleep `delay` first.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl Source for FaultInjectingSource {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn description(&self) -> String {
        format!("{} (with injected read faults)", self.inner.description())
    }
    fn ranges(&self) -> &[PhysRange] {
        self.inner.ranges()
    }
    fn winpmem_info(&self) -> Option<&crate::windows::protocol::MemoryInfo> {
        self.inner.winpmem_info()
    }
    fn read_at(&self, phys: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        let first = phys & !0xfff;
        let end = phys + buf.len() as u64;
        if self.bad_pages.range(first..end).next().is_some() {
            return Err(ReadError::Unreadable {
                phys,
                len: buf.len(),
                source: std::io::Error::from_raw_os_error(5),
            });
        }
        self.inner.read_at(phys, buf)
    }
}

/// Parses `0x1000,0x5000-0x8000` (hex addresses; a range END is exclusive) into page
/// start addresses.
pub fn parse_page_list(s: &str) -> Result<BTreeSet<u64>, Error> {
    let mut out = BTreeSet::new();
    let num = |t: &str| {
        u64::from_str_radix(t.trim().trim_start_matches("0x"), 16)
            .map_err(|_| Error::BadSpec(format!("bad page address {t:?}")))
    };
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)? & !0xfff, num(b)?);
                let mut p = a;
                while p < b && out.len() < 1 << 20 {
                    out.insert(p);
                    p += 4096;
                }
            }
            None => {
                out.insert(num(part)? & !0xfff);
            }
        }
    }
    Ok(out)
}
