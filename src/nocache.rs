//! Writing the container without leaving it in the target's page cache.
//!
//! On a live host every page the imager makes the kernel allocate comes off the free
//! lists — recently freed pages first, which is exactly where the freed memory of the
//! processes an examiner wants to recover sits. A plainly written output file stays in
//! the page cache until memory pressure evicts it, so a 1 GiB acquisition would take up
//! to its container's size in free pages and the image would then hold copies of its
//! own output.
//!
//! The choice, per file:
//! 1. **`O_DIRECT`** from one aligned staging buffer allocated up front: the data goes
//!    from our buffer to the device, the page cache never holds it, and the same few
//!    pages are reused for the whole run. Offsets and lengths stay multiples of the
//!    buffer's alignment (4 KiB, which covers 512-byte and 4 KiB logical blocks) until
//!    the very last, short write, for which `O_DIRECT` is switched off with `fcntl`.
//! 2. Where the filesystem refuses `O_DIRECT` (tmpfs, some FUSE and network
//!    filesystems: `EINVAL` at the first write), **write-behind**: the same buffer is
//!    written normally, writeback of each window is started at once with
//!    `sync_file_range(SYNC_FILE_RANGE_WRITE)`, and the window before it is waited for
//!    and dropped with `posix_fadvise(POSIX_FADV_DONTNEED)`, so at most two windows of
//!    the output are ever cached and their pages are recycled window after window.
//!
//! `O_DIRECT` comes first because it is the only one that never allocates page cache
//! at all; write-behind still cycles two windows through it.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;

/// Alignment of the staging buffer and of every `O_DIRECT` write.
const ALIGN: usize = 4096;

/// How the bytes reach the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `O_DIRECT`: the page cache is bypassed.
    Direct,
    /// Buffered writes, flushed and dropped from the cache window by window.
    WriteBehind,
}

impl Mode {
    /// A short name for logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Direct => "O_DIRECT",
            Mode::WriteBehind => "write-behind + FADV_DONTNEED",
        }
    }
}

/// A page-aligned, zero-initialised heap buffer (allocated once, touched at once).
struct AlignedBuf {
    ptr: *mut u8,
    len: usize,
}

// The buffer is plain memory owned by one writer.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    fn new(len: usize) -> io::Result<Self> {
        let layout = Layout::from_size_align(len, ALIGN)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: the layout has a non-zero size (checked by the caller).
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            return Err(io::Error::from(io::ErrorKind::OutOfMemory));
        }
        let buf = AlignedBuf { ptr, len };
        // Fault every page in now, before the first read of the source.
        for off in (0..len).step_by(ALIGN) {
            // SAFETY: off < len, inside the allocation.
            unsafe { std::ptr::write_volatile(buf.ptr.add(off), 0) };
        }
        Ok(buf)
    }

    fn as_slice(&self, n: usize) -> &[u8] {
        // SAFETY: n <= len (callers), the memory is initialised (alloc_zeroed).
        unsafe { std::slice::from_raw_parts(self.ptr, n.min(self.len)) }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and we hold the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr, Layout::from_size_align_unchecked(self.len, ALIGN)) };
    }
}

/// A file written through one fixed buffer without keeping its pages cached.
pub struct UncachedFile {
    file: File,
    buf: AlignedBuf,
    filled: usize,
    /// File offset of `buf[0]`.
    at: u64,
    mode: Mode,
    /// Write-behind: start of the window whose writeback was started but not yet waited for.
    behind: Option<(u64, u64)>,
}

impl UncachedFile {
    /// Wraps `file` (opened for writing, positioned at 0, empty) with a staging buffer
    /// of `buf_len` bytes (rounded up to 4 KiB). With `prefer` = [`Mode::Direct`] it
    /// tries `O_DIRECT` first and falls back to write-behind where refused.
    ///
    /// # Errors
    /// If the buffer cannot be allocated.
    pub fn new(file: File, buf_len: usize, prefer: Mode) -> io::Result<Self> {
        let len = buf_len.max(ALIGN).div_ceil(ALIGN) * ALIGN;
        let buf = AlignedBuf::new(len)?;
        let mode = if prefer == Mode::Direct && set_direct(&file, true).is_ok() {
            Mode::Direct
        } else {
            Mode::WriteBehind
        };
        Ok(UncachedFile {
            file,
            buf,
            filled: 0,
            at: 0,
            mode,
            behind: None,
        })
    }

