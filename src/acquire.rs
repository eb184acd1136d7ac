//! `pmem-aff4 -o host.aff4`: acquire physical memory (or import a dump) into a new
//! AFF4 container.
//!
//! One file (past 600 lines): the acquisition is one sequence (open, plan, pipeline,
//! metadata, close or mark incomplete) whose error paths must all close the container.

use crate::footprint::Footprint;
use crate::output::{CappedWriter, ContainerSink, PendingFile};
use crate::pipeline::{self, Piece, Sink};
use crate::{exit, progress, report, signals};
use aff4::codec::Compression;
use aff4::rdf::Term;
use aff4::symbolic::Symbolic;
use aff4::writer::{LogicalFileMeta, MemoryImageWriter, StreamOptions, VolumeWriter};
use anyhow::{bail, Context};
use drivers::{PhysRange, Source, SourceSpec};
use std::io::Write;
use std::path::Path;
use std::str::FromStr;
use std::time::{Instant, SystemTime};

/// Our RDF namespace for acquisition metadata (declared in schemas/aff4.ttl).
pub const PMEM: &str = aff4::lexicon::PMEM;

const TOOL: &str = concat!("pmem-aff4 ", env!("CARGO_PKG_VERSION"));

/// What an acquisition needs from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--source` spec (`auto`, `kcore`, `lime:PATH`, ...).
    pub source: String,
    /// `--driver` (Windows: the WinPmem .sys to load).
    pub driver: Option<std::path::PathBuf>,
    /// `--ranges FILE`.
    pub ranges: Option<std::path::PathBuf>,
    /// `-i` patterns.
    pub inputs: Vec<String>,
    /// `--no-extras`.
    pub no_extras: bool,
    /// `-c` codec name.
    pub compression: String,
    /// `-t` (None: the footprint's default).
    pub threads: Option<usize>,
    /// `--chunk-size`.
    pub chunk_size: u32,
    /// `--footprint` (None: low for live sources, fast for imports).
    pub footprint: Option<Footprint>,
    /// `--force`.
    pub force: bool,
    /// `--json`.
    pub json: bool,
    /// `-q`.
    pub quiet: bool,
    /// Testing only: pages whose reads fail.
    pub inject_read_errors: Option<String>,
    /// Testing only: milliseconds every read sleeps.
    pub inject_read_delay: Option<u64>,
    /// Testing only: ENOSPC after this many output bytes.
    pub inject_enospc_after: Option<u64>,
    /// Testing only: the output stalls (flushed) after this many bytes.
    pub inject_stall_after: Option<u64>,
    /// Bench only: milliseconds between `fdatasync`s at journal flushes (0: never).
    pub sync_interval_ms: Option<u64>,
}

