//! Host discovery: the modules installed for a kernel (`/lib/modules/<release>`), which of
//! them can carry the parasite, in what order of preference, and CRC harvesting.
//!
//! A host qualifies when it has a `*_fops` object whose `.read` points at one of its own
//! functions, `init_module` and `cleanup_module`, a GPL-compatible licence (the parasite
//! imports GPL-only symbols), no `depends=` (its imports must all resolve from vmlinux)
//! and exports nothing (a second copy of an exporting module fails to load while the
//! original is loaded). Qualifying hosts are ranked by fewest imports, then size: the
//! smaller the host, the less dead code is loaded with the parasite.

use super::elf_object::Object;
use super::inject::{self, Crcs, Fops};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Hosts tried first, in this order, before any other module is read: small character
/// drivers present in every Debian kernel (`cpuid`, `msr`). Others are found by a walk.
pub const PREFERRED: &[&str] = &["cpuid", "msr"];

/// A module that can carry the parasite.
#[derive(Debug, Clone)]
pub struct Host {
    /// Module name (`.modinfo` `name=`).
    pub name: String,
    /// File it was read from.
    pub path: PathBuf,
    /// The decompressed object.
    pub object: Object,
    /// Its file_operations object.
    pub fops: Fops,
    /// Number of imports.
    pub imports: usize,
    /// Size of the decompressed object.
    pub size: usize,
}

/// Reads a module file, decompressing `.ko.xz` and `.ko.gz`.
pub fn read_module(path: &Path) -> Result<Vec<u8>, String> {
    let raw = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let name = path.to_string_lossy();
    if name.ends_with(".ko.xz") {
        let mut out = Vec::new();
        lzma_rs::xz_decompress(&mut std::io::Cursor::new(&raw), &mut out)
            .map_err(|e| format!("{}: cannot decompress xz: {e}", path.display()))?;
        Ok(out)
    } else if name.ends_with(".ko.gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format!("{}: cannot decompress gzip: {e}", path.display()))?;
        Ok(out)
    } else if name.ends_with(".ko") {
        Ok(raw)
    } else {
        Err(format!(
            "{}: unsupported module compression (lmap reads .ko, .ko.xz and .ko.gz)",
            path.display()
        ))
    }
}

/// Whether `license` lets a module use GPL-only exports (kernel `license_is_gpl_compatible`).
pub fn gpl_compatible(license: &str) -> bool {
    matches!(
        license,
        "GPL"
            | "GPL v2"
            | "GPL and additional rights"
            | "Dual BSD/GPL"
            | "Dual MIT/GPL"
            | "Dual MPL/GPL"
    )
}

/// Examines one module: a [`Host`] or the reason it cannot be one.
pub fn examine(path: &Path) -> Result<Host, String> {
    let data = read_module(path)?;
    let object = Object::parse(&data).map_err(|e| e.to_string())?;
    let name = inject::modinfo_get(&object, "name").ok_or("no name= in .modinfo")?;
    let license = inject::modinfo_get(&object, "license").unwrap_or_default();
    if !gpl_compatible(&license) {
        return Err(format!("licence {license:?} is not GPL-compatible"));
    }
    if let Some(d) = inject::modinfo_get(&object, "depends").filter(|d| !d.is_empty()) {
        return Err(format!("depends on {d}"));
    }
    if object
        .sections
        .iter()
        .any(|s| s.name.starts_with("__ksymtab"))
    {
        return Err("exports symbols".into());
    }
    if object.defined_symbol("init_module").is_none()
        || object.defined_symbol("cleanup_module").is_none()
    {
        return Err("has no module init and exit".into());
    }
    let fops = inject::find_fops(&object).map_err(|e| e.to_string())?;
    Ok(Host {
        name,
        path: path.to_path_buf(),
        imports: object.imports().len(),
        size: data.len(),
        object,
        fops,
    })
}

/// Every module file under `dir` (`.ko`, `.ko.xz`, `.ko.gz`, `.ko.zst`), sorted.
pub fn module_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file() {
                let n = p.to_string_lossy();
                if [".ko", ".ko.xz", ".ko.gz", ".ko.zst"]
                    .iter()
                    .any(|x| n.ends_with(x))
                {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// The module name a file name implies (`cpuid.ko.xz` -> `cpuid`, `-` -> `_`).
pub fn file_module_name(p: &Path) -> String {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = n.split(".ko").next().unwrap_or("");
    base.replace('-', "_")
}

/// Result of a host search: the chosen host and why every other examined module was refused.
#[derive(Debug)]
pub struct Search {
    /// The best host, if any qualified.
    pub chosen: Option<Host>,
    /// Other qualifying hosts (ranked after the chosen one), by name.
    pub also: Vec<String>,
    /// (module, reason) for each examined module that does not qualify.
    pub refused: Vec<(String, String)>,
    /// Modules examined.
    pub examined: usize,
    /// Module files not examined (a preferred host qualified).
    pub not_examined: usize,
}

fn rank(h: &Host) -> (usize, usize) {
    (h.imports, h.size)
}

/// Finds a host in `dir`: the [`PREFERRED`] ones first; if none qualifies (or `full`),
/// every module.
pub fn search(dir: &Path, full: bool) -> Search {
    let files = module_files(dir);
    let mut s = Search {
        chosen: None,
        also: Vec::new(),
        refused: Vec::new(),
        examined: 0,
        not_examined: 0,
    };
    let mut hosts: Vec<Host> = Vec::new();
    let preferred: Vec<&PathBuf> = PREFERRED
        .iter()
        .filter_map(|n| files.iter().find(|p| file_module_name(p) == *n))
        .collect();
    let visit = |p: &PathBuf, s: &mut Search, hosts: &mut Vec<Host>| {
        s.examined += 1;
        match examine(p) {
            Ok(h) => hosts.push(h),
            Err(why) => s.refused.push((file_module_name(p), why)),
        }
    };
    for p in &preferred {
        visit(p, &mut s, &mut hosts);
    }
    if full || hosts.is_empty() {
        for p in files.iter().filter(|p| !preferred.contains(p)) {
            visit(p, &mut s, &mut hosts);
        }
    }
    s.not_examined = files.len() - s.examined;
    // Preferred hosts keep their order ahead of the others; the rest by rank.
    let npref = hosts
        .iter()
        .take_while(|h| PREFERRED.contains(&h.name.as_str()))
        .count();
    hosts[npref..].sort_by_key(rank);
    let mut it = hosts.into_iter();
    s.chosen = it.next();
    s.also = it.map(|h| h.name).collect();
    s
}

/// CRCs of `wanted` symbols from the `__versions` of modules under `dir` (stops as soon
/// as all are found). The union over a kernel's modules has no conflicting CRCs (checked
/// on Debian 6.1: 8,695 symbols over 1,121 modules).
pub fn harvest_crcs(dir: &Path, wanted: &[String]) -> Crcs {
    let mut crcs = Crcs::new();
    if wanted.is_empty() {
        return crcs;
    }
    for p in module_files(dir) {
        let Ok(data) = read_module(&p) else { continue };
        // Cheap pre-check on the raw bytes before parsing.
        if !wanted
            .iter()
            .any(|w| !crcs.contains_key(w) && memmem(&data, w.as_bytes()))
        {
            continue;
        }
        let Ok(o) = Object::parse(&data) else {
            continue;
        };
        for (name, crc) in inject::versions(&o) {
            if wanted.contains(&name) {
                crcs.entry(name).or_insert(crc);
            }
        }
        if wanted.iter().all(|w| crcs.contains_key(w)) {
            break;
        }
    }
    crcs
}

fn memmem(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