    /// How the file is being written (it can fall back from `Direct` at the first write).
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Writes out the staging buffer when it is full (`all`), or whatever it holds.
    fn flush_buf(&mut self, last: bool) -> io::Result<()> {
        let n = self.filled;
        if n == 0 {
            return Ok(());
        }
        if self.mode == Mode::Direct && (last || n % ALIGN != 0) {
            // The tail is not a multiple of the alignment: write it the ordinary way.
            set_direct(&self.file, false)?;
            self.mode = Mode::WriteBehind;
        }
        match write_all_at(&self.file, self.buf.as_slice(n), self.at) {
            Err(e) if self.mode == Mode::Direct && e.raw_os_error() == Some(libc::EINVAL) => {
                // The filesystem takes no O_DIRECT: write this and the rest behind.
                tracing::debug!("O_DIRECT refused by the output's filesystem: write-behind");
                set_direct(&self.file, false)?;
                self.mode = Mode::WriteBehind;
                write_all_at(&self.file, self.buf.as_slice(n), self.at)?;
            }
            other => other?,
        }
        if self.mode == Mode::WriteBehind {
            self.write_behind(self.at, n as u64);
        }
        self.at += n as u64;
        self.filled = 0;
        Ok(())
    }

    /// Starts writeback of `[off, off+len)`, then waits for the previous window and drops
    /// it from the page cache. Advisory: failures only cost cache, never data.
    fn write_behind(&mut self, off: u64, len: u64) {
        let fd = self.file.as_raw_fd();
        // SAFETY: plain syscalls on our own descriptor.
        unsafe {
            libc::sync_file_range(fd, off as i64, len as i64, libc::SYNC_FILE_RANGE_WRITE);
            if let Some((poff, plen)) = self.behind.take() {
                libc::sync_file_range(
                    fd,
                    poff as i64,
                    plen as i64,
                    libc::SYNC_FILE_RANGE_WAIT_BEFORE
                        | libc::SYNC_FILE_RANGE_WRITE
                        | libc::SYNC_FILE_RANGE_WAIT_AFTER,
                );
                libc::posix_fadvise(fd, poff as i64, plen as i64, libc::POSIX_FADV_DONTNEED);
            }
        }
        self.behind = Some((off, len));
    }

    /// `fdatasync` of what was written so far (the buffered tail is not: see
    /// [`Write::flush`]).
    ///
    /// # Errors
    /// The sync error.
    pub fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Writes what is buffered, makes it durable (`fdatasync`), drops any cached page
    /// of the file, and returns the file.
    ///
    /// # Errors
    /// Write and sync errors.
    pub fn finish(mut self) -> io::Result<File> {
        self.flush_buf(true)?;
        self.file.sync_data()?;
        // SAFETY: advisory syscall on our own descriptor (len 0 = to the end).
        unsafe { libc::posix_fadvise(self.file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        Ok(self.file)
    }
}

impl Write for UncachedFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.filled == self.buf.len {
            self.flush_buf(false)?;
        }
        let room = self.buf.len - self.filled;
        let n = room.min(data.len());
        let filled = self.filled;
        self.buf.as_mut_slice()[filled..filled + n].copy_from_slice(&data[..n]);
        self.filled += n;
        Ok(n)
    }

    /// Writes out every whole 4 KiB block buffered (the recovery journal flushes after
    /// each record, so that a killed run loses at most the last partial block); the
    /// tail, which would break the `O_DIRECT` alignment, stays buffered and moves to the
    /// front of the buffer.
    fn flush(&mut self) -> io::Result<()> {
        let whole = self.filled / ALIGN * ALIGN;
        if whole == 0 || whole == self.filled {
            // Nothing whole, or everything: a full-buffer flush keeps the alignment.
            return if whole == 0 {
                Ok(())
            } else {
                self.flush_buf(false)
            };
        }
        let tail = self.filled - whole;
        self.filled = whole;
        self.flush_buf(false)?;
        // flush_buf wrote `whole` bytes from buf[0..whole]; the tail sits after them.
        self.buf.as_mut_slice().copy_within(whole..whole + tail, 0);
        self.filled = tail;
        Ok(())
    }
}

