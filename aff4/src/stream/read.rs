//! Reading an aff4:ImageStream: bevies located through the index, chunks decoded on
//! demand, the last decoded chunk and the current bevy's index cached.
//!
//! One file (past 600 lines): the bevy index, the chunk decoders and the caches are one
//! reader whose bounds checks (declared sizes against real ones) belong together.

use crate::codec::Compression;
use crate::volume::{Resolver, Stream};
use crate::{Error, Result};
use rayon::prelude::*;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Largest chunk size we accept from metadata.
pub const MAX_CHUNK_SIZE: u64 = 64 << 20;
/// Largest chunksInSegment we accept from metadata.
pub const MAX_CHUNKS_IN_SEGMENT: u64 = 1 << 20;

/// The parameters of an ImageStream, from its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageStreamInfo {
    /// The stream URN.
    pub urn: String,
    /// Bytes per chunk.
    pub chunk_size: u64,
    /// Chunks per bevy.
    pub chunks_in_segment: u64,
    /// Logical size.
    pub size: u64,
    /// Codec.
    pub compression: Compression,
}

/// One chunk's place in its bevy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Offset inside the bevy member.
    pub offset: u64,
    /// Stored length.
    pub length: u64,
}

/// Parses a standard `<bevy>.index` (12-byte `{u64 offset, u32 length}` entries).
pub fn parse_index(b: &[u8], urn: &str) -> Result<Vec<IndexEntry>> {
    if b.len() % 12 != 0 {
        return Err(Error::corrupt(
            urn,
            format!("index of {} bytes is not a multiple of 12", b.len()),
        ));
    }
    Ok(b.chunks_exact(12)
        .map(|e| {
            let mut o = [0u8; 8];
            o.copy_from_slice(&e[..8]);
            IndexEntry {
                offset: u64::from_le_bytes(o),
                length: u64::from(u32::from_le_bytes([e[8], e[9], e[10], e[11]])),
            }
        })
        .collect())
}

/// Parses a pre-standard `<bevy>/index`: u32 chunk offsets; the bevy length closes the
/// last chunk. Evimetry wrote end offsets, Rekall/c-aff4 start offsets: if the first
/// value is 0 they are starts, otherwise ends.
pub fn parse_legacy_index(b: &[u8], bevy_len: u64, urn: &str) -> Result<Vec<IndexEntry>> {
    if b.len() % 4 != 0 {
        return Err(Error::corrupt(
            urn,
            format!("legacy index of {} bytes is not a multiple of 4", b.len()),
        ));
    }
    let v: Vec<u64> = b
        .chunks_exact(4)
        .map(|e| u64::from(u32::from_le_bytes([e[0], e[1], e[2], e[3]])))
        .collect();
    let starts: Vec<u64> = if v.first() == Some(&0) {
        v.clone()
    } else {
        std::iter::once(0)
            .chain(v.iter().copied().take(v.len().saturating_sub(1)))
            .collect()
    };
    let ends: Vec<u64> = if v.first() == Some(&0) {
        v.iter().skip(1).copied().chain([bevy_len]).collect()
    } else {
        v
    };
    starts
        .iter()
        .zip(&ends)
        .map(|(&s, &e)| {
            if e < s || e > bevy_len {
                Err(Error::corrupt(
                    urn,
                    format!("legacy index entry {s}..{e} outside the bevy of {bevy_len} bytes"),
                ))
            } else {
                Ok(IndexEntry {
                    offset: s,
                    length: e - s,
                })
            }
        })
        .collect()
}

/// Largest stored length we accept for one chunk: a chunk that does not compress is
/// stored raw (exactly `chunk_size`), so anything much longer is corrupt.
pub fn max_stored_chunk(chunk_size: u64) -> u64 {
    chunk_size + chunk_size / 8 + 1024
}

/// Checks that every index entry lies inside its bevy member of `bevy_len` bytes, is
/// not longer than a chunk could be, and that together they claim no more bytes than
/// the bevy has (entries sharing stored bytes would let a small bevy decode to an
/// unbounded amount of data).
pub fn check_index(
    entries: &[IndexEntry],
    bevy_len: u64,
    chunk_size: u64,
    urn: &str,
) -> Result<()> {
    let mut total = 0u64;
    for (i, e) in entries.iter().enumerate() {
        total = total.saturating_add(e.length);
        if total > bevy_len {
            return Err(Error::corrupt(
                urn,
                format!(
                    "index entries 0..={i} claim {total} stored bytes in a {bevy_len}-byte bevy: \
                     entries share bytes"
                ),
            ));
        }
        if e.length > max_stored_chunk(chunk_size) {
            return Err(Error::corrupt(
                urn,
                format!(
                    "index entry {i} claims {} stored bytes for a {chunk_size}-byte chunk",
                    e.length
                ),
            ));
        }
        if !e
            .offset
            .checked_add(e.length)
            .is_some_and(|end| end <= bevy_len)
        {
            return Err(Error::corrupt(
                urn,
                format!(
                    "index entry {i} ({}+{}) lies past the end of the {bevy_len}-byte bevy",
                    e.offset, e.length
                ),
            ));
        }
    }
    Ok(())
}

