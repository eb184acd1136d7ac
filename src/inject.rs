//! Testing-only fault injection on the acquisition's output (hidden flags).

use std::io::Write;

/// A writer that passes `limit` bytes through, flushes them, then blocks forever, so a
/// test can SIGKILL the process with exactly that prefix on disk
/// (`--inject-stall-after`).
pub struct StallWriter<W> {
    inner: W,
    left: Option<u64>,
}

impl<W: Write> StallWriter<W> {
    /// Wraps `inner`; `None` means no stall.
    pub fn new(inner: W, limit: Option<u64>) -> Self {
        StallWriter { inner, left: limit }
    }

    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for StallWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.left {
            None => self.inner.write(buf),
            Some(0) if !buf.is_empty() => {
                let _ = self.inner.flush();
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                }
            }
            Some(left) => {
                let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let k = self.inner.write(&buf[..n])?;
                self.left = Some(left - k as u64);
                Ok(k)
            }
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
