//! What memory and disk images share: an aff4:Image → aff4:Map → aff4:ImageStream
//! chain, the whole-image linear hashes computed on the fly, and the hash placement
//! described in [`crate::writer`].

use super::{vocab, VolumeWriter};
use crate::blockhash::block_map_hash;
use crate::hash::{to_hex, HashAlgo};
use crate::hash_thread::{HashThread, SharedBuf};
use crate::journal::{self, Target};
use crate::lexicon as lx;
use crate::map::{MapSummary, MapWriter};
use crate::rdf::{Graph, Term};
use crate::stream::{ImageStreamWriter, StreamOptions, StreamSummary};
use crate::symbolic::Symbolic;
use crate::zip::ZipWriter;
use crate::{Error, Result};
use std::io::Write;

/// Longest tile of a repeating symbolic pattern built for hashing (holes and
/// aff4:Zero need none: the hashing thread hashes zeros itself).
const PATTERN_TILE: u64 = 1 << 20;

/// What a finished image holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    /// The aff4:Image URN.
    pub image_urn: String,
    /// The aff4:Map URN.
    pub map_urn: String,
    /// The aff4:ImageStream URN.
    pub stream_urn: String,
    /// Size of the virtual image (`aff4:size` of Image and Map).
    pub size: u64,
    /// Linear hashes of the whole virtual image, `(algorithm, lowercase hex)`: holes
    /// hashed as zeros and symbolic ranges as their pattern, up to `size` — what
    /// `sha256sum` of a raw export gives. Stored on the Map.
    pub hashes: Vec<(HashAlgo, String)>,
    /// The ImageStream: stored bytes, chunks, bevies, block-hash digests.
    pub stream: StreamSummary,
    /// Bytes stored in the ImageStream (after compression).
    pub stored_bytes: u64,
    /// Data chunks stored.
    pub chunks: u64,
    /// Bytes mapped to stored data.
    pub data_bytes: u64,
    /// Bytes mapped to aff4:Zero.
    pub zero_bytes: u64,
    /// Bytes mapped to aff4:UnreadableData.
    pub unreadable_bytes: u64,
    /// Bytes mapped to other symbolic streams (UnknownData, SymbolicStreamXX, ...).
    pub other_symbolic_bytes: u64,
    /// Unmapped bytes below `size` (they read as zeros).
    pub hole_bytes: u64,
    /// Entries in the Map.
    pub map_entries: usize,
    /// The blockMapHash (SHA-512 hex over the BlockHashes digests, if any, and the map
    /// point and idx hashes), on the Map and (as `aff4:blockMapHashSHA512`) the Image.
    pub block_map_hash: String,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    data: u64,
    zero: u64,
    unreadable: u64,
    other: u64,
    hole: u64,
}

/// What kind of image [`ImageCore::finish`] records.
pub(super) struct ImageKind {
    /// rdf:types of the Image.
    pub types: &'static [&'static str],
    /// aff4:category of the Map.
    pub category: Option<&'static str>,
}

/// The image → map → stream machinery; positions only move forward.
pub(super) struct ImageCore {
    image_urn: String,
    map: MapWriter,
    stream: ImageStreamWriter,
    hasher: HashThread,
    pos: u64,
    chunk_size: usize,
    scratch: Vec<u8>,
    counts: Counts,
    /// Map entries not journaled yet; `None` when the image keeps no journal.
    journal: Option<Vec<journal::Entry>>,
}

impl ImageCore {
    pub(super) fn new(volume_urn: &str, opts: StreamOptions) -> Result<Self> {
        opts.validate()?;
        let hasher = HashThread::new(&opts.linear_hashes, opts.hash_buffer_len);
        let chunk_size = opts.chunk_size as usize;
        let stream_opts = StreamOptions {
            linear_hashes: Vec::new(),
            ..opts
        };
        let stream = ImageStreamWriter::new(&super::new_urn(), volume_urn, stream_opts)?;
        Ok(ImageCore {
            image_urn: super::new_urn(),
            map: MapWriter::new(&super::new_urn()),
            stream,
            hasher,
            pos: 0,
            chunk_size,
            scratch: Vec::new(),
            counts: Counts::default(),
            journal: None,
        })
    }

