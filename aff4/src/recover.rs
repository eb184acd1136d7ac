//! Rebuilding a container from the partial file of a killed run (SIGKILL, power loss,
//! a yanked disk): the file has members but no central directory and no metadata.
//!
//! [`scan`] walks the local headers from the start of the file, keeping every member
//! whose bytes are all there and whose CRC-32 matches (members written with a data
//! descriptor are closed by finding a descriptor whose size equals the distance
//! walked). [`recover`] reads the [`crate::journal`] the writer left, and writes a new
//! volume: every journaled range whose bevy (data + index) is complete, re-checked by
//! decoding each chunk; every symbolic range; the rest of the planned ranges as
//! `aff4:UnknownData`; the logical files whose members are complete; and on the Image
//! `pmem:acquisitionComplete false`, `pmem:recoveredFrom`, a `pmem:recoveryNote` and
//! `pmem:linearHashRecomputed true` (the linear hash is the one of the recovered
//! image, computed while it is rewritten, never the original run's).
//!
//! Past 600 lines because the scanner, the plan of the recovered image and the rebuild
//! are one pass over one file format and share its private helpers; about a third is
//! the truncation tests at the end.
//!
//! One file (past 600 lines): the scan, the rebuilt metadata and the block-hash
//! layout of a recovery depend on each other's invariants; kept together with their tests.

use crate::codec::Compression;
use crate::hash::HashAlgo;
use crate::io::ReadAt;
use crate::journal::{self, Entry, FileRecord, Header, Target};
use crate::rdf::Term;
use crate::stream::parse_index;
use crate::symbolic::Symbolic;
use crate::writer::{pmem, LogicalFileMeta, StreamOptions, VolumeWriter};
use crate::zip::format::{DESCRIPTOR_SIG, LOCAL_SIG, METHOD_DEFLATED, METHOD_STORED, SATURATED32};
use crate::{lexicon as lx, Error, Result};
use std::collections::HashMap;
use std::io::{Read, Write};

/// Largest journal or index member read whole.
const SMALL_LIMIT: u64 = 64 << 20;
/// Most zero filler (inflated bytes) the pyaff4-compatible block-hash members of a
/// recovered stream may hold in all (`StreamOptions::block_hashes_every_bevy`: it
/// grows as bevies² / 2); past it bevies are made larger, then block hashes dropped.
const BLOCK_HASH_FILLER_LIMIT: u64 = 4 << 30;
/// Largest bevy the recovered stream is given to keep that filler small.
const RECOVERED_BEVY_LIMIT: u64 = 64 << 20;
/// Block size of the descriptor search.
const SCAN_BLOCK: usize = 1 << 20;

/// A member found by [`scan`] with all its bytes present and its CRC-32 right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedMember {
    /// Member name.
    pub name: String,
    /// 0 stored, 8 deflated.
    pub method: u16,
    /// Absolute offset of the data.
    pub data_offset: u64,
    /// Stored bytes.
    pub compressed_size: u64,
    /// Bytes after inflating.
    pub size: u64,
}

/// What [`scan`] found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Complete members, in file order.
    pub members: Vec<ScannedMember>,
    /// Offset where the walk stopped.
    pub end: u64,
    /// Why it stopped there (a central directory, a truncated member, ...).
    pub stopped: String,
}

impl Scan {
    /// Members by name (a later one of the same name wins).
    pub fn by_name(&self) -> HashMap<&str, &ScannedMember> {
        self.members.iter().map(|m| (m.name.as_str(), m)).collect()
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

fn read_exact(src: &dyn ReadAt, at: u64, len: usize) -> Option<Vec<u8>> {
    let mut v = vec![0u8; len];
    src.read_exact_at(&mut v, at).ok()?;
    Some(v)
}

fn crc_of(src: &dyn ReadAt, at: u64, len: u64) -> Option<u32> {
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; SCAN_BLOCK];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(SCAN_BLOCK as u64) as usize;
        src.read_exact_at(&mut buf[..n], at + done).ok()?;
        h.update(&buf[..n]);
        done += n as u64;
    }
    Some(h.finalize())
}

