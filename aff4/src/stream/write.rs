//! Writing an aff4:ImageStream: chunks (compressed by the caller, possibly in parallel)
//! are appended in order to the current bevy; a full bevy is written as a stored member
//! followed by its `.index`, so memory is bounded by one bevy whatever the stream size.

use crate::codec::Compression;
use crate::hash::{HashAlgo, MultiHasher};
use crate::lexicon as lx;
use crate::rdf::{Graph, Term};
use crate::zip::ZipWriter;
use crate::{urn, Error, Result};
use std::io::Write;

/// ImageStream parameters.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Bytes per chunk (power of two, 512 .. 64 MiB). Default 32768.
    pub chunk_size: u32,
    /// Chunks per bevy. Default 1024.
    pub chunks_in_segment: u32,
    /// Codec. Default snappy.
    pub compression: Compression,
    /// Linear hashes of the stream's bytes (stored on the ImageStream).
    pub linear_hashes: Vec<HashAlgo>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            chunk_size: 32768,
            chunks_in_segment: 1024,
            compression: Compression::Snappy,
            linear_hashes: Vec::new(),
        }
    }
}

impl StreamOptions {
    fn validate(&self) -> Result<()> {
        if !self.chunk_size.is_power_of_two() || !(512..=64 << 20).contains(&self.chunk_size) {
            return Err(Error::InvalidArgument(format!(
                "chunk size {} must be a power of two in 512..=64 MiB",
                self.chunk_size
            )));
        }
        if self.chunks_in_segment == 0 || self.chunks_in_segment > 1 << 20 {
            return Err(Error::InvalidArgument(format!(
                "chunks_in_segment {} out of range",
                self.chunks_in_segment
            )));
        }
        Ok(())
    }
}

/// What a finished stream holds.
#[derive(Debug, Clone)]
pub struct StreamSummary {
    /// The stream URN.
    pub urn: String,
    /// Logical bytes.
    pub size: u64,
    /// Bytes stored in bevies.
    pub stored_bytes: u64,
    /// Chunks written.
    pub chunks: u64,
    /// Linear hashes of the stream bytes.
    pub hashes: Vec<(HashAlgo, String)>,
}

/// Writes one ImageStream into a [`ZipWriter`] passed to each call.
pub struct ImageStreamWriter {
    urn: String,
    member: String,
    opts: StreamOptions,
    bevy: Vec<u8>,
    index: Vec<u8>,
    bevy_no: u32,
    chunks_in_bevy: u32,
    size: u64,
    stored: u64,
    chunks: u64,
    short_seen: bool,
    hasher: MultiHasher,
    scratch: (Vec<u8>, Vec<u8>),
}

impl ImageStreamWriter {
    /// A writer for the stream `urn` of volume `volume_urn`.
    pub fn new(urn: &str, volume_urn: &str, opts: StreamOptions) -> Result<Self> {
        opts.validate()?;
        Ok(ImageStreamWriter {
            urn: urn.to_string(),
            member: urn::member_name_for_urn(urn, volume_urn),
            hasher: MultiHasher::new(&opts.linear_hashes),
            opts,
            bevy: Vec::new(),
            index: Vec::new(),
            bevy_no: 0,
            chunks_in_bevy: 0,
            size: 0,
            stored: 0,
            chunks: 0,
            short_seen: false,
            scratch: (Vec::new(), Vec::new()),
        })
    }

    /// The stream URN.
    pub fn urn(&self) -> &str {
        &self.urn
    }

    /// Logical bytes written so far (= the stream offset of the next chunk).
    pub fn position(&self) -> u64 {
        self.size
    }

