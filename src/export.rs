//! `--export FILE` (the memory image as raw, LiME or ELF) and `-e STREAM -D DIR`
//! (any stream or logical file, aff4imager style).

use crate::cli::Args;
use crate::output::PendingFile;
use crate::{exit, report};
use aff4::map::RangeKind;
use aff4::volume::{ObjectKind, VolumeSet};
use anyhow::{bail, Context};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

const COPY_BUF: usize = 8 << 20;

/// A contiguous part of the image's address space with how it is backed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Start address.
    pub start: u64,
    /// Length.
    pub len: u64,
    /// Whether it holds memory (data, zero or another pattern). Holes, unreadable and
    /// unknown ranges are absent: LiME and ELF exports leave them out, as the Volatility
    /// 3 layer treats them as invalid (`python/pmem_aff4/vol3/layer.py`).
    pub present: bool,
    /// Whether its bytes are all zero (a hole or an aff4:Zero range).
    pub zero: bool,
}

/// The address-space layout of the primary memory/disk image, with adjacent present
/// ranges kept separate as the map has them.
pub fn image_spans(set: &VolumeSet) -> anyhow::Result<(String, u64, Vec<Span>)> {
    let image = set
        .primary_image()
        .context("the container holds no aff4:Image to export (use -l to see what it holds)")?;
    let map = set.image_map(&image)?;
    let mut spans = Vec::new();
    for r in map.ranges() {
        use aff4::symbolic::Symbolic;
        let (present, zero) = match &r.kind {
            RangeKind::Hole => (false, true),
            RangeKind::Symbolic(Symbolic::Zero, _) => (true, true),
            // Never acquired: no bytes to claim (raw keeps the AFF4 marker pattern).
            RangeKind::Symbolic(Symbolic::UnreadableData | Symbolic::UnknownData, _) => {
                (false, false)
            }
            _ => (true, false),
        };
        spans.push(Span {
            start: r.start,
            len: r.length,
            present,
            zero,
        });
    }
    Ok((image, map.size(), spans))
}

/// Merges adjacent present spans into RAM runs `(start, len)`.
pub fn present_runs(spans: &[Span]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for s in spans.iter().filter(|s| s.present && s.len > 0) {
        match runs.last_mut() {
            Some(last) if last.0 + last.1 == s.start => last.1 += s.len,
            _ => runs.push((s.start, s.len)),
        }
    }
    runs
}

/// `--export FILE`.
pub fn run_export(args: &Args, out: &Path) -> anyhow::Result<u8> {
    let set = VolumeSet::open(&args.containers)?;
    if set.primary_image().is_none() {
        bail!("{}", no_image_message(&set, &args.containers, out));
    }
    let (image, size, spans) = image_spans(&set)?;
    // Zero ranges and holes are written sparse (no work); anything else is copied.
    let work = match args.format.as_str() {
        "raw" => spans.iter().filter(|s| !s.zero).map(|s| s.len).sum(),
        _ => spans
            .iter()
            .filter(|s| s.present && !s.zero)
            .map(|s| s.len)
            .sum(),
    };
    let limit = (!args.no_work_limit).then(|| set.work_limit());
    set.check_work(&format!("--export would copy {image}"), work, limit)?;
    let mut stream = set.open_stream_sequential(&image)?;
    let (pending, file) = PendingFile::create(out, args.force)?;
    let written = match args.format.as_str() {
        "raw" => export_raw(&mut *stream, &spans, size, file)?,
        "lime" => export_lime(&mut *stream, &present_runs(&spans), &spans, file)?,
        "elf" => export_elf(&mut *stream, &present_runs(&spans), &spans, file)?,
        other => bail!("--format {other}: use raw, lime or elf"),
    };
    pending.commit()?;
    if !args.quiet {
        eprintln!(
            "{}: exported {} of {} ({})",
            out.display(),
            report::human(written),
            image,
            args.format
        );
    }
    Ok(exit::OK)
}

/// At most this many `-e` commands in the "no memory image" error.
const MAX_SUGGESTIONS: usize = 4;

