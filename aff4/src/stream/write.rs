//! Writing an aff4:ImageStream (AFF4-FORMAT.md §3): chunks, compressed by the caller
//! (possibly in parallel) and handed over in order, are appended to the current bevy.
//! A full bevy is written as one stored member `<stream>/%08d`, followed by its
//! `.index` (12-byte `{u64 offset; u32 length}` entries); with block hashing on, a
//! one-bevy stream also gets one `00000000.blockHash.<algo>` member per algorithm (§6.2),
//! and with [`StreamOptions::block_hashes_every_bevy`] every bevy gets its own
//! (`%08d.blockHash.<algo>`, written after the bevy's index). Memory is bounded by one bevy
//! (`chunk_size * chunks_in_segment`, at most [`MAX_BEVY_BYTES`]) whatever the stream
//! size.

use crate::codec::Compression;
use crate::hash::{to_hex, HashAlgo, MultiHasher};
use crate::lexicon as lx;
use crate::rdf::{Graph, Term};
use crate::zip::ZipWriter;
use crate::{urn, Error, Result};
use std::io::Write;

/// The largest bevy (`chunk_size * chunks_in_segment`) a writer accepts: one bevy is
/// buffered in memory.
pub const MAX_BEVY_BYTES: u64 = 1 << 30;

/// ImageStream parameters. Build with struct-update syntax from [`Default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOptions {
    /// Bytes per chunk: a power of two in 512 ..= 64 MiB. Default 32768.
    pub chunk_size: u32,
    /// Chunks per bevy, 1 ..= 2^20. Default 1024.
    pub chunks_in_segment: u32,
    /// Chunk codec. Default Snappy (`http://code.google.com/p/snappy/`).
    pub compression: Compression,
    /// Linear hashes: of the stream's bytes for a plain [`ImageStreamWriter`]; of the
    /// whole virtual image for the image writers in [`crate::writer`]. Default
    /// `[Sha256]`.
    pub linear_hashes: Vec<HashAlgo>,
    /// Block hashes (one digest per chunk, AFF4-FORMAT.md §6.2). Default none. They are
    /// written only for a stream that fits in one bevy (raise `chunks_in_segment` to
    /// get them on bigger streams): pyaff4 mis-reads them past the first bevy (§6.3).
    pub block_hashes: Vec<HashAlgo>,
    /// Write block hashes for every bevy, not only for a one-bevy stream. Bevy `b >= 1`
    /// gets a deflated member holding its own digests at offset 0 (where the standard
    /// and our `--verify` read them), zeros, and the same digests again at offset
    /// `b * chunks_in_segment * digest_len` (where pyaff4 0.34 reads them, at the global
    /// chunk number, AFF4-FORMAT.md §6.3), so both readings validate. The zeros make
    /// the members' *inflated* sizes grow with the bevy number (about
    /// `bevies² / 2 * chunks_in_segment * digest_len` bytes in all, which pyaff4
    /// inflates member by member) while their stored size stays about twice the
    /// digests. Default false; `--recover` sets it.
    pub block_hashes_every_bevy: bool,
    /// Bytes per buffer handed to the image writers' linear-hash thread (at most
    /// [`crate::hash_thread::DEPTH`] in flight, plus the one being filled). Default
    /// 1 MiB; a low-footprint live acquisition uses less (every page the imager takes
    /// on a live host is a page of evidence it may overwrite).
    pub hash_buffer_len: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            chunk_size: 32768,
            chunks_in_segment: 1024,
            compression: Compression::Snappy,
            linear_hashes: vec![HashAlgo::Sha256],
            block_hashes: Vec::new(),
            block_hashes_every_bevy: false,
            hash_buffer_len: 1 << 20,
        }
    }
}

fn no_duplicates(what: &str, algos: &[HashAlgo]) -> Result<()> {
    for (i, a) in algos.iter().enumerate() {
        if algos.iter().skip(i + 1).any(|b| b == a) {
            return Err(Error::InvalidArgument(format!(
                "{what} lists {} twice",
                a.name()
            )));
        }
    }
    Ok(())
}

