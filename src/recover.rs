//! `pmem-aff4 --recover PARTIAL -o OUT`: turns the partial file a killed acquisition
//! left (`OUT.partial`, see [`crate::output::partial_path`]) into a container, and the
//! hints that point users at it.

use crate::output::PendingFile;
use crate::report;
use anyhow::Context;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};

const TOOL: &str = concat!("pmem-aff4 ", env!("CARGO_PKG_VERSION"));

/// What `--recover` needs.
#[derive(Debug, Clone)]
pub struct RecoverOptions {
    /// The partial file of the killed run.
    pub partial: PathBuf,
    /// The container to write.
    pub output: PathBuf,
    /// Overwrite `output`.
    pub force: bool,
    /// JSON summary on stdout.
    pub json: bool,
    /// Only errors.
    pub quiet: bool,
}

/// Runs the recovery; returns the exit code.
pub fn run(o: &RecoverOptions) -> anyhow::Result<u8> {
    if o.partial == o.output {
        anyhow::bail!(
            "--recover {}: write the recovered container to another file (-o NAME.aff4); the partial file is kept as it is",
            o.partial.display()
        );
    }
    let src = std::fs::File::open(&o.partial)
        .with_context(|| format!("cannot open {}", o.partial.display()))?;
    let (pending, file) = PendingFile::create(&o.output, o.force)?;
    let sink = BufWriter::with_capacity(4 << 20, file);
    let name = o.partial.display().to_string();
    let (sink, sum) = aff4::recover::recover(&src, &name, sink, TOOL)
        .with_context(|| format!("recovering {} into {}", name, o.output.display()))?;
    let file = sink
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing {}", o.output.display()))?;
    file.sync_all()
        .with_context(|| format!("writing {}", o.output.display()))?;
    drop(file);
    pending.commit()?;
    let hashes: std::collections::BTreeMap<String, String> = sum
        .hashes
        .iter()
        .map(|(a, h)| (a.name().to_string(), h.clone()))
        .collect();
    if o.json {
        report::print_json(&serde_json::json!({
            "report": "recovery",
            "tool": TOOL,
            "partial": name,
            "output": o.output.display().to_string(),
            "volume_urn": sum.volume_urn,
            "image_urn": sum.image_urn,
            "recovered_from": sum.original_image,
            "size": sum.size,
            "data_bytes": sum.data_bytes,
            "symbolic_bytes": sum.symbolic_bytes,
            "unknown_bytes": sum.unknown_bytes,
            "bevies": sum.bevies,
            "logical_files": sum.files,
            "logical_files_lost": sum.files_lost,
            "hashes": hashes,
            "hashes_recomputed": true,
            "complete": false,
            "scan_stopped": sum.scan_stopped,
            "block_hashes": sum.block_hashes,
        }))?;
    } else if !o.quiet {
        println!(
            "{}: recovered from {name} as INCOMPLETE: {} of data ({} bevies), {} symbolic, {} never reached the disk (aff4:UnknownData); {} logical files kept, {} lost",
            o.output.display(),
            report::human(sum.data_bytes),
            sum.bevies,
            report::human(sum.symbolic_bytes),
            report::human(sum.unknown_bytes),
            sum.files.len(),
            sum.files_lost
        );
        for (a, h) in &hashes {
            println!("{a} (recomputed over the recovered image): {h}");
        }
    }
    Ok(crate::exit::OK)
}

/// Whether `path` looks like the partial file of a killed run: a ZIP that starts with
/// our members, holds the recovery journal header near its start and has no central
/// directory.
pub fn looks_partial(path: &Path) -> bool {
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = Vec::new();
    if (&f).take(64 << 10).read_to_end(&mut head).is_err() || !head.starts_with(b"PK\x03\x04") {
        return false;
    }
    let needle = aff4::journal::HEADER.as_bytes();
    // A finished container has the journal too, and its central directory.
    head.windows(needle.len()).any(|w| w == needle) && aff4::zip::ZipArchive::parse(&f).is_err()
}

/// The one-line hint for a partial file.
pub fn hint(path: &Path) -> String {
    format!(
        "{} is the unfinished file of a killed acquisition: turn it into a container with `pmem-aff4 --recover {} -o RECOVERED.aff4`",
        path.display(),
        path.display()
    )
}

/// Adds the hint to `err` when one of `containers` is a partial file.
pub fn explain_partial(err: anyhow::Error, containers: &[PathBuf]) -> anyhow::Error {
    match containers.iter().find(|c| looks_partial(c)) {
        Some(p) => err.context(hint(p)),
        None => err,
    }
}

/// Prints a hint for every partial file beside `out` (a killed earlier run).
pub fn warn_leftovers(out: &Path) {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let partial = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(crate::output::PARTIAL_SUFFIX));
        if partial && looks_partial(&p) {
            eprintln!("pmem-aff4: note: {}", hint(&p));
        }
    }
}
