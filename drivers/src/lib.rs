//! Physical memory sources for pmem-aff4: physical range discovery (`/proc/iomem`),
//! sources behind one [`Source`] trait (`/dev/pmem`, `/dev/crash`, `/proc/kcore`,
//! `/dev/mem`, and dump files: raw, LiME, ELF core), and host facts. Knows nothing of AFF4.
#![deny(missing_docs)]

pub mod elf;
pub mod faults;
pub mod host;
pub mod iomem;
mod lime;
#[cfg(target_os = "linux")]
pub mod lmap;
mod sources;
pub mod windows;

/// Positioned reads on a `File` under one name on every platform (`pread` on Unix; an
/// OVERLAPPED offset on Windows, which also moves the file pointer no caller relies on).
mod file_ext {
    #[cfg(unix)]
    pub(crate) use std::os::unix::fs::FileExt;

    #[cfg(windows)]
    pub(crate) trait FileExt {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize>;
        fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
            while !buf.is_empty() {
                match self.read_at(buf, offset) {
                    Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                    Ok(n) => {
                        buf = &mut buf[n..];
                        offset += n as u64;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
    }

    #[cfg(windows)]
    impl FileExt for std::fs::File {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
            std::os::windows::fs::FileExt::seek_read(self, buf, offset)
        }
    }
}

pub use sources::{open_source, OpenOptions};
use std::path::PathBuf;

/// A half-open physical address range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysRange {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
}

impl PhysRange {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Sorts ranges and merges overlapping or touching ones.
pub fn merge_ranges(mut v: Vec<PhysRange>) -> Vec<PhysRange> {
    v.retain(|r| !r.is_empty());
    v.sort();
    let mut out: Vec<PhysRange> = Vec::with_capacity(v.len());
    for r in v {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// A failed read. An unreadable page is reported, never zero-filled.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The device refused or failed the read (EFAULT, EIO, EPERM, ...).
    #[error("physical {phys:#x}+{len:#x} unreadable: {source}")]
    Unreadable {
        /// Address.
        phys: u64,
        /// Length.
        len: usize,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The source is a dump file whose content is damaged (a compressed chunk that fails
    /// its checksum or does not decode). Not a memory fault: the import must stop, since
    /// nothing read from the damaged part can be trusted.
    #[error("{path}: damaged at physical {phys:#x}: {reason}")]
    Damaged {
        /// The dump file.
        path: String,
        /// First address of the read that failed.
        phys: u64,
        /// What is wrong.
        reason: String,
    },
    /// The request is outside the source's ranges.
    #[error("physical {phys:#x}+{len:#x} is outside the source's ranges")]
    OutOfRange {
        /// Address.
        phys: u64,
        /// Length.
        len: usize,
    },
}

/// A source of physical memory.
pub trait Source: Send + Sync {
    /// Short name: pmem, lmap, crash, kcore, devmem, raw, lime, elf.
    fn name(&self) -> &str;
    /// Human description (device or file and layout).
    fn description(&self) -> String;
    /// Readable physical ranges, sorted, non-overlapping.
    fn ranges(&self) -> &[PhysRange];
    /// Reads `buf.len()` bytes at physical `phys` (positional; callable from many threads).
    fn read_at(&self, phys: u64, buf: &mut [u8]) -> Result<(), ReadError>;
    /// Page size used for retrying failed reads.
    fn page_size(&self) -> usize {
        4096
    }
    /// How the source's kernel driver reads RAM, when it says: `pte-remap` or `kmap` for
    /// our pmem module (its `PMEM_IOC_GET_READ_METHOD` ioctl), `pte-remap` for lmap,
    /// `None` otherwise.
    fn read_method(&self) -> Option<&str> {
        None
    }
    /// The WinPmem driver's info block (CR3, KernBase, NtBuildNumber, KPCRs, runs), for
    /// the Windows source only.
    fn winpmem_info(&self) -> Option<&windows::protocol::MemoryInfo> {
        None
    }
}

/// Which source to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// Try /dev/pmem, /dev/crash, /proc/kcore, /dev/mem, then lmap, in that order (the
    /// non-invasive sources first: lmap loads code into the kernel).
    Auto,
    /// Our kernel module's device (default /dev/pmem).
    Pmem(Option<PathBuf>),
    /// lmap: inject the parasite into an installed module (this file, or the best host
    /// found under /lib/modules/$(uname -r)), load it and read through it.
    Lmap(Option<PathBuf>),
    /// Red Hat's /dev/crash.
    Crash,
    /// /proc/kcore.
    Kcore,
    /// /dev/mem.
    DevMem,
    /// A raw dump; ranges from an iomem-style file or the whole file.
    Raw {
        /// Dump file.
        path: PathBuf,
        /// Optional ranges file.
        ranges: Option<PathBuf>,
    },
    /// A LiME dump: uncompressed (version 1) or AVML's snappy-compressed version 2.
    Lime(PathBuf),
    /// An ELF core / vmcore.
    Elf(PathBuf),
    /// Windows: the WinPmem driver (`winpmem`, `winpmem:DRIVER.sys`).
    WinPmem(windows::WinPmemOptions),
}

impl std::str::FromStr for SourceSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        let path = || {
            arg.filter(|a| !a.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| Error::BadSpec(format!("{kind} needs a path: {kind}:PATH")))
        };
        Ok(match kind {
            "auto" => SourceSpec::Auto,
            "pmem" => SourceSpec::Pmem(arg.map(PathBuf::from)),
            "crash" => SourceSpec::Crash,
            "lmap" => SourceSpec::Lmap(arg.filter(|a| !a.is_empty()).map(PathBuf::from)),
            "kcore" => SourceSpec::Kcore,
            "devmem" | "mem" => SourceSpec::DevMem,
            "raw" => SourceSpec::Raw { path: path()?, ranges: None },
            "lime" => SourceSpec::Lime(path()?),
            "elf" => SourceSpec::Elf(path()?),
            "winpmem" => SourceSpec::WinPmem(windows::WinPmemOptions {
                driver: arg.filter(|a| !a.is_empty()).map(PathBuf::from),
                mode: None,
            }),
            other => {
                return Err(Error::BadSpec(format!(
                    "unknown source {other:?}: use auto, pmem[:DEV], lmap[:HOST.ko], crash, kcore, devmem, winpmem[:DRIVER.sys], raw:PATH, lime:PATH or elf:PATH"
                )))
            }
        })
    }
}

/// Errors opening sources or parsing their metadata.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bad `--source` value.
    #[error("{0}")]
    BadSpec(String),
    /// A source could not be opened; the message names it and the fix.
    #[error("{0}")]
    Unavailable(String),
    /// A dump file or device is malformed.
    #[error("{path}: {reason}")]
    Format {
        /// File.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// /proc/iomem (or a ranges file) could not be used.
    #[error("{0}")]
    Iomem(String),
    /// Every source of `--source auto` failed.
    #[error("no memory source works on this machine:\n  {}", .0.join("\n  "))]
    AllSourcesFailed(Vec<String>),
}