impl StreamOptions {
    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the bad parameter.
    pub fn validate(&self) -> Result<()> {
        if !self.chunk_size.is_power_of_two() || !(512..=64 << 20).contains(&self.chunk_size) {
            return Err(Error::InvalidArgument(format!(
                "chunk size {} must be a power of two in 512 ..= 64 MiB",
                self.chunk_size
            )));
        }
        if !(1..=1 << 20).contains(&self.chunks_in_segment) {
            return Err(Error::InvalidArgument(format!(
                "chunks in segment {} must be in 1 ..= 1048576",
                self.chunks_in_segment
            )));
        }
        let bevy = u64::from(self.chunk_size) * u64::from(self.chunks_in_segment);
        if bevy > MAX_BEVY_BYTES {
            return Err(Error::InvalidArgument(format!(
                "a bevy of {} chunks of {} bytes exceeds {MAX_BEVY_BYTES} bytes",
                self.chunks_in_segment, self.chunk_size
            )));
        }
        no_duplicates("linear hashes", &self.linear_hashes)?;
        no_duplicates("block hashes", &self.block_hashes)
    }
}

/// What a finished stream holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    /// The stream URN.
    pub urn: String,
    /// Logical bytes (`aff4:size`).
    pub size: u64,
    /// Bytes stored in bevies (after compression).
    pub stored_bytes: u64,
    /// Chunks written.
    pub chunks: u64,
    /// Bevies written.
    pub bevies: u32,
    /// Linear hashes of the stream's bytes, `(algorithm, lowercase hex)`.
    pub hashes: Vec<(HashAlgo, String)>,
    /// Per block-hash algorithm, the SHA-512 over all chunk digests (the value of the
    /// `aff4:BlockHashes` subject `<stream>/blockhash.<algo>`), raw bytes.
    pub block_hashes: Vec<(HashAlgo, Vec<u8>)>,
    /// Block hashes were requested but not written because the stream needed more
    /// than one bevy (see [`StreamOptions::block_hashes`]).
    pub block_hashes_dropped: bool,
}

/// Per-chunk digests of one stream (AFF4-FORMAT.md §6.2). By default kept only while
/// the stream fits in one bevy: pyaff4 0.34 reads a block hash at its *global* chunk
/// number inside the per-bevy member (§6.3), so with the standard layout its Validator
/// would fail every later block. Bevy 0's digests are held back until the stream ends;
/// if a second bevy starts, block hashing stops and nothing is written. With
/// `every_bevy` each bevy's member is written when the bevy is (see
/// [`StreamOptions::block_hashes_every_bevy`]).
struct BlockHashes {
    algos: Vec<HashAlgo>,
    digests: Vec<Vec<u8>>,
    /// Per algorithm, SHA-512 over the digests of the bevies already written.
    totals: Vec<crate::hash::Hasher>,
    every_bevy: bool,
    dropped: bool,
}

impl BlockHashes {
    fn new(algos: &[HashAlgo], every_bevy: bool) -> Self {
        BlockHashes {
            algos: algos.to_vec(),
            digests: algos.iter().map(|_| Vec::new()).collect(),
            totals: algos.iter().map(|_| HashAlgo::Sha512.hasher()).collect(),
            every_bevy,
            dropped: false,
        }
    }

    fn add_chunk(&mut self, bevy: u32, data: &[u8], urn: &str) {
        if bevy > 0 && !self.every_bevy && !self.algos.is_empty() {
            tracing::warn!(
                "{urn}: more than one bevy; block hashes are not written (pyaff4 cannot check them)"
            );
            self.algos.clear();
            self.digests.clear();
            self.dropped = true;
        }
        for (a, d) in self.algos.iter().zip(&mut self.digests) {
            d.extend_from_slice(&a.digest(data));
        }
    }