    /// Starts the recovery journal ([`crate::journal`]): writes its header (URNs,
    /// stream parameters, `ranges` and `meta`) and from now on a record of the map
    /// before every bevy, each flushed to the sink.
    pub(super) fn start_journal<W: Write>(
        &mut self,
        zip: &mut ZipWriter<W>,
        volume_urn: &str,
        ranges: &[(u64, u64)],
        meta: &[(String, String, String)],
    ) -> Result<()> {
        let o = self.stream.options();
        let h = journal::Header {
            volume: volume_urn.to_string(),
            image: self.image_urn.clone(),
            map: self.map.urn().to_string(),
            stream: self.stream.urn().to_string(),
            stream_member: self.stream.member_prefix().to_string(),
            chunk_size: o.chunk_size,
            chunks_in_segment: o.chunks_in_segment,
            compression: o.compression.iri().to_string(),
            ranges: ranges.to_vec(),
            meta: meta.to_vec(),
        };
        zip.add_stored(journal::HEADER, h.encode()?.as_bytes())?;
        zip.flush()?;
        self.journal = Some(Vec::new());
        Ok(())
    }

    /// Adds an entry to the journal's pending list, merging it into the previous one
    /// when it continues it.
    fn journal_add(&mut self, addr: u64, len: u64, target_offset: u64, target: Target) {
        let Some(j) = self.journal.as_mut() else {
            return;
        };
        if let Some(last) = j.last_mut() {
            if last.target == target
                && last.mapped + last.length == addr
                && last.target_offset + last.length == target_offset
            {
                last.length += len;
                return;
            }
        }
        j.push(journal::Entry {
            mapped: addr,
            length: len,
            target_offset,
            target,
        });
    }

    /// Writes the pending entries as journal member `name` (with the image size for
    /// the last one).
    fn journal_write<W: Write>(
        &mut self,
        zip: &mut ZipWriter<W>,
        name: &str,
        size: Option<u64>,
    ) -> Result<()> {
        if let Some(j) = self.journal.as_mut() {
            let text = journal::encode_entries(j, size);
            j.clear();
            zip.add_stored(name, text.as_bytes())?;
        }
        Ok(())
    }

    pub(super) fn image_urn(&self) -> &str {
        &self.image_urn
    }
    pub(super) fn map_urn(&self) -> &str {
        self.map.urn()
    }
    pub(super) fn stream_urn(&self) -> &str {
        self.stream.urn()
    }
    pub(super) fn chunk_size(&self) -> usize {
        self.chunk_size
    }
    /// The address the next range may start at (end of the last one).
    pub(super) fn position(&self) -> u64 {
        self.pos
    }

