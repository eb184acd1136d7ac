//! The lmap injector on the distribution's real modules: Debian's 6.1 cloud kernel
//! (installed under /lib/modules by the VM test's packages) and a Debian 6.12 cloud
//! kernel unpacked from its .deb (`PMEM_AFF4_KERNEL_TREES`, or tests/vm/kernels.sh's cache
//! `~/.cache/pmem-aff4-vm/kernels/*/lib/modules/*`).
//! Module trees are found by [`trees`]; under CI=true a missing generation fails the
//! test, elsewhere it is skipped with a message.

use drivers::lmap::elf_object::{Object, SectionData, SymbolSection};
use drivers::lmap::{hosts, inject};
use object::elf;
use std::path::{Path, PathBuf};

/// (generation, modules dir) for 6.1 and 6.12.
fn trees() -> Vec<(&'static str, PathBuf)> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Ok(v) = std::env::var("PMEM_AFF4_KERNEL_TREES") {
        dirs.extend(v.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
    }
    // tests/vm/kernels.sh (run by tests/run-all as root) installs 6.1's under /lib/modules
    // and unpacks 6.12's into its cache.
    let cache = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_default()
        .join("pmem-aff4-vm/kernels");
    let mut roots = vec![PathBuf::from("/lib/modules")];
    if let Ok(rd) = std::fs::read_dir(&cache) {
        roots.extend(rd.flatten().map(|e| e.path().join("lib/modules")));
    }
    roots.push(PathBuf::from("/work/kernels/6.12/lib/modules"));
    for root in roots {
        if let Ok(rd) = std::fs::read_dir(root) {
            dirs.extend(rd.flatten().map(|e| e.path()));
        }
    }
    let mut out = Vec::new();
    for gen in ["6.1", "6.12"] {
        let found = dirs.iter().find(|d| {
            let n = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.starts_with(&format!("{gen}.")) && d.join("kernel").is_dir()
        });
        match found {
            Some(d) => out.push((gen, d.clone())),
            None if std::env::var("CI").as_deref() == Ok("true") => panic!(
                "no Debian {gen} modules tree (run tests/vm/kernels.sh as root, or set PMEM_AFF4_KERNEL_TREES to its /lib/modules/<release> dir)"
            ),
            None => eprintln!(
                "SKIP {gen}: no Debian {gen} modules tree under /lib/modules or PMEM_AFF4_KERNEL_TREES"
            ),
        }
    }
    out
}

fn module(dir: &Path, name: &str) -> PathBuf {
    hosts::module_files(dir)
        .into_iter()
        .find(|p| hosts::file_module_name(p) == name)
        .unwrap_or_else(|| panic!("{name} not in {}", dir.display()))
}

#[test]
fn parasite_is_plain_and_imports_only_the_allowed_symbols() {
    let p = drivers::lmap::parasite().expect("parasite");
    inject::check_parasite(&p).unwrap();
    let mut imports = p.imports();
    imports.sort();
    let mut want: Vec<&str> = inject::PARASITE_IMPORTS.to_vec();
    want.push(inject::PARASITE_HOST_FOPS);
    want.sort();
    assert_eq!(imports, want);
    for s in p.sections.iter().filter(|s| s.is_alloc()) {
        assert!(
            [
                ".text",
                ".data",
                ".bss",
                ".rodata.str1.1",
                ".note.gnu.property"
            ]
            .contains(&s.name.as_str()),
            "unexpected section {}",
            s.name
        );
    }
    // ENDBR64 at the entry of each function the kernel calls indirectly (IBT kernels).
    let text = p.section_by_name(".text").unwrap();
    for f in [
        inject::PARASITE_INIT,
        inject::PARASITE_EXIT,
        inject::PARASITE_READ,
    ] {
        let s = &p.symbols[p.defined_symbol(f).unwrap()];
        let at = s.value as usize;
        assert_eq!(
            &p.bytes(text)[at..at + 4],
            &[0xf3, 0x0f, 0x1e, 0xfa],
            "{f} has no ENDBR64"
        );
    }
    // And a wrong parasite is refused.
    let mut bad = p.clone();
    bad.sections[text].name = ".altinstructions".into();
    assert!(inject::check_parasite(&bad).is_err());
}