/// Finds the data descriptor closing a member whose data starts at `start`: the first
/// `PK\x07\x08` whose compressed size is the distance from `start` and whose CRC-32
/// matches the bytes before it. Returns (data length, descriptor length, size).
fn find_descriptor(src: &dyn ReadAt, start: u64, file_len: u64) -> Option<(u64, u64, u64)> {
    let mut crc = crc32fast::Hasher::new();
    let mut block_at = start;
    while block_at < file_len {
        let n = ((file_len - block_at) as usize).min(SCAN_BLOCK + 24);
        let b = read_exact(src, block_at, n)?;
        let scan_len = n.min(SCAN_BLOCK);
        for i in 0..scan_len {
            if b[i] != b'P' || u32_at(&b, i) != DESCRIPTOR_SIG {
                continue;
            }
            let dist = block_at + i as u64 - start;
            let stated_crc = u32_at(&b, i + 4);
            // ZIP64 descriptor (what we write) first, then the 32-bit one.
            let candidates = [
                (u64_at(&b, i + 8), u64_at(&b, i + 16), 24u64),
                (
                    u64::from(u32_at(&b, i + 8)),
                    u64::from(u32_at(&b, i + 12)),
                    16,
                ),
            ];
            for (csize, usize, dlen) in candidates {
                if csize == dist && block_at + i as u64 + dlen <= file_len {
                    let mut h = crc.clone();
                    h.update(&b[..i]);
                    if h.finalize() == stated_crc {
                        return Some((dist, dlen, usize));
                    }
                }
            }
        }
        crc.update(&b[..scan_len]);
        block_at += scan_len as u64;
    }
    None
}

/// Walks the local headers of `src` from offset 0 and returns every complete member.
/// Never fails: it stops at the first thing that is not a whole member.
pub fn scan(src: &dyn ReadAt) -> Scan {
    let file_len = src.size().unwrap_or(0);
    let mut s = Scan::default();
    let mut pos = 0u64;
    let stop = |s: &mut Scan, pos: u64, why: String| {
        s.end = pos;
        s.stopped = why;
    };
    loop {
        let Some(h) = read_exact(src, pos, 30) else {
            let why = if pos == file_len {
                "end of file".to_string()
            } else {
                format!("truncated local header at offset {pos}")
            };
            stop(&mut s, pos, why);
            return s;
        };
        if u32_at(&h, 0) != LOCAL_SIG {
            stop(&mut s, pos, format!("no member header at offset {pos}"));
            return s;
        }
        let (flags, method) = (u16_at(&h, 6), u16_at(&h, 8));
        let crc = u32_at(&h, 14);
        let (mut csize, mut usize) = (u64::from(u32_at(&h, 18)), u64::from(u32_at(&h, 22)));
        let (name_len, extra_len) = (usize::from(u16_at(&h, 26)), usize::from(u16_at(&h, 28)));
        let Some(ne) = read_exact(src, pos + 30, name_len + extra_len) else {
            stop(
                &mut s,
                pos,
                format!("truncated member header at offset {pos}"),
            );
            return s;
        };
        let name = String::from_utf8_lossy(&ne[..name_len]).into_owned();
        let extra = &ne[name_len..];
        let mut at = 0;
        while at + 4 <= extra.len() {
            let (id, len) = (u16_at(extra, at), usize::from(u16_at(extra, at + 2)));
            if id == 1 && len >= 16 {
                if usize == u64::from(SATURATED32) {
                    usize = u64_at(extra, at + 4);
                }
                if csize == u64::from(SATURATED32) {
                    csize = u64_at(extra, at + 12);
                }
            }
            at += 4 + len;
        }
        let data = pos + 30 + (name_len + extra_len) as u64;
        if method != METHOD_STORED && method != METHOD_DEFLATED {
            stop(&mut s, pos, format!("member {name:?}: method {method}"));
            return s;
        }
        let (next, csize, usize) = if flags & 8 != 0 {
            match find_descriptor(src, data, file_len) {
                Some((len, dlen, size)) => (data + len + dlen, len, size),
                None => {
                    stop(
                        &mut s,
                        pos,
                        format!("member {name:?} at offset {pos} is unfinished"),
                    );
                    return s;
                }
            }
        } else {
            let end = data.checked_add(csize).filter(|&e| e <= file_len);
            let crc_ok = || {
                if method == METHOD_STORED {
                    return crc_of(src, data, csize) == Some(crc);
                }
                let m = ScannedMember {
                    name: name.clone(),
                    method,
                    data_offset: data,
                    compressed_size: csize,
                    size: usize,
                };
                read_scanned(src, &m, SMALL_LIMIT)
                    .is_ok_and(|d| d.len() as u64 == usize && crc32fast::hash(&d) == crc)
            };
            match end {
                Some(e) if crc_ok() => (e, csize, usize),
                Some(_) => {
                    stop(
                        &mut s,
                        pos,
                        format!("member {name:?} at offset {pos}: CRC mismatch"),
                    );
                    return s;
                }
                None => {
                    stop(
                        &mut s,
                        pos,
                        format!("member {name:?} at offset {pos} is truncated"),
                    );
                    return s;
                }
            }
        };
        s.members.push(ScannedMember {
            name,
            method,
            data_offset: data,
            compressed_size: csize,
            size: usize,
        });
        pos = next;
    }
}