/// The declared `aff4:size` must be backed by bevies: the last bevy it needs must be a
/// member of the volume set. Refused before reading, so a stream whose
/// size was inflated (a flipped byte in the metadata) fails at once instead of after
/// decoding everything that is there.
fn check_last_bevy(info: &ImageStreamInfo, res: &Resolver) -> Result<()> {
    if info.size == 0 {
        return Ok(());
    }
    let bevy_bytes = info.chunk_size.saturating_mul(info.chunks_in_segment);
    let last = (info.size - 1) / bevy_bytes;
    let name = format!("{}/{:08}", info.urn, last);
    if res.member_by_urn(&name).is_none() {
        return Err(Error::corrupt(
            &info.urn,
            format!(
                "aff4:size {} needs {} bevies of {bevy_bytes} bytes but bevy {last} is not in the volume",
                info.size,
                last + 1
            ),
        ));
    }
    Ok(())
}

/// Where a chunk's stored bytes are, once its bevy index has been read.
#[derive(Clone)]
enum Stored {
    /// A range of a stored (method 0) bevy member, read positionally.
    Range(IndexEntry),
    /// A range of a deflated bevy member, inflated whole.
    Inflated(IndexEntry, Arc<Vec<u8>>),
}

/// A chunk located in its bevy, ready to be fetched and decoded on any thread.
#[derive(Clone)]
struct Located {
    bevy_urn: String,
    stored: Stored,
}

/// Finds chunks: the current bevy's index and (for a deflated bevy) the inflated
/// bevy are cached.
struct Locator {
    info: Arc<ImageStreamInfo>,
    res: Arc<Resolver>,
    index: Option<(u64, Vec<IndexEntry>)>,
    inflated_bevy: Option<(u64, Arc<Vec<u8>>)>,
}

impl Locator {
    fn bevy_urn(&self, bevy: u64) -> String {
        format!("{}/{:08}", self.info.urn, bevy)
    }

    /// Reads the standard `<bevy>.index`, or the pre-standard `<bevy>/index`.
    fn read_index(&self, bevy_urn: &str, bevy_len: u64) -> Result<Vec<IndexEntry>> {
        let limit = self.info.chunks_in_segment * 12 + 12;
        match self
            .res
            .read_member_by_urn(&format!("{bevy_urn}.index"), limit)
        {
            Ok(b) => parse_index(&b, bevy_urn),
            Err(Error::MissingMember(_)) => {
                let b = self
                    .res
                    .read_member_by_urn(&format!("{bevy_urn}/index"), limit)
                    .map_err(|e| match e {
                        Error::MissingMember(_) => {
                            Error::MissingMember(format!("{bevy_urn}.index"))
                        }
                        other => other,
                    })?;
                parse_legacy_index(&b, bevy_len, bevy_urn)
            }
            Err(e) => Err(e),
        }
    }

    fn load_index(&mut self, bevy: u64) -> Result<()> {
        if self.index.as_ref().is_some_and(|(b, _)| *b == bevy) {
            return Ok(());
        }
        let bevy_urn = self.bevy_urn(bevy);
        let (_, entry) = self
            .res
            .member_by_urn(&bevy_urn)
            .ok_or_else(|| Error::MissingMember(bevy_urn.clone()))?;
        let bevy_len = entry.size;
        let entries = self.read_index(&bevy_urn, bevy_len)?;
        check_index(&entries, bevy_len, self.info.chunk_size, &bevy_urn)?;
        self.index = Some((bevy, entries));
        Ok(())
    }