    /// Moves to `addr`, hashing the hole before it as zeros; returns `addr + len`.
    fn advance(&mut self, addr: u64, len: u64) -> Result<u64> {
        if addr < self.pos {
            return Err(Error::InvalidArgument(format!(
                "{}: range at {addr:#x} arrives before {:#x}: ranges must come in increasing order",
                self.map.urn(),
                self.pos
            )));
        }
        let end = addr.checked_add(len).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{}: range {addr:#x}+{len:#x} overflows",
                self.map.urn()
            ))
        })?;
        self.counts.hole += addr - self.pos;
        self.hasher.zeros(addr - self.pos);
        self.pos = addr;
        Ok(end)
    }

    /// Stores a chunk of data at `addr`. A short `raw` (end of a range) is stored
    /// zero-padded to a whole chunk, so the stream stays chunk-aligned; only `raw` is
    /// mapped.
    pub(super) fn add_chunk<W: Write>(
        &mut self,
        zip: &mut ZipWriter<W>,
        addr: u64,
        raw: &[u8],
        stored: &[u8],
    ) -> Result<()> {
        self.store_chunk(zip, addr, raw, stored)?;
        self.hasher.update(raw);
        Ok(())
    }

    /// As [`ImageCore::add_chunk`] with `raw` = `buf[range]`, which the linear-hash
    /// thread reads from `buf` itself (no copy; see [`HashThread::update_shared`]).
    pub(super) fn add_chunk_shared<W: Write>(
        &mut self,
        zip: &mut ZipWriter<W>,
        addr: u64,
        buf: &SharedBuf,
        range: std::ops::Range<usize>,
        stored: &[u8],
    ) -> Result<()> {
        let bytes = (**buf).as_ref();
        let raw = bytes.get(range.clone()).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{}: range {range:?} of a {}-byte buffer",
                self.map.urn(),
                bytes.len()
            ))
        })?;
        self.store_chunk(zip, addr, raw, stored)?;
        self.hasher.update_shared(buf, range);
        Ok(())
    }

    /// Everything [`ImageCore::add_chunk`] does but the linear hash.
    fn store_chunk<W: Write>(
        &mut self,
        zip: &mut ZipWriter<W>,
        addr: u64,
        raw: &[u8],
        stored: &[u8],
    ) -> Result<()> {
        if raw.is_empty() || raw.len() > self.chunk_size {
            return Err(Error::InvalidArgument(format!(
                "{}: data piece of {} bytes at {addr:#x} (chunk size {})",
                self.map.urn(),
                raw.len(),
                self.chunk_size
            )));
        }
        let end = self.advance(addr, raw.len() as u64)?;
        if self.journal.is_some() {
            let at = self.stream.position();
            self.journal_add(addr, raw.len() as u64, at, Target::Stream);
            if self.stream.next_chunk_fills_bevy() {
                let name = journal::bevy_member(self.stream.bevy_number());
                self.journal_write(zip, &name, None)?;
            }
        }
        let bevies = self.stream.bevy_number();
        let at = if raw.len() < self.chunk_size {
            let mut padded = std::mem::take(&mut self.scratch);
            padded.clear();
            padded.extend_from_slice(raw);
            padded.resize(self.chunk_size, 0);
            let r = self.stream.write_chunk(zip, &padded, stored);
            self.scratch = padded;
            r?
        } else {
            self.stream.write_chunk(zip, raw, stored)?
        };
        self.map
            .add(addr, raw.len() as u64, self.stream.urn(), at)?;
        self.counts.data += raw.len() as u64;
        self.pos = end;
        if self.journal.is_some() && self.stream.bevy_number() != bevies {
            zip.flush()?;
        }
        Ok(())
    }

    /// Maps `len` bytes at `addr` to the symbolic stream `s` (nothing is stored).
    pub(super) fn add_symbolic(&mut self, addr: u64, len: u64, s: Symbolic) -> Result<()> {
        let end = self.advance(addr, len)?;
        self.map.add_symbolic(addr, len, s)?;
        self.journal_add(addr, len, addr, Target::Symbolic(s));
        self.hash_symbolic(addr, len, s);
        match s {
            Symbolic::Zero => self.counts.zero += len,
            Symbolic::UnreadableData => self.counts.unreadable += len,
            _ => self.counts.other += len,
        }
        self.pos = end;
        Ok(())
    }

    fn hash_symbolic(&mut self, addr: u64, len: u64, s: Symbolic) {
        match s {
            Symbolic::Zero => self.hasher.zeros(len),
            Symbolic::Byte(_) | Symbolic::FfDevice => {
                let tile = len.min(PATTERN_TILE) as usize;
                self.scratch.resize(tile, 0);
                s.fill(addr, &mut self.scratch);
                hash_repeated(&mut self.hasher, &self.scratch, len);
            }
            Symbolic::UnknownData | Symbolic::UnreadableData => {
                // The pattern restarts at every MiB of target offset (= address).
                let mut done = 0u64;
                while done < len {
                    let at = addr + done;
                    let to_tile = (1u64 << 20) - at % (1 << 20);
                    let n = to_tile.min(len - done) as usize;
                    self.scratch.resize(n, 0);
                    s.fill(at, &mut self.scratch);
                    self.hasher.update(&self.scratch);
                    done += n as u64;
                }
            }
        }
    }

    /// Finishes stream and map and records the image (hash placement: see
    /// [`crate::writer`]). `size` below the end of the last range is raised to it; a
    /// gap between the last range and `size` is mapped to aff4:Zero so that readers
    /// that take the size from the last range (pyaff4) see the whole image.
    pub(super) fn finish<W: Write>(
        mut self,
        vw: &mut VolumeWriter<W>,
        size: u64,
        kind: &ImageKind,
    ) -> Result<ImageSummary> {
        if size > self.pos {
            let pos = self.pos;
            self.add_symbolic(pos, size - pos, Symbolic::Zero)?;
        }
        let size = self.pos;
        let vol = vw.volume_urn.clone();
        self.journal_write(&mut vw.zip, journal::IMAGE_END, Some(size))?;
        let stream = self.stream.finish(&mut vw.zip, &mut vw.graph)?;
        if self.journal.is_some() {
            vw.zip.flush()?;
        }
        self.map.set_size(size);
        let map = self.map.finish(&mut vw.zip, &vol, &mut vw.graph)?;
        let hashes = self.hasher.finish().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{}: the linear hashing thread failed; no image hash recorded",
                self.image_urn
            ))
        })?;
        let block_map_hash = record_image(
            &mut vw.graph,
            &vol,
            &self.image_urn,
            size,
            kind,
            &map,
            &stream,
            &hashes,
        );
        Ok(ImageSummary {
            image_urn: self.image_urn,
            map_urn: map.urn.clone(),
            stream_urn: stream.urn.clone(),
            size,
            hashes,
            stored_bytes: stream.stored_bytes,
            chunks: stream.chunks,
            stream,
            data_bytes: self.counts.data,
            zero_bytes: self.counts.zero,
            unreadable_bytes: self.counts.unreadable,
            other_symbolic_bytes: self.counts.other,
            hole_bytes: self.counts.hole,
            map_entries: map.entries.len(),
            block_map_hash,
        })
    }
}