/// Reads a scanned member whole (inflating it), at most `limit` bytes.
fn read_scanned(src: &dyn ReadAt, m: &ScannedMember, limit: u64) -> Result<Vec<u8>> {
    if m.size > limit || m.compressed_size > limit {
        return Err(Error::Zip(format!(
            "member {:?}: {} bytes exceed the limit of {limit}",
            m.name, m.size
        )));
    }
    let raw = read_exact(src, m.data_offset, m.compressed_size as usize)
        .ok_or_else(|| Error::Zip(format!("member {:?}: cannot read", m.name)))?;
    if m.method == METHOD_STORED {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(raw.as_slice())
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Error::Zip(format!("member {:?} does not inflate: {e}", m.name)))?;
    Ok(out)
}

/// What [`recover`] kept and lost.
#[derive(Debug, Clone, Default)]
pub struct RecoverySummary {
    /// The new volume's URN.
    pub volume_urn: String,
    /// The new Image's URN.
    pub image_urn: String,
    /// The Image of the killed run.
    pub original_image: String,
    /// Bytes of data recovered (stored chunks).
    pub data_bytes: u64,
    /// Bytes of symbolic ranges recovered (zero pages, unreadable pages).
    pub symbolic_bytes: u64,
    /// Bytes of planned ranges marked aff4:UnknownData.
    pub unknown_bytes: u64,
    /// Complete bevies used.
    pub bevies: u64,
    /// Logical files recovered (original names).
    pub files: Vec<String>,
    /// Logical files journaled but not complete.
    pub files_lost: usize,
    /// Linear hashes of the recovered image, `(algorithm, hex)`.
    pub hashes: Vec<(HashAlgo, String)>,
    /// The image size.
    pub size: u64,
    /// Where the scan stopped and why.
    pub scan_stopped: String,
    /// Block hashes were written for every bevy of the recovered stream (false: too
    /// many bevies to keep them readable by pyaff4, see [`block_hash_layout`]).
    pub block_hashes: bool,
}

