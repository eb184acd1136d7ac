//! Injection: the parasite's sections, symbols and relocations are added to a host
//! module, and the host's module init/exit and its file_operations `.read` are pointed at
//! the parasite's functions. What changes in the host, and why (docs/LMAP.md has more):
//!
//! - parasite sections are appended under new names (`.lmap.text`, `.lmap.bss`, ...),
//!   never merged into or named like a host section, and carry no special section
//!   ([`check_parasite`]), so the kernel's section-name driven patching only ever sees
//!   the host's own sections, which stay complete and consistent;
//! - parasite imports the host lacks become new undefined globals, with a `__versions`
//!   entry whose CRC was harvested from another module of the same kernel (the kernel
//!   only warns when one is missing);
//! - every relocation of `init_module` / `cleanup_module` (in `struct module`, i.e.
//!   `.rela.gnu.linkonce.this_module`, and elsewhere) now names `lmap_init` / `lmap_exit`:
//!   the host's own init never runs, so none of its code is ever called;
//! - in the host's `*_fops` object, the `.read` slot now holds `lmap_read`, `.owner` keeps
//!   `THIS_MODULE` (an open file pins the module), the `.llseek` slot (the one before
//!   `.read` in every layout: 6.1 and 6.12 differ by `fop_flags` in between `.owner` and
//!   `.llseek`) is kept when it names a kernel function, and every other slot is
//!   cleared (R_X86_64_NONE leaves it NULL). The parasite registers that object, so the
//!   layout is the target kernel's own;
//! - host imports the parasite does not use become `STB_WEAK`;
//! - `__param` is hidden (renamed, not loaded): its entries point at host variables of a
//!   module that never initialised;
//! - the module is renamed in `struct module` and `.modinfo`, `depends=` is emptied;
//! - a signature trailer is not written back (see [`Object::write`]).

use super::elf_object::{
    file_index, Object, Relocation, Section, SectionData, Symbol, SymbolSection,
};
use object::elf;
use std::collections::HashMap;

/// The parasite's entry points and the symbol the injector binds to the host's fops.
pub const PARASITE_INIT: &str = "lmap_init";
/// Module exit.
pub const PARASITE_EXIT: &str = "lmap_exit";
/// The `.read` file operation.
pub const PARASITE_READ: &str = "lmap_read";
/// Bound to the host's `*_fops` object.
pub const PARASITE_HOST_FOPS: &str = "lmap_host_fops";
/// The kernel functions and variables the parasite may import (all exported by vmlinux
/// with unchanged signatures since 5.10).
pub const PARASITE_IMPORTS: &[&str] = &[
    "__register_chrdev",
    "__unregister_chrdev",
    "_copy_to_user",
    "copy_mc_to_kernel",
    "region_intersects",
    "msleep",
    "page_offset_base",
];

/// Name of the `__versions` entry: `struct modversion_info { unsigned long crc; char name[56]; }`.
const VERSION_ENTRY: usize = 64;
/// `MODULE_NAME_LEN`.
const MODULE_NAME_LEN: usize = 56;

/// Why injection failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InjectError {
    /// The parasite object is not what the injector expects.
    #[error("the embedded lmap parasite is unusable: {0}")]
    Parasite(String),
    /// The host lacks something injection needs.
    #[error("{0}")]
    Host(String),
}

/// The host's `struct file_operations` object and where its `.read` slot is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fops {
    /// Symbol index of the object.
    pub symbol: usize,
    /// Its name (e.g. `cpuid_fops`).
    pub name: String,
    /// Index in `sections` of the section holding it.
    pub section: usize,
    /// Offset of the object in that section.
    pub start: u64,
    /// Its size.
    pub size: u64,
    /// Offset of `.read` inside the object (0x10 on 6.1, 0x18 on 6.12).
    pub read_offset: u64,
    /// The host function `.read` pointed at.
    pub read_function: String,
}

/// Checks that the parasite has only plain sections (`.text`, `.rodata*`, `.data`,
/// `.bss` and unloaded notes), its three entry points, and imports from
/// [`PARASITE_IMPORTS`] plus [`PARASITE_HOST_FOPS`].
pub fn check_parasite(p: &Object) -> Result<(), InjectError> {
    let bad = |m: String| Err(InjectError::Parasite(m));
    for s in &p.sections {
        let plain = s.name == ".text"
            || s.name == ".data"
            || s.name == ".bss"
            || s.name == ".rodata"
            || s.name.starts_with(".rodata.");
        if s.is_alloc() && s.kind != elf::SHT_NOTE && !plain {
            return bad(format!(
                "it has a special section {} the kernel would have to patch",
                s.name
            ));
        }
    }
    for f in [PARASITE_INIT, PARASITE_EXIT, PARASITE_READ] {
        if p.defined_symbol(f).is_none() {
            return bad(format!("it does not define {f}"));
        }
    }
    for i in p.imports() {
        if i != PARASITE_HOST_FOPS && !PARASITE_IMPORTS.contains(&i) {
            return bad(format!("it imports {i}, which is not in the allowed list"));
        }
    }
    Ok(())
}