    /// Appends one chunk: `raw` is its logical bytes (the chunk size, except for the
    /// last chunk), `stored` what [`Compression::encode_chunk`] made of the zero-padded
    /// chunk. Returns the chunk's stream offset.
    pub fn write_chunk<W: Write>(
        &mut self,
        zip: &mut ZipWriter<W>,
        raw: &[u8],
        stored: &[u8],
    ) -> Result<u64> {
        let cs = self.opts.chunk_size as usize;
        if self.short_seen {
            return Err(Error::InvalidArgument(format!(
                "{}: a short chunk must be the last one",
                self.urn
            )));
        }
        if raw.is_empty() || raw.len() > cs || stored.len() > cs {
            return Err(Error::InvalidArgument(format!(
                "{}: chunk of {} bytes (stored {})",
                self.urn,
                raw.len(),
                stored.len()
            )));
        }
        self.short_seen = raw.len() < cs;
        let at = self.size;
        self.index
            .extend_from_slice(&(self.bevy.len() as u64).to_le_bytes());
        self.index
            .extend_from_slice(&(stored.len() as u32).to_le_bytes());
        self.bevy.extend_from_slice(stored);
        self.hasher.update(raw);
        self.size += raw.len() as u64;
        self.stored += stored.len() as u64;
        self.chunks += 1;
        self.chunks_in_bevy += 1;
        if self.chunks_in_bevy == self.opts.chunks_in_segment {
            self.flush_bevy(zip)?;
        }
        Ok(at)
    }

    /// Convenience: encodes and writes `data` serially, one chunk at a time (`data`
    /// must be whole chunks except at the very end of the stream).
    pub fn write<W: Write>(&mut self, zip: &mut ZipWriter<W>, data: &[u8]) -> Result<()> {
        let cs = self.opts.chunk_size as usize;
        let (mut padded, mut stored) = std::mem::take(&mut self.scratch);
        for c in data.chunks(cs) {
            padded.clear();
            padded.extend_from_slice(c);
            padded.resize(cs, 0);
            self.opts.compression.encode_chunk(&padded, &mut stored);
            self.write_chunk(zip, c, &stored)?;
        }
        self.scratch = (padded, stored);
        Ok(())
    }

    fn flush_bevy<W: Write>(&mut self, zip: &mut ZipWriter<W>) -> Result<()> {
        if self.chunks_in_bevy == 0 {
            return Ok(());
        }
        let name = format!("{}/{:08}", self.member, self.bevy_no);
        zip.add_stored(&name, &self.bevy)?;
        zip.add_stored(&format!("{name}.index"), &self.index)?;
        self.bevy.clear();
        self.index.clear();
        self.bevy_no += 1;
        self.chunks_in_bevy = 0;
        Ok(())
    }

    /// Writes the last bevy and the stream's triples into `graph`.
    pub fn finish<W: Write>(
        mut self,
        zip: &mut ZipWriter<W>,
        graph: &mut Graph,
        volume_urn: &str,
    ) -> Result<StreamSummary> {
        self.flush_bevy(zip)?;
        let s = Term::iri(self.urn.clone());
        graph.insert(s.clone(), lx::RDF_TYPE, Term::iri(lx::IMAGE_STREAM));
        graph.insert(
            s.clone(),
            lx::CHUNK_SIZE,
            Term::typed(self.opts.chunk_size.to_string(), lx::XSD_INT),
        );
        graph.insert(
            s.clone(),
            lx::CHUNKS_IN_SEGMENT,
            Term::typed(self.opts.chunks_in_segment.to_string(), lx::XSD_INT),
        );
        graph.insert(
            s.clone(),
            lx::COMPRESSION_METHOD,
            Term::iri(self.opts.compression.iri()),
        );
        graph.insert(
            s.clone(),
            lx::SIZE,
            Term::typed(self.size.to_string(), lx::XSD_LONG),
        );
        graph.insert(s.clone(), lx::STORED, Term::iri(volume_urn));
        let hashes = self.hasher.finish();
        for (a, h) in &hashes {
            graph.insert(s.clone(), lx::HASH, Term::typed(h.clone(), a.datatype()));
        }
        Ok(StreamSummary {
            urn: self.urn,
            size: self.size,
            stored_bytes: self.stored,
            chunks: self.chunks,
            hashes,
        })
    }
}