/// The recovered stream's chunks per bevy and whether it gets block hashes for every
/// bevy: the journal's value, doubled while the pyaff4-compatible layout's zero filler
/// (about `bevies² / 2 * chunks_in_segment * 32` bytes) exceeds
/// [`BLOCK_HASH_FILLER_LIMIT`] and the bevy stays within [`RECOVERED_BEVY_LIMIT`].
pub fn block_hash_layout(chunks: u64, chunk_size: u32, chunks_in_segment: u32) -> (u32, bool) {
    let filler = |cis: u64| {
        let n = chunks.div_ceil(cis);
        (n.saturating_mul(n.saturating_sub(1)) / 2)
            .saturating_mul(cis)
            .saturating_mul(32)
    };
    let mut cis = u64::from(chunks_in_segment);
    while filler(cis) > BLOCK_HASH_FILLER_LIMIT
        && (cis * 2) * u64::from(chunk_size) <= RECOVERED_BEVY_LIMIT
        && cis * 2 <= 1 << 20
    {
        cis *= 2;
    }
    (cis as u32, filler(cis) <= BLOCK_HASH_FILLER_LIMIT)
}

/// One piece of the recovered image, in address order.
enum Piece {
    /// `len` bytes at the entry's address, from stream chunk `chunk` starting
    /// `within` bytes into it.
    Data {
        chunk: u64,
        within: usize,
    },
    Symbolic(Symbolic),
    Unknown,
}

/// The chunks of one stream in the partial file.
struct Chunks<'a> {
    src: &'a dyn ReadAt,
    members: &'a HashMap<&'a str, &'a ScannedMember>,
    prefix: String,
    chunk_size: u64,
    chunks_in_segment: u64,
    compression: Compression,
    index: Option<(u64, Vec<crate::stream::IndexEntry>)>,
}

impl Chunks<'_> {
    fn bevy(&self, b: u64) -> Option<(&ScannedMember, &ScannedMember)> {
        let name = format!("{}/{b:08}", self.prefix);
        let bevy = self.members.get(name.as_str())?;
        let index = self.members.get(format!("{name}.index").as_str())?;
        Some((bevy, index))
    }

    /// Whether chunk `c` is in a complete bevy with an index entry for it.
    fn has(&mut self, c: u64) -> bool {
        self.located(c).is_some()
    }

    fn located(&mut self, c: u64) -> Option<(u64, u64)> {
        let (b, i) = (c / self.chunks_in_segment, c % self.chunks_in_segment);
        let (bevy, index) = self.bevy(b)?;
        let (bevy_off, bevy_len) = (bevy.data_offset, bevy.compressed_size);
        if bevy.method != METHOD_STORED {
            return None;
        }
        if self.index.as_ref().map(|(n, _)| *n) != Some(b) {
            let limit = self.chunks_in_segment * 12;
            let raw = read_scanned(self.src, index, limit).ok()?;
            self.index = Some((b, parse_index(&raw, &self.prefix).ok()?));
        }
        let e = self.index.as_ref()?.1.get(i as usize).copied()?;
        let end = e.offset.checked_add(e.length)?;
        (end <= bevy_len).then_some((bevy_off + e.offset, e.length))
    }

    /// The stored bytes of chunk `c` and the decoded chunk.
    fn read(&mut self, c: u64) -> Result<(Vec<u8>, Vec<u8>)> {
        let (at, len) = self
            .located(c)
            .ok_or_else(|| Error::corrupt(&self.prefix, format!("chunk {c} is not complete")))?;
        let stored = read_exact(self.src, at, len as usize)
            .ok_or_else(|| Error::corrupt(&self.prefix, format!("chunk {c}: cannot read")))?;
        let mut raw = Vec::new();
        self.compression
            .decode_chunk(&stored, self.chunk_size as usize, &mut raw, &self.prefix)?;
        raw.resize(self.chunk_size as usize, 0);
        Ok((stored, raw))
    }
}

fn not_recoverable(file: &str, reason: impl Into<String>) -> Error {
    Error::NotRecoverable {
        file: file.to_string(),
        reason: reason.into(),
    }
}

