//! Linear hashing on a thread of its own, so that hashing a whole image overlaps with
//! compressing and writing it.
//!
//! A linear hash is inherently sequential: one SHA-256 of a memory image runs at the
//! speed of one core. Done on the thread that also writes the volume, it adds up with
//! the write system calls; here the writer hands the bytes over and goes on.
//!
//! Two ways in: [`HashThread::update`] copies the bytes into one of a few fixed buffers
//! (memory bounded by `DEPTH` × the buffer length chosen by the caller, plus one zero
//! buffer of that length), and [`HashThread::update_shared`] hands over a reference to
//! the caller's own buffer ([`SharedBuf`]), with no copy: the caller gets the buffer
//! back (to recycle it) when the last reference is dropped, after it was hashed. At most
//! `DEPTH + 2` references are held at a time (the queue, the one being hashed, and the
//! one being extended), so a caller recycling a fixed pool of buffers needs that many
//! more than it keeps itself.

use crate::hash::{HashAlgo, MultiHasher};
use std::ops::Range;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Buffers in flight (plus the one being filled).
pub const DEPTH: usize = 4;
/// The smallest buffer length [`HashThread::new`] uses.
const MIN_BUF_LEN: usize = 4096;

/// A byte buffer shared with the hashing thread ([`HashThread::update_shared`]). When the
/// last reference goes, the owner's `Drop` gets the buffer back (e.g. to recycle it).
pub type SharedBuf = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// The most [`SharedBuf`] references a [`HashThread`] holds at once.
pub const SHARED_HELD: usize = DEPTH + 2;

/// What the hashing thread is told, in order.
enum Msg {
    /// Hash these bytes, then give the buffer back.
    Data(Vec<u8>),
    /// Hash this range of a shared buffer, then drop the reference.
    Shared(SharedBuf, Range<usize>),
    /// Hash this many zero bytes (holes and aff4:Zero ranges: nothing to copy).
    Zeros(u64),
}

/// What [`HashThread`] has gathered but not handed over yet: consecutive zero runs and
/// adjacent ranges of one shared buffer are merged into one message.
enum Pending {
    Nothing,
    Shared(SharedBuf, Range<usize>),
    Zeros(u64),
}

/// Feeds `n` zero bytes to `h`, `zeros` (all zero) at a time.
fn hash_zeros(h: &mut MultiHasher, zeros: &[u8], mut n: u64) {
    while n > 0 {
        let k = n.min(zeros.len() as u64) as usize;
        h.update(zeros.get(..k).unwrap_or(zeros));
        n -= k as u64;
    }
}

/// Linear hashes of a byte sequence, computed on a background thread.
///
/// Feed it with [`HashThread::update`] and [`HashThread::zeros`] in order, then
/// [`HashThread::finish`]. If no thread can be started it hashes on the caller's thread.
pub struct HashThread {
    /// To the hashing thread; `None` when hashing inline or once the thread is gone.
    tx: Option<SyncSender<Msg>>,
    /// Emptied buffers coming back.
    free: Option<Receiver<Vec<u8>>>,
    /// The buffer being filled.
    buf: Vec<u8>,
    /// Buffers allocated besides `buf` (at most DEPTH).
    allocated: usize,
    /// Bytes gathered before a buffer is handed to the hashing thread.
    buf_len: usize,
    handle: Option<JoinHandle<Vec<(HashAlgo, String)>>>,
    /// Set when hashing on the caller's thread.
    inline: Option<MultiHasher>,
    /// Shared ranges or zeros not sent yet (after `buf` in the order of the calls).
    pending: Pending,
}