/// Runs an acquisition; returns the exit code.
pub fn run(acq: &Options, out: &Path) -> anyhow::Result<u8> {
    let compression = Compression::from_name(&acq.compression).with_context(|| {
        format!(
            "unknown compression {:?}: use snappy, lz4, zlib, deflate or none",
            acq.compression
        )
    })?;
    let chunk_size = acq.chunk_size;
    if !chunk_size.is_power_of_two() || !(4096..=4 << 20).contains(&chunk_size) {
        bail!("--chunk-size {chunk_size}: must be a power of two between 4096 and 4194304");
    }
    if acq.threads == Some(0) {
        bail!("--threads 0: give at least 1");
    }
    let to_stdout = crate::output::is_stdout(out);
    // Fail before opening any device if the output is not writable.
    if !to_stdout {
        crate::output::check_overwrite(out, acq.force)?;
    }

    // Inputs are checked before any memory is read: a typo must not cost the acquisition.
    let inputs = expand_inputs(&acq.inputs)?;

    crate::watchdog::start();
    crate::watchdog::step(format!("opening the memory source ({})", acq.source));
    let source = open_source(acq)?;
    let ranges: Vec<PhysRange> = source.ranges().to_vec();
    if ranges.is_empty() {
        bail!(
            "source {} reports no readable physical ranges",
            source.description()
        );
    }
    let is_device = matches!(
        source.name(),
        "pmem" | "lmap" | "crash" | "kcore" | "devmem" | "winpmem"
    );
    let winpmem = source.winpmem_info().cloned();
    tracing::info!("source: {}", source.description());

    let footprint = acq.footprint.unwrap_or(if is_device {
        Footprint::Low
    } else {
        Footprint::Fast
    });
    let budget = footprint.budget(acq.threads);
    let threads = budget.threads;
    if footprint == Footprint::Low {
        crate::footprint::keep_freed_memory();
    }

    signals::install();
    let started = Instant::now();
    let start_time = now_rfc3339();
    // Live sources (and any --footprint low run): the container must not stay in the
    // page cache of the host it is written on.
    let uncached = is_device || footprint == Footprint::Low;
    let (pending, container) = if to_stdout {
        (None, ContainerSink::stdout(uncached, budget.output_buffer)?)
    } else {
        let (pending, file) = PendingFile::create(out, acq.force)?;
        signals::remove_on_abort(pending.tmp_path());
        let mut sink = ContainerSink::for_file(file, uncached, budget.output_buffer)
            .with_context(|| format!("cannot set up {}", pending.tmp_path().display()))?;
        if let Some(ms) = acq.sync_interval_ms {
            sink.set_sync_interval((ms > 0).then(|| std::time::Duration::from_millis(ms)));
        }
        (Some(pending), sink)
    };
    tracing::info!(
        "footprint {}: {} reader thread(s), {} KiB reads, output {}",
        footprint.name(),
        threads,
        (budget.batch.chunks(chunk_size as usize) * chunk_size as usize) >> 10,
        container.describe()
    );
    let output_mode = container.describe();
    // Testing only: a stall after N bytes (flushed first), for exact-offset SIGKILL tests.
    let container = crate::inject::StallWriter::new(container, acq.inject_stall_after);
    let sink = CappedWriter::new(container, acq.inject_enospc_after);
    let mut vw = VolumeWriter::new(sink, TOOL).context("cannot start the AFF4 volume")?;

    let opts = StreamOptions {
        chunk_size,
        compression,
        chunks_in_segment: budget.bevy.chunks(chunk_size as usize) as u32,
        hash_buffer_len: budget.hash_buffer,
        ..StreamOptions::default()
    };
    let total: u64 = ranges.iter().map(|r| r.end - r.start).sum();
    let bar = progress::bar(total, source.name(), acq.quiet);
    let mut mem = vw
        .memory_image(opts)
        .context("cannot start the memory image")?;
    let image_urn = mem.image_urn().to_string();
    // The recovery journal: what `--recover` needs if this run is killed.
    let planned: Vec<(u64, u64)> = ranges.iter().map(|r| (r.start, r.end)).collect();
    let string = aff4::lexicon::XSD_STRING.to_string();
    let journal_meta = [
        (format!("{PMEM}tool"), string.clone(), TOOL.to_string()),
        (
            format!("{PMEM}acquisitionStart"),
            aff4::lexicon::XSD_DATETIME.to_string(),
            start_time.clone(),
        ),
        (format!("{PMEM}source"), string, source.description()),
    ];
    mem.start_journal(&planned, &journal_meta)
        .with_context(|| write_context(out))?;
    // Rekall/WinPmem look for information.yaml beside the map: `<map>/information.yaml`.
    let yaml_member = mem.map_member("information.yaml");
    let cfg = pipeline::Config {
        chunk_size: chunk_size as usize,
        batch_chunks: budget.batch.chunks(chunk_size as usize),
        threads,
        batches: budget.batches,
        compression,
    };
    crate::watchdog::step(format!(
        "reading physical memory from {} (or writing {})",
        source.description(),
        out.display()
    ));
    let mut adapter = MemSink { mem: &mut mem };
    let outcome = pipeline::run(
        source.as_ref(),
        &ranges,
        &cfg,
        &signals::stop_requested,
        &mut adapter,
        &|n| {
            bar.inc(n);
            crate::watchdog::progress();
        },
    )
    .map_err(|e| {
        // A damaged dump is the source's fault, not the output's: say so plainly.
        if e.is::<drivers::ReadError>() {
            e.context(format!(
                "importing into {} stopped (nothing is kept)",
                out.display()
            ))
        } else {
            e.context(write_context(out))
        }
    })?;
    // Ranges never read (interrupted) are marked, not left as holes.
    for r in &outcome.not_read {
        mem.add_symbolic(r.start, r.end - r.start, Symbolic::UnknownData)
            .with_context(|| write_context(out))?;
    }
    bar.finish_and_clear();
    let complete = outcome.not_read.is_empty();
    let end_of_ram = ranges.last().map_or(0, |r| r.end);
    let summary = mem.finish(end_of_ram).with_context(|| write_context(out))?;
    let unreadable_pages: u64 = outcome
        .unreadable
        .iter()
        .map(|r| (r.end - r.start).div_ceil(source.page_size() as u64))
        .sum();

    // Metadata on the Image.
    // Host facts, with the VMCOREINFO note read through the source itself.
    // (Linux facts: not for the Windows driver, whose info block says what matters.)
    let facts =
        (is_device && winpmem.is_none()).then(|| drivers::host::collect_with(source.as_ref()));
    {
        let g = vw.graph_mut();
        let s = Term::iri(image_urn.clone());
        let lit = |v: &str| Term::typed(v, aff4::lexicon::XSD_STRING);
        let long = |v: u64| Term::typed(v.to_string(), aff4::lexicon::XSD_LONG);
        g.insert(s.clone(), &format!("{PMEM}tool"), lit(TOOL));
        g.insert(
            s.clone(),
            &format!("{PMEM}acquisitionStart"),
            Term::typed(&start_time, aff4::lexicon::XSD_DATETIME),
        );
        g.insert(
            s.clone(),
            &format!("{PMEM}acquisitionEnd"),
            Term::typed(now_rfc3339(), aff4::lexicon::XSD_DATETIME),
        );
        g.insert(
            s.clone(),
            &format!("{PMEM}acquisitionComplete"),
            Term::typed(complete.to_string(), aff4::lexicon::XSD_BOOLEAN),
        );
        g.insert(
            s.clone(),
            &format!("{PMEM}source"),
            lit(&source.description()),
        );
        if let Some(m) = source.read_method() {
            g.insert(s.clone(), &format!("{PMEM}readMethod"), lit(m));
        }
        g.insert(
            s.clone(),
            &format!("{PMEM}unreadablePages"),
            long(unreadable_pages),
        );
        if let Some(f) = &facts {
            add_host_facts(g, &s, f);
        }
        if let Some(w) = &winpmem {
            add_winpmem_facts(g, &s, w);
        }
    }
    vw.add_member(
        &yaml_member,
        information_yaml(&ranges, facts.as_ref(), winpmem.as_ref()).as_bytes(),
    )
    .with_context(|| write_context(out))?;

    crate::watchdog::step(format!(
        "reading host files (extras, -i) into {}",
        out.display()
    ));
    let mut logical = Vec::new();
    // The Linux extras (/proc, /boot) mean nothing on Windows.
    if is_device && !acq.no_extras && winpmem.is_none() {
        logical.extend(add_extras(&mut vw).with_context(|| write_context(out))?);
    }
    for path in inputs {
        let name = add_input(&mut vw, &path).with_context(|| write_context(out))?;
        logical.push(name);
    }

    let volume_urn = vw.volume_urn().to_string();
    crate::watchdog::step(format!(
        "finishing {} (index, metadata, flush to the device)",
        out.display()
    ));
    let sink = vw.finish().with_context(|| write_context(out))?;
    let stored = sink
        .into_inner()
        .into_inner()
        .finish()
        .with_context(|| write_context(out))?;
    crate::watchdog::done();
    if let Some(p) = pending {
        p.commit()?;
    }
    signals::forget_partial();

    let hashes: std::collections::BTreeMap<String, String> = summary
        .hashes
        .iter()
        .map(|(a, h)| (a.name().to_string(), h.clone()))
        .collect();
    let rep = report::Acquisition {
        report: "acquisition",
        tool: TOOL.to_string(),
        output: out.display().to_string(),
        source: source.name().to_string(),
        source_description: source.description(),
        read_method: source.read_method().map(str::to_string),
        ranges: ranges
            .iter()
            .map(|r| report::Range {
                start: r.start,
                end: r.end,
            })
            .collect(),
        bytes_total: total,
        bytes_acquired: outcome.bytes_done,
        stored_bytes: stored,
        ratio: if outcome.bytes_done == 0 {
            0.0
        } else {
            stored as f64 / outcome.bytes_done as f64
        },
        unreadable_pages,
        unreadable_ranges: outcome
            .unreadable
            .iter()
            .map(|r| report::Range {
                start: r.start,
                end: r.end,
            })
            .collect(),
        complete,
        seconds: started.elapsed().as_secs_f64(),
        compression: compression.name().to_string(),
        threads,
        footprint: footprint.name().to_string(),
        output_write: output_mode.to_string(),
        hashes,
        volume_urn,
        image_urn,
        logical_files: logical,
    };
    print_summary(acq, &rep)?;
    if !complete {
        eprintln!(
            "pmem-aff4: interrupted: {} closed as INCOMPLETE ({} of {} read; the rest is marked aff4:UnknownData)",
            out.display(),
            report::human(outcome.bytes_done),
            report::human(total)
        );
        return Ok(exit::INTERRUPTED);
    }
    Ok(exit::OK)
}