/// The image's pieces: journaled entries whose chunks are all there (cut per chunk),
/// symbolic entries, and the planned ranges nothing covers as UnknownData.
fn plan(
    entries: &[Entry],
    ranges: &[(u64, u64)],
    chunks: &mut Chunks<'_>,
) -> Vec<(u64, u64, Piece)> {
    let cs = chunks.chunk_size;
    let mut kept: Vec<(u64, u64, Piece)> = Vec::new();
    for e in entries {
        match e.target {
            Target::Symbolic(s) => kept.push((e.mapped, e.length, Piece::Symbolic(s))),
            Target::Stream => {
                let mut off = 0u64;
                while off < e.length {
                    let t = e.target_offset + off;
                    let (chunk, within) = (t / cs, t % cs);
                    let n = (cs - within).min(e.length - off);
                    if chunks.has(chunk) {
                        kept.push((
                            e.mapped + off,
                            n,
                            Piece::Data {
                                chunk,
                                within: within as usize,
                            },
                        ));
                    }
                    off += n;
                }
            }
        }
    }
    kept.sort_by_key(|p| p.0);
    // Drop anything overlapping what came before (a damaged journal): never write
    // two ranges for one address.
    let mut out: Vec<(u64, u64, Piece)> = Vec::new();
    let mut pos = 0u64;
    for (a, l, p) in kept {
        if a >= pos {
            pos = a + l;
            out.push((a, l, p));
        }
    }
    let mut unknown = Vec::new();
    let mut i = 0usize;
    for &(start, end) in ranges {
        let mut at = start;
        while at < end {
            while i < out.len() && out[i].0 + out[i].1 <= at {
                i += 1;
            }
            match out.get(i) {
                Some(&(a, l, _)) if a <= at => at = a + l,
                Some(&(a, _, _)) if a < end => {
                    unknown.push((at, a - at, Piece::Unknown));
                    at = a;
                }
                _ => {
                    unknown.push((at, end - at, Piece::Unknown));
                    at = end;
                }
            }
        }
    }
    out.extend(unknown);
    out.sort_by_key(|p| p.0);
    out
}

