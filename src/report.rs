//! Machine-readable reports (`--json`), described by `schemas/report.schema.json`.

use serde::Serialize;

/// A physical range, half-open.
#[derive(Debug, Clone, Serialize)]
pub struct Range {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// The summary of an acquisition.
#[derive(Debug, Serialize)]
pub struct Acquisition {
    /// Always "acquisition".
    pub report: &'static str,
    /// "pmem-aff4 <version>".
    pub tool: String,
    /// The container written.
    pub output: String,
    /// The source's short name (pmem, kcore, lime, ...).
    pub source: String,
    /// The source's description.
    pub source_description: String,
    /// Physical ranges acquired (RAM).
    pub ranges: Vec<Range>,
    /// Sum of the range lengths.
    pub bytes_total: u64,
    /// Bytes processed (data + zero + unreadable).
    pub bytes_acquired: u64,
    /// Size of the container file.
    pub stored_bytes: u64,
    /// stored_bytes / bytes_acquired.
    pub ratio: f64,
    /// Pages that could not be read (recorded as aff4:UnreadableData).
    pub unreadable_pages: u64,
    /// Their ranges.
    pub unreadable_ranges: Vec<Range>,
    /// False when interrupted: the container says so too.
    pub complete: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Codec.
    pub compression: String,
    /// Worker threads.
    pub threads: usize,
    /// The memory budget: "low" (fixed small buffers) or "fast".
    pub footprint: String,
    /// How the container was written: "O_DIRECT", "write-behind + FADV_DONTNEED"
    /// (neither keeps it in the page cache), "buffered" (imports), "stream" (`-o -`).
    pub output_write: String,
    /// Whole-image linear hashes (what `sha256sum` of a raw export prints), lowercase hex.
    pub hashes: std::collections::BTreeMap<String, String>,
    /// Volume URN.
    pub volume_urn: String,
    /// Image URN.
    pub image_urn: String,
    /// Logical files added (extras and -i inputs).
    pub logical_files: Vec<String>,
}

/// Prints a report as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let s = serde_json::to_string_pretty(value)?;
    outln!("{s}");
    Ok(())
}

/// Prints a report as pretty JSON on stderr (stdout carries a streamed container).
pub fn eprint_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    eprintln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Human-readable byte count.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
