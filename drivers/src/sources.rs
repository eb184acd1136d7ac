//! The sources: positional reads from a file or device, with a table mapping physical
//! ranges to file offsets.
//!
//! One file (past 600 lines): every Linux device source shares the same positional-read
//! core and the `auto` order; splitting per device would scatter that order.

use crate::elf::{self, Block};
use crate::file_ext::FileExt;
use crate::{iomem, Error, PhysRange, ReadError, Source, SourceSpec};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Options for [`open_source`].
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Replace the discovered ranges (logged loudly: reading non-RAM can hang a machine).
    pub ranges_override: Option<Vec<PhysRange>>,
    /// Where System RAM ranges come from.
    pub iomem_path: PathBuf,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            ranges_override: None,
            iomem_path: PathBuf::from("/proc/iomem"),
        }
    }
}

/// How a source's reads reach its file.
enum Handle {
    /// One descriptor for every thread (positional reads on it are independent).
    Shared(File),
    /// One descriptor per concurrent reader, reused. /proc/kcore needs this: the kernel
    /// copies through a one-page bounce buffer that belongs to the open file
    /// (`file->private_data`, Linux 4.19 to 6.4) while holding only a read lock, so two
    /// threads reading one descriptor at once get pages mixed from each other's reads
    /// (seen on 6.1: the tail of a page replaced by the same offset of another page).
    PerReader {
        path: PathBuf,
        idle: Mutex<Vec<File>>,
    },
}

impl Handle {
    fn per_reader(path: &Path, first: File) -> Handle {
        Handle::PerReader {
            path: path.to_path_buf(),
            idle: Mutex::new(vec![first]),
        }
    }

    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> std::io::Result<()> {
        match self {
            Handle::Shared(f) => f.read_exact_at(buf, off),
            Handle::PerReader { path, idle } => {
                let lock = || idle.lock().unwrap_or_else(|e| e.into_inner());
                let popped = lock().pop();
                let f = match popped {
                    Some(f) => f,
                    None => File::open(path)?,
                };
                let r = f.read_exact_at(buf, off);
                lock().push(f);
                r
            }
        }
    }

    #[cfg(test)]
    fn descriptors(&self) -> usize {
        match self {
            Handle::Shared(_) => 1,
            Handle::PerReader { idle, .. } => idle.lock().unwrap().len(),
        }
    }
}

/// A source reading a file or device through a block table.
struct FileSource {
    name: &'static str,
    desc: String,
    file: Handle,
    ranges: Vec<PhysRange>,
    blocks: Vec<Block>,
    read_method: Option<&'static str>,
}

impl Source for FileSource {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> String {
        self.desc.clone()
    }
    fn ranges(&self) -> &[PhysRange] {
        &self.ranges
    }
    fn read_method(&self) -> Option<&str> {
        self.read_method
    }
    fn read_at(&self, phys: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let end = phys + buf.len() as u64;
        let i = self.blocks.partition_point(|b| b.phys.end <= phys);
        let mut done = 0usize;
        let mut at = phys;
        let mut bi = i;
        while at < end {
            let Some(b) = self.blocks.get(bi).filter(|b| b.phys.start <= at) else {
                // Not backed by the file. Inside the source's ranges (System RAM that
                // /proc/kcore does not expose) it is unreadable, not out of range.
                if !self.ranges.iter().any(|r| r.start <= at && at < r.end) {
                    return Err(ReadError::OutOfRange {
                        phys,
                        len: buf.len(),
                    });
                }
                let next = self.blocks.get(bi).map_or(end, |b| b.phys.start.min(end));
                return Err(ReadError::Unreadable {
                    phys: at,
                    len: (next - at) as usize,
                    source: std::io::Error::other(format!("not exposed by {}", self.name)),
                });
            };
            let n = (b.phys.end.min(end) - at) as usize;
            let off = b.file_offset + (at - b.phys.start);
            self.file
                .read_exact_at(&mut buf[done..done + n], off)
                .map_err(|source| ReadError::Unreadable {
                    phys: at,
                    len: n,
                    source,
                })?;
            done += n;
            at += n as u64;
            bi += 1;
        }
        Ok(())
    }
}