/// Rebuilds a container from the partial file `src` (named `file` in messages) into
/// `sink`, as written by `tool`. The new volume has its own URN; the Image records the
/// original with `pmem:recoveredFrom`.
///
/// # Errors
/// [`Error::NotRecoverable`] when the file holds no journal header (not a journaling
/// pmem-aff4 run, or killed before its first record reached the disk); write errors.
pub fn recover<W: Write>(
    src: &dyn ReadAt,
    file: &str,
    sink: W,
    tool: &str,
) -> Result<(W, RecoverySummary)> {
    let sc = scan(src);
    let members = sc.by_name();
    let header = match members.get(journal::HEADER) {
        Some(m) => Header::parse(&read_scanned(src, m, SMALL_LIMIT)?)?,
        None if members.contains_key("container.description") => {
            return Err(not_recoverable(
                file,
                "it holds no recovery journal: it was killed before its first record \
                 reached the disk, or written by a pmem-aff4 without --recover support",
            ))
        }
        None => {
            return Err(not_recoverable(
                file,
                format!("not the partial file of a pmem-aff4 run ({})", sc.stopped),
            ))
        }
    };
    let compression = Compression::from_iri(&header.compression).ok_or_else(|| {
        not_recoverable(
            file,
            format!("unknown codec {} in the journal", header.compression),
        )
    })?;
    let mut entries = Vec::new();
    let mut size = None;
    let mut bevy_records: Vec<&ScannedMember> = sc
        .members
        .iter()
        .filter(|m| m.name.starts_with(&format!("{}bevy-", journal::PREFIX)))
        .collect();
    bevy_records.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(end) = members.get(journal::IMAGE_END) {
        bevy_records.push(end);
    }
    for m in bevy_records {
        let (mut e, s) = journal::parse_entries(&read_scanned(src, m, SMALL_LIMIT)?)?;
        entries.append(&mut e);
        size = size.or(s);
    }
    let journal_opts = StreamOptions {
        chunk_size: header.chunk_size,
        chunks_in_segment: header.chunks_in_segment,
        ..StreamOptions::default()
    };
    journal_opts
        .validate()
        .map_err(|e| not_recoverable(file, format!("journal stream parameters: {e}")))?;
    let mut chunks = Chunks {
        src,
        members: &members,
        prefix: header.stream_member.clone(),
        chunk_size: u64::from(header.chunk_size),
        chunks_in_segment: u64::from(header.chunks_in_segment),
        compression,
        index: None,
    };
    let pieces = plan(&entries, &header.ranges, &mut chunks);
    let data_chunks = pieces
        .iter()
        .filter(|p| matches!(p.2, Piece::Data { .. }))
        .count() as u64;
    let (cis, every_bevy) =
        block_hash_layout(data_chunks, header.chunk_size, header.chunks_in_segment);
    let opts = StreamOptions {
        chunk_size: header.chunk_size,
        chunks_in_segment: cis,
        compression,
        linear_hashes: vec![HashAlgo::Sha256],
        block_hashes: if every_bevy {
            vec![HashAlgo::Sha256]
        } else {
            Vec::new()
        },
        block_hashes_every_bevy: true,
        ..StreamOptions::default()
    };
    let end = header
        .ranges
        .iter()
        .map(|r| r.1)
        .chain(size)
        .chain(pieces.last().map(|p| p.0 + p.1))
        .max()
        .unwrap_or(0);

    let mut vw = VolumeWriter::new(sink, tool)?;
    let mut sum = RecoverySummary {
        volume_urn: vw.volume_urn().to_string(),
        original_image: header.image.clone(),
        size: end,
        scan_stopped: sc.stopped.clone(),
        block_hashes: every_bevy,
        ..RecoverySummary::default()
    };
    let mut mem = vw.memory_image(opts)?;
    sum.image_urn = mem.image_urn().to_string();
    let yaml_member = mem.map_member("information.yaml");
    let mut bevies = std::collections::BTreeSet::new();
    let mut stored_scratch = Vec::new();
    for (addr, len, piece) in &pieces {
        match piece {
            Piece::Data { chunk, within } => {
                let (stored, raw) = chunks.read(*chunk)?;
                let piece = raw
                    .get(*within..*within + *len as usize)
                    .ok_or_else(|| Error::corrupt(&header.stream, "chunk piece out of range"))?;
                let stored = if *within == 0 && *len == chunks.chunk_size {
                    stored
                } else {
                    let mut padded = piece.to_vec();
                    padded.resize(chunks.chunk_size as usize, 0);
                    compression.encode_chunk(&padded, &mut stored_scratch);
                    std::mem::take(&mut stored_scratch)
                };
                mem.add_chunk(*addr, piece, &stored)?;
                sum.data_bytes += len;
                bevies.insert(chunk / chunks.chunks_in_segment);
            }
            Piece::Symbolic(s) => {
                mem.add_symbolic(*addr, *len, *s)?;
                sum.symbolic_bytes += len;
            }
            Piece::Unknown => {
                mem.add_symbolic(*addr, *len, Symbolic::UnknownData)?;
                sum.unknown_bytes += len;
            }
        }
    }
    sum.bevies = bevies.len() as u64;
    let image = mem.finish(end)?;
    sum.hashes = image.hashes.clone();

    // The original's information.yaml, if it reached the disk.
    let yaml = sc
        .members
        .iter()
        .find(|m| m.name.ends_with("/information.yaml"))
        .and_then(|m| read_scanned(src, m, SMALL_LIMIT).ok());
    if let Some(y) = yaml {
        vw.add_member(&yaml_member, &y)?;
    }
    for m in sc
        .members
        .iter()
        .filter(|m| m.name.starts_with(&format!("{}file-", journal::PREFIX)))
    {
        let rec = FileRecord::parse(&read_scanned(src, m, SMALL_LIMIT)?)?;
        match file_bytes(src, &members, &rec) {
            Some(data) => {
                vw.add_logical_file(&rec.name, &mut data.as_slice(), &LogicalFileMeta::default())?;
                sum.files.push(rec.name);
            }
            None => sum.files_lost += 1,
        }
    }

    let g = vw.graph_mut();
    let s = Term::iri(sum.image_urn.clone());
    for (p, d, v) in &header.meta {
        if p != pmem::ACQUISITION_COMPLETE {
            g.insert(s.clone(), p, Term::typed(v.clone(), d));
        }
    }
    g.insert(
        s.clone(),
        pmem::ACQUISITION_COMPLETE,
        Term::typed("false", lx::XSD_BOOLEAN),
    );
    g.insert(
        s.clone(),
        pmem::RECOVERED_FROM,
        Term::iri(header.image.clone()),
    );
    g.insert(
        s.clone(),
        pmem::LINEAR_HASH_RECOMPUTED,
        Term::typed("true", lx::XSD_BOOLEAN),
    );
    let note = format!(
        "recovered by {tool} from the partial file of a killed run (volume {}): {} bytes of \
         data from {} complete bevies and {} bytes of symbolic ranges kept; {} bytes of the \
         planned ranges never reached the disk and are aff4:UnknownData; {} logical files \
         kept, {} lost; the linear hash is that of this recovered image; {}; scan stopped: {}",
        header.volume,
        sum.data_bytes,
        sum.bevies,
        sum.symbolic_bytes,
        sum.unknown_bytes,
        sum.files.len(),
        sum.files_lost,
        if every_bevy {
            "SHA-256 block hashes for every bevy"
        } else {
            "no block hashes (too many bevies for the pyaff4-compatible layout)"
        },
        sc.stopped
    );
    g.insert(s, pmem::RECOVERY_NOTE, Term::typed(note, lx::XSD_STRING));
    let sink = vw.finish()?;
    Ok((sink, sum))
}

