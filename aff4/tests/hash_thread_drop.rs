//! A `HashThread` dropped without `finish` (the error paths of the writer and of
//! `--recover`) must not leave its thread running behind its owner: the drop joins it.
//! Found by the `journal` fuzz target (LeakSanitizer saw the thread's state still alive
//! after a failed recovery). Its own test binary, so that no other test's hash threads
//! are counted (and so one test only).

use aff4::hash::HashAlgo;
use aff4::hash_thread::HashThread;

/// Threads of this process named like the hashing thread.
fn hash_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task (Linux)")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == "aff4-hash")
        .count()
}

#[test]
fn dropped_without_finish_the_thread_is_gone() {
    assert_eq!(hash_threads(), 0);
    for round in 0..3 {
        let mut h = HashThread::new(&[HashAlgo::Sha256, HashAlgo::Sha1, HashAlgo::Md5], 4 << 20);
        // Enough queued (DEPTH buffers of 4 MiB, three algorithms) that the thread is
        // still hashing when the owner goes away.
        let data = vec![0x5au8; 4 << 20];
        for _ in 0..6 {
            h.update(&data);
        }
        assert_eq!(hash_threads(), 1, "round {round}: the thread runs");
        drop(h);
        assert_eq!(
            hash_threads(),
            0,
            "round {round}: the thread outlived its owner"
        );
    }
}
