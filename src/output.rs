//! Creating output files: 0600, never overwriting without --force, never presenting a
//! half-written file as complete.

use crate::nocache::{self, UncachedFile};
use anyhow::Context;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The OS error of a full filesystem (ENOSPC; Windows: ERROR_DISK_FULL).
#[cfg(unix)]
const DISK_FULL: i32 = libc::ENOSPC;
#[cfg(windows)]
const DISK_FULL: i32 = 112;
/// The OS error of an exhausted quota (EDQUOT; Windows: ERROR_HANDLE_DISK_FULL).
#[cfg(unix)]
const QUOTA_FULL: i32 = libc::EDQUOT;
#[cfg(windows)]
const QUOTA_FULL: i32 = 39;

/// `-o -`: the container goes to standard output.
pub fn is_stdout(out: &Path) -> bool {
    out == Path::new("-")
}

/// How often, at most, a journal flush also makes the file durable (`fdatasync`).
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Where an acquisition's bytes go, and how many went.
///
/// Durability: the recovery journal flushes the sink after every record (bevy
/// boundaries, logical files). On a file, a flush also calls `fdatasync` when the last
/// one is at least [`ContainerSink::set_sync_interval`] ago, so a power loss or a
/// yanked disk loses at most about that long of the acquisition plus one bevy:
/// `O_DIRECT` alone puts the data on the device but neither the file's size and
/// extents (the filesystem's journal commits them seconds later; FAT/exFAT on a USB
/// stick updates the directory entry later still) nor the drive's volatile cache.
pub struct ContainerSink {
    kind: SinkKind,
    written: u64,
    sync_every: Option<Duration>,
    last_sync: Instant,
    syncs: u64,
}

enum SinkKind {
    /// A file (or redirected stdout) kept out of the page cache: live sources.
    Uncached(UncachedFile),
    /// An ordinary buffered file: imports of dump files on the examiner's machine.
    Buffered(BufWriter<File>),
    /// A pipe or other stream: nothing is ever seeked or renamed.
    Stream(BufWriter<File>),
}

impl ContainerSink {
    fn new(kind: SinkKind) -> Self {
        ContainerSink {
            kind,
            written: 0,
            sync_every: Some(DEFAULT_SYNC_INTERVAL),
            last_sync: Instant::now(),
            syncs: 0,
        }
    }

    /// At most one `fdatasync` per `every` at flushes (`None`: only at the end).
    pub fn set_sync_interval(&mut self, every: Option<Duration>) {
        self.sync_every = every;
    }

