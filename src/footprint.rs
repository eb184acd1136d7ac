//! How much of the target's memory the imager may take while it reads.
//!
//! On a live host every page the imager takes during the run comes off the kernel's
//! free lists, recently freed pages first — where the freed memory of the processes an
//! examiner wants to recover sits — so its whole footprint can overwrite evidence
//! before it is read: heap and buffers, allocator churn (each freshly faulted anonymous
//! page is one more free page taken), the output's page cache (see [`crate::nocache`]),
//! and what it makes the kernel allocate. [`Footprint::Low`], the default for live
//! sources, is a small fixed set of buffers allocated and touched before the first
//! read and reused to the end, with one reader; [`Footprint::Fast`], the default for
//! imports of dump files, trades memory for throughput.

use clap::ValueEnum;

/// The memory budget of an acquisition (`--footprint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Footprint {
    /// A few MiB allocated once: one reader thread, small batches, small bevies.
    Low,
    /// Tens of MiB: a reader per core, 32-chunk reads (1 MiB), 1024-chunk bevies (32 MiB).
    Fast,
}

/// A size given in bytes (cut into whole chunks) or in chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// At most this many bytes (at least one chunk).
    Bytes(usize),
    /// This many chunks, but no more than fit in `bytes` (at least one): large chunk
    /// sizes must not multiply the memory.
    ChunksWithin(usize, usize),
}

impl Amount {
    /// How many chunks of `chunk_size` bytes this is (at least 1).
    pub fn chunks(self, chunk_size: usize) -> usize {
        match self {
            Amount::Bytes(b) => (b / chunk_size.max(1)).max(1),
            Amount::ChunksWithin(n, bytes) => n.min(bytes / chunk_size.max(1)).max(1),
        }
    }
}

/// The buffer sizes a footprint stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Reader/compressor threads (unless `-t` says otherwise).
    pub threads: usize,
    /// One source read (one batch).
    pub batch: Amount,
    /// Batches in flight for `threads` workers.
    pub batches: usize,
    /// One bevy (buffered until it is written).
    pub bevy: Amount,
    /// Bytes per buffer of the linear-hash thread.
    pub hash_buffer: usize,
    /// The output's staging buffer.
    pub output_buffer: usize,
}

impl Footprint {
    /// The budget for `threads` workers (`None`: the footprint's default).
    pub fn budget(self, threads: Option<usize>) -> Budget {
        match self {
            Footprint::Low => {
                let threads = threads.unwrap_or(1);
                Budget {
                    threads,
                    batch: Amount::Bytes(256 << 10),
                    batches: threads + 2,
                    bevy: Amount::Bytes(1 << 20),
                    hash_buffer: 256 << 10,
                    output_buffer: 1 << 20,
                }
            }
            Footprint::Fast => {
                let threads = threads
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
                Budget {
                    threads,
                    // 32-chunk reads and 1024-chunk bevies up to 32 KiB chunks (1 MiB
                    // and 32 MiB at the default); bigger chunks: fewer per read/bevy.
                    batch: Amount::ChunksWithin(32, 1 << 20),
                    batches: threads * 2 + 2,
                    bevy: Amount::ChunksWithin(1024, 32 << 20),
                    hash_buffer: 1 << 20,
                    output_buffer: 4 << 20,
                }
            }
        }
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Footprint::Low => "low",
            Footprint::Fast => "fast",
        }
    }
}

/// Keeps the allocator from giving memory back to the kernel and faulting fresh pages
/// in again (each round trip takes another free page of the target): freed memory stays
/// in the process and is reused. glibc only; elsewhere nothing to do.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tunables; called before threads start.
    unsafe {
        // Large blocks from the heap, not from mmap (which munmaps them on free).
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        // Never trim the heap top back to the kernel.
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        // One arena: worker threads reuse the same pages instead of arenas of their own.
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_is_a_few_mib_whatever_the_chunk_size_and_fast_keeps_its_chunk_counts() {
        for cs in [4096usize, 32768, 1 << 22] {
            let b = Footprint::Low.budget(None);
            assert_eq!(b.threads, 1);
            let batch = b.batch.chunks(cs) * cs;
            let bevy = b.bevy.chunks(cs) * cs;
            // Reads (one per batch, and the spares the hash thread may hold) and the
            // encoded output per batch, the bevy, the hash thread's zero buffer and its
            // copy buffers (symbolic patterns only), the output buffer.
            let reads = b.batches + crate::pipeline::SPARE_READS;
            let hash = (1 + aff4::hash_thread::DEPTH + 1) * b.hash_buffer;
            let total = (reads + b.batches) * batch + bevy + hash + b.output_buffer;
            if cs <= 32768 {
                assert!(total <= 6 << 20, "chunk {cs}: {total} bytes");
            }
            assert_eq!(b.batch.chunks(cs), (256 << 10) / cs.min(256 << 10));
            let f = Footprint::Fast.budget(Some(2));
            let want = if cs <= 32768 { (32, 1024) } else { (1, 8) };
            assert_eq!((f.batch.chunks(cs), f.bevy.chunks(cs)), want, "chunk {cs}");
            // Never past the writer's bevy limit, whatever the chunk size.
            assert!((f.bevy.chunks(cs) * cs) as u64 <= aff4::stream::MAX_BEVY_BYTES);
            assert_eq!(f.threads, 2);
        }
    }
}
