//! The command line: aff4imager/winpmem habits (`-o`, `-e`, `-D`, `-V`, `-l`, `-c`, `-t`).

use crate::{acquire, export, inspect};
use clap::Parser;
use std::path::PathBuf;

/// Physical-memory imager writing AFF4 Standard v1.0 evidence containers.
///
/// Acquire:  pmem-aff4 -o host.aff4            (best source: /dev/pmem, /dev/crash, /proc/kcore, /dev/mem, lmap)
/// Import:   pmem-aff4 --source lime:mem.lime -o mem.aff4
/// Export:   pmem-aff4 --export image.raw host.aff4   [--format raw|lime|elf]
/// Inspect:  pmem-aff4 -l host.aff4 | -V host.aff4 | --verify host.aff4   [--json]
#[derive(Debug, Parser)]
#[command(
    name = "pmem-aff4",
    version,
    about,
    long_about = None,
    verbatim_doc_comment,
    disable_version_flag = true
)]
pub struct Args {
    /// Write an AFF4 container here (acquisition mode); `-` streams it to stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Memory source: auto, pmem[:DEV], lmap[:HOST.ko], crash, kcore, devmem,
    /// winpmem[:DRIVER.sys] (Windows), raw:PATH, lime:PATH, elf:PATH. lmap loads an installed
    /// module with an injected reader (as root).
    #[arg(long, default_value = "auto", value_name = "SOURCE")]
    pub source: String,

    /// Windows: the WinPmem driver file to load for the acquisition (the signed
    /// winpmem_x64.sys 2.0.1); it is unloaded afterwards. See docs/WINDOWS.md.
    #[arg(long, value_name = "FILE.sys")]
    pub driver: Option<PathBuf>,

    /// For raw sources (or to override discovery, loudly): physical ranges, as /proc/iomem
    /// text or `START-END` hex lines.
    #[arg(long, value_name = "FILE")]
    pub ranges: Option<PathBuf>,

    /// Add files as AFF4-L logical images (repeatable; globs allowed).
    #[arg(short = 'i', long = "input", value_name = "PATH", num_args = 1..)]
    pub inputs: Vec<String>,

    /// Do not collect /proc/iomem, kallsyms, vmcoreinfo, System.map and config.
    #[arg(long)]
    pub no_extras: bool,

    /// Chunk compression: snappy, lz4, zlib, deflate, none. Rekall 1.7.1 reads only
    /// snappy and zlib. deflate is raw RFC 1951, as the AFF4 Standard defines it: c-aff4
    /// (aff4imager, winpmem, linpmem) and pyaff4 0.34 cannot read it; use zlib or snappy
    /// for containers other tools must open.
    #[arg(short = 'c', long, default_value = "snappy", value_name = "CODEC")]
    pub compression: String,

    /// Worker threads (default: 1 with --footprint low, all cores with fast).
    #[arg(short = 't', long, value_name = "N")]
    pub threads: Option<usize>,

    /// Memory the imager may take on the host: low (a few MiB allocated once, one
    /// reader; default for live sources) or fast (tens of MiB, a reader per core;
    /// default for dump imports). See docs/FOOTPRINT.md.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub footprint: Option<crate::footprint::Footprint>,

    /// ImageStream chunk size in bytes (power of two, 4 KiB .. 4 MiB).
    #[arg(long, default_value_t = 32768, value_name = "BYTES")]
    pub chunk_size: u32,

    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,

    /// Export the memory image of the given container(s) to this file.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,

    /// Export format: raw (sparse holes), lime, elf.
    #[arg(long, default_value = "raw", value_name = "FORMAT")]
    pub format: String,

    /// Export a named stream or logical file (by URN or name) into --dir (repeatable).
    #[arg(short = 'e', long = "extract", value_name = "STREAM")]
    pub extract: Vec<String>,

    /// Directory for --extract.
    #[arg(short = 'D', long = "dir", value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// Print the container's metadata as Turtle.
    #[arg(short = 'V', long)]
    pub view: bool,

    /// Print the version and exit (`-V` is --view, as in aff4imager).
    #[arg(long, action = clap::ArgAction::Version)]
    pub version: Option<bool>,

    /// List images, streams and logical files with sizes, codecs and hashes.
    #[arg(short = 'l', long)]
    pub list: bool,

    /// Recompute every stored hash; exit 0 only if all match.
    #[arg(long)]
    pub verify: bool,

    /// Let --verify, --export and -e read more than the work limit (512 MiB + 64 times
    /// the container's size), which refuses images declaring far more than the
    /// container holds (a hostile container, or a very sparse image).
    #[arg(long)]
    pub no_work_limit: bool,

    /// Machine-readable JSON on stdout (schemas/report.schema.json).
    #[arg(long)]
    pub json: bool,

    /// Only print errors.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// More logging (-v, -vv).
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Testing only: make reads of these physical pages fail (e.g. 0x1000,0x8000-0xa000).
    #[arg(long, hide = true, value_name = "PAGES")]
    pub inject_read_errors: Option<String>,

    /// Testing only: make every source read sleep this many milliseconds first.
    #[arg(long, hide = true, value_name = "MS")]
    pub inject_read_delay: Option<u64>,

    /// Testing only: the acquisition's output fails with ENOSPC after this many bytes.
    #[arg(long, hide = true, value_name = "BYTES")]
    pub inject_enospc_after: Option<u64>,

    /// Rebuild a container (-o FILE) from the partial file a killed acquisition left
    /// (NAME.partial): every complete bevy, the rest marked aff4:UnknownData.
    #[arg(long, value_name = "PARTIAL")]
    pub recover: Option<PathBuf>,

