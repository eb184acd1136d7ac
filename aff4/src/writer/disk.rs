//! Disk-style images: aff4:DiskImage, aff4:ContiguousImage, aff4:Image → Map →
//! ImageStream, written sequentially; all-zero chunks become aff4:Zero ranges, so the
//! map has no holes and every reader returns the same bytes (AFF4-FORMAT.md §4.2).

use super::image::{ImageCore, ImageKind, ImageSummary};
use super::VolumeWriter;
use crate::lexicon as lx;
use crate::stream::StreamOptions;
use crate::symbolic::Symbolic;
use crate::{Error, Result};
use std::io::Write;

/// Writes a disk-style image sequentially (see [`VolumeWriter::disk_image`]).
pub struct DiskImageWriter<'a, W: Write> {
    vw: &'a mut VolumeWriter<W>,
    core: ImageCore,
    compression: crate::codec::Compression,
    pending: Vec<u8>,
    encoded: Vec<u8>,
    padded: Vec<u8>,
}

const DISK: ImageKind = ImageKind {
    types: &[lx::DISK_IMAGE, lx::CONTIGUOUS_IMAGE, lx::IMAGE],
    category: None,
};

impl<'a, W: Write> DiskImageWriter<'a, W> {
    pub(super) fn new(vw: &'a mut VolumeWriter<W>, opts: StreamOptions) -> Result<Self> {
        let compression = opts.compression;
        let core = ImageCore::new(&vw.volume_urn, opts)?;
        Ok(DiskImageWriter {
            vw,
            core,
            compression,
            pending: Vec::new(),
            encoded: Vec::new(),
            padded: Vec::new(),
        })
    }

    /// The aff4:Image URN.
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
    /// The chunk size.
    pub fn chunk_size(&self) -> usize {
        self.core.chunk_size()
    }
    /// Bytes accepted so far.
    pub fn position(&self) -> u64 {
        self.core.position() + self.pending.len() as u64
    }

    /// Appends `data` (any length); whole chunks are encoded serially, all-zero chunks
    /// recorded as aff4:Zero.
    ///
    /// # Errors
    /// ZIP write errors.
    pub fn write(&mut self, mut data: &[u8]) -> Result<()> {
        let cs = self.core.chunk_size();
        while !data.is_empty() {
            let take = (cs - self.pending.len()).min(data.len());
            let (head, rest) = data.split_at(take);
            self.pending.extend_from_slice(head);
            data = rest;
            if self.pending.len() == cs {
                self.flush_pending()?;
            }
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.pending);
        let r = if chunk.iter().all(|&b| b == 0) {
            self.add_zero(chunk.len() as u64)
        } else {
            // A short last chunk is encoded zero-padded (the stream stores it padded).
            let mut padded = std::mem::take(&mut self.padded);
            padded.clear();
            padded.extend_from_slice(&chunk);
            padded.resize(self.core.chunk_size(), 0);
            self.compression.encode_chunk(&padded, &mut self.encoded);
            self.padded = padded;
            let enc = std::mem::take(&mut self.encoded);
            let r = self.add_chunk(&chunk, &enc);
            self.encoded = enc;
            r
        };
        self.pending = chunk;
        self.pending.clear();
        r
    }

    /// Appends a chunk encoded by the caller (e.g. in parallel): `raw` at most one chunk,
    /// `stored` the encoding of `raw` zero-padded to the chunk size.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] while [`DiskImageWriter::write`] holds a partial
    /// chunk or for a bad chunk; ZIP write errors.
    pub fn add_chunk(&mut self, raw: &[u8], stored: &[u8]) -> Result<()> {
        self.no_pending()?;
        let at = self.core.position();
        self.core.add_chunk(&mut self.vw.zip, at, raw, stored)
    }

    /// Appends `len` zero bytes as an aff4:Zero range (nothing stored).
    ///
    /// # Errors
    /// As [`DiskImageWriter::add_chunk`].
    pub fn add_zero(&mut self, len: u64) -> Result<()> {
        self.no_pending()?;
        let at = self.core.position();
        self.core.add_symbolic(at, len, Symbolic::Zero)
    }

    fn no_pending(&self) -> Result<()> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "{}: a partial chunk from write() is pending",
                self.core.map_urn()
            )))
        }
    }

    /// Writes the last partial chunk, the stream, the map and the metadata.
    ///
    /// # Errors
    /// ZIP write errors.
    pub fn finish(mut self) -> Result<ImageSummary> {
        self.flush_pending()?;
        let size = self.core.position();
        self.core.finish(self.vw, size, &DISK)
    }
}
