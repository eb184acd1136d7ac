//! lmap: acquisition with no module built for the target kernel. A small parasite
//! (drivers/linux/lmap/lmap.c, built once by build.rs and embedded here) is injected into
//! a module already installed for the running kernel, the result is loaded from memory,
//! and physical memory is read through it with the PTE-remap core. docs/LMAP.md tells
//! the whole story.
//!
//! - [`elf_object`]: relocatable ELF objects as values (parse, edit, write);
//! - [`inject`]: what is changed in the host, and the parasite's contract;
//! - [`hosts`]: which installed modules can be hosts, ranking, CRC harvesting;
//! - [`load`]: refusals, `init_module`, the device node, unloading.

pub mod elf_object;
pub mod hosts;
pub mod inject;
pub mod load;

use std::path::{Path, PathBuf};

/// The parasite object, built by build.rs (empty off x86-64 Linux).
pub const PARASITE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/lmap_parasite.o"));

pub use load::emergency_unload;

/// The embedded parasite, parsed and checked.
pub fn parasite() -> Result<elf_object::Object, String> {
    if PARASITE.is_empty() {
        return Err("this build has no lmap parasite (lmap is x86-64 Linux only)".into());
    }
    let p = elf_object::Object::parse(PARASITE).map_err(|e| format!("the lmap parasite: {e}"))?;
    inject::check_parasite(&p).map_err(|e| e.to_string())?;
    Ok(p)
}

/// `/lib/modules/$(uname -r)`.
pub fn running_modules_dir() -> Result<PathBuf, String> {
    let r = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_err(|e| format!("cannot read the kernel release (/proc/sys/kernel/osrelease): {e}"))?;
    Ok(Path::new("/lib/modules").join(r.trim()))
}

/// An infected module ready to load, and what it was built from.
#[derive(Debug)]
pub struct Infected {
    /// The ELF image.
    pub image: Vec<u8>,
    /// Host module name.
    pub host: String,
    /// Host file.
    pub host_path: PathBuf,
    /// What the injector changed.
    pub report: inject::Report,
}

/// Chooses a host (`forced`: that file) in `modules_dir`, logs the choice and the
/// refusals, and builds the infected module.
pub fn build(modules_dir: &Path, forced: Option<&Path>) -> Result<Infected, String> {
    let parasite = parasite()?;
    let host = match forced {
        Some(p) => hosts::examine(p)
            .map_err(|why| format!("lmap host {}: {why}: choose another module", p.display()))?,
        None => {
            if !modules_dir.is_dir() {
                return Err(format!(
                    "{} not found: lmap needs the modules installed for the running kernel (the distribution's linux-image package)",
                    modules_dir.display()
                ));
            }
            let s = hosts::search(modules_dir, false);
            for (m, why) in &s.refused {
                tracing::info!("lmap: host {m} refused: {why}");
            }
            let Some(h) = s.chosen else {
                return Err(format!(
                    "no compatible lmap host among the {} modules in {} (none has a *_fops with a .read, init and exit, GPL licence, no dependencies and no exports): use --source kcore, or build pmem.ko",
                    s.examined,
                    modules_dir.display()
                ));
            };
            if !s.also.is_empty() {
                tracing::info!("lmap: other qualifying hosts: {}", s.also.join(", "));
            }
            if s.not_examined > 0 {
                tracing::info!(
                    "lmap: the other {} modules were not examined (a preferred host, {}, qualified)",
                    s.not_examined,
                    hosts::PREFERRED.join(" or ")
                );
            }
            h
        }
    };
    tracing::info!(
        "lmap: host {} ({}): {} with .read at +{:#x} -> {}, {} imports, no dependencies, no exports",
        host.name,
        host.path.display(),
        host.fops.name,
        host.fops.read_offset,
        host.fops.read_function,
        host.imports
    );
    let missing: Vec<String> = inject::PARASITE_IMPORTS
        .iter()
        .filter(|n| host.object.undefined_symbol(n).is_none())
        .map(|s| s.to_string())
        .collect();
    let crcs = hosts::harvest_crcs(modules_dir, &missing);
    let (obj, report) = inject::inject(
        &host.object,
        &host.fops,
        &parasite,
        &crcs,
        load::MODULE_NAME,
    )
    .map_err(|e| format!("lmap host {}: {e}", host.name))?;
    if !report.unversioned.is_empty() {
        tracing::info!(
            "lmap: no CRC found for {} among the installed modules (6.1 only logs \"no symbol version\"; newer kernels refuse the module)",
            report.unversioned.join(", ")
        );
    }
    Ok(Infected {
        image: obj.write(),
        host: host.name,
        host_path: host.path,
        report,
    })
}
