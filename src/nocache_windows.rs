//! Windows stand-in for `nocache.rs` (same API): the container is written through one
//! fixed buffer with ordinary writes and synced at the end. It does not yet keep the
//! output out of the system file cache (`FILE_FLAG_NO_BUFFERING` with sector-aligned
//! writes would); docs/WINDOWS.md lists this as a known gap.

use std::fs::File;
use std::io::{self, Write};

/// How the bytes reach the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Unbuffered I/O (not available on Windows yet: never chosen).
    Direct,
    /// Buffered writes through one fixed buffer.
    WriteBehind,
}

impl Mode {
    /// A short name for logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Direct => "unbuffered",
            Mode::WriteBehind => "buffered (Windows: the file cache keeps the output)",
        }
    }
}

/// A file written through one fixed buffer.
pub struct UncachedFile {
    file: File,
    buf: Vec<u8>,
}

impl UncachedFile {
    /// Wraps `file` with a buffer of `buf_len` bytes; `_prefer` is ignored on Windows.
    ///
    /// # Errors
    /// If the buffer cannot be allocated.
    pub fn new(file: File, buf_len: usize, _prefer: Mode) -> io::Result<Self> {
        let mut buf = Vec::new();
        buf.try_reserve_exact(buf_len.max(4096))
            .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        Ok(UncachedFile { file, buf })
    }

    /// How the file is being written.
    pub fn mode(&self) -> Mode {
        Mode::WriteBehind
    }

    /// Makes what was written so far durable (`FlushFileBuffers`; the buffered tail is
    /// not written: see [`Write::flush`]).
    ///
    /// # Errors
    /// The sync error.
    pub fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Writes out what is buffered, syncs the file and returns it.
    pub fn finish(mut self) -> io::Result<File> {
        self.flush()?;
        self.file.sync_data()?;
        Ok(self.file)
    }
}

impl Write for UncachedFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() == self.buf.capacity() {
            self.flush()?;
        }
        let n = (self.buf.capacity() - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}