    /// With `every_bevy`, writes the members of bevy `bevy` (just written, of
    /// `chunks_in_segment` chunks at most) and starts the next one.
    fn bevy_written<W: Write>(
        &mut self,
        zip: &mut ZipWriter<W>,
        member: &str,
        bevy: u32,
        chunks_in_segment: u32,
    ) -> Result<()> {
        if !self.every_bevy {
            return Ok(());
        }
        for ((a, d), total) in self
            .algos
            .iter()
            .zip(&mut self.digests)
            .zip(&mut self.totals)
        {
            let name = crate::blockhash::block_hash_member_name(member, bevy, *a);
            if bevy == 0 {
                zip.add_stored(&name, d)?;
            } else {
                let global = u64::from(bevy) * u64::from(chunks_in_segment) * a.digest_len() as u64;
                let zeros = global - d.len() as u64;
                zip.add_deflated_with(&name, |w| {
                    w.write_all(d)?;
                    let block = [0u8; 1 << 16];
                    let mut left = zeros;
                    while left > 0 {
                        let n = left.min(block.len() as u64) as usize;
                        w.write_all(&block[..n])?;
                        left -= n as u64;
                    }
                    w.write_all(d)
                })?;
            }
            total.update(d);
            d.clear();
        }
        Ok(())
    }

    /// Writes the members of bevy 0 (one-bevy layout) and returns, per algorithm, the
    /// SHA-512 over all digests (the `aff4:BlockHashes` value).
    fn finish<W: Write>(
        self,
        zip: &mut ZipWriter<W>,
        member: &str,
        chunks: u64,
    ) -> Result<Vec<(HashAlgo, Vec<u8>)>> {
        let mut out = Vec::new();
        if chunks == 0 {
            return Ok(out);
        }
        if self.every_bevy {
            return Ok(self
                .algos
                .into_iter()
                .zip(self.totals.into_iter().map(|t| t.finish()))
                .collect());
        }
        for (a, d) in self.algos.into_iter().zip(self.digests) {
            zip.add_stored(&crate::blockhash::block_hash_member_name(member, 0, a), &d)?;
            out.push((a, HashAlgo::Sha512.digest(&d)));
        }
        Ok(out)
    }
}

/// Writes one ImageStream into a [`ZipWriter`] passed to each call, so several streams
/// (and other members) can share one volume.
pub struct ImageStreamWriter {
    urn: String,
    volume_urn: String,
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
    blocks: BlockHashes,
    pending: Vec<u8>,
    scratch: (Vec<u8>, Vec<u8>),
}

impl ImageStreamWriter {
    /// A writer for the stream `urn`, stored in the volume `volume_urn` (its bevies are
    /// named from `urn` relative to the volume, AFF4-FORMAT.md §2).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `opts` is invalid (see [`StreamOptions::validate`]).
    pub fn new(urn: &str, volume_urn: &str, opts: StreamOptions) -> Result<Self> {
        opts.validate()?;
        Ok(ImageStreamWriter {
            urn: urn.to_string(),
            volume_urn: volume_urn.to_string(),
            member: urn::member_name_for_urn(urn, volume_urn),
            hasher: MultiHasher::new(&opts.linear_hashes),
            blocks: BlockHashes::new(&opts.block_hashes, opts.block_hashes_every_bevy),
            opts,
            bevy: Vec::new(),
            index: Vec::new(),
            bevy_no: 0,
            chunks_in_bevy: 0,
            size: 0,
            stored: 0,
            chunks: 0,
            short_seen: false,
            pending: Vec::new(),
            scratch: (Vec::new(), Vec::new()),
        })
    }

    /// The stream URN.
    pub fn urn(&self) -> &str {
        &self.urn
    }

    /// The options in force.
    pub fn options(&self) -> &StreamOptions {
        &self.opts
    }

    /// The member-name prefix of the bevies (`<prefix>/%08d`).
    pub fn member_prefix(&self) -> &str {
        &self.member
    }