/// The one-line error for `--export` on a container without a memory/disk image: when
/// it holds logical files or streams (c-aff4's `aff4imager -i FILE` output, for one),
/// the exact `pmem-aff4 -e … -D …` command that extracts each (up to
/// [`MAX_SUGGESTIONS`]), into the directory `out` would have gone to.
fn no_image_message(set: &VolumeSet, containers: &[PathBuf], out: &Path) -> String {
    const NONE: &str = "the container holds no memory or disk image (aff4:Image) to export";
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_string_lossy().into_owned(),
        _ => ".".to_string(),
    };
    // (the -e argument, the -D directory). A logical file by its name (`-e NAME` takes
    // the first file of that name, as listed); a later file of the same name by its
    // URN, into a directory of its own, since `-e` writes either as DIR/NAME. Then maps
    // and image streams by URN.
    let logical = aff4::logical::list(set).unwrap_or_default();
    let mut what: Vec<(String, String)> = Vec::new();
    for (i, f) in logical.iter().enumerate() {
        let earlier = logical[..i].iter().filter(|e| e.name == f.name).count();
        what.push(if f.name.is_empty() {
            (f.urn.clone(), dir.clone())
        } else if earlier == 0 {
            (f.name.clone(), dir.clone())
        } else {
            (f.urn.clone(), format!("{dir}/{}", earlier + 1))
        });
    }
    let n_logical = what.len();
    let objects = set.objects();
    for kind in [ObjectKind::Map, ObjectKind::ImageStream] {
        what.extend(
            objects
                .iter()
                .filter(|o| o.kind == kind)
                .map(|o| (o.urn.clone(), dir.clone())),
        );
    }
    if what.is_empty() {
        return format!("{NONE}, nor any stream or logical file (use -l to see what it holds)");
    }
    let tail: Vec<String> = containers
        .iter()
        .map(|c| shell_quote(&c.to_string_lossy()))
        .collect();
    let commands: Vec<String> = what
        .iter()
        .take(MAX_SUGGESTIONS)
        .map(|(e, d)| {
            format!(
                "pmem-aff4 -e {} -D {} {}",
                shell_quote(e),
                shell_quote(d),
                tail.join(" ")
            )
        })
        .collect();
    let more = match what.len().saturating_sub(MAX_SUGGESTIONS) {
        0 => String::new(),
        n => format!("; and {n} more (-l lists them)"),
    };
    let count = |n: usize, one: &str| match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {one}s")),
    };
    let held: Vec<String> = [
        count(n_logical, "logical file"),
        count(what.len() - n_logical, "stream"),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!(
        "{NONE}; it holds {}: extract with `{}`{more}",
        held.join(" and "),
        commands.join("`; `")
    )
}

/// `s` as one POSIX shell word: unchanged if it holds only `[A-Za-z0-9._/:@%+=,-]`,
/// else single-quoted.
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/:@%+=,-".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn copy_range(
    stream: &mut dyn aff4::volume::Stream,
    start: u64,
    len: u64,
    out: &mut dyn Write,
    buf: &mut [u8],
) -> anyhow::Result<()> {
    stream.seek(SeekFrom::Start(start))?;
    let mut left = len;
    while left > 0 {
        let n = (buf.len() as u64).min(left) as usize;
        stream
            .read_exact(&mut buf[..n])
            .with_context(|| format!("reading image at {:#x}", start + (len - left)))?;
        out.write_all(&buf[..n])
            .context("writing the export (disk full?)")?;
        left -= n as u64;
    }
    Ok(())
}

/// Copies the run `start..start + len` of the image to `out`'s position, leaving its
/// aff4:Zero spans sparse (skipped by a seek; the caller sets the file length).
/// `spans` are in address order and runs come in order: `next` is the first span not
/// yet consumed, so all runs together walk the spans once.
fn copy_run_sparse(
    stream: &mut dyn aff4::volume::Stream,
    (start, len): (u64, u64),
    spans: &[Span],
    next: &mut usize,
    out: &mut BufWriter<std::fs::File>,
    buf: &mut [u8],
) -> anyhow::Result<()> {
    let end = start + len;
    while let Some(s) = spans.get(*next) {
        if s.start >= end {
            break;
        }
        *next += 1;
        let (a, b) = (s.start.max(start), (s.start + s.len).min(end));
        if !s.present || a >= b {
            continue;
        }
        if s.zero {
            out.seek(SeekFrom::Current((b - a) as i64))?;
        } else {
            copy_range(stream, a, b - a, out, buf)?;
        }
    }
    Ok(())
}

