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
    /// Checks `dest` (exists → error unless `force`) and creates `dest.partial-<pid>` 0600.
    pub fn create(dest: &Path, force: bool) -> anyhow::Result<(Self, File)> {
        check_overwrite(dest, force)?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dest.with_file_name(format!(".{name}.partial-{}", std::process::id()));
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