/// Feeds `len` bytes of the repeating `tile` to `h`.
fn hash_repeated(h: &mut HashThread, tile: &[u8], len: u64) {
    let mut left = len;
    while left > 0 {
        let n = left.min(tile.len() as u64) as usize;
        h.update(tile.get(..n).unwrap_or(tile));
        left -= n as u64;
    }
}

/// Writes the Image's triples and the links between Image, Map and stream (see
/// [`crate::writer`] for why each hash goes where it goes); returns the blockMapHash.
#[allow(clippy::too_many_arguments)]
fn record_image(
    g: &mut Graph,
    vol: &str,
    image_urn: &str,
    size: u64,
    kind: &ImageKind,
    map: &MapSummary,
    stream: &StreamSummary,
    hashes: &[(HashAlgo, String)],
) -> String {
    let (img, m, st) = (
        Term::iri(image_urn),
        Term::iri(map.urn.clone()),
        Term::iri(stream.urn.clone()),
    );
    for t in kind.types {
        g.insert(img.clone(), lx::RDF_TYPE, Term::iri(*t));
    }
    g.insert(img.clone(), lx::DATA_STREAM, m.clone());
    g.insert(
        img.clone(),
        lx::SIZE,
        Term::typed(size.to_string(), lx::XSD_LONG),
    );
    g.insert(img.clone(), lx::STORED, Term::iri(vol));
    if let Some(c) = kind.category {
        g.insert(m.clone(), lx::CATEGORY, Term::iri(c));
    }
    g.insert(m.clone(), lx::TARGET, img.clone());
    for (a, h) in hashes {
        g.insert(m.clone(), lx::HASH, Term::typed(h.clone(), a.datatype()));
    }
    g.insert(st.clone(), lx::TARGET, m.clone());
    g.insert(Term::iri(vol), lx::CONTAINS, img.clone());
    let bmh = to_hex(&block_map_hash(&stream.block_hashes, &map.hashes));
    g.insert(m.clone(), lx::DEPENDENT_STREAM, st);
    g.insert(
        m,
        lx::BLOCK_MAP_HASH,
        Term::typed(bmh.clone(), HashAlgo::Sha512.datatype()),
    );
    g.insert(
        img,
        lx::HASH,
        Term::typed(bmh.clone(), vocab::BLOCK_MAP_HASH_SHA512),
    );
    bmh
}
