//! Chunk compression: the codecs of `aff4:compressionMethod` (AFF4-FORMAT.md §3.2–3.3).

use crate::Result;

/// A chunk codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Stored (`aff4:NullCompressor`).
    Stored,
    /// Raw Snappy block (`http://code.google.com/p/snappy/`).
    Snappy,
    /// LZ4 raw block (`https://code.google.com/p/lz4/`).
    Lz4,
    /// zlib (RFC 1950).
    Zlib,
    /// Raw deflate (RFC 1951). pyaff4 0.34 cannot read it.
    Deflate,
}

impl Compression {
    /// Recognises every URI real producers write (see AFF4-FORMAT.md §3.3).
    pub fn from_iri(iri: &str) -> Option<Self> {
        let _ = iri;
        todo!()
    }
    /// The URI we write.
    pub fn iri(self) -> &'static str {
        todo!()
    }
    /// Short name used on the command line and in reports (`snappy`, `lz4`, ...).
    pub fn name(self) -> &'static str {
        todo!()
    }
    /// Parses a short name.
    pub fn from_name(name: &str) -> Option<Self> {
        let _ = name;
        todo!()
    }

    /// Encodes one full (padded) chunk into `out` (cleared first) by the standard's rule:
    /// compressed if shorter than `chunk.len() - 16`, else the raw chunk. Returns whether
    /// the stored bytes are compressed.
    pub fn encode_chunk(self, chunk: &[u8], out: &mut Vec<u8>) -> bool {
        let _ = (chunk, out);
        todo!()
    }

    /// Decodes one stored chunk into `out` (cleared first). A chunk whose stored length
    /// equals `chunk_size` is raw. Output never exceeds `chunk_size`; anything that would
    /// is an error naming `urn`.
    pub fn decode_chunk(self, stored: &[u8], chunk_size: usize, out: &mut Vec<u8>, urn: &str) -> Result<()> {
        let _ = (stored, chunk_size, out, urn);
        todo!()
    }
}
