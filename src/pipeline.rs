//! The acquisition pipeline: a pool of workers reads runs of the source in parallel
//! (positional reads into reused buffers), classifies each chunk (all-zero, unreadable,
//! data) and compresses the data chunks; the calling thread receives the batches in
//! order and hands them to the volume writer, whose linear-hash thread hashes the read
//! buffers themselves (no copy) while the workers compress the next ones. In-flight
//! batches and read buffers are bounded by fixed pools, so memory does not depend on the
//! size of RAM.
//!
//! Buffers go one way round: a read buffer leaves its pool for a worker, travels with
//! its batch to the writer and, shared, to the hash thread; when the last of them drops
//! it, it goes back to the pool ([`PooledBuf`]). The batch (encodings, classification)
//! goes back to its own pool as soon as the writer is done with it.
//!
//! One file (past 600 lines) because the worker pool, the buffer pools and the in-order
//! hand-off share one set of invariants (a buffer is recycled only once hashed and written);
//! its tests exercise them together.

use aff4::codec::Compression;
use aff4::hash_thread::SharedBuf;
use crossbeam_channel::{bounded, Receiver, Sender};
use drivers::{PhysRange, ReadError, Source};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// How the pipeline cuts and encodes the source.
#[derive(Debug, Clone)]
pub struct Config {
    /// ImageStream chunk size.
    pub chunk_size: usize,
    /// Chunks per read batch (one positional read each).
    pub batch_chunks: usize,
    /// Worker threads.
    pub threads: usize,
    /// Batches in flight (each `chunk_size * batch_chunks` encoded bytes and a read
    /// buffer of that size), at least `threads + 1`; plus [`SPARE_READS`] read buffers
    /// for the hash thread. All are allocated and touched before the first read and
    /// reused to the end: on a live host the pipeline's memory is a fixed set of pages.
    pub batches: usize,
    /// Codec.
    pub compression: Compression,
}

/// One classified piece of physical memory, in address order.
pub enum Piece<'a> {
    /// Bytes read from the source (`buf[range]`, a read buffer the sink may keep a
    /// reference to: it is recycled once every reference is dropped) and their encoding
    /// (`stored`, of the zero-padded chunk).
    Data {
        phys: u64,
        buf: &'a SharedBuf,
        range: Range<usize>,
        stored: &'a [u8],
    },
    /// An all-zero run (nothing stored; recorded as aff4:Zero).
    Zero { phys: u64, len: u64 },
    /// Pages the source could not read (recorded as aff4:UnreadableData).
    Unreadable { phys: u64, len: u64 },
}

/// Where the ordered pieces go.
pub trait Sink {
    /// Takes the next piece (called in increasing address order).
    fn piece(&mut self, piece: Piece<'_>) -> anyhow::Result<()>;
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Bytes handed to the sink (all kinds).
    pub bytes_done: u64,
    /// Ranges (or parts) never read because of a stop request.
    pub not_read: Vec<PhysRange>,
    /// Unreadable runs, merged.
    pub unreadable: Vec<PhysRange>,
}

/// A read job: one contiguous run inside one range.
#[derive(Debug, Clone, Copy)]
struct Job {
    phys: u64,
    len: usize,
}

/// A read buffer on loan from the pool: when the last reference to it (the batch's,
/// the hash thread's) is dropped, its bytes go back to the pool, still allocated.
struct PooledBuf {
    bytes: Vec<u8>,
    home: Arc<ReadPool>,
}

impl AsRef<[u8]> for PooledBuf {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        self.home.give(std::mem::take(&mut self.bytes));
    }
}

/// A reusable batch: the buffers travel worker → writer → worker.
#[derive(Default)]
struct Batch {
    seq: usize,
    job: Option<Job>,
    /// The bytes read (set by the worker; taken back by the writer once emitted).
    raw: Option<SharedBuf>,
    padded: Vec<u8>,
    /// One encoding buffer per data chunk, kept at the codec's worst-case length (never
    /// shrunk, so never zero-filled again); the encoding's length is in [`Kind::Data`].
    stored: Vec<Vec<u8>>,
    kinds: Vec<Kind>,
    /// The source is damaged (a dump file that does not decode): the run must stop.
    failed: Option<ReadError>,
}