#[test]
fn every_module_round_trips_through_the_object_model() {
    for (gen, dir) in trees() {
        let files = hosts::module_files(&dir);
        // All of 6.1's plain .ko; every 8th of 6.12's .ko.xz (decompression dominates).
        let step = if gen == "6.1" { 1 } else { 8 };
        let mut n = 0;
        for p in files.iter().step_by(step) {
            let data = hosts::read_module(p).unwrap();
            let o = Object::parse(&data).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let again = Object::parse(&o.write()).unwrap();
            assert_eq!(o, again, "{} does not round-trip", p.display());
            n += 1;
        }
        assert!(n > 100, "{gen}: only {n} modules");
        eprintln!("{gen}: {n} modules round-trip");
    }
}

#[test]
fn cpuid_is_the_host_and_its_read_slot_moves_with_the_kernel() {
    for (gen, dir) in trees() {
        let s = hosts::search(&dir, false);
        let h = s.chosen.expect("a host");
        assert_eq!(h.name, "cpuid", "{gen}");
        assert_eq!(h.fops.name, "cpuid_fops");
        assert_eq!(h.fops.read_function, "cpuid_read");
        // struct file_operations: 6.12 added fop_flags after owner.
        assert_eq!(
            h.fops.read_offset,
            if gen == "6.1" { 0x10 } else { 0x18 },
            "{gen}"
        );
    }
}

#[test]
fn injected_cpuid_is_rewired_to_the_parasite() {
    let p = drivers::lmap::parasite().unwrap();
    for (gen, dir) in trees() {
        let h = hosts::examine(&module(&dir, "cpuid")).unwrap();
        let missing: Vec<String> = inject::PARASITE_IMPORTS
            .iter()
            .filter(|n| h.object.undefined_symbol(n).is_none())
            .map(|s| s.to_string())
            .collect();
        let crcs = hosts::harvest_crcs(&dir, &missing);
        let (o, report) = inject::inject(&h.object, &h.fops, &p, &crcs, "pmem_lmap").unwrap();
        let o = Object::parse(&o.write()).unwrap();
        eprintln!(
            "{gen}: added {:?}, unversioned {:?}, {} weak",
            report.added_imports, report.unversioned, report.weakened
        );
        let mut added = report.added_imports.clone();
        added.sort();
        let mut want = missing.clone();
        want.sort();
        assert_eq!(added, want);
        // page_offset_base and region_intersects are imported by other modules: CRCs found.
        assert!(
            !report.unversioned.contains(&"page_offset_base".to_string()),
            "{gen}"
        );

        let name_of = |i: usize| o.symbols[i].name.clone();
        let rela_of = |sec: &str| {
            let i = o.section_by_name(sec).unwrap();
            match &o.sections[o.rela_for(i).unwrap()].data {
                SectionData::Rela { entries, .. } => entries.clone(),
                _ => unreachable!(),
            }
        };
        // struct module's init and exit.
        let m = rela_of(".gnu.linkonce.this_module");
        let mut names: Vec<String> = m.iter().map(|r| name_of(r.symbol)).collect();
        names.sort();
        assert_eq!(names, ["lmap_exit", "lmap_init"], "{gen}");
        // No relocation anywhere still names the host's init or exit.
        for s in &o.sections {
            if let SectionData::Rela { entries, .. } = &s.data {
                for r in entries {
                    let n = name_of(r.symbol);
                    assert!(
                        n != "init_module" && n != "cleanup_module",
                        "{gen}: {} names {n}",
                        s.name
                    );
                }
            }
        }
        // The fops: owner, llseek (kernel function), read -> lmap_read, the rest NONE.
        let fops_sec = &o.sections[h.fops.section].name.clone();
        let live: Vec<(u64, String)> = rela_of(fops_sec)
            .iter()
            .filter(|r| r.offset >= h.fops.start && r.offset < h.fops.start + h.fops.size)
            .filter(|r| r.kind != elf::R_X86_64_NONE)
            .map(|r| (r.offset - h.fops.start, name_of(r.symbol)))
            .collect();
        let ro = h.fops.read_offset;
        assert_eq!(
            live,
            [
                (0, "__this_module".to_string()),
                (ro - 8, "no_seek_end_llseek".to_string()),
                (ro, "lmap_read".to_string())
            ],
            "{gen}"
        );
        // The parasite's reference to the host fops is bound to cpuid_fops.
        let text = o.section_by_name(".lmap.text").unwrap();
        let binds_fops = rela_of(".lmap.text")
            .iter()
            .any(|r| name_of(r.symbol) == "cpuid_fops");
        assert!(binds_fops, "{gen}");
        assert_eq!(
            o.sections[text].flags,
            u64::from(elf::SHF_ALLOC | elf::SHF_EXECINSTR)
        );
        let bss = o.section_by_name(".lmap.bss").unwrap();
        assert_eq!(o.sections[bss].align, 4096);
        // Imports: the parasite's are global, the host's others weak.
        for imp in inject::PARASITE_IMPORTS {
            let s = &o.symbols[o.undefined_symbol(imp).unwrap()];
            assert_eq!(s.bind, elf::STB_GLOBAL, "{imp}");
        }
        let weak = o.symbols[o.undefined_symbol("__cpuhp_setup_state").unwrap()].bind;
        assert_eq!(weak, elf::STB_WEAK);
        // Renamed in struct module and .modinfo; the versions carry the added imports.
        let tm = o.bytes(o.section_by_name(".gnu.linkonce.this_module").unwrap());
        assert!(tm.windows(10).any(|w| w == b"pmem_lmap\0"));
        assert!(!tm.windows(6).any(|w| w == b"cpuid\0"));
        assert_eq!(
            inject::modinfo_get(&o, "name").as_deref(),
            Some("pmem_lmap")
        );
        let v = inject::versions(&o);
        assert!(v.iter().any(|(n, _)| n == "module_layout"));
        for (n, crc) in &crcs {
            assert!(v.contains(&(n.clone(), *crc)), "{gen}: {n}");
        }
        // Section symbols of the new sections are locals (placed before the globals).
        assert!(o
            .symbols
            .iter()
            .any(|s| s.kind == elf::STT_SECTION && s.section == SymbolSection::Section(text + 1)));
    }
}