/// Opens a dump file or device, naming it and the fix on failure.
pub(crate) fn open_file(path: &Path, what: &str) -> Result<File, Error> {
    File::open(path).map_err(|e| {
        let fix = match e.kind() {
            std::io::ErrorKind::NotFound => "check the path".to_string(),
            std::io::ErrorKind::PermissionDenied => "run as root".to_string(),
            _ => "check the device or file".to_string(),
        };
        Error::Unavailable(format!("{what} {}: {e}: {fix}", path.display()))
    })
}

fn identity(ranges: &[PhysRange]) -> Vec<Block> {
    ranges
        .iter()
        .map(|r| Block {
            phys: *r,
            file_offset: r.start,
        })
        .collect()
}

fn lockdown_note() -> String {
    match std::fs::read_to_string("/sys/kernel/security/lockdown") {
        Ok(s) if s.contains("[confidentiality]") => {
            " (kernel lockdown=confidentiality blocks /proc/kcore and /dev/mem)".into()
        }
        Ok(s) if s.contains("[integrity]") => {
            " (kernel lockdown=integrity blocks /dev/mem and unsigned modules)".into()
        }
        _ => String::new(),
    }
}

fn system_ram(opts: &OpenOptions) -> Result<Vec<PhysRange>, Error> {
    if let Some(r) = &opts.ranges_override {
        tracing::warn!("using --ranges instead of /proc/iomem: reading anything but RAM can hang or crash the machine");
        return Ok(r.clone());
    }
    iomem::read_system_ram(&opts.iomem_path)
}

fn open_raw(path: &Path, ranges: Option<&Path>) -> Result<Box<dyn Source>, Error> {
    let file = open_file(path, "raw dump")?;
    let len = file
        .metadata()
        .map_err(|e| Error::Unavailable(format!("{}: {e}", path.display())))?
        .len();
    let ranges = match ranges {
        Some(r) => {
            let text = std::fs::read_to_string(r)
                .map_err(|e| Error::Iomem(format!("cannot read --ranges {}: {e}", r.display())))?;
            let v = iomem::parse_ranges_file(&text)?;
            if v.iter().any(|r| r.end > len) {
                return Err(Error::Format {
                    path: path.display().to_string(),
                    reason: format!("ranges reach past the end of the {len}-byte dump"),
                });
            }
            v
        }
        None => vec![PhysRange { start: 0, end: len }],
    };
    let blocks = identity(&ranges);
    Ok(Box::new(FileSource {
        name: "raw",
        desc: format!("raw dump {} ({} ranges)", path.display(), ranges.len()),
        file: Handle::Shared(file),
        ranges,
        blocks,
        read_method: None,
    }))
}

fn read_head(file: &File, path: &Path) -> Result<Vec<u8>, Error> {
    let mut head = vec![0u8; 1 << 20];
    let mut n = 0;
    while n < head.len() {
        match file.read_at(&mut head[n..], n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => {
                return Err(Error::Unavailable(format!(
                    "{}: {e}{}",
                    path.display(),
                    lockdown_note()
                )))
            }
        }
    }
    head.truncate(n);
    Ok(head)
}

fn open_elf(path: &Path) -> Result<Box<dyn Source>, Error> {
    let file = open_file(path, "ELF core")?;
    let head = read_head(&file, path)?;
    let segs = elf::parse_load_segments(&head).map_err(|reason| Error::Format {
        path: path.display().to_string(),
        reason,
    })?;
    let blocks = elf::core_blocks(&segs);
    let ranges: Vec<PhysRange> = blocks.iter().map(|b| b.phys).collect();
    Ok(Box::new(FileSource {
        name: "elf",
        desc: format!(
            "ELF core {} ({} PT_LOAD ranges)",
            path.display(),
            ranges.len()
        ),
        file: Handle::Shared(file),
        ranges,
        blocks,
        read_method: None,
    }))
}

/// Opens one candidate of `--source auto`.
#[cfg(not(windows))]
type Opener<'a> = dyn Fn() -> Result<Box<dyn Source>, Error> + 'a;