impl Batch {
    /// A batch whose buffers already have their final size, their pages faulted in.
    fn prepared(cfg: &Config) -> Batch {
        let cs = cfg.chunk_size;
        let n = cfg.batch_chunks.max(1);
        // Room for any codec's worst case on one chunk (snappy: cs + cs/6 + 32).
        let worst = cs + cs / 4 + 64;
        Batch {
            padded: touched(cs),
            stored: (0..n).map(|_| vec![1u8; worst]).collect(),
            kinds: Vec::with_capacity(n * 2),
            ..Batch::default()
        }
    }
}

/// An empty vector of capacity `len` whose pages are faulted in.
fn touched(len: usize) -> Vec<u8> {
    let mut v = vec![1u8; len];
    v.clear();
    v
}

/// A read buffer of one batch's length, its pages faulted in.
fn read_buffer(cfg: &Config) -> Vec<u8> {
    let len = cfg.chunk_size * cfg.batch_chunks.max(1);
    let mut v = touched(len);
    v.resize(len, 0);
    v
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `stored`: the length of the encoding in the batch's next stored buffer, or `None`
    /// when the (full) chunk is stored raw: then its bytes in `raw` are what is stored.
    Data {
        phys: u64,
        off: usize,
        len: usize,
        stored: Option<usize>,
    },
    Zero {
        phys: u64,
        len: u64,
    },
    Unreadable {
        phys: u64,
        len: u64,
    },
}

fn jobs(ranges: &[PhysRange], batch: u64) -> Vec<Job> {
    let mut out = Vec::new();
    for r in ranges {
        let mut p = r.start;
        while p < r.end {
            let len = batch.min(r.end - p);
            out.push(Job {
                phys: p,
                len: len as usize,
            });
            p += len;
        }
    }
    out
}

/// Runs the pipeline over `ranges` of `source`, feeding `sink` in order. `stop` is polled
/// before each new read; when set, the rest is reported in [`Outcome::not_read`]. A
/// [`ReadError::Damaged`] source ends the run with that error (downcastable from the
/// returned `anyhow::Error`); other read errors become unreadable ranges.
pub fn run(
    source: &dyn Source,
    ranges: &[PhysRange],
    cfg: &Config,
    stop: &(dyn Fn() -> bool + Sync),
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64),
) -> anyhow::Result<Outcome> {
    let batch_bytes = (cfg.chunk_size * cfg.batch_chunks.max(1)) as u64;
    let jobs = jobs(ranges, batch_bytes);
    let threads = cfg.threads.max(1);
    let next = AtomicUsize::new(0);
    let abort = AtomicBool::new(false);
    let pool = cfg.batches.max(threads + 1);
    let (free_tx, free_rx) = bounded::<Batch>(pool);
    let (done_tx, done_rx) = bounded::<Batch>(pool);
    // One read buffer per batch, and one for each the hash thread may hold: a worker
    // never waits for one.
    let reads = Arc::new(ReadPool::new(
        (0..pool + SPARE_READS).map(|_| read_buffer(cfg)),
    ));
    for _ in 0..pool {
        free_tx
            .send(Batch::prepared(cfg))
            .map_err(|_| anyhow::anyhow!("pipeline setup failed"))?;
    }
    let mut outcome = Outcome::default();
    let claimed = std::thread::scope(|scope| -> anyhow::Result<usize> {
        for _ in 0..threads {
            let (free_rx, done_tx) = (free_rx.clone(), done_tx.clone());
            let (jobs, next, abort, reads) = (&jobs, &next, &abort, &reads);
            scope.spawn(move || {
                worker(
                    source, cfg, jobs, next, abort, stop, &free_rx, &done_tx, reads,
                )
            });
        }
        drop(done_tx);
        let res = drain(&done_rx, &free_tx, sink, &mut outcome, progress);
        if res.is_err() {
            abort.store(true, Ordering::SeqCst);
            // Let blocked workers finish: keep recycling until they are all gone.
            drop(free_tx);
            while done_rx.recv().is_ok() {}
        }
        res
    })?;
    for j in jobs.iter().skip(claimed) {
        push_range(&mut outcome.not_read, j.phys, j.phys + j.len as u64);
    }
    Ok(outcome)
}