/// The bytes of a journaled logical file, if all its members are complete.
fn file_bytes(
    src: &dyn ReadAt,
    members: &HashMap<&str, &ScannedMember>,
    rec: &FileRecord,
) -> Option<Vec<u8>> {
    match rec.stream {
        None => {
            let m = members.get(rec.member.as_str())?;
            let data = read_scanned(src, m, rec.size).ok()?;
            (data.len() as u64 == rec.size).then_some(data)
        }
        Some((cs, cis, compression)) => {
            let mut chunks = Chunks {
                src,
                members,
                prefix: rec.member.clone(),
                chunk_size: u64::from(cs),
                chunks_in_segment: u64::from(cis),
                compression,
                index: None,
            };
            let mut out = Vec::new();
            let mut c = 0u64;
            while (out.len() as u64) < rec.size {
                let (_, raw) = chunks.read(c).ok()?;
                out.extend_from_slice(&raw);
                c += 1;
            }
            out.truncate(rec.size as usize);
            Some(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::VolumeWriter;

    /// A journaled volume of `chunks` chunks of 4 KiB in bevies of 4, with one zero
    /// range, an unreadable one and a logical file; returns the bytes and the image.
    fn journaled() -> (Vec<u8>, Vec<u8>) {
        let cs = 4096usize;
        let img: Vec<u8> = (0..cs * 10).map(|i| (i * 7 % 251) as u8).collect();
        let mut vw = VolumeWriter::new(Vec::new(), "test").unwrap();
        let opts = StreamOptions {
            chunk_size: cs as u32,
            chunks_in_segment: 4,
            ..StreamOptions::default()
        };
        let mut m = vw.memory_image(opts).unwrap();
        let ranges = [(0u64, 0x10000u64), (0x20000, 0x20000 + 0x8000)];
        m.start_journal(
            &ranges,
            &[(pmem::SOURCE.into(), lx::XSD_STRING.into(), "t s".into())],
        )
        .unwrap();
        let c = Compression::Snappy;
        let mut stored = Vec::new();
        for (i, ch) in img[..cs * 6].chunks(cs).enumerate() {
            c.encode_chunk(ch, &mut stored);
            m.add_chunk((i * cs) as u64, ch, &stored).unwrap();
        }
        m.add_symbolic(0x6000, 0x2000, Symbolic::Zero).unwrap();
        m.add_symbolic(0x8000, 0x1000, Symbolic::UnreadableData)
            .unwrap();
        for (i, ch) in img[cs * 6..].chunks(cs).enumerate() {
            c.encode_chunk(ch, &mut stored);
            m.add_chunk(0x20000 + (i * cs) as u64, ch, &stored).unwrap();
        }
        m.finish(0x28000).unwrap();
        vw.add_logical_file("/proc/x", &mut &b"hello"[..], &LogicalFileMeta::default())
            .unwrap();
        (vw.finish().unwrap(), img)
    }

    #[test]
    fn block_hash_filler_stays_bounded() {
        // Small recoveries keep the journal's layout.
        assert_eq!(block_hash_layout(4150, 4096, 1024), (1024, true));
        // 16 GiB of a --footprint low run (1 MiB bevies): bevies grow to 32 MiB.
        assert_eq!(block_hash_layout(1 << 19, 32768, 32), (1024, true));
        // 64 GiB: even 64 MiB bevies need too much filler: no block hashes.
        assert!(!block_hash_layout(1 << 21, 32768, 32).1);
    }

    #[test]
    fn a_whole_file_scans_to_its_directory() {
        let (v, _) = journaled();
        let s = scan(&v);
        assert!(s.stopped.contains("no member header"), "{}", s.stopped);
        let names: Vec<&str> = s.members.iter().map(|m| m.name.as_str()).collect();
        assert!(names.contains(&journal::HEADER));
        assert!(names.contains(&journal::IMAGE_END));
        assert!(names.contains(&"information.turtle"));
    }

    #[test]
    fn every_truncation_recovers_what_reached_the_disk() {
        let (v, img) = journaled();
        let mut last_data = 0;
        for cut in (0..v.len()).step_by(97).chain([v.len()]) {
            let part = v[..cut].to_vec();
            match recover(&part, "p", Vec::new(), "t") {
                Ok((out, sum)) => {
                    let set = crate::volume::VolumeSet::from_bytes(out).unwrap();
                    let rep = crate::verify::verify(&set).unwrap();
                    assert!(rep.all_ok(), "cut {cut}: {}", rep.summary());
                    let mut s = set.open_stream(&sum.image_urn).unwrap();
                    let mut got = Vec::new();
                    s.read_to_end(&mut got).unwrap();
                    assert_eq!(got.len() as u64, 0x28000);
                    // Recovered data equals the source where the image has data.
                    for (a, b) in [(0usize, 0x6000usize), (0x20000, 0x24000)] {
                        let src_off = if a == 0 { 0 } else { 0x6000 };
                        let unknown = Symbolic::UnknownData;
                        for p in (a..b).step_by(4096) {
                            let mut u = vec![0u8; 4096];
                            unknown.fill(p as u64, &mut u);
                            let chunk = &got[p..p + 4096];
                            let want = &img[src_off + p - a..src_off + p - a + 4096];
                            assert!(
                                chunk == want || chunk == u.as_slice(),
                                "cut {cut} at {p:#x}"
                            );
                        }
                    }
                    assert!(
                        sum.data_bytes >= last_data,
                        "recovery never shrinks as the file grows"
                    );
                    last_data = sum.data_bytes;
                }
                Err(Error::NotRecoverable { .. }) => assert!(last_data == 0, "cut {cut}"),
                Err(e) => panic!("cut {cut}: {e}"),
            }
        }
        assert_eq!(last_data, 10 * 4096, "the whole file recovers everything");
    }
}