fn set_direct(file: &File, on: bool) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on our own descriptor.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let new = if on {
        flags | libc::O_DIRECT
    } else {
        flags & !libc::O_DIRECT
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, new) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn write_all_at(file: &File, mut data: &[u8], mut off: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    while !data.is_empty() {
        match file.write_at(data, off) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => {
                data = &data[n..];
                off += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 4099) as u8).collect()
    }

    fn roundtrip(dir: &std::path::Path, sizes: &[usize], buf: usize, prefer: Mode) -> Mode {
        static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!("f{n}"));
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let mut w = UncachedFile::new(file, buf, prefer).unwrap();
        let mut want = Vec::new();
        for &s in sizes {
            let p = pattern(s);
            w.write_all(&p).unwrap();
            want.extend_from_slice(&p);
        }
        let mode = w.mode();
        w.finish().unwrap();
        let mut got = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), want.len());
        assert!(
            got == want,
            "contents differ (buffer {buf}, sizes {sizes:?})"
        );
        mode
    }

    #[test]
    fn bytes_arrive_in_order_whatever_the_write_sizes() {
        // The temp dir is normally on a disk filesystem (O_DIRECT works there); /dev/shm is
        // tmpfs, which refuses O_DIRECT before Linux 6.6: both paths get exercised.
        let disk = tempfile::tempdir().unwrap();
        for dir in [disk.path(), std::path::Path::new("/dev/shm")] {
            let Ok(d) = tempfile::tempdir_in(dir) else {
                continue;
            };
            for sizes in [
                vec![1],
                vec![4096; 3],
                vec![100, 5000, 65536, 3, 1 << 20, 7],
                vec![8192 * 3 + 1],
                vec![],
            ] {
                for (buf, prefer) in [4096, 12288, 1 << 20]
                    .into_iter()
                    .flat_map(|b| [(b, Mode::Direct), (b, Mode::WriteBehind)])
                {
                    let mode = roundtrip(d.path(), &sizes, buf, prefer);
                    eprintln!(
                        "{}: {sizes:?} through {buf}: {}",
                        dir.display(),
                        mode.name()
                    );
                }
            }
        }
    }

    #[test]
    fn flush_puts_every_whole_block_on_disk_and_keeps_the_order() {
        let d = tempfile::tempdir().unwrap();
        for prefer in [Mode::Direct, Mode::WriteBehind] {
            let path = d.path().join(format!("f-{}", prefer.name()));
            let file = std::fs::OpenOptions::new()
                .create_new(true)
                .read(true)
                .write(true)
                .open(&path)
                .unwrap();
            let mut w = UncachedFile::new(file, 1 << 16, prefer).unwrap();
            let data = pattern(50_000);
            w.write_all(&data[..10_000]).unwrap();
            w.flush().unwrap();
            // The two whole blocks are in the file already.
            let on_disk = std::fs::read(&path).unwrap();
            assert_eq!(on_disk.len(), 8192, "{}", prefer.name());
            assert!(on_disk == data[..8192]);
            w.write_all(&data[10_000..]).unwrap();
            w.flush().unwrap();
            w.finish().unwrap();
            assert!(std::fs::read(&path).unwrap() == data, "{}", prefer.name());
        }
    }

    /// Pages of `file` (of `len` bytes) that are in the page cache.
    fn cached_pages(file: &File, len: usize) -> usize {
        let page = 4096;
        // SAFETY: a read-only shared mapping of our own file, unmapped below.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            let mut vec = vec![0u8; len.div_ceil(page)];
            assert_eq!(libc::mincore(p, len, vec.as_mut_ptr()), 0);
            libc::munmap(p, len);
            vec.iter().filter(|&&b| b & 1 == 1).count()
        }
    }

    #[test]
    fn the_output_does_not_stay_in_the_page_cache() {
        let d = tempfile::tempdir().unwrap();
        // SAFETY: statfs on a path we own.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        let c = std::ffi::CString::new(d.path().to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::statfs(c.as_ptr(), &mut st) }, 0);
        if st.f_type as i64 == 0x0102_1994 {
            eprintln!("SKIP: the temp dir is tmpfs: its pages are the file, nothing to drop");
            return;
        }
        let path = d.path().join("out");
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(&path)
                .unwrap()
        };
        let mib = 1 << 20;
        let data = pattern(mib);
        // Control: an ordinary write leaves the whole file cached.
        let mut plain = open();
        for _ in 0..8 {
            plain.write_all(&data).unwrap();
        }
        let control = cached_pages(&plain, 8 * mib);
        drop(plain);
        assert!(control >= 2000, "control run cached only {control} pages");
        for prefer in [Mode::Direct, Mode::WriteBehind] {
            let mut w = UncachedFile::new(open(), mib, prefer).unwrap();
            let probe = File::open(&path).unwrap();
            let mut worst = 0;
            for i in 1..=8 {
                w.write_all(&data).unwrap();
                worst = worst.max(cached_pages(&probe, i * mib));
            }
            let mode = w.mode();
            let file = w.finish().unwrap();
            let after = cached_pages(&file, 8 * mib);
            eprintln!(
                "cached pages: plain {control}, {} worst {worst}, after {after}",
                mode.name()
            );
            // At most two 1 MiB windows (+ the tail page) with write-behind; none with O_DIRECT.
            assert!(
                worst <= 2 * 256 + 1,
                "{} kept {worst} pages cached",
                mode.name()
            );
            if mode == Mode::Direct {
                assert_eq!(worst, 0);
            }
            assert!(after <= 1, "{after} pages still cached after finish");
        }
    }
}