#[test]
fn qualifying_hosts_per_kernel() {
    for (gen, dir) in trees() {
        let s = hosts::search(&dir, true);
        let mut all: Vec<String> = s.chosen.iter().map(|h| h.name.clone()).collect();
        all.extend(s.also.iter().cloned());
        eprintln!(
            "{gen}: {} of {} modules qualify: {}",
            all.len(),
            s.examined,
            all.join(" ")
        );
        assert!(
            all.contains(&"cpuid".to_string()) && all.contains(&"msr".to_string()),
            "{gen}"
        );
        assert!(s.refused.iter().any(|(_, why)| why.contains("depends on")));
    }
}

#[test]
fn no_compatible_host_is_refused_in_one_line_naming_the_fix() {
    for (gen, dir) in trees() {
        // A tree holding only modules that cannot be hosts (dependencies, no fops).
        let tmp = tempfile::tempdir().unwrap();
        let kdir = tmp.path().join("kernel");
        std::fs::create_dir_all(&kdir).unwrap();
        for name in ["virtio_blk", "ext4"] {
            if let Some(p) = hosts::module_files(&dir)
                .into_iter()
                .find(|p| hosts::file_module_name(p) == name)
            {
                std::fs::copy(&p, kdir.join(p.file_name().unwrap())).unwrap();
            }
        }
        let err = drivers::lmap::build(tmp.path(), None).unwrap_err();
        assert!(err.contains("no compatible lmap host"), "{gen}: {err}");
        assert!(
            err.contains("--source kcore") && !err.contains('\n'),
            "{gen}: {err}"
        );
        // A forced host that does not qualify names why.
        let vb = module(&dir, "virtio_blk");
        let err = drivers::lmap::build(&dir, Some(&vb)).unwrap_err();
        assert!(
            (err.contains("depends on") || err.contains("no .read"))
                && err.contains("choose another module"),
            "{gen}: {err}"
        );
        // A missing modules tree names the package.
        let err = drivers::lmap::build(&tmp.path().join("nope"), None).unwrap_err();
        assert!(
            err.contains("not found") && err.contains("linux-image"),
            "{gen}: {err}"
        );
    }
}

#[test]
fn a_host_without_init_or_fops_is_not_injected() {
    let p = drivers::lmap::parasite().unwrap();
    for (gen, dir) in trees() {
        let h = hosts::examine(&module(&dir, "cpuid")).unwrap();
        let mut no_init = h.object.clone();
        let i = no_init.defined_symbol("init_module").unwrap();
        no_init.symbols[i].name = "renamed".into();
        let e =
            inject::inject(&no_init, &h.fops, &p, &Default::default(), "pmem_lmap").unwrap_err();
        assert!(e.to_string().contains("init_module"), "{gen}: {e}");
        let mut no_fops = h.object.clone();
        let f = h.fops.symbol;
        no_fops.symbols[f].name = "cpuid_ops".into();
        assert!(inject::find_fops(&no_fops).is_err(), "{gen}");
        let e = inject::inject(&h.object, &h.fops, &p, &Default::default(), &"x".repeat(60))
            .unwrap_err();
        assert!(e.to_string().contains("too long"), "{gen}");
    }
}