    /// The number of the bevy being filled (= bevies written so far).
    pub fn bevy_number(&self) -> u32 {
        self.bevy_no
    }

    /// Whether the next chunk written fills the current bevy (and writes it out).
    pub fn next_chunk_fills_bevy(&self) -> bool {
        self.chunks_in_bevy + 1 == self.opts.chunks_in_segment
    }

    /// Logical bytes accepted so far (= the stream offset of the next byte).
    pub fn position(&self) -> u64 {
        self.size + self.pending.len() as u64
    }

    /// Appends one chunk and returns its stream offset. `raw` is the chunk's logical
    /// bytes (`chunk_size` bytes, except for the last chunk of the stream); `stored` is
    /// what [`Compression::encode_chunk`] made of the chunk zero-padded to `chunk_size`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty or oversized chunk, a chunk after a
    /// short one, or a call while [`ImageStreamWriter::write`] holds a partial chunk;
    /// ZIP write errors.
    pub fn write_chunk<W: Write>(
        &mut self,
        zip: &mut ZipWriter<W>,
        raw: &[u8],
        stored: &[u8],
    ) -> Result<u64> {
        self.check_chunk(raw, stored)?;
        self.append_chunk(zip, raw, stored)
    }

    fn check_chunk(&self, raw: &[u8], stored: &[u8]) -> Result<()> {
        let cs = self.opts.chunk_size as usize;
        let bad = |why: String| Err(Error::InvalidArgument(format!("{}: {why}", self.urn)));
        if !self.pending.is_empty() {
            return bad("write_chunk after a partial write()".into());
        }
        if self.short_seen {
            return bad("a chunk shorter than the chunk size must be the last one".into());
        }
        if raw.is_empty() || raw.len() > cs || stored.is_empty() || stored.len() > cs {
            return bad(format!(
                "chunk of {} bytes stored in {} (chunk size {cs})",
                raw.len(),
                stored.len()
            ));
        }
        Ok(())
    }

    fn append_chunk<W: Write>(
        &mut self,
        zip: &mut ZipWriter<W>,
        raw: &[u8],
        stored: &[u8],
    ) -> Result<u64> {
        let cs = self.opts.chunk_size as usize;
        self.short_seen = raw.len() < cs;
        let at = self.size;
        self.index
            .extend_from_slice(&(self.bevy.len() as u64).to_le_bytes());
        self.index
            .extend_from_slice(&(stored.len() as u32).to_le_bytes());
        self.bevy.extend_from_slice(stored);
        self.hasher.update(raw);
        self.blocks.add_chunk(self.bevy_no, raw, &self.urn);
        self.size += raw.len() as u64;
        self.stored += stored.len() as u64;
        self.chunks += 1;
        self.chunks_in_bevy += 1;
        if self.chunks_in_bevy == self.opts.chunks_in_segment {
            self.flush_bevy(zip)?;
        }
        Ok(at)
    }

    /// Convenience for serial callers: accepts any number of bytes, cuts them into
    /// chunks and encodes each with the stream's codec. A partial chunk is kept until
    /// more data or [`ImageStreamWriter::finish`].
    ///
    /// # Errors
    /// As [`ImageStreamWriter::write_chunk`].
    pub fn write<W: Write>(&mut self, zip: &mut ZipWriter<W>, mut data: &[u8]) -> Result<()> {
        let cs = self.opts.chunk_size as usize;
        if self.short_seen {
            return Err(Error::InvalidArgument(format!(
                "{}: write after the last (short) chunk",
                self.urn
            )));
        }
        while !data.is_empty() {
            if self.pending.is_empty() && data.len() >= cs {
                let (chunk, rest) = data.split_at(cs);
                self.encode_and_append(zip, chunk)?;
                data = rest;
                continue;
            }
            let take = (cs - self.pending.len()).min(data.len());
            let (head, rest) = data.split_at(take);
            self.pending.extend_from_slice(head);
            data = rest;
            if self.pending.len() == cs {
                let chunk = std::mem::take(&mut self.pending);
                self.encode_and_append(zip, &chunk)?;
                self.pending = chunk;
                self.pending.clear();
            }
        }
        Ok(())
    }

