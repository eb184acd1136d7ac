//! Writing a ZIP64 volume to a plain `Write` sink (no seeking).

use crate::Result;
use std::io::Write;

/// An append-only ZIP64 writer. Members are written one after another; `finish` writes
/// the central directory, the ZIP64 end records and the EOCD with the comment.
pub struct ZipWriter<W: Write> {
    _inner: W,
}

impl<W: Write> ZipWriter<W> {
    /// Starts a volume at offset 0 of `inner`.
    pub fn new(inner: W) -> Self {
        let _ = inner;
        todo!()
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        todo!()
    }

    /// Adds a stored member whose bytes are all known.
    pub fn add_stored(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let _ = (name, data);
        todo!()
    }

    /// Adds a deflated member whose bytes are all known.
    pub fn add_deflated(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let _ = (name, data);
        todo!()
    }

    /// Starts a stored member of unknown length (written with a ZIP64 data descriptor).
    pub fn start_stored(&mut self, name: &str) -> Result<StreamingMember<'_, W>> {
        let _ = name;
        todo!()
    }

    /// Writes the central directory and end records; returns the sink.
    pub fn finish(self, comment: &str) -> Result<W> {
        let _ = comment;
        todo!()
    }
}

/// A member being written; `Write` appends to it, [`StreamingMember::finish`] closes it.
pub struct StreamingMember<'a, W: Write> {
    _zip: &'a mut ZipWriter<W>,
}

impl<W: Write> StreamingMember<'_, W> {
    /// Writes the data descriptor and records the member in the directory.
    pub fn finish(self) -> Result<()> {
        todo!()
    }
}

impl<W: Write> Write for StreamingMember<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = buf;
        todo!()
    }
    fn flush(&mut self) -> std::io::Result<()> {
        todo!()
    }
}