/// Raw: byte at offset P is address P; holes and zero ranges stay sparse.
fn export_raw(
    stream: &mut dyn aff4::volume::Stream,
    spans: &[Span],
    size: u64,
    file: std::fs::File,
) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(COPY_BUF, file);
    let mut buf = vec![0u8; COPY_BUF];
    let mut written = 0;
    for s in spans.iter().filter(|s| !s.zero && s.len > 0) {
        out.seek(SeekFrom::Start(s.start))?;
        copy_range(stream, s.start, s.len, &mut out, &mut buf)?;
        written += s.len;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.set_len(size).context("sizing the export")?;
    file.sync_all()?;
    Ok(written)
}

/// LiME: a 32-byte header per RAM run, then its bytes.
fn export_lime(
    stream: &mut dyn aff4::volume::Stream,
    runs: &[(u64, u64)],
    spans: &[Span],
    file: std::fs::File,
) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(COPY_BUF, file);
    let mut buf = vec![0u8; COPY_BUF];
    let mut written = 0;
    let mut end = 0u64;
    let mut next = 0;
    for &(start, len) in runs {
        let mut h = [0u8; 32];
        h[0..4].copy_from_slice(&0x4C69_4D45u32.to_le_bytes());
        h[4..8].copy_from_slice(&1u32.to_le_bytes());
        h[8..16].copy_from_slice(&start.to_le_bytes());
        h[16..24].copy_from_slice(&(start + len - 1).to_le_bytes());
        out.write_all(&h)?;
        copy_run_sparse(stream, (start, len), spans, &mut next, &mut out, &mut buf)?;
        written += len;
        end += 32 + len;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.set_len(end).context("sizing the export")?;
    file.sync_all()?;
    Ok(written)
}

/// ELF64 core: one PT_LOAD per RAM run, p_paddr = p_vaddr = physical address.
fn export_elf(
    stream: &mut dyn aff4::volume::Stream,
    runs: &[(u64, u64)],
    spans: &[Span],
    file: std::fs::File,
) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(COPY_BUF, file);
    let phnum = u16::try_from(runs.len()).context("too many ranges for an ELF core (max 65535)")?;
    let ehsize = 64u64;
    let phsize = 56u64;
    let mut offset = (ehsize + phsize * runs.len() as u64).next_multiple_of(4096);
    let mut eh = Vec::with_capacity(64);
    eh.extend_from_slice(b"\x7fELF");
    eh.extend_from_slice(&[2, 1, 1, 0]); // 64-bit, little-endian, version 1, SysV
    eh.extend_from_slice(&[0; 8]);
    eh.extend_from_slice(&4u16.to_le_bytes()); // ET_CORE
    eh.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    eh.extend_from_slice(&1u32.to_le_bytes());
    eh.extend_from_slice(&0u64.to_le_bytes()); // entry
    eh.extend_from_slice(&ehsize.to_le_bytes()); // phoff
    eh.extend_from_slice(&0u64.to_le_bytes()); // shoff
    eh.extend_from_slice(&0u32.to_le_bytes()); // flags
    eh.extend_from_slice(&(ehsize as u16).to_le_bytes());
    eh.extend_from_slice(&(phsize as u16).to_le_bytes());
    eh.extend_from_slice(&phnum.to_le_bytes());
    eh.extend_from_slice(&64u16.to_le_bytes()); // shentsize
    eh.extend_from_slice(&0u16.to_le_bytes());
    eh.extend_from_slice(&0u16.to_le_bytes());
    out.write_all(&eh)?;
    let mut offsets = Vec::new();
    for &(start, len) in runs {
        let mut ph = Vec::with_capacity(56);
        ph.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        ph.extend_from_slice(&7u32.to_le_bytes()); // RWX
        ph.extend_from_slice(&offset.to_le_bytes());
        ph.extend_from_slice(&start.to_le_bytes()); // vaddr
        ph.extend_from_slice(&start.to_le_bytes()); // paddr
        ph.extend_from_slice(&len.to_le_bytes());
        ph.extend_from_slice(&len.to_le_bytes());
        ph.extend_from_slice(&4096u64.to_le_bytes());
        out.write_all(&ph)?;
        offsets.push(offset);
        offset += len;
    }
    let mut buf = vec![0u8; COPY_BUF];
    let mut written = 0;
    let mut next = 0;
    for (&(start, len), &off) in runs.iter().zip(&offsets) {
        out.seek(SeekFrom::Start(off))?;
        copy_run_sparse(stream, (start, len), spans, &mut next, &mut out, &mut buf)?;
        written += len;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.set_len(offset).context("sizing the export")?;
    file.sync_all()?;
    Ok(written)
}