fn open_kcore(opts: &OpenOptions) -> Result<Box<dyn Source>, Error> {
    let path = Path::new("/proc/kcore");
    if !path.exists() {
        return Err(Error::Unavailable(
            "/proc/kcore not found: kernel built without CONFIG_PROC_KCORE or /proc not mounted"
                .into(),
        ));
    }
    let file = open_file(path, "/proc/kcore")
        .map_err(|e| Error::Unavailable(format!("{e}{}", lockdown_note())))?;
    let head = read_head(&file, path)?;
    let segs = elf::parse_load_segments(&head).map_err(|reason| Error::Format {
        path: "/proc/kcore".into(),
        reason,
    })?;
    let ram = system_ram(opts)?;
    Ok(Box::new(kcore_source(path, file, &segs, ram)?))
}

/// The /proc/kcore source over `ram`: its ranges are all of System RAM, so that RAM the
/// kernel does not expose in kcore (it lists whole pages only: the tail of a range that
/// ends inside a page, like 0x9f000-0x9fbff below 640 KiB, is missing) is read as
/// unreadable and recorded as such, never dropped from the map or zero-filled.
fn kcore_source(
    path: &Path,
    file: File,
    segs: &[elf::Segment],
    ram: Vec<PhysRange>,
) -> Result<FileSource, Error> {
    let blocks = elf::kcore_blocks(&ram, segs);
    if blocks.is_empty() {
        return Err(Error::Unavailable(
            "/proc/kcore maps none of the System RAM ranges of /proc/iomem".into(),
        ));
    }
    let ranges = crate::merge_ranges(ram);
    let missing = subtract(&ranges, &blocks);
    if !missing.is_empty() {
        let bytes: u64 = missing.iter().map(PhysRange::len).sum();
        let list: Vec<String> = missing
            .iter()
            .take(8)
            .map(|r| format!("{:#x}-{:#x}", r.start, r.end))
            .collect();
        tracing::info!(
            "/proc/kcore does not expose {bytes} bytes of System RAM ({}{}): recorded as unreadable",
            list.join(", "),
            if missing.len() > 8 { ", ..." } else { "" }
        );
    }
    Ok(FileSource {
        name: "kcore",
        desc: format!("/proc/kcore ({} direct-map blocks)", blocks.len()),
        file: Handle::per_reader(path, file),
        ranges,
        blocks,
        read_method: None,
    })
}

/// The parts of `ranges` (sorted, merged) that no block covers.
fn subtract(ranges: &[PhysRange], blocks: &[Block]) -> Vec<PhysRange> {
    let mut out = Vec::new();
    for r in ranges {
        let mut at = r.start;
        for b in blocks
            .iter()
            .filter(|b| b.phys.end > r.start && b.phys.start < r.end)
        {
            if b.phys.start > at {
                out.push(PhysRange {
                    start: at,
                    end: b.phys.start,
                });
            }
            at = at.max(b.phys.end);
        }
        if at < r.end {
            out.push(PhysRange {
                start: at,
                end: r.end,
            });
        }
    }
    out
}

fn open_device(
    name: &'static str,
    path: &Path,
    opts: &OpenOptions,
    missing_fix: &str,
) -> Result<Box<dyn Source>, Error> {
    if !path.exists() {
        return Err(Error::Unavailable(format!(
            "{} not found: {missing_fix}",
            path.display()
        )));
    }
    let file =
        open_file(path, name).map_err(|e| Error::Unavailable(format!("{e}{}", lockdown_note())))?;
    let ranges = system_ram(opts)?;
    let blocks = identity(&ranges);
    let read_method = if name == "pmem" {
        pmem_read_method(&file, path)
    } else {
        None
    };
    let src = FileSource {
        name,
        desc: format!(
            "{} ({} System RAM ranges{})",
            path.display(),
            ranges.len(),
            read_method.map_or(String::new(), |m| format!(", read method {m}"))
        ),
        // Our pmem module and /dev/mem copy through per-call buffers; Red Hat's crash
        // driver is not available to test here, so it gets kcore's precaution.
        file: if name == "crash" {
            Handle::per_reader(path, file)
        } else {
            Handle::Shared(file)
        },
        ranges,
        blocks,
        read_method,
    };
    if name == "devmem" {
        // STRICT_DEVMEM: RAM above 1 MiB reads fail with EPERM.
        if let Some(r) = src.ranges.iter().find(|r| r.end > 0x100000) {
            let probe = r.start.max(0x100000);
            let mut page = [0u8; 4096];
            if let Err(e) = src.read_at(probe, &mut page[..((r.end - probe).min(4096)) as usize]) {
                return Err(Error::Unavailable(format!(
                    "/dev/mem refuses RAM at {probe:#x} ({e}): the kernel is built with CONFIG_STRICT_DEVMEM{}; use /proc/kcore or load the pmem module",
                    lockdown_note()
                )));
            }
        }
    }
    Ok(Box::new(src))
}