/// Receives batches, reorders them and feeds the sink; returns how many jobs were done.
fn drain(
    done_rx: &Receiver<Batch>,
    free_tx: &Sender<Batch>,
    sink: &mut dyn Sink,
    outcome: &mut Outcome,
    progress: &dyn Fn(u64),
) -> anyhow::Result<usize> {
    let mut pending: BTreeMap<usize, Batch> = BTreeMap::new();
    let mut want = 0usize;
    while let Ok(b) = done_rx.recv() {
        pending.insert(b.seq, b);
        while let Some(mut b) = pending.remove(&want) {
            if let Some(e) = b.failed.take() {
                return Err(anyhow::Error::new(e));
            }
            emit(&b, sink, outcome)?;
            if let Some(j) = b.job {
                progress(j.len as u64);
            }
            // The read buffer goes back to its pool once the hash thread is done with it.
            b.raw = None;
            want += 1;
            // The worker side may already be gone (stop requested); that is fine.
            let _ = free_tx.send(b);
        }
    }
    if !pending.is_empty() {
        anyhow::bail!("internal error: acquisition pipeline lost batch {want}");
    }
    Ok(want)
}

fn emit(b: &Batch, sink: &mut dyn Sink, outcome: &mut Outcome) -> anyhow::Result<()> {
    let mut stored = b.stored.iter();
    let missing = || anyhow::anyhow!("internal error: batch without its read buffer");
    for k in &b.kinds {
        match *k {
            Kind::Data {
                phys,
                off,
                len,
                stored: encoded,
            } => {
                let s = stored
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("internal error: missing chunk"))?;
                let buf = b.raw.as_ref().ok_or_else(missing)?;
                let range = off..off + len;
                let raw = (**buf).as_ref().get(range.clone()).ok_or_else(missing)?;
                sink.piece(Piece::Data {
                    phys,
                    buf,
                    range,
                    stored: match encoded {
                        Some(n) => &s[..n],
                        None => raw,
                    },
                })?;
                outcome.bytes_done += len as u64;
            }
            Kind::Zero { phys, len } => {
                sink.piece(Piece::Zero { phys, len })?;
                outcome.bytes_done += len;
            }
            Kind::Unreadable { phys, len } => {
                sink.piece(Piece::Unreadable { phys, len })?;
                push_range(&mut outcome.unreadable, phys, phys + len);
                outcome.bytes_done += len;
            }
        }
    }
    Ok(())
}

fn push_range(v: &mut Vec<PhysRange>, start: u64, end: u64) {
    if let Some(last) = v.last_mut() {
        if last.end == start {
            last.end = end;
            return;
        }
    }
    v.push(PhysRange { start, end });
}

/// Read buffers beyond one per batch: while the writer waits for the next batch in
/// order, the hash thread's writer side keeps the previous batch's buffer (to merge the
/// next range into it), and one more lets a worker read while the hash thread hashes.
/// With fewer free buffers a worker waits until the hash thread gives one back: that is
/// the pipeline's backpressure when hashing is the slowest stage. It cannot deadlock:
/// batches waiting to be written hold at most `batches - 1` buffers (a waiting worker
/// holds a batch without one), the writer side one, so the rest are with the hash
/// thread, which gives them back without waiting for anything.
pub(crate) const SPARE_READS: usize = 2;

/// The read buffers: taken by workers, given back by [`PooledBuf`]. Last in, first
/// out: the buffer just given back (still in the caches) is the next one read into.
struct ReadPool {
    free: std::sync::Mutex<Vec<Vec<u8>>>,
    given: std::sync::Condvar,
}

impl ReadPool {
    fn new(bufs: impl Iterator<Item = Vec<u8>>) -> Self {
        ReadPool {
            free: std::sync::Mutex::new(bufs.collect()),
            given: std::sync::Condvar::new(),
        }
    }