impl HashThread {
    /// Starts hashing with `algos`, handing over buffers of `buf_len` bytes (at least 4 KiB).
    pub fn new(algos: &[HashAlgo], buf_len: usize) -> Self {
        let buf_len = buf_len.max(MIN_BUF_LEN);
        let inline = |h| HashThread {
            tx: None,
            free: None,
            buf: Vec::new(),
            allocated: 0,
            buf_len,
            handle: None,
            inline: Some(h),
            pending: Pending::Nothing,
        };
        if algos.is_empty() {
            return inline(MultiHasher::new(algos));
        }
        let (tx, rx) = sync_channel::<Msg>(DEPTH);
        let (free_tx, free_rx) = sync_channel::<Vec<u8>>(DEPTH);
        let mut hasher = MultiHasher::new(algos);
        let spawned = std::thread::Builder::new()
            .name("aff4-hash".into())
            .spawn(move || {
                let zeros = vec![0u8; buf_len];
                for msg in rx {
                    match msg {
                        Msg::Data(mut v) => {
                            hasher.update(&v);
                            v.clear();
                            // The writer may be finishing: then the buffer is dropped.
                            let _ = free_tx.try_send(v);
                        }
                        Msg::Shared(b, r) => {
                            let bytes = (*b).as_ref();
                            hasher.update(bytes.get(r).unwrap_or(bytes));
                        }
                        Msg::Zeros(n) => hash_zeros(&mut hasher, &zeros, n),
                    }
                }
                hasher.finish()
            });
        match spawned {
            Ok(handle) => HashThread {
                tx: Some(tx),
                free: Some(free_rx),
                buf: Vec::with_capacity(buf_len),
                allocated: 0,
                buf_len,
                handle: Some(handle),
                inline: None,
                pending: Pending::Nothing,
            },
            Err(e) => {
                tracing::warn!("hashing on the writer thread (cannot start a thread: {e})");
                inline(MultiHasher::new(algos))
            }
        }
    }

    /// Feeds `data` (copied into the thread's buffers).
    pub fn update(&mut self, mut data: &[u8]) {
        if let Some(h) = &mut self.inline {
            h.update(data);
            return;
        }
        self.send_pending();
        while !data.is_empty() {
            let room = self.buf_len - self.buf.len();
            let (now, later) = data.split_at(room.min(data.len()));
            self.buf.extend_from_slice(now);
            data = later;
            if self.buf.len() >= self.buf_len {
                self.flush();
            }
        }
    }

    /// Feeds `range` of `buf` without copying it: the hashing thread reads it from `buf`
    /// and drops its reference once hashed. A range that continues the previous call's
    /// range of the same buffer is merged with it.
    pub fn update_shared(&mut self, buf: &SharedBuf, range: Range<usize>) {
        if let Some(h) = &mut self.inline {
            let bytes = (**buf).as_ref();
            h.update(bytes.get(range).unwrap_or(bytes));
            return;
        }
        if range.is_empty() {
            return;
        }
        if let Pending::Shared(b, r) = &mut self.pending {
            if Arc::ptr_eq(b, buf) && r.end == range.start {
                r.end = range.end;
                return;
            }
        }
        self.flush();
        self.send_pending();
        self.pending = Pending::Shared(Arc::clone(buf), range);
    }

    /// Feeds `n` zero bytes (without copying anything).
    pub fn zeros(&mut self, n: u64) {
        if let Some(h) = &mut self.inline {
            hash_zeros(h, &[0u8; 4096], n);
            return;
        }
        if n == 0 {
            return;
        }
        if let Pending::Zeros(z) = &mut self.pending {
            *z += n;
            return;
        }
        self.flush();
        self.send_pending();
        self.pending = Pending::Zeros(n);
    }

    /// Hands over what [`Pending`] holds.
    fn send_pending(&mut self) {
        match std::mem::replace(&mut self.pending, Pending::Nothing) {
            Pending::Nothing => {}
            Pending::Shared(b, r) => self.send(Msg::Shared(b, r)),
            Pending::Zeros(n) => self.send(Msg::Zeros(n)),
        }
    }

    /// Hands the filled part of the buffer over (keeps the order of the calls).
    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        // Reuse an emptied buffer; allocate until DEPTH exist; then wait for one.
        let reused = self.free.as_ref().and_then(|f| {
            f.try_recv().ok().or_else(|| {
                if self.allocated < DEPTH {
                    None
                } else {
                    f.recv().ok()
                }
            })
        });
        let next = reused.unwrap_or_else(|| {
            self.allocated += 1;
            Vec::with_capacity(self.buf_len)
        });
        let full = std::mem::replace(&mut self.buf, next);
        self.send(Msg::Data(full));
    }

    fn send(&mut self, msg: Msg) {
        if let Some(tx) = &self.tx {
            if tx.send(msg).is_err() {
                // The thread is gone (it panicked): `finish` reports it.
                self.tx = None;
                self.free = None;
            }
        }
    }

    /// Returns `(algorithm, lowercase hex digest)` for each algorithm, or `None` if
    /// the hashing thread died (a bug): the caller must not record hashes then.
    pub fn finish(mut self) -> Option<Vec<(HashAlgo, String)>> {
        if let Some(h) = self.inline.take() {
            return Some(h.finish());
        }
        self.flush();
        self.send_pending();
        let intact = self.tx.is_some();
        self.tx = None;
        self.free = None;
        let hashes = self.handle.take()?.join().ok()?;
        intact.then_some(hashes)
    }
}

