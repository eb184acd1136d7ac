//! The memory image of the §9 profile: Image (aff4:Image, aff4:MemoryImage) → Map
//! (category memory:physical, mapped offset = physical address) → ImageStream, each
//! `aff4://<uuid>` (see [`crate::writer`] for why not `<vol>/PhysicalMemory`).
//!
//! Gaps between ranges stay unmapped holes (memory semantics, AFF4-FORMAT.md §9 item
//! 6): tools that use the map's ranges see no RAM there; every reader returns zeros.

use super::image::{ImageCore, ImageKind, ImageSummary};
use super::VolumeWriter;
use crate::lexicon as lx;
use crate::stream::StreamOptions;
use crate::symbolic::Symbolic;
use crate::Result;
use std::io::Write;

const MEMORY: ImageKind = ImageKind {
    types: &[lx::IMAGE, lx::MEMORY_IMAGE],
    category: Some(lx::MEMORY_PHYSICAL),
};

/// Writes the memory image; ranges arrive in increasing physical order. Dropping it
/// without [`MemoryImageWriter::finish`] leaves the image out of the volume's metadata.
pub struct MemoryImageWriter<'a, W: Write> {
    vw: &'a mut VolumeWriter<W>,
    core: ImageCore,
}

impl<'a, W: Write> MemoryImageWriter<'a, W> {
    pub(super) fn new(vw: &'a mut VolumeWriter<W>, opts: StreamOptions) -> Result<Self> {
        let core = ImageCore::new(&vw.volume_urn, opts)?;
        Ok(MemoryImageWriter { vw, core })
    }

    /// The aff4:Image URN (where callers put acquisition metadata).
    pub fn image_urn(&self) -> &str {
        self.core.image_urn()
    }
    /// The aff4:Map URN.
    pub fn map_urn(&self) -> &str {
        self.core.map_urn()
    }
    /// The aff4:ImageStream URN.
    pub fn stream_urn(&self) -> &str {
        self.core.stream_urn()
    }
    /// The member name of `<map>/<name>`, e.g. `information.yaml` (where WinPmem and
    /// Rekall keep CR3, KernBase and the runs, AFF4-FORMAT.md §4.4): pass it to
    /// [`VolumeWriter::add_member`].
    pub fn map_member(&self, name: &str) -> String {
        crate::urn::member_name_for_urn(
            &format!("{}/{name}", self.core.map_urn()),
            &self.vw.volume_urn,
        )
    }
    /// The chunk size: the most `add_chunk` takes at once.
    pub fn chunk_size(&self) -> usize {
        self.core.chunk_size()
    }
    /// The end of the last range added (the lowest address the next may start at).
    pub fn position(&self) -> u64 {
        self.core.position()
    }

    /// Makes the volume recoverable if the run dies ([`crate::journal`],
    /// [`crate::recover`]): writes the journal header now, with the `ranges` the run
    /// sets out to read (`(start, end)`) and metadata for the Image (`(predicate,
    /// datatype, value)`), then a small record before every bevy and after every
    /// logical file, each flushed to the sink. Call before the first range.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] after data was added, or for a predicate or
    /// datatype with a space; I/O errors.
    pub fn start_journal(
        &mut self,
        ranges: &[(u64, u64)],
        meta: &[(String, String, String)],
    ) -> Result<()> {
        if self.core.position() != 0 {
            return Err(crate::Error::InvalidArgument(
                "start_journal must come before the first range".into(),
            ));
        }
        let vol = self.vw.volume_urn.clone();
        self.core
            .start_journal(&mut self.vw.zip, &vol, ranges, meta)?;
        self.vw.journal = true;
        Ok(())
    }

    /// Adds data read at physical address `phys`: `raw` holds at most one chunk (less
    /// at the end of a range), `stored` is [`crate::codec::Compression::encode_chunk`]
    /// of `raw` zero-padded to the chunk size.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] if `phys` is below the end of the previous
    /// range or the piece is empty or too long; ZIP write errors.
    pub fn add_chunk(&mut self, phys: u64, raw: &[u8], stored: &[u8]) -> Result<()> {
        self.core.add_chunk(&mut self.vw.zip, phys, raw, stored)
    }

    /// As [`MemoryImageWriter::add_chunk`] with `raw` = `buf[range]`, which the
    /// linear-hash thread reads from `buf` itself instead of a copy: the caller's buffer
    /// comes back to it (its `Drop`) once hashed (see
    /// [`crate::hash_thread::HashThread::update_shared`]; at most
    /// [`crate::hash_thread::SHARED_HELD`] buffers are held at once).
    ///
    /// # Errors
    /// As [`MemoryImageWriter::add_chunk`], and for a range outside `buf`.
    pub fn add_chunk_shared(
        &mut self,
        phys: u64,
        buf: &crate::hash_thread::SharedBuf,
        range: std::ops::Range<usize>,
        stored: &[u8],
    ) -> Result<()> {
        self.core
            .add_chunk_shared(&mut self.vw.zip, phys, buf, range, stored)
    }

    /// Maps `len` bytes at `phys` to a symbolic stream: aff4:Zero for all-zero pages,
    /// aff4:UnreadableData for pages that could not be read (nothing is stored).
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] if `phys` is below the end of the previous
    /// range or the range overflows.
    pub fn add_symbolic(&mut self, phys: u64, len: u64, s: Symbolic) -> Result<()> {
        self.core.add_symbolic(phys, len, s)
    }

    /// Finishes the stream and the map and records the image. `total_size` is the size
    /// of the physical address space (normally the end of the last RAM range); a gap
    /// before it is mapped to aff4:Zero so pyaff4 (which sizes a map by its last range)
    /// sees the whole image.
    ///
    /// # Errors
    /// ZIP write errors.
    pub fn finish(self, total_size: u64) -> Result<ImageSummary> {
        self.core.finish(self.vw, total_size, &MEMORY)
    }
}
