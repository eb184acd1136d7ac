//! Builds the lmap parasite (drivers/linux/lmap/lmap.c) once, with the system C compiler
//! and no kernel headers, into `$OUT_DIR/lmap_parasite.o`, which `drivers::lmap` embeds
//! with `include_bytes!`. Off x86-64 Linux an empty file is written (lmap then refuses).
//! The object's sections and imports are checked where it is parsed
//! (`drivers::lmap::parasite`), and by its unit tests.

use std::path::PathBuf;
use std::process::Command;

/// Freestanding kernel code: no red zone, no FPU/SIMD, kernel code model, no stack
/// protector or unwind tables, plain `ret` and indirect branches (no thunks to patch),
/// ENDBR64 at function entries (IBT kernels), no jump tables, no libcalls.
const FLAGS: &[&str] = &[
    "-O2",
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffreestanding",
    "-fno-builtin",
    "-fno-pic",
    "-fno-pie",
    "-mcmodel=kernel",
    "-mno-red-zone",
    "-mgeneral-regs-only",
    "-mno-sse",
    "-mno-mmx",
    "-mno-80387",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-mindirect-branch=keep",
    "-mfunction-return=keep",
    "-mharden-sls=all",
    "-fcf-protection=branch",
    "-fno-jump-tables",
    "-fno-common",
    "-fno-tree-loop-distribute-patterns",
    "-fno-ident",
];

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("lmap_parasite.o");
    let src = PathBuf::from("linux/lmap/lmap.c");
    println!("cargo:rerun-if-changed=linux/lmap/lmap.c");
    println!("cargo:rerun-if-changed=linux/pmem/pte_remap.c");
    println!("cargo:rerun-if-changed=linux/pmem/pte_remap.h");
    println!("cargo:rerun-if-env-changed=PMEM_LMAP_CC");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch != "x86_64" || os != "linux" {
        std::fs::write(&out, b"").expect("write empty parasite");
        return;
    }
    // The kernel's own compiler is gcc; the flags above are gcc's spelling.
    let cc = std::env::var("PMEM_LMAP_CC").unwrap_or_else(|_| "gcc".into());
    let status = Command::new(&cc)
        .args(FLAGS)
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run {cc} to build the lmap parasite ({e}): install gcc, or set PMEM_LMAP_CC")
        });
    assert!(
        status.success(),
        "{cc} failed to build the lmap parasite {}",
        src.display()
    );
}