    /// The most recently given-back buffer, waiting for one if none is free; `None` if
    /// the run is aborted meanwhile or the pool is broken (a panic while holding it).
    fn take(&self, abort: &AtomicBool) -> Option<Vec<u8>> {
        let mut free = self.free.lock().ok()?;
        loop {
            if let Some(b) = free.pop() {
                return Some(b);
            }
            if abort.load(Ordering::SeqCst) {
                return None;
            }
            free = self
                .given
                .wait_timeout(free, std::time::Duration::from_millis(100))
                .ok()?
                .0;
        }
    }

    fn give(&self, buf: Vec<u8>) {
        if let Ok(mut free) = self.free.lock() {
            free.push(buf);
            self.given.notify_one();
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn worker(
    source: &dyn Source,
    cfg: &Config,
    jobs: &[Job],
    next: &AtomicUsize,
    abort: &AtomicBool,
    stop: &(dyn Fn() -> bool + Sync),
    free_rx: &Receiver<Batch>,
    done_tx: &Sender<Batch>,
    reads: &Arc<ReadPool>,
) {
    while let Ok(mut b) = free_rx.recv() {
        if abort.load(Ordering::SeqCst) || stop() {
            return;
        }
        let seq = next.fetch_add(1, Ordering::SeqCst);
        let Some(job) = jobs.get(seq).copied() else {
            // No more work: undo the claim so the count of done jobs stays exact.
            next.fetch_sub(1, Ordering::SeqCst);
            return;
        };
        b.seq = seq;
        b.job = Some(job);
        let Some(mut raw) = reads.take(abort) else {
            abort.store(true, Ordering::SeqCst);
            return;
        };
        process(source, cfg, job, &mut b, &mut raw);
        b.raw = Some(Arc::new(PooledBuf {
            bytes: raw,
            home: Arc::clone(reads),
        }));
        let failed = b.failed.is_some();
        if failed {
            // Stop everyone claiming more; the writer reports it when it gets here.
            abort.store(true, Ordering::SeqCst);
        }
        if done_tx.send(b).is_err() || failed {
            return;
        }
    }
}

/// Reads one job into `raw` and classifies/encodes its chunks.
fn process(source: &dyn Source, cfg: &Config, job: Job, b: &mut Batch, raw: &mut Vec<u8>) {
    raw.resize(job.len, 0);
    b.kinds.clear();
    b.failed = None;
    let mut n_stored = 0usize;
    let bad = match read_job(source, job, raw) {
        Ok(bad) => bad,
        Err(e) => {
            b.failed = Some(e);
            return;
        }
    };
    let cs = cfg.chunk_size;
    let mut off = 0usize;
    while off < job.len {
        let len = cs.min(job.len - off);
        // Split the chunk at unreadable pages: readable runs become their own chunks.
        let mut runs: Vec<(usize, usize, bool)> = Vec::new(); // (off, len, readable)
        let mut p = off;
        while p < off + len {
            let readable = !bad.iter().any(|&(s, l)| p >= s && p < s + l);
            let run_end = next_boundary(&bad, p, off + len, readable);
            runs.push((p, run_end - p, readable));
            p = run_end;
        }
        for (roff, rlen, readable) in runs {
            let rphys = job.phys + roff as u64;
            if !readable {
                b.kinds.push(Kind::Unreadable {
                    phys: rphys,
                    len: rlen as u64,
                });
            } else if is_zero(&raw[roff..roff + rlen]) {
                b.kinds.push(Kind::Zero {
                    phys: rphys,
                    len: rlen as u64,
                });
            } else {
                if b.stored.len() <= n_stored {
                    b.stored.push(Vec::new());
                }
                let chunk = &raw[roff..roff + rlen];
                let out = &mut b.stored[n_stored];
                let stored = if rlen == cs {
                    // Stored raw (None): the chunk's bytes in `raw` are used, uncopied.
                    cfg.compression.encode_chunk_in(chunk, out)
                } else {
                    // A short chunk is stored zero-padded to the chunk size.
                    b.padded.clear();
                    b.padded.extend_from_slice(chunk);
                    b.padded.resize(cs, 0);
                    let n = cfg.compression.encode_chunk_in(&b.padded, out);
                    Some(n.unwrap_or_else(|| {
                        out.clear();
                        out.extend_from_slice(&b.padded);
                        cs
                    }))
                };
                n_stored += 1;
                b.kinds.push(Kind::Data {
                    phys: rphys,
                    off: roff,
                    len: rlen,
                    stored,
                });
            }
        }
        off += len;
    }
}

/// The end of the run starting at `p` that stays readable (or unreadable).
fn next_boundary(bad: &[(usize, usize)], p: usize, limit: usize, readable: bool) -> usize {
    if readable {
        bad.iter()
            .map(|&(s, _)| s)
            .filter(|&s| s > p)
            .min()
            .unwrap_or(limit)
            .min(limit)
    } else {
        let mut end = p;
        // Extend over touching bad runs.
        while let Some(&(s, l)) = bad.iter().find(|&&(s, l)| end >= s && end < s + l) {
            end = s + l;
        }
        end.min(limit)
    }
}

/// Reads `job` into `buf`; on failure retries page by page and returns the unreadable
/// (offset, len) runs, whose bytes are zeroed in `buf` (they are never mapped as data).
/// A damaged dump file is not a memory fault: that error is returned as it is.
fn read_job(
    source: &dyn Source,
    job: Job,
    buf: &mut [u8],
) -> Result<Vec<(usize, usize)>, ReadError> {
    match source.read_at(job.phys, buf) {
        Ok(()) => return Ok(Vec::new()),
        Err(e @ ReadError::Damaged { .. }) => return Err(e),
        Err(_) => {}
    }
    let page = source.page_size().max(512);
    let mut bad: Vec<(usize, usize)> = Vec::new();
    let mut off = 0usize;
    while off < buf.len() {
        // Pages are aligned to physical addresses.
        let phys = job.phys + off as u64;
        let to_boundary = page - (phys % page as u64) as usize;
        let len = to_boundary.min(buf.len() - off);
        let slot = &mut buf[off..off + len];
        if let Err(e) = source.read_at(phys, slot) {
            if let ReadError::Damaged { .. } = e {
                return Err(e);
            }
            tracing::debug!("unreadable page at {phys:#x}: {e}");
            slot.fill(0);
            match bad.last_mut() {
                Some(last) if last.0 + last.1 == off => last.1 += len,
                _ => bad.push((off, len)),
            }
        }
        off += len;
    }
    Ok(bad)
}

/// Whether every byte is zero (64-byte blocks OR-folded; the compiler vectorises it).
pub fn is_zero(buf: &[u8]) -> bool {
    let mut blocks = buf.chunks_exact(64);
    blocks
        .by_ref()
        .all(|c| c.iter().fold(0u8, |a, &b| a | b) == 0)
        && blocks.remainder().iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_zero_detects_any_nonzero_byte() {
        let mut v = vec![0u8; 32768];
        assert!(is_zero(&v));
        for pos in [0, 63, 64, 32767, 32700] {
            v[pos] = 1;
            assert!(!is_zero(&v), "byte {pos}");
            v[pos] = 0;
        }
        assert!(is_zero(&v[..37]));
        assert!(!is_zero(&[0, 0, 5]));
    }

    #[test]
    fn jobs_cover_ranges_exactly() {
        let r = [
            PhysRange {
                start: 0x1000,
                end: 0x9f000,
            },
            PhysRange {
                start: 0x100000,
                end: 0x180000,
            },
        ];
        let j = jobs(&r, 0x10000);
        let total: u64 = j.iter().map(|j| j.len as u64).sum();
        assert_eq!(total, 0x9e000 + 0x80000);
        assert_eq!(j[0].phys, 0x1000);
        assert!(j
            .windows(2)
            .all(|w| w[0].phys + w[0].len as u64 <= w[1].phys));
    }

    /// Memory of `len` bytes at physical 0: page `i` holds `i`, every third chunk zero.
    struct Mem(Vec<u8>, Vec<PhysRange>);
    impl Mem {
        fn new(len: usize, chunk: usize) -> Self {
            let bytes = (0..len)
                .map(|i| {
                    if (i / chunk) % 3 == 1 {
                        0
                    } else {
                        (i / 4096 + i % 7) as u8 | 1
                    }
                })
                .collect();
            Mem(
                bytes,
                vec![PhysRange {
                    start: 0,
                    end: len as u64,
                }],
            )
        }
    }
    impl Source for Mem {
        fn name(&self) -> &str {
            "mem"
        }
        fn description(&self) -> String {
            "test memory".into()
        }
        fn ranges(&self) -> &[PhysRange] {
            &self.1
        }
        fn read_at(&self, phys: u64, buf: &mut [u8]) -> Result<(), ReadError> {
            let at = phys as usize;
            buf.copy_from_slice(&self.0[at..at + buf.len()]);
            Ok(())
        }
    }

    /// Hands read buffers on as the image writer does: keeps the latest one, sends the
    /// one before with a copy of its bytes to a slow "hash thread" (bounded queue) that
    /// checks nobody wrote into it meanwhile before dropping it.
    struct Hashing {
        last: Option<SharedBuf>,
        queue: Option<crossbeam_channel::Sender<(SharedBuf, Vec<u8>)>>,
        image: Vec<u8>,
    }
    impl Hashing {
        fn hand_on(&mut self, next: Option<&SharedBuf>) {
            if let Some(b) = self.last.take() {
                let copy = (*b).as_ref().to_vec();
                let _ = self.queue.as_ref().map(|q| q.send((b, copy)));
            }
            self.last = next.map(Arc::clone);
        }
    }
    impl Sink for Hashing {
        fn piece(&mut self, piece: Piece<'_>) -> anyhow::Result<()> {
            match piece {
                Piece::Data {
                    phys, buf, range, ..
                } => {
                    assert_eq!(phys as usize, self.image.len());
                    self.image.extend_from_slice(&(**buf).as_ref()[range]);
                    if !self.last.as_ref().is_some_and(|b| Arc::ptr_eq(b, buf)) {
                        self.hand_on(Some(buf));
                    }
                }
                Piece::Zero { phys, len } => {
                    assert_eq!(phys as usize, self.image.len());
                    self.image.resize(self.image.len() + len as usize, 0);
                }
                Piece::Unreadable { .. } => anyhow::bail!("nothing is unreadable"),
            }
            Ok(())
        }
    }

    /// Read buffers held by a slow hash thread are not read into again before it lets
    /// them go, the workers wait for it instead of stalling for good, and the image
    /// comes out whole, in order.
    #[test]
    fn read_buffers_are_recycled_only_once_hashed() {
        let cs = 4096;
        let mem = Mem::new(cs * 4 * 60, cs);
        for threads in [1, 2] {
            let cfg = Config {
                chunk_size: cs,
                batch_chunks: 4,
                threads,
                batches: threads + 2,
                compression: Compression::Snappy,
            };
            let (tx, rx) = bounded::<(SharedBuf, Vec<u8>)>(4);
            let hasher = std::thread::spawn(move || {
                let mut n = 0;
                for (b, copy) in rx {
                    std::thread::sleep(std::time::Duration::from_micros(300));
                    assert!((*b).as_ref() == copy.as_slice(), "a held buffer was reused");
                    n += 1;
                }
                n
            });
            let mut sink = Hashing {
                last: None,
                queue: Some(tx),
                image: Vec::new(),
            };
            let out = run(&mem, &mem.1, &cfg, &|| false, &mut sink, &|_| {}).expect("run");
            sink.hand_on(None);
            sink.queue = None;
            let hashed = hasher.join().expect("no reused buffer");
            assert!(hashed > 0);
            assert_eq!(out.bytes_done as usize, mem.0.len());
            assert!(sink.image == mem.0, "{threads} thread(s): image differs");
        }
    }

    #[test]
    fn boundaries_split_at_bad_runs() {
        let bad = [(4096usize, 4096usize), (8192, 4096)];
        assert_eq!(next_boundary(&bad, 0, 32768, true), 4096);
        assert_eq!(next_boundary(&bad, 4096, 32768, false), 12288);
        assert_eq!(next_boundary(&bad, 12288, 32768, true), 32768);
    }
}