    /// Testing only: the acquisition's output stops (blocks forever) after this many
    /// bytes, so a test can kill it at an exact point.
    #[arg(long, hide = true, value_name = "BYTES")]
    pub inject_stall_after: Option<u64>,

    /// Bench only: milliseconds between the fdatasyncs made at journal flushes
    /// (default 1000; 0: only at the end).
    #[arg(long, hide = true, value_name = "MS")]
    pub sync_interval_ms: Option<u64>,

    /// Container(s) to read (export, list, view, verify); several files = a striped set.
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<PathBuf>,
}

impl From<&Args> for acquire::Options {
    fn from(a: &Args) -> Self {
        acquire::Options {
            source: a.source.clone(),
            driver: a.driver.clone(),
            ranges: a.ranges.clone(),
            inputs: a.inputs.clone(),
            no_extras: a.no_extras,
            compression: a.compression.clone(),
            threads: a.threads,
            chunk_size: a.chunk_size,
            footprint: a.footprint,
            force: a.force,
            json: a.json,
            quiet: a.quiet,
            inject_read_errors: a.inject_read_errors.clone(),
            inject_read_delay: a.inject_read_delay,
            inject_enospc_after: a.inject_enospc_after,
            inject_stall_after: a.inject_stall_after,
            sync_interval_ms: a.sync_interval_ms,
        }
    }
}

/// Parses the command line (exits with usage on error).
pub fn parse() -> Args {
    Args::parse()
}

/// Runs the selected mode and returns the exit code.
pub fn run(args: &Args) -> anyhow::Result<u8> {
    if let Some(partial) = &args.recover {
        let Some(out) = &args.output else {
            anyhow::bail!(
                "--recover {} needs -o FILE: the container to write",
                partial.display()
            );
        };
        let o = crate::recover::RecoverOptions {
            partial: partial.clone(),
            output: out.clone(),
            force: args.force,
            json: args.json,
            quiet: args.quiet,
        };
        return crate::recover::run(&o).map_err(|e| crate::output::explain_full_disk(e, out));
    }
    let reading = run_reading(args);
    match reading {
        Some(r) => r.map_err(|e| crate::recover::explain_partial(e, &args.containers)),
        None => run_acquire(args),
    }
}

/// The reading modes (`None`: not one of them).
fn run_reading(args: &Args) -> Option<anyhow::Result<u8>> {
    let reading =
        args.export.is_some() || !args.extract.is_empty() || args.view || args.list || args.verify;
    if !reading {
        return None;
    }
    if args.output.is_some() {
        return Some(Err(anyhow::anyhow!("-o/--output acquires memory; it cannot be combined with --export, -e, -V, -l or --verify")));
    }
    if args.containers.is_empty() {
        return Some(Err(anyhow::anyhow!("no container given: name the .aff4 file(s) to read, e.g. `pmem-aff4 --verify host.aff4`")));
    }
    Some(if let Some(out) = &args.export {
        export::run_export(args, out).map_err(|e| crate::output::explain_full_disk(e, out))
    } else if !args.extract.is_empty() {
        export::run_extract(args).map_err(|e| crate::output::explain_full_disk(e, &args.dir))
    } else if args.view {
        inspect::run_view(args)
    } else if args.list {
        inspect::run_list(args)
    } else {
        inspect::run_verify(args)
    })
}

/// Acquisition (`-o FILE`), or an error saying what to do.
fn run_acquire(args: &Args) -> anyhow::Result<u8> {
    match &args.output {
        Some(out) => {
            if let Some(warning) = codec_warning(&args.compression) {
                tracing::warn!("{warning}");
            }
            let opts = acquire::Options::from(args);
            if crate::output::is_stdout(out) {
                acquire::run(&opts, out).map_err(crate::output::explain_closed_pipe)
            } else {
                crate::recover::warn_leftovers(out);
                acquire::run(&opts, out).map_err(|e| crate::output::explain_full_disk(e, out))
            }
        }
        None => {
            if !args.containers.is_empty() {
                anyhow::bail!(
                    "what should be done with {}? use -l, -V, --verify or --export FILE (or -o FILE to acquire)",
                    args.containers[0].display()
                );
            }
            anyhow::bail!("nothing to do: use -o FILE to acquire memory, or --help")
        }
    }
}

/// The warning for acquiring with `codec`, if it writes chunks that common readers
/// cannot decode: `-c deflate` writes raw RFC 1951 under the Standard's URI, which c-aff4
/// reads as zlib (every chunk fails; it exports zeros with exit status 0) and pyaff4 0.34
/// refuses (AFF4-FORMAT.md §3.3).
pub fn codec_warning(codec: &str) -> Option<&'static str> {
    (aff4::codec::Compression::from_name(codec) == Some(aff4::codec::Compression::Deflate))
        .then_some(
            "-c deflate writes raw RFC 1951 chunks (the AFF4 Standard's deflate), which c-aff4 \
             (aff4imager, winpmem, linpmem) and pyaff4 0.34 cannot read: c-aff4 exports zeros \
             from them; use -c zlib or -c snappy (the default) if other tools must open this \
             container",
        )
}

#[cfg(test)]
mod tests {
    use super::Args;
    use clap::{CommandFactory, Parser};

    /// clap's own consistency checks (duplicate short flags such as `-V`, bad
    /// defaults); release builds skip them at run time, so they run here.
    #[test]
    fn the_command_line_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn dash_v_is_view_and_version_is_long_only() {
        let a = Args::try_parse_from(["pmem-aff4", "-V", "x.aff4"]).unwrap();
        assert!(a.view);
        let e = Args::try_parse_from(["pmem-aff4", "--version"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayVersion);
    }
}