/// `-e STREAM -D DIR`.
pub fn run_extract(args: &Args) -> anyhow::Result<u8> {
    let set = VolumeSet::open(&args.containers)?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create -D {}", args.dir.display()))?;
    let logical = aff4::logical::list(&set)?;
    for want in &args.extract {
        let (urn, name) = match logical.iter().find(|f| f.name == *want || f.urn == *want) {
            Some(f) => (f.urn.clone(), f.name.clone()),
            None => {
                // Any stream by URN (or by its path relative to the volume).
                let urn = resolve_urn(&set, want)?;
                let name = urn
                    .rsplit_once("://")
                    .map_or(urn.as_str(), |(_, r)| r)
                    .to_string();
                (urn, name)
            }
        };
        let dest = safe_join(&args.dir, &name)?;
        crate::output::check_overwrite(&dest, args.force)?;
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut stream = set.open_stream_sequential(&urn)?;
        let limit = (!args.no_work_limit).then(|| set.work_limit());
        set.check_work(&format!("-e would copy {urn}"), stream.size(), limit)?;
        // Written under a temporary name: a failed copy leaves nothing behind.
        let (pending, mut file) = PendingFile::create(&dest, args.force)?;
        let n =
            std::io::copy(&mut stream, &mut file).with_context(|| format!("extracting {urn}"))?;
        file.sync_all()
            .with_context(|| format!("writing {}", dest.display()))?;
        drop(file);
        pending.commit()?;
        if !args.quiet {
            eprintln!("{} -> {} ({})", urn, dest.display(), report::human(n));
        }
    }
    Ok(exit::OK)
}

fn resolve_urn(set: &VolumeSet, want: &str) -> anyhow::Result<String> {
    if want.starts_with("aff4:") {
        return Ok(want.to_string());
    }
    for v in set.volumes() {
        let urn = format!("{}/{}", v.urn, want.trim_start_matches('/'));
        if set.open_stream(&urn).is_ok() {
            return Ok(urn);
        }
    }
    bail!("no stream or logical file named {want:?} (use -l to list them)")
}

/// Joins a stored (untrusted) name under `dir`: absolute prefixes, `..`, `.` and empty
/// components are dropped, NULs rejected; the result can never leave `dir`, and no
/// existing symlink under `dir` is followed.
pub fn safe_join(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    if name.contains('\0') {
        bail!("refusing stored name with a NUL byte: {name:?}");
    }
    let mut out = dir.to_path_buf();
    let mut any = false;
    for c in Path::new(&name.replace('\\', "/")).components() {
        if let Component::Normal(part) = c {
            out.push(part);
            any = true;
            if std::fs::symlink_metadata(&out)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false)
            {
                bail!("refusing to write through the symlink {}", out.display());
            }
        }
    }
    if !any {
        bail!("stored name {name:?} has no usable file name");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_join_never_escapes() {
        let d = Path::new("/tmp/x");
        assert_eq!(
            safe_join(d, "../../etc/passwd").unwrap(),
            Path::new("/tmp/x/etc/passwd")
        );
        assert_eq!(safe_join(d, "/abs/./f").unwrap(), Path::new("/tmp/x/abs/f"));
        assert_eq!(
            safe_join(d, "a\\..\\..\\b").unwrap(),
            Path::new("/tmp/x/a/b")
        );
        assert!(safe_join(d, "..").is_err());
        assert!(safe_join(d, "a\0b").is_err());
    }

    #[test]
    fn shell_quote_makes_one_word() {
        assert_eq!(shell_quote("aff4://x/a.txt"), "aff4://x/a.txt");
        assert_eq!(shell_quote("my file"), "'my file'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$(rm -rf x)"), "'$(rm -rf x)'");
    }

    #[test]
    fn present_runs_merge_adjacent() {
        let s = |start, len, present| Span {
            start,
            len,
            present,
            zero: false,
        };
        let spans = [
            s(0, 10, true),
            s(10, 5, true),
            s(15, 5, false),
            s(20, 1, true),
        ];
        assert_eq!(present_runs(&spans), vec![(0, 15), (20, 1)]);
    }
}