fn write_context(out: &Path) -> String {
    format!(
        "writing {} (nothing is kept if this fails: check free space and permissions)",
        out.display()
    )
}

fn print_summary(acq: &Options, rep: &report::Acquisition) -> anyhow::Result<()> {
    if acq.json && rep.output == "-" {
        return report::eprint_json(rep);
    }
    if acq.json {
        return report::print_json(rep);
    }
    if acq.quiet {
        return Ok(());
    }
    let sha = rep.hashes.get("sha256").map_or("-", |s| s.as_str());
    eprintln!(
        "{}: {} acquired from {} [{}], stored {} (ratio {:.2}, {}, footprint {}), {} unreadable page{}, {:.1} s, SHA-256 {}",
        if rep.output == "-" { "stdout" } else { &rep.output },
        report::human(rep.bytes_acquired),
        rep.source_description,
        range_list(&rep.ranges),
        report::human(rep.stored_bytes),
        rep.ratio,
        rep.output_write,
        rep.footprint,
        rep.unreadable_pages,
        if rep.unreadable_pages == 1 { "" } else { "s" },
        rep.seconds,
        sha
    );
    if !rep.unreadable_ranges.is_empty() {
        let (list, left_off) = hex_ranges(&rep.unreadable_ranges, UNREADABLE_RANGES, ", ");
        eprintln!(
            "unreadable: {list}{}",
            if left_off > 0 { ", ..." } else { "" }
        );
    }
    Ok(())
}

