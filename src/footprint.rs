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
    /// Tens of MiB: a reader per core, 1 MiB reads, 32 MiB bevies.
    Fast,
}

/// The buffer sizes a footprint stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Reader/compressor threads (unless `-t` says otherwise).
    pub threads: usize,
    /// Bytes per source read (one batch).
    pub batch_bytes: usize,
    /// Batches in flight for `threads` workers.
    pub batches: usize,
    /// Uncompressed bytes per bevy (a bevy is buffered until it is written).
    pub bevy_bytes: usize,
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
                    batch_bytes: 256 << 10,
                    batches: threads + 2,
                    bevy_bytes: 1 << 20,
                    hash_buffer: 256 << 10,
                    output_buffer: 1 << 20,
                }
            }
            Footprint::Fast => {
                let threads = threads
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
                Budget {
                    threads,
                    batch_bytes: 1 << 20,
                    batches: threads * 2 + 2,
                    bevy_bytes: 32 << 20,
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