    fn maybe_sync(&mut self) -> io::Result<()> {
        let due = self
            .sync_every
            .is_some_and(|every| self.last_sync.elapsed() >= every);
        if !due {
            return Ok(());
        }
        match &self.kind {
            SinkKind::Uncached(f) => f.sync_data()?,
            SinkKind::Buffered(b) => b.get_ref().sync_data()?,
            SinkKind::Stream(_) => return Ok(()),
        }
        self.syncs += 1;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// For a file: uncached (through a staging buffer of `buf_len`) or buffered.
    ///
    /// # Errors
    /// If the staging buffer cannot be allocated.
    pub fn for_file(file: File, uncached: bool, buf_len: usize) -> io::Result<Self> {
        Ok(ContainerSink::new(if uncached {
            SinkKind::Uncached(UncachedFile::new(file, buf_len, nocache::Mode::Direct)?)
        } else {
            SinkKind::Buffered(BufWriter::with_capacity(buf_len, file))
        }))
    }

    /// Standard output. A terminal is refused; a regular file that stdout was redirected
    /// to from its start (`> host.aff4`) is written like a file; anything else (a pipe,
    /// a socket, a character device) as a stream.
    ///
    /// # Errors
    /// A terminal, or a descriptor that cannot be duplicated.
    pub fn stdout(uncached: bool, buf_len: usize) -> anyhow::Result<Self> {
        use std::io::IsTerminal;
        let out = io::stdout();
        if out.is_terminal() {
            anyhow::bail!(
                "-o -: standard output is a terminal: pipe or redirect it (e.g. `ssh root@host pmem-aff4 -o - > host.aff4`)"
            );
        }
        #[cfg(unix)]
        let (file, from_start) = {
            use std::os::fd::{AsFd, AsRawFd};
            let file = File::from(
                out.as_fd()
                    .try_clone_to_owned()
                    .context("-o -: cannot use standard output")?,
            );
            // SAFETY: fcntl/lseek on our own descriptor.
            let (flags, pos) = unsafe {
                (
                    libc::fcntl(file.as_raw_fd(), libc::F_GETFL),
                    libc::lseek(file.as_raw_fd(), 0, libc::SEEK_CUR),
                )
            };
            (file, flags >= 0 && flags & libc::O_APPEND == 0 && pos == 0)
        };
        #[cfg(windows)]
        let (file, from_start) = {
            use std::io::Seek;
            use std::os::windows::io::AsHandle;
            let mut file = File::from(
                out.as_handle()
                    .try_clone_to_owned()
                    .context("-o -: cannot use standard output")?,
            );
            let pos = file.stream_position().ok();
            (file, pos == Some(0))
        };
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if regular && from_start {
            return Ok(Self::for_file(file, uncached, buf_len)?);
        }
        Ok(ContainerSink::new(SinkKind::Stream(
            BufWriter::with_capacity(buf_len, file),
        )))
    }

    /// How the bytes are written, for the log and the report.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            SinkKind::Uncached(f) => f.mode().name(),
            SinkKind::Buffered(_) => "buffered",
            SinkKind::Stream(_) => "stream",
        }
    }

    /// Writes what is buffered and makes it durable where that means anything; returns
    /// the bytes written.
    ///
    /// # Errors
    /// Write and sync errors.
    pub fn finish(self) -> io::Result<u64> {
        tracing::debug!("{} fdatasync(s) at journal flushes", self.syncs);
        match self.kind {
            SinkKind::Uncached(f) => drop(f.finish()?),
            SinkKind::Buffered(b) => b.into_inner().map_err(|e| e.into_error())?.sync_all()?,
            SinkKind::Stream(mut b) => b.flush()?,
        }
        Ok(self.written)
    }
}

impl Write for ContainerSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = match &mut self.kind {
            SinkKind::Uncached(f) => f.write(data),
            SinkKind::Buffered(b) | SinkKind::Stream(b) => b.write(data),
        }?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.kind {
            SinkKind::Uncached(f) => f.flush(),
            SinkKind::Buffered(b) | SinkKind::Stream(b) => b.flush(),
        }?;
        self.maybe_sync()
    }
}

/// Turns a closed pipe anywhere in `err`'s chain into one line saying what it means for
/// a streamed container; other errors pass.
pub fn explain_closed_pipe(err: anyhow::Error) -> anyhow::Error {
    let closed = err
        .chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe);
    if closed {
        anyhow::anyhow!(
            "-o -: the reader of standard output went away (broken pipe): the streamed container is incomplete and cannot be opened; stream again to a reader that keeps it all"
        )
    } else {
        err
    }
}