    /// Finds chunk `chunk`: its bevy index entry, and the inflated bevy if the bevy
    /// member is deflated.
    fn locate(&mut self, chunk: u64) -> Result<Located> {
        let (bevy, i) = (
            chunk / self.info.chunks_in_segment,
            chunk % self.info.chunks_in_segment,
        );
        self.load_index(bevy)?;
        let bevy_urn = self.bevy_urn(bevy);
        let e = self
            .index
            .as_ref()
            .and_then(|(_, idx)| idx.get(i as usize).copied())
            .ok_or_else(|| {
                Error::corrupt(&bevy_urn, format!("index has no entry for chunk {i}"))
            })?;
        let deflated = self
            .res
            .member_by_urn(&bevy_urn)
            .is_some_and(|(_, m)| m.method == crate::zip::Method::Deflated);
        if !deflated {
            return Ok(Located {
                bevy_urn,
                stored: Stored::Range(e),
            });
        }
        let data = match &self.inflated_bevy {
            Some((b, d)) if *b == bevy => d.clone(),
            _ => {
                let limit = self.info.chunks_in_segment * max_stored_chunk(self.info.chunk_size);
                let data = Arc::new(
                    self.res
                        .read_member_by_urn(&bevy_urn, limit.min(crate::volume::MEMBER_LIMIT))?,
                );
                self.inflated_bevy = Some((bevy, data.clone()));
                data
            }
        };
        Ok(Located {
            bevy_urn,
            stored: Stored::Inflated(e, data),
        })
    }
}

/// Fetches the stored bytes of `loc` into `scratch` and decodes them into `out`.
fn decode(
    info: &ImageStreamInfo,
    res: &Resolver,
    loc: &Located,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let stored: &[u8] = match &loc.stored {
        Stored::Range(e) => {
            scratch.resize(e.length as usize, 0);
            res.read_member_range(&loc.bevy_urn, e.offset, scratch)?;
            scratch
        }
        Stored::Inflated(e, data) => data
            .get(e.offset as usize..(e.offset + e.length) as usize)
            .ok_or_else(|| Error::corrupt(&loc.bevy_urn, "index entry past the inflated bevy"))?,
    };
    info.compression
        .decode_chunk(stored, info.chunk_size as usize, out, &loc.bevy_urn)
}

/// Bytes of decoded chunks a read-ahead keeps in flight at most (batches queued,
/// the one being decoded and the one being consumed), whatever the image size.
pub const READ_AHEAD_WINDOW: u64 = 32 << 20;
/// Bytes of chunks decoded together on the worker pool.
const READ_AHEAD_BATCH: u64 = 4 << 20;

/// Decoded chunks in stream order, produced ahead of the reader.
type Batch = Vec<Result<Vec<u8>>>;