/// `.modinfo` as (key, value) pairs in file order.
pub fn modinfo(o: &Object) -> Vec<(String, String)> {
    let Some(i) = o.section_by_name(".modinfo") else {
        return Vec::new();
    };
    o.bytes(i)
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .filter_map(|e| {
            let s = String::from_utf8_lossy(e);
            s.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// The value of the first `.modinfo` entry `key`.
pub fn modinfo_get(o: &Object, key: &str) -> Option<String> {
    modinfo(o)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The function a relocation resolves to when it names a defined symbol or a section
/// plus an addend equal to a function's offset (6.1 modules use the latter for static
/// functions: `.text + 0xd0`).
fn resolve_function<'a>(o: &'a Object, r: &Relocation) -> Option<&'a Symbol> {
    let s = o.symbols.get(r.symbol)?;
    match (s.kind, s.section) {
        (elf::STT_FUNC, SymbolSection::Section(_)) if r.addend == 0 => Some(s),
        (elf::STT_SECTION, SymbolSection::Section(sec)) => o.symbols.iter().find(|f| {
            f.kind == elf::STT_FUNC
                && f.section == SymbolSection::Section(sec)
                && i64::try_from(f.value).ok() == Some(r.addend)
        }),
        _ => None,
    }
}

/// Finds the host's `*_fops` object and its `.read` slot: the relocation inside the
/// object that resolves to a host function whose name ends in `_read`.
pub fn find_fops(o: &Object) -> Result<Fops, InjectError> {
    let mut why = "no *_fops object".to_string();
    for (si, s) in o.symbols.iter().enumerate() {
        let SymbolSection::Section(sec) = s.section else {
            continue;
        };
        if s.kind != elf::STT_OBJECT || !s.name.ends_with("_fops") || s.size < 0x20 {
            continue;
        }
        let Some(section) = sec.checked_sub(1) else {
            continue;
        };
        let Some(rela) = o.rela_for(section) else {
            why = format!("{} has no relocations", s.name);
            continue;
        };
        let SectionData::Rela { entries, .. } = &o.sections[rela].data else {
            continue;
        };
        let read = entries.iter().find_map(|r| {
            if r.offset < s.value || r.offset >= s.value + s.size || r.kind != elf::R_X86_64_64 {
                return None;
            }
            let f = resolve_function(o, r)?;
            f.name
                .ends_with("_read")
                .then(|| (r.offset - s.value, f.name.clone()))
        });
        match read {
            Some((read_offset, read_function)) if read_offset >= 0x10 => {
                return Ok(Fops {
                    symbol: si,
                    name: s.name.clone(),
                    section,
                    start: s.value,
                    size: s.size,
                    read_offset,
                    read_function,
                })
            }
            _ => why = format!("{} has no .read pointing at a *_read function", s.name),
        }
    }
    Err(InjectError::Host(why))
}

/// CRCs of exported symbols, harvested from other modules' `__versions`.
pub type Crcs = HashMap<String, u64>;

/// Reads a module's `__versions` entries.
pub fn versions(o: &Object) -> Vec<(String, u64)> {
    let Some(i) = o.section_by_name("__versions") else {
        return Vec::new();
    };
    o.bytes(i)
        .chunks_exact(VERSION_ENTRY)
        .map(|e| {
            let crc = u64::from_le_bytes(e[..8].try_into().unwrap_or([0; 8]));
            let name = &e[8..];
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            (String::from_utf8_lossy(&name[..end]).into_owned(), crc)
        })
        .collect()
}

/// What [`inject`] did, for the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Imports added to the host.
    pub added_imports: Vec<String>,
    /// Added imports with no harvested CRC (the kernel warns "no symbol version").
    pub unversioned: Vec<String>,
    /// Host imports made weak.
    pub weakened: usize,
}

fn retarget_all(o: &mut Object, from: usize, to: usize) -> usize {
    let mut n = 0;
    for r in o.relocations_mut() {
        if r.symbol == from {
            r.symbol = to;
            r.addend = 0;
            n += 1;
        }
    }
    n
}

/// Injects `parasite` into `host` (whose fops is `fops`), naming the result `new_name`.
pub fn inject(
    host: &Object,
    fops: &Fops,
    parasite: &Object,
    crcs: &Crcs,
    new_name: &str,
) -> Result<(Object, Report), InjectError> {
    check_parasite(parasite)?;
    let host_err = |m: String| Err(InjectError::Host(m));
    if new_name.len() >= MODULE_NAME_LEN {
        return host_err(format!("module name {new_name} is too long"));
    }
    let mut o = host.clone();
    let mut report = Report::default();
    let old_name = modinfo_get(host, "name").unwrap_or_default();
    let (Some(init), Some(exit)) = (
        host.defined_symbol("init_module"),
        host.defined_symbol("cleanup_module"),
    ) else {
        return host_err("it has no init_module and cleanup_module".into());
    };
    let Some(this_module) = host.section_by_name(".gnu.linkonce.this_module") else {
        return host_err("it has no .gnu.linkonce.this_module".into());
    };

    // 1. Parasite sections, each with a local section symbol.
    let mut section_map: HashMap<usize, usize> = HashMap::new(); // parasite file idx -> host file idx
    for (pi, s) in parasite.sections.iter().enumerate() {
        if !s.is_alloc() || s.kind == elf::SHT_NOTE || s.size() == 0 {
            continue;
        }
        o.sections.push(Section {
            name: format!(".lmap{}", s.name),
            link: (0, 0),
            ..s.clone()
        });
        let idx = file_index(o.sections.len() - 1);
        section_map.insert(file_index(pi), idx);
        o.symbols.push(Symbol {
            name: String::new(),
            bind: elf::STB_LOCAL,
            kind: elf::STT_SECTION,
            other: 0,
            section: SymbolSection::Section(idx),
            value: 0,
            size: 0,
        });
    }

    // 2. Parasite symbols: defined ones become locals of the new sections, imports
    //    are matched by name with the host's or added.
    let mut used_host_imports = std::collections::HashSet::new();
    let mut sym_map: HashMap<usize, usize> = HashMap::new();
    for (pi, s) in parasite.symbols.iter().enumerate().skip(1) {
        match s.section {
            SymbolSection::Section(sec) => {
                let Some(&new_sec) = section_map.get(&sec) else {
                    continue; // a symbol in a section not copied (notes)
                };
                if s.kind == elf::STT_SECTION {
                    let target = o
                        .symbols
                        .iter()
                        .position(|h| {
                            h.kind == elf::STT_SECTION
                                && h.section == SymbolSection::Section(new_sec)
                        })
                        .unwrap_or(0);
                    sym_map.insert(pi, target);
                    continue;
                }
                if s.kind == elf::STT_FILE {
                    continue;
                }
                o.symbols.push(Symbol {
                    bind: if [PARASITE_INIT, PARASITE_EXIT, PARASITE_READ]
                        .contains(&s.name.as_str())
                    {
                        elf::STB_GLOBAL
                    } else {
                        elf::STB_LOCAL
                    },
                    section: SymbolSection::Section(new_sec),
                    ..s.clone()
                });
                sym_map.insert(pi, o.symbols.len() - 1);
            }
            SymbolSection::Undefined if s.name == PARASITE_HOST_FOPS => {
                sym_map.insert(pi, fops.symbol);
            }
            SymbolSection::Undefined if !s.name.is_empty() => {
                if let Some(h) = host.undefined_symbol(&s.name) {
                    used_host_imports.insert(h);
                    sym_map.insert(pi, h);
                } else {
                    o.symbols.push(Symbol {
                        bind: elf::STB_GLOBAL,
                        ..s.clone()
                    });
                    let h = o.symbols.len() - 1;
                    used_host_imports.insert(h);
                    sym_map.insert(pi, h);
                    report.added_imports.push(s.name.clone());
                }
            }
            _ => {}
        }
    }

    // 3. Parasite relocations.
    for s in parasite.sections.iter() {
        let SectionData::Rela { target, entries } = &s.data else {
            continue;
        };
        let Some(&new_target) = section_map.get(target) else {
            continue;
        };
        let mut out = Vec::with_capacity(entries.len());
        for r in entries {
            let Some(&sym) = sym_map.get(&r.symbol) else {
                return Err(InjectError::Parasite(format!(
                    "a relocation names symbol #{} that was not copied",
                    r.symbol
                )));
            };
            out.push(Relocation { symbol: sym, ..*r });
        }
        o.sections.push(Section {
            name: format!(".rela{}", o.sections[new_target - 1].name),
            kind: elf::SHT_RELA,
            flags: u64::from(elf::SHF_INFO_LINK),
            align: 8,
            entsize: 24,
            link: (0, 0),
            data: SectionData::Rela {
                target: new_target,
                entries: out,
            },
        });
    }
    let find = |o: &Object, n: &str| {
        o.symbols.iter().position(|s| {
            s.name == n && matches!(s.section, SymbolSection::Section(x) if x > host.sections.len())
        })
    };
    let (Some(p_init), Some(p_exit), Some(p_read)) = (
        find(&o, PARASITE_INIT),
        find(&o, PARASITE_EXIT),
        find(&o, PARASITE_READ),
    ) else {
        return Err(InjectError::Parasite(
            "its entry points were not copied".into(),
        ));
    };

    // 4. init/exit: every relocation of the host's init_module/cleanup_module.
    let this_rela = o
        .rela_for(this_module)
        .ok_or_else(|| InjectError::Host("struct module has no relocations".into()))?;
    let in_module = |o: &Object, sym: usize| match &o.sections[this_rela].data {
        SectionData::Rela { entries, .. } => entries.iter().any(|r| r.symbol == sym),
        _ => false,
    };
    if !in_module(&o, init) || !in_module(&o, exit) {
        return host_err("struct module does not relocate init_module and cleanup_module".into());
    }
    retarget_all(&mut o, init, p_init);
    retarget_all(&mut o, exit, p_exit);

    // 5. The fops object.
    let Some(fops_rela) = o.rela_for(fops.section) else {
        return host_err(format!("{} has no relocations", fops.name));
    };
    let this_module_sym = host.defined_symbol("__this_module");
    let llseek = fops.start + fops.read_offset - 8;
    let symbols = o.symbols.clone();
    if let SectionData::Rela { entries, .. } = &mut o.sections[fops_rela].data {
        for r in entries.iter_mut() {
            if r.offset < fops.start || r.offset >= fops.start + fops.size {
                continue;
            }
            let target = &symbols[r.symbol];
            let keep =
                Some(r.symbol) == this_module_sym || (r.offset == llseek && target.is_undefined());
            if r.offset == fops.start + fops.read_offset {
                *r = Relocation {
                    offset: r.offset,
                    kind: elf::R_X86_64_64,
                    symbol: p_read,
                    addend: 0,
                };
            } else if keep {
                if target.is_undefined() {
                    used_host_imports.insert(r.symbol);
                }
            } else {
                *r = Relocation {
                    offset: r.offset,
                    kind: elf::R_X86_64_NONE,
                    symbol: 0,
                    addend: 0,
                };
            }
        }
    }

    // 6. Unused host imports become weak (an unresolved weak symbol is not an error).
    for (i, s) in o.symbols.iter_mut().enumerate() {
        if i < host.symbols.len() && s.is_undefined() && !used_host_imports.contains(&i) {
            s.bind = elf::STB_WEAK;
            report.weakened += 1;
        }
    }

    // 7. __versions entries for the added imports.
    if let Some(v) = o.section_by_name("__versions") {
        if let SectionData::Bytes(b) = &mut o.sections[v].data {
            for name in &report.added_imports {
                let Some(&crc) = crcs.get(name) else {
                    report.unversioned.push(name.clone());
                    continue;
                };
                let mut e = [0u8; VERSION_ENTRY];
                e[..8].copy_from_slice(&crc.to_le_bytes());
                e[8..8 + name.len()].copy_from_slice(name.as_bytes());
                b.extend_from_slice(&e);
            }
        }
    } else {
        report.unversioned = report.added_imports.clone();
    }

    // 8. __param hidden.
    if let Some(p) = o.section_by_name("__param") {
        let s = &mut o.sections[p];
        s.name = ".lmap.unused.param".into();
        s.flags &= !u64::from(elf::SHF_ALLOC);
    }

    // 9. The name, in struct module and .modinfo.
    if let SectionData::Bytes(b) = &mut o.sections[this_module].data {
        let mut needle = old_name.as_bytes().to_vec();
        needle.push(0);
        let at = b
            .windows(needle.len())
            .position(|w| w == needle.as_slice())
            .filter(|&at| !old_name.is_empty() && at + MODULE_NAME_LEN <= b.len());
        let Some(at) = at else {
            return host_err(format!("its name {old_name:?} is not in struct module"));
        };
        b[at..at + MODULE_NAME_LEN].fill(0);
        b[at..at + new_name.len()].copy_from_slice(new_name.as_bytes());
    }
    if let Some(m) = o.section_by_name(".modinfo") {
        let mut out = Vec::new();
        for (k, v) in modinfo(host) {
            let v = match k.as_str() {
                "name" => new_name.to_string(),
                "depends" => String::new(),
                _ => v,
            };
            out.extend_from_slice(format!("{k}={v}").as_bytes());
            out.push(0);
        }
        o.sections[m].data = SectionData::Bytes(out);
    }
    Ok((o, report))
}