/// An output being written under a temporary name beside its final path; `commit`
/// renames it into place, dropping it without commit removes it.
pub struct PendingFile {
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl PendingFile {
    /// Checks `dest` (exists → error unless `force`) and creates [`partial_path`] 0600.
    pub fn create(dest: &Path, force: bool) -> anyhow::Result<(Self, File)> {
        check_overwrite(dest, force)?;
        let tmp = partial_path(dest);
        if std::fs::symlink_metadata(&tmp).is_ok() {
            anyhow::bail!(
                "{} exists: another run is writing it, or a killed run left it (turn it into a container with `pmem-aff4 --recover {} -o NAME.aff4`, or remove it)",
                tmp.display(),
                tmp.display()
            );
        }
        let file = create_private(&tmp, true)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        Ok((
            PendingFile {
                tmp,
                dest: dest.to_path_buf(),
                committed: false,
            },
            file,
        ))
    }

    /// The temporary path the output is written to.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Moves the finished file to its final name.
    pub fn commit(mut self) -> anyhow::Result<()> {
        std::fs::rename(&self.tmp, &self.dest).with_context(|| {
            format!(
                "cannot rename {} to {}",
                self.tmp.display(),
                self.dest.display()
            )
        })?;
        self.committed = true;
        Ok(())
    }
}

/// What ends the name of an output being written.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// Where the output `dest` is written until it is complete: `dest.partial` beside it,
/// visible (not a dotfile) so a killed run's leftover is seen, and never taken for a
/// container (`pmem-aff4 --recover` turns it into one).
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(PARTIAL_SUFFIX);
    dest.with_file_name(name)
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Fails if `dest` exists and `force` is not set.
pub fn check_overwrite(dest: &Path, force: bool) -> anyhow::Result<()> {
    if !force && std::fs::symlink_metadata(dest).is_ok() {
        anyhow::bail!(
            "{} already exists: choose another name or pass --force to overwrite it",
            dest.display()
        );
    }
    Ok(())
}

/// Creates a new file readable only by its owner; refuses to follow a symlink.
pub fn create_private(path: &Path, exclusive: bool) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    // Windows: no other process may read or write it while we write (share mode
    // FILE_SHARE_DELETE only, which lets us rename it into place or remove it while it is
    // open), and a symlink at the path is opened itself, not followed
    // (FILE_FLAG_OPEN_REPARSE_POINT).
    // The file inherits its directory's ACL: docs/WINDOWS.md says where to write it.
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        o.share_mode(0x4).custom_flags(0x0020_0000);
    }
    if exclusive {
        o.create_new(true);
    } else {
        o.create(true).truncate(true);
    }
    o.open(path)
}

/// Turns a failure caused by a full filesystem (ENOSPC, or EDQUOT for a quota) anywhere in
/// `err`'s chain into one plain line naming `out` and what to do; other errors pass.
pub fn explain_full_disk(err: anyhow::Error, out: &Path) -> anyhow::Error {
    let full = err
        .chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .find(|e| matches!(e.raw_os_error(), Some(DISK_FULL) | Some(QUOTA_FULL)));
    match full {
        Some(e) => anyhow::anyhow!(
            "{}: {e}: nothing was kept; free space on that filesystem or write the output to a larger one",
            out.display()
        ),
        None => err,
    }
}

/// A writer that fails with ENOSPC once `limit` bytes have gone through (testing only:
/// a full disk without a small filesystem to fill).
pub struct CappedWriter<W> {
    inner: W,
    left: Option<u64>,
}

impl<W> CappedWriter<W> {
    /// Wraps `inner`; `None` means no limit.
    pub fn new(inner: W, limit: Option<u64>) -> Self {
        CappedWriter { inner, left: limit }
    }

    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: std::io::Write> std::io::Write for CappedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = match self.left {
            None => return self.inner.write(buf),
            Some(0) if !buf.is_empty() => return Err(std::io::Error::from_raw_os_error(DISK_FULL)),
            Some(left) => buf.len().min(left as usize),
        };
        let k = self.inner.write(&buf[..n])?;
        self.left = self.left.map(|l| l - k as u64);
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn capped_writer_fails_with_enospc_at_the_limit() {
        let mut w = CappedWriter::new(Vec::new(), Some(10));
        w.write_all(b"12345678").unwrap();
        let e = w.write_all(b"abcdef").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(w.into_inner(), b"12345678ab");
        let mut w = CappedWriter::new(Vec::new(), None);
        w.write_all(&[0; 100]).unwrap();
    }

    #[test]
    fn a_full_disk_anywhere_in_the_chain_becomes_one_line() {
        let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let e = anyhow::Error::new(aff4::Error::io("writing member x", io)).context("writing y");
        let msg = format!("{:#}", explain_full_disk(e, Path::new("/mnt/out.aff4")));
        assert!(
            msg.starts_with("/mnt/out.aff4: No space left on device"),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        let other = anyhow::anyhow!("something else");
        let msg = format!("{:#}", explain_full_disk(other, Path::new("x")));
        assert_eq!(msg, "something else");
    }
}