/// At most this many ranges are spelled out in the summary line (`--json` has them all).
const SUMMARY_RANGES: usize = 16;
/// At most this many unreadable ranges are spelled out after the summary line.
const UNREADABLE_RANGES: usize = 20;

/// `start-end` (half-open, hex) of the first `limit` ranges joined by `sep`, and how
/// many ranges were left off.
fn hex_ranges(ranges: &[report::Range], limit: usize, sep: &str) -> (String, usize) {
    let list: Vec<String> = ranges
        .iter()
        .take(limit)
        .map(|r| format!("{:#x}-{:#x}", r.start, r.end))
        .collect();
    (list.join(sep), ranges.len().saturating_sub(limit))
}

/// The summary line's ranges: the first [`SUMMARY_RANGES`], then how many more.
fn range_list(ranges: &[report::Range]) -> String {
    let (list, left_off) = hex_ranges(ranges, SUMMARY_RANGES, " ");
    if left_off > 0 {
        format!("{list} ... {left_off} more (-l or --json)")
    } else {
        list
    }
}

fn open_source(acq: &Options) -> anyhow::Result<Box<dyn Source>> {
    let mut spec = SourceSpec::from_str(&acq.source)
        .map_err(|e| anyhow::anyhow!("--source {}: {e}", acq.source))?;
    if let Some(sys) = &acq.driver {
        match &mut spec {
            SourceSpec::Auto => {
                spec = SourceSpec::WinPmem(drivers::windows::WinPmemOptions {
                    driver: Some(sys.clone()),
                    mode: None,
                })
            }
            SourceSpec::WinPmem(o) if o.driver.is_none() => o.driver = Some(sys.clone()),
            _ => bail!(
                "--driver {}: only for --source winpmem (Windows)",
                sys.display()
            ),
        }
    }
    let mut opts = drivers::OpenOptions::default();
    if let Some(r) = &acq.ranges {
        match &mut spec {
            SourceSpec::Raw { ranges, .. } => *ranges = Some(r.clone()),
            _ => {
                let text = std::fs::read_to_string(r)
                    .with_context(|| format!("cannot read --ranges {}", r.display()))?;
                opts.ranges_override = Some(drivers::iomem::parse_ranges_file(&text)?);
            }
        }
    }
    let source = drivers::open_source(&spec, &opts)?;
    if acq.inject_read_errors.is_none() && acq.inject_read_delay.is_none() {
        return Ok(source);
    }
    let bad = match &acq.inject_read_errors {
        Some(pages) => drivers::faults::parse_page_list(pages)?,
        None => Default::default(),
    };
    let delay = std::time::Duration::from_millis(acq.inject_read_delay.unwrap_or(0));
    Ok(Box::new(
        drivers::faults::FaultInjectingSource::new(source, bad).with_delay(delay),
    ))
}