#[cfg(target_os = "linux")]
/// The lmap source: the infected module's device, and the module (unloaded when this
/// is dropped, after the device file).
struct LmapSource {
    inner: FileSource,
    _module: crate::lmap::load::Loaded,
}

#[cfg(target_os = "linux")]
impl Source for LmapSource {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn description(&self) -> String {
        self.inner.description()
    }
    fn ranges(&self) -> &[PhysRange] {
        self.inner.ranges()
    }
    fn read_method(&self) -> Option<&str> {
        self.inner.read_method()
    }
    fn read_at(&self, phys: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.inner.read_at(phys, buf)
    }
}

/// lmap injects into Linux kernel modules: nothing to load elsewhere.
#[cfg(not(target_os = "linux"))]
fn open_lmap(_host: Option<&Path>, _opts: &OpenOptions) -> Result<Box<dyn Source>, Error> {
    Err(Error::Unavailable(
        "lmap: injects into Linux kernel modules; not available on this system".into(),
    ))
}

#[cfg(target_os = "linux")]
/// lmap: builds the infected module from `host` (or the best host found), loads it and
/// opens its device. Every refusal is one line naming the cause and the fix.
fn open_lmap(host: Option<&Path>, opts: &OpenOptions) -> Result<Box<dyn Source>, Error> {
    use crate::lmap;
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    lmap::load::preflight(root).map_err(Error::Unavailable)?;
    let ranges = system_ram(opts)?;
    let dir = lmap::running_modules_dir().map_err(Error::Unavailable)?;
    let infected = lmap::build(&dir, host).map_err(Error::Unavailable)?;
    if lmap::load::unload_stale().map_err(Error::Unavailable)? {
        tracing::warn!(
            "lmap: unloaded a {} module left by an earlier run",
            lmap::load::MODULE_NAME
        );
    }
    let (file, module) = lmap::load::load_and_open(
        &infected.image,
        &infected.host,
        &infected.report.unversioned,
    )
    .map_err(Error::Unavailable)?;
    tracing::info!(
        "lmap: module {} (host {}, {} bytes) loaded; reading with pte-remap",
        lmap::load::MODULE_NAME,
        infected.host,
        infected.image.len()
    );
    let blocks = identity(&ranges);
    Ok(Box::new(LmapSource {
        inner: FileSource {
            name: "lmap",
            desc: format!(
                "lmap parasite in host module {} ({}; {} System RAM ranges, read method pte-remap)",
                infected.host,
                infected.host_path.display(),
                ranges.len()
            ),
            file: Handle::Shared(file),
            ranges,
            blocks,
            read_method: Some("pte-remap"),
        },
        _module: module,
    }))
}

/// `PMEM_IOC_GET_READ_METHOD` of drivers/linux/pmem/pmem_ioctl.h: `_IOR('p', 0xe0, __u32)`.
#[cfg(unix)]
const PMEM_IOC_GET_READ_METHOD: u32 = 0x8004_70e0;