impl Drop for HashThread {
    /// Dropped without [`HashThread::finish`] (an error path): the thread is told to stop
    /// and joined, so that it never outlives its owner (it hashes at most the DEPTH
    /// buffers already handed over, then sees the channel closed).
    fn drop(&mut self) {
        self.tx = None;
        self.free = None;
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Any mix of updates and zero runs gives the digests of the same bytes hashed
    /// in one go, across buffer boundaries.
    #[test]
    fn matches_hashing_in_one_go() {
        let algos = [HashAlgo::Sha256, HashAlgo::Md5];
        // Pieces up to half a MiB: many per buffer, and many buffers per piece.
        const PIECE: usize = 1 << 19;
        for buf_len in [1 << 20, 4096] {
            let mut bytes = Vec::new();
            let mut t = HashThread::new(&algos, buf_len);
            let mut x = 7u32;
            for i in 0..40usize {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let n = (x as usize >> 8) % (PIECE + 3);
                if i % 3 == 0 {
                    t.zeros(n as u64);
                    bytes.resize(bytes.len() + n, 0);
                } else {
                    let piece: Vec<u8> = (0..n).map(|k| (k as u32 ^ x) as u8).collect();
                    t.update(&piece);
                    bytes.extend_from_slice(&piece);
                }
            }
            let mut expected = MultiHasher::new(&algos);
            expected.update(&bytes);
            assert_eq!(t.finish(), Some(expected.finish()), "buffers of {buf_len}");
        }
    }

    /// A buffer that counts how often it came back (was dropped).
    struct Counted(Vec<u8>, Arc<std::sync::atomic::AtomicUsize>);
    impl AsRef<[u8]> for Counted {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }
    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Shared ranges (merged or not), copies and zero runs interleaved give the digest
    /// of the same bytes in order, and every shared buffer is released by the end.
    #[test]
    fn shared_buffers_hash_in_order_and_come_back() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let algos = [HashAlgo::Sha256];
        for buf_len in [1 << 20, 4096] {
            let back = Arc::new(AtomicUsize::new(0));
            let mut bytes = Vec::new();
            let mut t = HashThread::new(&algos, buf_len);
            let mut made = 0;
            for i in 0..30u32 {
                let data: Vec<u8> = (0..70_000u32).map(|k| (k * 7 + i) as u8).collect();
                let buf: SharedBuf = Arc::new(Counted(data.clone(), Arc::clone(&back)));
                made += 1;
                // Adjacent ranges (merged), a gap (not merged), then zeros or a copy.
                t.update_shared(&buf, 0..1000);
                t.update_shared(&buf, 1000..30_000);
                t.update_shared(&buf, 40_000..70_000);
                bytes.extend_from_slice(&data[..30_000]);
                bytes.extend_from_slice(&data[40_000..]);
                if i % 2 == 0 {
                    t.zeros(5000);
                    t.zeros(123);
                    bytes.resize(bytes.len() + 5123, 0);
                } else {
                    t.update(&data[..777]);
                    bytes.extend_from_slice(&data[..777]);
                }
            }
            let mut expected = MultiHasher::new(&algos);
            expected.update(&bytes);
            assert_eq!(t.finish(), Some(expected.finish()), "buffers of {buf_len}");
            assert_eq!(
                back.load(Ordering::SeqCst),
                made,
                "every shared buffer released"
            );
        }
    }

    #[test]
    fn nothing_fed_is_the_empty_digest() {
        let t = HashThread::new(&[HashAlgo::Sha256], 0);
        let h = t.finish().unwrap_or_default();
        assert_eq!(
            h[0].1,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