struct MemSink<'a, 'b, W: Write> {
    mem: &'a mut MemoryImageWriter<'b, W>,
}

impl<W: Write> Sink for MemSink<'_, '_, W> {
    fn piece(&mut self, piece: Piece<'_>) -> anyhow::Result<()> {
        match piece {
            Piece::Data {
                phys,
                buf,
                range,
                stored,
            } => self.mem.add_chunk_shared(phys, buf, range, stored)?,
            Piece::Zero { phys, len } => self.mem.add_symbolic(phys, len, Symbolic::Zero)?,
            Piece::Unreadable { phys, len } => {
                self.mem.add_symbolic(phys, len, Symbolic::UnreadableData)?
            }
        }
        Ok(())
    }
}

fn add_host_facts(g: &mut aff4::rdf::Graph, s: &Term, f: &drivers::host::HostFacts) {
    let lit = |v: &str| Term::typed(v, aff4::lexicon::XSD_STRING);
    let long = |v: u64| Term::typed(v.to_string(), aff4::lexicon::XSD_LONG);
    let mut put = |p: &str, o: Term| g.insert(s.clone(), &format!("{PMEM}{p}"), o);
    if let Some(v) = &f.hostname {
        put("hostname", lit(v));
    }
    if let Some(v) = &f.kernel_release {
        put("kernelRelease", lit(v));
    }
    if let Some(v) = &f.kernel_version {
        put("kernelVersion", lit(v));
    }
    if let Some(v) = &f.architecture {
        put("architecture", lit(v));
    }
    if let Some(v) = f.page_size {
        put("pageSize", long(v as u64));
    }
    if let Some(v) = &f.boot_id {
        put("bootId", lit(v));
    }
    if let Some(vi) = &f.vmcoreinfo {
        put("vmcoreinfo", lit(&vi.raw));
        if let Some(v) = vi.kernel_offset {
            put("kernelOffset", long(v));
        }
        if let Some(v) = vi.phys_base {
            put("physBase", long(v));
        }
        if let Some(v) = vi.kernel_base() {
            put(
                "kernelBase",
                Term::typed(v.to_string(), aff4::lexicon::XSD_UNSIGNED_LONG),
            );
        }
        if let Some(v) = vi.page_table_root_phys() {
            // The standard's CR3/DTB predicate (Evimetry, pyaff4).
            g.insert(
                s.clone(),
                aff4::lexicon::MEMORY_PAGE_TABLE_ENTRY_OFFSET,
                long(v),
            );
        }
    }
}

/// The WinPmem driver's facts on the Image: the DTB in the standard predicate, KernBase,
/// NtBuildNumber and which IOCTL generation answered.
fn add_winpmem_facts(
    g: &mut aff4::rdf::Graph,
    s: &Term,
    w: &drivers::windows::protocol::MemoryInfo,
) {
    g.insert(
        s.clone(),
        aff4::lexicon::MEMORY_PAGE_TABLE_ENTRY_OFFSET,
        Term::typed(w.cr3.to_string(), aff4::lexicon::XSD_LONG),
    );
    g.insert(
        s.clone(),
        &format!("{PMEM}kernelBase"),
        Term::typed(w.kern_base.to_string(), aff4::lexicon::XSD_UNSIGNED_LONG),
    );
    g.insert(
        s.clone(),
        &format!("{PMEM}ntBuildNumber"),
        Term::typed(w.nt_build_number.to_string(), aff4::lexicon::XSD_LONG),
    );
    g.insert(
        s.clone(),
        &format!("{PMEM}driverInterface"),
        Term::typed(w.generation.name(), aff4::lexicon::XSD_STRING),
    );
}