/// The read method of an open /dev/pmem (drivers/linux/pmem/pmem_ioctl.h), or `None` (logged)
/// for a module that predates the ioctl or a device that is not ours.
#[cfg(unix)]
fn pmem_read_method(file: &File, path: &Path) -> Option<&'static str> {
    use std::os::fd::AsRawFd;
    let mut m: u32 = u32::MAX;
    // SAFETY: the ioctl writes one u32 through the pointer, which lives across the call.
    let rc = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            PMEM_IOC_GET_READ_METHOD as _,
            &mut m as *mut u32,
        )
    };
    let method = match (rc, m) {
        (0, 0) => Some("kmap"),
        (0, 1) => Some("pte-remap"),
        _ => None,
    };
    if method.is_none() {
        tracing::warn!(
            "{}: the driver does not say how it reads RAM ({}): the read method is not recorded; load the current pmem module",
            path.display(),
            if rc == 0 {
                format!("unknown method {m}")
            } else {
                std::io::Error::last_os_error().to_string()
            }
        );
    }
    method
}

/// No Linux pmem device exists on other systems: nothing to ask.
#[cfg(not(unix))]
fn pmem_read_method(_file: &File, _path: &Path) -> Option<&'static str> {
    None
}

/// Opens the source `spec`. `Auto` tries /dev/pmem, /dev/crash, /proc/kcore, /dev/mem and
/// lmap in that order and logs why each one before the chosen one was not used.
pub fn open_source(spec: &SourceSpec, opts: &OpenOptions) -> Result<Box<dyn Source>, Error> {
    let pmem_fix = "load the pmem module (see drivers/linux/pmem/README.md)";
    let crash_fix = "Red Hat's crash driver is not loaded (modprobe crash)";
    let devmem_fix = "the kernel has no /dev/mem";
    match spec {
        SourceSpec::Raw { path, ranges } => open_raw(path, ranges.as_deref()),
        SourceSpec::Lime(p) => crate::lime::open(p),
        SourceSpec::Elf(p) => open_elf(p),
        #[cfg(windows)]
        SourceSpec::WinPmem(o) => crate::windows::open(o),
        #[cfg(windows)]
        SourceSpec::Auto => crate::windows::open(&Default::default()),
        #[cfg(not(windows))]
        SourceSpec::WinPmem(_) => Err(Error::Unavailable(
            "winpmem: the WinPmem driver exists on Windows only (use pmem-aff4.exe there)".into(),
        )),
        SourceSpec::Pmem(dev) => open_device(
            "pmem",
            dev.as_deref().unwrap_or(Path::new("/dev/pmem")),
            opts,
            pmem_fix,
        ),
        SourceSpec::Lmap(host) => open_lmap(host.as_deref(), opts),
        SourceSpec::Crash => open_device("crash", Path::new("/dev/crash"), opts, crash_fix),
        SourceSpec::Kcore => open_kcore(opts),
        SourceSpec::DevMem => open_device("devmem", Path::new("/dev/mem"), opts, devmem_fix),
        #[cfg(not(windows))]
        SourceSpec::Auto => {
            let mut reasons = Vec::new();
            let tries: [(&str, Box<Opener<'_>>); 5] = [
                (
                    "/dev/pmem",
                    Box::new(|| open_device("pmem", Path::new("/dev/pmem"), opts, pmem_fix)),
                ),
                (
                    "/dev/crash",
                    Box::new(|| open_device("crash", Path::new("/dev/crash"), opts, crash_fix)),
                ),
                ("/proc/kcore", Box::new(|| open_kcore(opts))),
                (
                    "/dev/mem",
                    Box::new(|| open_device("devmem", Path::new("/dev/mem"), opts, devmem_fix)),
                ),
                // Last: lmap loads code into the running kernel (the others only read).
                ("lmap", Box::new(|| open_lmap(None, opts))),
            ];
            for (what, f) in tries {
                match f() {
                    Ok(s) => {
                        for r in &reasons {
                            tracing::info!("not used: {r}");
                        }
                        tracing::info!("source: {what} chosen: {}", s.description());
                        return Ok(s);
                    }
                    Err(e) => reasons.push(format!("{what}: {e}")),
                }
            }
            Err(Error::AllSourcesFailed(reasons))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lime::LIME_MAGIC;
    use std::io::Write;

    #[test]
    fn lime_round_trip_with_holes() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for (start, fill, len) in [(0x1000u64, 1u8, 0x2000u64), (0x10000, 2, 0x1000)] {
            let mut h = Vec::new();
            h.extend_from_slice(&LIME_MAGIC.to_le_bytes());
            h.extend_from_slice(&1u32.to_le_bytes());
            h.extend_from_slice(&start.to_le_bytes());
            h.extend_from_slice(&(start + len - 1).to_le_bytes());
            h.extend_from_slice(&0u64.to_le_bytes());
            f.write_all(&h).unwrap();
            f.write_all(&vec![fill; len as usize]).unwrap();
        }
        let s = open_source(&SourceSpec::Lime(f.path().into()), &OpenOptions::default()).unwrap();
        assert_eq!(
            s.ranges(),
            &[
                PhysRange {
                    start: 0x1000,
                    end: 0x3000
                },
                PhysRange {
                    start: 0x10000,
                    end: 0x11000
                }
            ]
        );
        let mut b = [0u8; 16];
        s.read_at(0x10000, &mut b).unwrap();
        assert_eq!(b, [2; 16]);
        assert!(matches!(
            s.read_at(0x3000, &mut b),
            Err(ReadError::OutOfRange { .. })
        ));
    }

    #[test]
    fn pmem_read_method_ioctl_number_and_a_device_that_is_not_ours() {
        // _IOR('p', 0xe0, __u32) of drivers/linux/pmem/pmem_ioctl.h.
        let ior = (2u32 << 30) | (4 << 16) | ((b'p' as u32) << 8) | 0xe0;
        assert_eq!(PMEM_IOC_GET_READ_METHOD, ior);
        // A file that is not our device answers ENOTTY: nothing is recorded.
        let f = tempfile::tempfile().unwrap();
        assert_eq!(pmem_read_method(&f, Path::new("/tmp/not-pmem")), None);
    }

    #[test]
    fn auto_on_a_machine_without_devices_lists_every_reason() {
        let opts = OpenOptions {
            iomem_path: "/nonexistent/iomem".into(),
            ..OpenOptions::default()
        };
        if Path::new("/dev/pmem").exists() || Path::new("/proc/kcore").exists() {
            eprintln!("SKIP: this machine has memory devices");
            return;
        }
        let e = open_source(&SourceSpec::Auto, &opts)
            .err()
            .expect("no source")
            .to_string();
        // lmap fails on the missing iomem before it builds or loads anything.
        for dev in [
            "/dev/pmem",
            "/dev/crash",
            "/proc/kcore",
            "/dev/mem",
            "lmap: ",
        ] {
            assert!(e.contains(dev), "{dev} missing from: {e}");
        }
    }

    /// A little-endian ELF64 core with the given PT_LOAD (vaddr, paddr, data) segments.
    fn elf_core(segs: &[(u64, u64, Vec<u8>)]) -> Vec<u8> {
        let phoff = 64u64;
        let mut data_off = phoff + 56 * segs.len() as u64;
        let mut out = vec![0u8; 64];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2; // ELFCLASS64
        out[5] = 1; // little-endian
        out[6] = 1;
        out[16..18].copy_from_slice(&4u16.to_le_bytes()); // ET_CORE
        out[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
        out[32..40].copy_from_slice(&phoff.to_le_bytes());
        out[52..54].copy_from_slice(&64u16.to_le_bytes());
        out[54..56].copy_from_slice(&56u16.to_le_bytes());
        out[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        for (vaddr, paddr, d) in segs {
            let mut ph = Vec::new();
            ph.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
            ph.extend_from_slice(&7u32.to_le_bytes());
            ph.extend_from_slice(&data_off.to_le_bytes());
            ph.extend_from_slice(&vaddr.to_le_bytes());
            ph.extend_from_slice(&paddr.to_le_bytes());
            ph.extend_from_slice(&(d.len() as u64).to_le_bytes());
            ph.extend_from_slice(&(d.len() as u64).to_le_bytes());
            ph.extend_from_slice(&4096u64.to_le_bytes());
            out.extend_from_slice(&ph);
            data_off += d.len() as u64;
        }
        for (_, _, d) in segs {
            out.extend_from_slice(d);
        }
        out
    }

    /// What a real 6.1 kernel's /proc/kcore looks like for a 512 MiB qemu guest (scaled
    /// down): System RAM 0x1000-0x9fbff and 0x100000-..., kcore's direct-map segments
    /// cover whole pages only (the first ends at 0x9f000), plus the kernel text segment.
    #[test]
    fn kcore_ram_not_in_kcore_is_unreadable_not_dropped() {
        let po = 0xffff_8880_0000_0000u64;
        let low: Vec<u8> = (0..0x9e000u32).map(|i| (i % 251) as u8).collect();
        let high = vec![0x5au8; 0x20000];
        let text = vec![0xccu8; 0x1000];
        let core = elf_core(&[
            (0xffff_ffff_8100_0000, 0x100000, text),
            (po + 0x1000, 0x1000, low.clone()),
            (po + 0x100000, 0x100000, high),
        ]);
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&core).unwrap();
        let head = read_head(f.as_file(), f.path()).unwrap();
        let segs = elf::parse_load_segments(&head).unwrap();
        let ram = vec![
            PhysRange {
                start: 0x1000,
                end: 0x9fc00,
            },
            PhysRange {
                start: 0x100000,
                end: 0x120000,
            },
        ];
        let s = kcore_source(f.path(), File::open(f.path()).unwrap(), &segs, ram.clone()).unwrap();
        // The map covers all of System RAM ...
        assert_eq!(s.ranges(), &ram[..]);
        // ... what kcore has reads through the direct-map segments (not the text one) ...
        let mut b = vec![0u8; 0x1000];
        s.read_at(0x9e000, &mut b).unwrap();
        assert_eq!(b[..], low[0x9d000..0x9e000]);
        s.read_at(0x100000, &mut b).unwrap();
        assert_eq!(b, vec![0x5a; 0x1000]);
        // ... the tail kcore lacks is unreadable (so the pipeline records it) ...
        let mut tail = vec![0u8; 0xc00];
        match s.read_at(0x9f000, &mut tail) {
            Err(ReadError::Unreadable { phys, len, .. }) => {
                assert_eq!((phys, len), (0x9f000, 0xc00))
            }
            other => panic!("expected Unreadable, got {other:?}"),
        }
        // ... a read across the boundary fails as a whole (the pipeline retries by page) ...
        let mut across = vec![0u8; 0x2000];
        assert!(matches!(
            s.read_at(0x9e000, &mut across),
            Err(ReadError::Unreadable { phys: 0x9f000, .. })
        ));
        // ... and outside System RAM is out of range.
        assert!(matches!(
            s.read_at(0xa0000, &mut b),
            Err(ReadError::OutOfRange { .. })
        ));
        // Concurrent readers each get their own descriptor (kcore's bounce buffer is per
        // open file), and descriptors are reused, not opened per read.
        std::thread::scope(|sc| {
            for t in 0..4u64 {
                let s = &s;
                let low = &low;
                sc.spawn(move || {
                    let mut b = vec![0u8; 0x1000];
                    for i in 0..200u64 {
                        let page = 0x1000 + ((i * 7 + t * 13) % 0x9e) * 0x1000;
                        s.read_at(page, &mut b).unwrap();
                        let o = (page - 0x1000) as usize;
                        assert_eq!(b[..], low[o..o + 0x1000]);
                    }
                });
            }
        });
        assert!((1..=4).contains(&s.file.descriptors()));
        assert_eq!(
            subtract(s.ranges(), &s.blocks),
            vec![PhysRange {
                start: 0x9f000,
                end: 0x9fc00
            }]
        );
    }

    #[test]
    fn spec_parsing() {
        assert_eq!("kcore".parse::<SourceSpec>().unwrap(), SourceSpec::Kcore);
        assert_eq!(
            "lime:/x".parse::<SourceSpec>().unwrap(),
            SourceSpec::Lime("/x".into())
        );
        assert!("lime".parse::<SourceSpec>().is_err());
        assert!("floppy".parse::<SourceSpec>().is_err());
    }
}