    fn encode_and_append<W: Write>(&mut self, zip: &mut ZipWriter<W>, chunk: &[u8]) -> Result<()> {
        let cs = self.opts.chunk_size as usize;
        let (mut padded, mut stored) = std::mem::take(&mut self.scratch);
        padded.clear();
        padded.extend_from_slice(chunk);
        padded.resize(cs, 0);
        self.opts.compression.encode_chunk(&padded, &mut stored);
        let r = self.append_chunk(zip, chunk, &stored);
        self.scratch = (padded, stored);
        r.map(|_| ())
    }

    fn flush_bevy<W: Write>(&mut self, zip: &mut ZipWriter<W>) -> Result<()> {
        if self.chunks_in_bevy == 0 {
            return Ok(());
        }
        let name = format!("{}/{:08}", self.member, self.bevy_no);
        zip.add_stored(&name, &self.bevy)?;
        zip.add_stored(&format!("{name}.index"), &self.index)?;
        self.blocks
            .bevy_written(zip, &self.member, self.bevy_no, self.opts.chunks_in_segment)?;
        self.bevy.clear();
        self.index.clear();
        self.bevy_no += 1;
        self.chunks_in_bevy = 0;
        Ok(())
    }

    /// Writes the partial chunk and the last bevy, and records the stream in `graph`:
    /// `a aff4:ImageStream`, chunk parameters (`xsd:int`), codec, `aff4:size`
    /// (`xsd:long`), `aff4:stored`, linear hashes, and one `aff4:BlockHashes` subject
    /// `<stream>/blockhash.<algo>` per block-hash algorithm.
    ///
    /// # Errors
    /// ZIP write errors.
    pub fn finish<W: Write>(
        mut self,
        zip: &mut ZipWriter<W>,
        graph: &mut Graph,
    ) -> Result<StreamSummary> {
        if !self.pending.is_empty() {
            let chunk = std::mem::take(&mut self.pending);
            self.encode_and_append(zip, &chunk)?;
        }
        self.flush_bevy(zip)?;
        let hashes = self.hasher.finish();
        let block_hashes_dropped = self.blocks.dropped;
        let block_hashes = self.blocks.finish(zip, &self.member, self.chunks)?;
        let s = Term::iri(self.urn.clone());
        let int = |v: u32| Term::typed(v.to_string(), lx::XSD_INT);
        graph.insert(s.clone(), lx::RDF_TYPE, Term::iri(lx::IMAGE_STREAM));
        graph.insert(s.clone(), lx::CHUNK_SIZE, int(self.opts.chunk_size));
        graph.insert(
            s.clone(),
            lx::CHUNKS_IN_SEGMENT,
            int(self.opts.chunks_in_segment),
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
        graph.insert(s.clone(), lx::STORED, Term::iri(self.volume_urn.clone()));
        for (a, h) in &hashes {
            graph.insert(s.clone(), lx::HASH, Term::typed(h.clone(), a.datatype()));
        }
        for (a, d) in &block_hashes {
            let b = Term::iri(format!("{}/blockhash.{}", self.urn, a.name()));
            graph.insert(b.clone(), lx::RDF_TYPE, Term::iri(lx::BLOCK_HASHES));
            graph.insert(
                b,
                lx::HASH,
                Term::typed(to_hex(d), HashAlgo::Sha512.datatype()),
            );
        }
        Ok(StreamSummary {
            urn: self.urn,
            size: self.size,
            stored_bytes: self.stored,
            chunks: self.chunks,
            bevies: self.bevy_no,
            hashes,
            block_hashes,
            block_hashes_dropped,
        })
    }
}

#[cfg(test)]
mod tests;