/// The WinPmem/linpmem-style YAML that Rekall-era tools read.
fn information_yaml(
    ranges: &[PhysRange],
    facts: Option<&drivers::host::HostFacts>,
    winpmem: Option<&drivers::windows::protocol::MemoryInfo>,
) -> String {
    let mut y = format!("Imager: {TOOL}\n");
    if let Some(w) = winpmem {
        y.push_str(&drivers::windows::protocol::information_yaml_fields(w));
    }
    if let Some(vi) = facts.and_then(|f| f.vmcoreinfo.as_ref()) {
        if let Some(k) = vi.kernel_offset {
            y.push_str(&format!("kaslr_slide: {k:#x}\n"));
        }
        if let Some(p) = vi.phys_base {
            y.push_str(&format!("PhysBase: {p:#x}\n"));
        }
        // What Rekall reads to start analysis: the DTB and the kernel's base.
        if let Some(cr3) = vi.page_table_root_phys() {
            y.push_str(&format!("Registers: {{CR3: {cr3:#x}}}\n"));
        }
        if let Some(k) = vi.kernel_base() {
            y.push_str(&format!("KernBase: {k:#x}\n"));
        }
        if let Some((sym, addr)) = &vi.page_table_root {
            y.push_str(&format!(
                "PageTableRoot: {{symbol: {sym}, address: {addr:#x}}}\n"
            ));
        }
        if let Some(l5) = vi.pgtable_l5 {
            y.push_str(&format!("PgtableL5: {l5}\n"));
        }
        if let Some(a) = vi.address {
            y.push_str(&format!("VmcoreinfoAddress: {a:#x}\n"));
        }
        // The whole note as a literal block (KEY=VALUE lines never start with spaces).
        y.push_str("Vmcoreinfo: |\n");
        for line in vi.raw.lines() {
            y.push_str(&format!("  {line}\n"));
        }
    }
    y.push_str("Runs:\n");
    for r in ranges {
        y.push_str(&format!(
            "- start: {:#x}\n  length: {:#x}\n",
            r.start,
            r.end - r.start
        ));
    }
    y
}

/// Files analysts need to interpret a Linux image; each that is readable is added.
fn add_extras<W: Write>(vw: &mut VolumeWriter<W>) -> aff4::Result<Vec<String>> {
    let mut paths: Vec<std::path::PathBuf> = [
        "/proc/iomem",
        "/proc/kallsyms",
        "/sys/kernel/vmcoreinfo",
        "/proc/version",
        "/proc/cmdline",
    ]
    .iter()
    .map(Into::into)
    .collect();
    if let Ok(rel) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        let rel = rel.trim();
        paths.push(format!("/boot/System.map-{rel}").into());
        paths.push(format!("/boot/config-{rel}").into());
    }
    let mut added = Vec::new();
    for p in paths {
        // /proc files report size 0: read them whole (they are small) rather than stream.
        let Ok(data) = std::fs::read(&p) else {
            tracing::debug!("extra {} not readable; skipped", p.display());
            continue;
        };
        let name = p.display().to_string();
        let meta = LogicalFileMeta::default();
        vw.add_logical_file(&name, &mut data.as_slice(), &meta)?;
        added.push(name);
    }
    Ok(added)
}

fn expand_inputs(patterns: &[String]) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for pat in patterns {
        let matches = glob_paths(pat);
        if matches.is_empty() {
            bail!("-i {pat}: no such file");
        }
        for m in &matches {
            drop(open_regular(m)?);
        }
        out.extend(matches);
    }
    Ok(out)
}

