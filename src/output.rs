//! Creating output files: 0600, never overwriting without --force, never presenting a
//! half-written file as complete.

use anyhow::Context;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

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
    o.write(true)
        .read(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW);
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
        .find(|e| matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT)));
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
            Some(0) if !buf.is_empty() => {
                return Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
            }
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