/// A background thread that locates chunks in order and decodes them a batch at a
/// time (on the rayon pool when there are more than two cores), ahead of the
/// reader; a bounded channel holds the batches.
struct ReadAhead {
    /// The chunk the next decoded chunk will be.
    next: u64,
    /// The rest of the batch being consumed.
    current: std::vec::IntoIter<Result<Vec<u8>>>,
    rx: Option<Receiver<Batch>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl ReadAhead {
    /// Starts decoding from `first` to the end of the stream, in batches of
    /// `batch` chunks with at most `depth` batches queued. `None` if no thread can be
    /// started.
    fn start(
        info: Arc<ImageStreamInfo>,
        res: Arc<Resolver>,
        first: u64,
        batch: u64,
        depth: usize,
    ) -> Option<Self> {
        let n_chunks = info.size.div_ceil(info.chunk_size);
        let (tx, rx) = sync_channel::<Batch>(depth);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        // With two cores, this thread decoding while the reader consumes uses both;
        // the worker pool only pays off beyond that (its idle workers spin, taking
        // time from the reader).
        let parallel = std::thread::available_parallelism().map_or(1, |n| n.get()) > 2;
        let handle = std::thread::Builder::new()
            .name("aff4-readahead".into())
            .spawn(move || {
                let mut loc = Locator {
                    info: info.clone(),
                    res: res.clone(),
                    index: None,
                    inflated_bevy: None,
                };
                let mut scratch = Vec::new();
                let mut chunk = first;
                while chunk < n_chunks && !stop2.load(Ordering::Relaxed) {
                    let end = n_chunks.min(chunk + batch);
                    let mut located = Vec::with_capacity((end - chunk) as usize);
                    let mut failed = None;
                    for c in chunk..end {
                        match loc.locate(c) {
                            Ok(l) => located.push(l),
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                    }
                    let one = |scratch: &mut Vec<u8>, l: &Located| {
                        let mut v = Vec::new();
                        decode(&info, &res, l, scratch, &mut v).map(|()| v)
                    };
                    let mut out: Batch = if parallel {
                        located.par_iter().map_init(Vec::new, one).collect()
                    } else {
                        located.iter().map(|l| one(&mut scratch, l)).collect()
                    };
                    // Nothing is decoded past the first error: the reader stops there.
                    if let Some(bad) = out.iter().position(|r| r.is_err()) {
                        out.truncate(bad + 1);
                        failed = None;
                        chunk = n_chunks;
                    }
                    if let Some(e) = failed {
                        out.push(Err(e));
                        chunk = n_chunks;
                    } else if chunk < n_chunks {
                        chunk = end;
                    }
                    if tx.send(out).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(ReadAhead {
            next: first,
            current: Vec::new().into_iter(),
            rx: Some(rx),
            stop,
            handle: Some(handle),
        })
    }

    /// The next decoded chunk (`self.next`), waiting for it if need be; `None` if
    /// the thread ended without producing it.
    fn take(&mut self) -> Option<Result<Vec<u8>>> {
        loop {
            if let Some(r) = self.current.next() {
                self.next += 1;
                return Some(r);
            }
            self.current = self.rx.as_ref()?.recv().ok()?.into_iter();
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Closing the channel wakes a producer blocked on a full queue.
        self.rx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A `Read + Seek` view of an ImageStream. Only the bytes of the chunk being read are
/// read from the volume (positional reads into the stored bevy); the last decoded
/// chunk and the current bevy's index are cached. A deflated bevy member (unusual)
/// is inflated once and cached while its chunks are read.
///
/// With [`ImageStreamReader::set_read_ahead`], chunks are decoded in parallel ahead of
/// a reader that reads in order (a seek elsewhere restarts the read-ahead there),
/// with at most [`READ_AHEAD_WINDOW`] bytes in flight; a corrupt chunk is still
/// reported, with the same error, when the reader gets to it.
pub struct ImageStreamReader {
    info: Arc<ImageStreamInfo>,
    loc: Locator,
    pos: u64,
    chunk: Option<(u64, Vec<u8>)>,
    scratch: Vec<u8>,
    /// Read-ahead in chunks per batch and batches queued; `None` when off.
    read_ahead: Option<(u64, usize)>,
    ahead: Option<ReadAhead>,
}

impl ImageStreamReader {
    /// Opens the stream described by `info` (parameters already bounded).
    pub(crate) fn new(info: ImageStreamInfo, res: Arc<Resolver>) -> Result<Self> {
        if info.chunk_size == 0 || info.chunk_size > MAX_CHUNK_SIZE {
            return Err(Error::corrupt(
                &info.urn,
                format!("chunk size {} is out of range", info.chunk_size),
            ));
        }
        if info.chunks_in_segment == 0 || info.chunks_in_segment > MAX_CHUNKS_IN_SEGMENT {
            return Err(Error::corrupt(
                &info.urn,
                format!("chunksInSegment {} is out of range", info.chunks_in_segment),
            ));
        }
        check_last_bevy(&info, &res)?;
        let info = Arc::new(info);
        Ok(ImageStreamReader {
            info: info.clone(),
            loc: Locator {
                info,
                res,
                index: None,
                inflated_bevy: None,
            },
            pos: 0,
            chunk: None,
            scratch: Vec::new(),
            read_ahead: None,
            ahead: None,
        })
    }

    /// The stream parameters.
    pub fn info(&self) -> &ImageStreamInfo {
        &self.info
    }

    /// Turns read-ahead on with a window of about `window` bytes (at least two
    /// chunks; `0` turns it off). Meant for readers that read the stream in order.
    pub fn set_read_ahead(&mut self, window: u64) {
        self.ahead = None;
        if window == 0 {
            self.read_ahead = None;
            return;
        }
        let cs = self.info.chunk_size;
        let batch = (READ_AHEAD_BATCH.min(window / 4) / cs).max(1);
        // Queued batches; one more is being decoded and one consumed.
        let depth = (window / (batch * cs)).saturating_sub(2).clamp(1, 8) as usize;
        self.read_ahead = Some((batch, depth));
    }

    fn load_chunk(&mut self, chunk: u64) -> Result<()> {
        if self.chunk.as_ref().is_some_and(|(c, _)| *c == chunk) {
            return Ok(());
        }
        if let Some((batch, depth)) = self.read_ahead {
            if self.ahead.as_ref().is_some_and(|a| a.next != chunk) {
                self.ahead = None;
            }
            if self.ahead.is_none() {
                self.ahead =
                    ReadAhead::start(self.info.clone(), self.loc.res.clone(), chunk, batch, depth);
            }
            if let Some(r) = self.ahead.as_mut().and_then(ReadAhead::take) {
                return match r {
                    Ok(v) => {
                        self.chunk = Some((chunk, v));
                        Ok(())
                    }
                    Err(e) => {
                        // Stopped at the error: a retry starts over (and fails alike).
                        self.ahead = None;
                        Err(e)
                    }
                };
            }
            // No thread, or it ended early: decode here.
            self.ahead = None;
        }
        let loc = self.loc.locate(chunk)?;
        let mut out = self.chunk.take().map(|(_, v)| v).unwrap_or_default();
        decode(&self.info, &self.loc.res, &loc, &mut self.scratch, &mut out)?;
        self.chunk = Some((chunk, out));
        Ok(())
    }

    /// Reads into `buf` at stream offset `offset` (at most one chunk's worth); returns
    /// the number of bytes read, 0 at the end of the stream.
    pub fn read_at(&mut self, buf: &mut [u8], offset: u64) -> Result<usize> {
        if offset >= self.info.size || buf.is_empty() {
            return Ok(0);
        }
        let chunk = offset / self.info.chunk_size;
        self.load_chunk(chunk)?;
        let data = self
            .chunk
            .as_ref()
            .map(|(_, d)| d.as_slice())
            .unwrap_or(&[]);
        let off = (offset % self.info.chunk_size) as usize;
        let avail = (data.len().saturating_sub(off) as u64).min(self.info.size - offset) as usize;
        let n = avail.min(buf.len());
        match (data.get(off..off + n), buf.get_mut(..n)) {
            (Some(src), Some(dst)) if n > 0 => {
                dst.copy_from_slice(src);
                Ok(n)
            }
            _ => Err(Error::corrupt(
                &self.info.urn,
                format!(
                    "chunk {chunk} decodes to {} bytes, too short for offset {offset}",
                    data.len()
                ),
            )),
        }
    }
}

impl Read for ImageStreamReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.read_at(buf, self.pos).map_err(std::io::Error::other)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ImageStreamReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.pos = crate::volume::seek_to(self.pos, self.info.size, pos)?;
        Ok(self.pos)
    }
}

impl Stream for ImageStreamReader {
    fn size(&self) -> u64 {
        self.info.size
    }
    fn urn(&self) -> &str {
        &self.info.urn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn legacy_index_end_and_start_offsets() {
        let ends: Vec<u8> = [10u32, 25, 40]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let e = parse_legacy_index(&ends, 40, "t").unwrap();
        assert_eq!(
            e[1],
            IndexEntry {
                offset: 10,
                length: 15
            }
        );
        let starts: Vec<u8> = [0u32, 10, 25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let s = parse_legacy_index(&starts, 40, "t").unwrap();
        assert_eq!(s, e);
        assert!(parse_legacy_index(&ends, 30, "t").is_err());
    }

    #[test]
    fn index_entries_are_checked_against_the_bevy() {
        let ok = [
            IndexEntry {
                offset: 0,
                length: 100,
            },
            IndexEntry {
                offset: 100,
                length: 50,
            },
        ];
        assert!(check_index(&ok, 150, 32768, "b").is_ok());
        assert!(check_index(&ok, 149, 32768, "b").is_err());
        let huge = [IndexEntry {
            offset: 0,
            length: 1 << 30,
        }];
        assert!(check_index(&huge, 2 << 30, 32768, "b").is_err());
        let wrap = [IndexEntry {
            offset: u64::MAX,
            length: 1,
        }];
        assert!(check_index(&wrap, u64::MAX, 32768, "b").is_err());
    }

    proptest! {
        #[test]
        fn legacy_index_never_panics_and_stays_in_the_bevy(
            v in proptest::collection::vec(any::<u32>(), 0..40),
            bevy_len in any::<u32>(),
        ) {
            let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            if let Ok(entries) = parse_legacy_index(&b, u64::from(bevy_len), "t") {
                for e in entries {
                    prop_assert!(e.offset + e.length <= u64::from(bevy_len));
                }
            }
        }
    }

    proptest! {
        #[test]
        fn index_round_trip(v in proptest::collection::vec((any::<u64>(), any::<u32>()), 0..50)) {
            let bytes: Vec<u8> = v.iter().flat_map(|(o, l)| o.to_le_bytes().into_iter().chain(l.to_le_bytes())).collect();
            let parsed = parse_index(&bytes, "t").unwrap();
            prop_assert_eq!(parsed.len(), v.len());
            for (p, (o, l)) in parsed.iter().zip(&v) {
                prop_assert_eq!(p.offset, *o);
                prop_assert_eq!(p.length, u64::from(*l));
            }
            prop_assert!(parse_index(&bytes[..bytes.len().saturating_sub(1)], "t").is_err() || bytes.is_empty());
        }
    }
}