/// Opens an `-i` input, refusing anything but a regular file: a FIFO would block the
/// open (or the read) forever and a device such as /dev/zero never ends. The open
/// itself is non-blocking, so a FIFO is refused rather than waited on.
fn open_regular(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NONBLOCK);
    }
    let f = o
        .open(path)
        .with_context(|| format!("-i {}: cannot open", path.display()))?;
    let regular = f.metadata().map(|m| m.is_file()).unwrap_or(false);
    if !regular {
        bail!(
            "-i {}: not a regular file (FIFOs, sockets and devices can block or never end); copy it to a file first",
            path.display()
        );
    }
    Ok(f)
}

/// Minimal glob: `*` and `?` in the last path component.
fn glob_paths(pat: &str) -> Vec<std::path::PathBuf> {
    let p = Path::new(pat);
    if p.exists() {
        return vec![p.to_path_buf()];
    }
    let (dir, name) = match (p.parent(), p.file_name()) {
        (Some(d), Some(n)) => (
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            },
            n.to_string_lossy(),
        ),
        _ => return Vec::new(),
    };
    if !name.contains(['*', '?']) {
        return Vec::new();
    }
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| wildcard(&name, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn wildcard(pat: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    fn m(p: &[char], s: &[char]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some('*'), _) => m(&p[1..], s) || (!s.is_empty() && m(p, &s[1..])),
            (Some('?'), Some(_)) => m(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &s[1..]),
            _ => false,
        }
    }
    m(&p, &s)
}

fn add_input<W: Write>(vw: &mut VolumeWriter<W>, path: &Path) -> anyhow::Result<String> {
    let mut f = open_regular(path)?;
    let md = f.metadata().ok();
    let meta = LogicalFileMeta {
        last_written: md.as_ref().and_then(|m| m.modified().ok()),
        last_accessed: md.as_ref().and_then(|m| m.accessed().ok()),
        ..LogicalFileMeta::default()
    };
    let name = path.display().to_string();
    vw.add_logical_file(&name, &mut f, &meta)?;
    Ok(name)
}

/// Now as `xsd:dateTime` in UTC (`YYYY-MM-DDTHH:MM:SSZ`).
fn now_rfc3339() -> String {
    aff4::writer::xsd_datetime(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn information_yaml_gives_rekall_the_dtb_and_kernel_base() {
        let vi = drivers::host::parse_vmcoreinfo(
            "OSRELEASE=6.1.0\nSYMBOL(init_top_pgt)=ffffffffb6a0a000\n\
             NUMBER(phys_base)=-744488960\nKERNELOFFSET=33c00000\n",
        );
        let facts = drivers::host::HostFacts {
            vmcoreinfo: Some(vi),
            ..Default::default()
        };
        let ranges = [PhysRange {
            start: 0x1000,
            end: 0x9f000,
        }];
        let y = information_yaml(&ranges, Some(&facts), None);
        assert!(y.contains("\nRegisters: {CR3: 0xa40a000}\n"), "{y}");
        assert!(y.contains("\nKernBase: 0xffffffffb4c00000\n"), "{y}");
        let none = information_yaml(&ranges, None, None);
        assert!(
            !none.contains("Registers") && !none.contains("KernBase"),
            "{none}"
        );
    }

    #[test]
    fn wildcard_matches() {
        assert!(wildcard("*.txt", "a.txt"));
        assert!(!wildcard("*.txt", "a.bin"));
        assert!(wildcard("a?c", "abc"));
    }

    #[test]
    fn summary_spells_out_the_first_ranges_and_counts_the_rest() {
        let r = |start, end| report::Range { start, end };
        assert_eq!(
            range_list(&[r(0x1000, 0x9f000), r(0x100000, 0x200000)]),
            "0x1000-0x9f000 0x100000-0x200000"
        );
        let many: Vec<report::Range> = (0..SUMMARY_RANGES as u64 + 3)
            .map(|i| r(i << 30, (i << 30) + 4096))
            .collect();
        let s = range_list(&many);
        assert_eq!(s.matches("-0x").count(), SUMMARY_RANGES, "{s}");
        assert!(s.ends_with("... 3 more (-l or --json)"), "{s}");
        assert!(
            !s.contains(&format!("{:#x}-", (SUMMARY_RANGES as u64) << 30)),
            "{s}"
        );
    }
}
