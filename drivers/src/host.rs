//! Host facts recorded in the metadata: kernel, architecture, page size, boot id, and the
//! VMCOREINFO note so analysis tools need not scan for KASLR.

use crate::Source;
use std::path::Path;

/// Facts about the acquired host; missing pieces are `None`.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// Hostname.
    pub hostname: Option<String>,
    /// `uname -r`.
    pub kernel_release: Option<String>,
    /// /proc/version.
    pub kernel_version: Option<String>,
    /// Machine architecture.
    pub architecture: Option<String>,
    /// Page size.
    pub page_size: Option<usize>,
    /// /proc/sys/kernel/random/boot_id.
    pub boot_id: Option<String>,
    /// Parsed VMCOREINFO.
    pub vmcoreinfo: Option<VmcoreInfo>,
}

/// The kernel's VMCOREINFO note (KEY=VALUE lines), as read from physical memory.
#[derive(Debug, Clone, Default)]
pub struct VmcoreInfo {
    /// The note text.
    pub raw: String,
    /// Physical address of the note (from /sys/kernel/vmcoreinfo), when read from memory.
    pub address: Option<u64>,
    /// OSRELEASE.
    pub osrelease: Option<String>,
    /// KERNELOFFSET (KASLR slide of the kernel text).
    pub kernel_offset: Option<u64>,
    /// NUMBER(phys_base).
    pub phys_base: Option<u64>,
    /// The page-table root symbol and its address: SYMBOL(init_top_pgt) on x86-64,
    /// SYMBOL(swapper_pg_dir) elsewhere.
    pub page_table_root: Option<(String, u64)>,
    /// NUMBER(pgtable_l5_enabled) (x86-64: 1 with 5-level paging).
    pub pgtable_l5: Option<bool>,
}

/// x86-64 `__START_KERNEL_map`: where the kernel image is mapped; a kernel-image virtual
/// address `v` is at physical `v - __START_KERNEL_map + phys_base` (`__pa_symbol`).
pub const X86_64_START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// x86-64 `CONFIG_PHYSICAL_START` default: `_text` is linked at
/// `__START_KERNEL_map + CONFIG_PHYSICAL_START` before KASLR.
pub const X86_64_PHYSICAL_START: u64 = 0x100_0000;

impl VmcoreInfo {
    /// The value of `KEY=` (first occurrence), trimmed.
    pub fn get(&self, key: &str) -> Option<&str> {
        get(&self.raw, key)
    }

    /// Physical address of the kernel's top-level page table: the CR3 value of the
    /// kernel's address space (what Rekall calls the DTB). x86-64 only:
    /// `SYMBOL(init_top_pgt)` (or `swapper_pg_dir` on old kernels)
    /// `- __START_KERNEL_map + NUMBER(phys_base)`, phys_base taken modulo 2^64 (it is
    /// negative when KASLR moves the kernel down). `None` without those fields, or when
    /// the symbol is not a kernel-image address (another architecture).
    pub fn page_table_root_phys(&self) -> Option<u64> {
        let (_, va) = self.page_table_root.as_ref()?;
        if *va < X86_64_START_KERNEL_MAP {
            return None;
        }
        Some((va - X86_64_START_KERNEL_MAP).wrapping_add(self.phys_base?))
    }

    /// The relocated virtual address of `_text` (Rekall's `KernBase`): `SYMBOL(_stext)`
    /// when the note has it (Linux 5.14+; `_stext == _text` on x86-64), else
    /// `__START_KERNEL_map + CONFIG_PHYSICAL_START (default) + KERNELOFFSET`.
    /// x86-64 only (needs a kernel-image page-table root, see
    /// [`VmcoreInfo::page_table_root_phys`]).
    pub fn kernel_base(&self) -> Option<u64> {
        self.page_table_root_phys()?;
        if let Some(v) = self.get("SYMBOL(_stext)").and_then(hex) {
            return Some(v);
        }
        Some(X86_64_START_KERNEL_MAP + X86_64_PHYSICAL_START + self.kernel_offset?)
    }
}

fn get<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .map(str::trim)
}

fn hex(v: &str) -> Option<u64> {
    u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()
}

/// Parses VMCOREINFO text.
pub fn parse_vmcoreinfo(text: &str) -> VmcoreInfo {
    let text = text.trim_end_matches('\0');
    let root = ["init_top_pgt", "swapper_pg_dir"].iter().find_map(|sym| {
        get(text, &format!("SYMBOL({sym})"))
            .and_then(hex)
            .map(|a| (sym.to_string(), a))
    });
    VmcoreInfo {
        raw: text.to_string(),
        address: None,
        osrelease: get(text, "OSRELEASE").map(String::from),
        kernel_offset: get(text, "KERNELOFFSET").and_then(hex),
        // Printed with %ld: decimal, possibly negative.
        phys_base: get(text, "NUMBER(phys_base)").and_then(|v| {
            v.parse::<i64>()
                .ok()
                .map(|n| n as u64)
                .or_else(|| v.strip_prefix("0x").and_then(hex))
        }),
        page_table_root: root,
        pgtable_l5: get(text, "NUMBER(pgtable_l5_enabled)").map(|v| v != "0"),
    }
}

/// Parses /sys/kernel/vmcoreinfo: "PHYSADDR SIZE", both hex (the kernel prints the
/// address with `%pa`, "0x00000000011e2000", and the size with `%x`).
pub fn parse_vmcoreinfo_location(text: &str) -> Option<(u64, usize)> {
    let mut w = text.split_whitespace();
    let addr = hex(w.next()?)?;
    let size = usize::try_from(hex(w.next()?)?).ok()?;
    Some((addr, size))
}

/// The largest note we accept (the kernel's is VMCOREINFO_BYTES = one page plus headers).
const MAX_NOTE: usize = 1 << 16;

/// The text of the ELF note named "VMCOREINFO" at the start of `buf` (Elf64_Nhdr:
/// namesz, descsz, type as 32-bit little-endian words; name and desc padded to 4 bytes).
pub fn parse_vmcoreinfo_note(buf: &[u8]) -> Result<String, String> {
    let word = |o: usize| {
        buf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| "note header truncated".to_string())
    };
    let (namesz, descsz) = (word(0)?, word(4)?);
    let name = buf
        .get(12..12 + namesz)
        .ok_or_else(|| format!("note name ({namesz} bytes) truncated"))?;
    if name.strip_suffix(b"\0").unwrap_or(name) != b"VMCOREINFO" {
        return Err(format!(
            "no VMCOREINFO note there (name {:?})",
            String::from_utf8_lossy(&name[..name.len().min(32)])
        ));
    }
    let desc_at = 12 + namesz.div_ceil(4) * 4;
    let desc = buf
        .get(desc_at..desc_at.saturating_add(descsz))
        .ok_or_else(|| {
            format!(
                "note text ({descsz} bytes) runs past the {} bytes read",
                buf.len()
            )
        })?;
    let text = std::str::from_utf8(desc).map_err(|e| format!("note text is not UTF-8: {e}"))?;
    let text = text.trim_end_matches('\0');
    if !text.contains("OSRELEASE=") {
        return Err("note text has no OSRELEASE= line".into());
    }
    Ok(text.to_string())
}

/// Reads the VMCOREINFO note through `source` at the physical address the kernel gives in
/// `sys_file` (normally /sys/kernel/vmcoreinfo). Errors say what was missing.
pub fn read_vmcoreinfo(source: &dyn Source, sys_file: &Path) -> Result<VmcoreInfo, String> {
    let loc =
        std::fs::read_to_string(sys_file).map_err(|e| format!("{}: {e}", sys_file.display()))?;
    let (addr, size) = parse_vmcoreinfo_location(&loc).ok_or_else(|| {
        format!(
            "{}: expected \"PHYSADDR SIZE\", got {:?}",
            sys_file.display(),
            loc.trim()
        )
    })?;
    if addr == 0 || !(12..=MAX_NOTE).contains(&size) {
        return Err(format!(
            "{}: implausible note {addr:#x} size {size:#x}",
            sys_file.display()
        ));
    }
    let mut buf = vec![0u8; size];
    source
        .read_at(addr, &mut buf)
        .map_err(|e| format!("reading the note through {}: {e}", source.name()))?;
    let text = parse_vmcoreinfo_note(&buf).map_err(|e| format!("note at {addr:#x}: {e}"))?;
    let mut v = parse_vmcoreinfo(&text);
    v.address = Some(addr);
    Ok(v)
}

fn read(p: &str) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

#[cfg(unix)]
fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

/// x86-64 Windows pages are 4 KiB.
#[cfg(not(unix))]
fn page_size() -> usize {
    4096
}

/// Collects what this host tells from /proc. The VMCOREINFO note is only read by
/// [`collect_with`], through a memory source.
pub fn collect() -> HostFacts {
    HostFacts {
        hostname: read("/proc/sys/kernel/hostname"),
        kernel_release: read("/proc/sys/kernel/osrelease"),
        kernel_version: read("/proc/version"),
        architecture: Some(std::env::consts::ARCH.to_string()),
        page_size: Some(page_size()),
        boot_id: read("/proc/sys/kernel/random/boot_id"),
        vmcoreinfo: None,
    }
}

/// [`collect`], plus the VMCOREINFO note read through `source` at the physical address
/// /sys/kernel/vmcoreinfo gives. Tolerant: a kernel without the file (no
/// CONFIG_CRASH_CORE) or a note the source cannot read is logged, never an error.
pub fn collect_with(source: &dyn Source) -> HostFacts {
    let mut f = collect();
    let sys = Path::new("/sys/kernel/vmcoreinfo");
    if !sys.exists() {
        tracing::info!("no /sys/kernel/vmcoreinfo (kernel without CONFIG_CRASH_CORE?): VMCOREINFO not recorded");
        return f;
    }
    match read_vmcoreinfo(source, sys) {
        Ok(v) => {
            if let (Some(a), Some(b)) = (&v.osrelease, &f.kernel_release) {
                if a != b {
                    tracing::warn!("VMCOREINFO says OSRELEASE={a} but the running kernel is {b}");
                }
            }
            tracing::info!(
                "VMCOREINFO read from physical {:#x}: KERNELOFFSET={}, phys_base={}",
                v.address.unwrap_or(0),
                v.kernel_offset.map_or("?".into(), |k| format!("{k:#x}")),
                v.phys_base.map_or("?".into(), |k| format!("{k:#x}")),
            );
            f.vmcoreinfo = Some(v);
        }
        Err(e) => tracing::warn!("VMCOREINFO not recorded: {e}"),
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmcoreinfo_fields() {
        let v = parse_vmcoreinfo(
            "OSRELEASE=6.1.0\nKERNELOFFSET=1e000000\nNUMBER(phys_base)=-2147483648\n",
        );
        assert_eq!(v.kernel_offset, Some(0x1e00_0000));
        assert_eq!(v.phys_base, Some((-2147483648i64) as u64));
        assert_eq!(v.osrelease.as_deref(), Some("6.1.0"));
        assert_eq!(v.page_table_root, None);
    }

    /// The sample's boot (testdata/README.md): KASLR slide 0x33c00000, Kernel code at
    /// physical 0x8600000, so `_text` = 0xffffffffb4c00000 and phys_base =
    /// 0x8600000 - (0xffffffffb4c00000 - __START_KERNEL_map) = -0x2c600000 (printed
    /// in decimal by the kernel). A symbol 0x1e0a000 past `_text` is 0x1e0a000 past
    /// Kernel code.
    #[test]
    fn page_table_root_and_kernel_base_from_a_kaslr_boot() {
        let text = "OSRELEASE=6.1.0-56-cloud-amd64\nSYMBOL(init_top_pgt)=ffffffffb6a0a000\n\
                    NUMBER(phys_base)=-744488960\nKERNELOFFSET=33c00000\n";
        let v = parse_vmcoreinfo(text);
        assert_eq!(v.page_table_root_phys(), Some(0x8600000 + 0x1e0a000));
        assert_eq!(v.kernel_base(), Some(0xffff_ffff_b4c0_0000));
        // SYMBOL(_stext) wins over the CONFIG_PHYSICAL_START default.
        let v = parse_vmcoreinfo(&format!("{text}SYMBOL(_stext)=ffffffffb4e00000\n"));
        assert_eq!(v.kernel_base(), Some(0xffff_ffff_b4e0_0000));
        // No KASLR, phys_base 0 (the non-relocated layout): init_top_pgt links at
        // 0xffffffff82a0a000 -> physical 0x2a0a000; old kernels name swapper_pg_dir.
        let v = parse_vmcoreinfo(
            "SYMBOL(swapper_pg_dir)=ffffffff82a0a000\nNUMBER(phys_base)=0\nKERNELOFFSET=0\n",
        );
        assert_eq!(v.page_table_root_phys(), Some(0x2a0a000));
        assert_eq!(v.kernel_base(), Some(0xffff_ffff_8100_0000));
        // Missing phys_base, or an arm64-style linear-map symbol: nothing claimed.
        let v = parse_vmcoreinfo("SYMBOL(init_top_pgt)=ffffffffb6a0a000\nKERNELOFFSET=0\n");
        assert_eq!((v.page_table_root_phys(), v.kernel_base()), (None, None));
        let v = parse_vmcoreinfo("SYMBOL(swapper_pg_dir)=ffff800011a5d000\nNUMBER(phys_base)=0\n");
        assert_eq!((v.page_table_root_phys(), v.kernel_base()), (None, None));
    }

    /// A note as the kernel lays it out (kernel/crash_core.c: append_elf_note + final_note).
    fn note(name: &[u8], text: &str) -> Vec<u8> {
        let mut n = Vec::new();
        n.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
        n.extend_from_slice(&(text.len() as u32).to_le_bytes());
        n.extend_from_slice(&0u32.to_le_bytes());
        n.extend_from_slice(name);
        n.push(0);
        while n.len() % 4 != 0 {
            n.push(0);
        }
        n.extend_from_slice(text.as_bytes());
        while n.len() % 4 != 0 {
            n.push(0);
        }
        n.extend_from_slice(&[0; 12]); // final note
        n
    }

    // Lines from a 6.1.0-56-cloud-amd64 guest's note.
    const REAL: &str = "OSRELEASE=6.1.0-56-cloud-amd64\nBUILD-ID=0123\nPAGESIZE=4096\n\
        SYMBOL(init_uts_ns)=ffffffff9b813f80\nSYMBOL(init_top_pgt)=ffffffff9b80a000\n\
        NUMBER(pgtable_l5_enabled)=0\nKERNELOFFSET=19e00000\nNUMBER(phys_base)=-2113929216\n";

    #[test]
    fn note_at_physical_address() {
        let n = note(b"VMCOREINFO", REAL);
        let text = parse_vmcoreinfo_note(&n).unwrap();
        let v = parse_vmcoreinfo(&text);
        assert_eq!(v.kernel_offset, Some(0x19e0_0000));
        assert_eq!(
            v.page_table_root,
            Some(("init_top_pgt".into(), 0xffff_ffff_9b80_a000))
        );
        assert_eq!(v.pgtable_l5, Some(false));
        assert_eq!(v.get("PAGESIZE"), Some("4096"));
        assert_eq!(v.get("SYMBOL(init_uts_ns)"), Some("ffffffff9b813f80"));
        // Not a key prefix match: "PAGESIZE" is not "PAGE".
        assert_eq!(v.get("PAGE"), None);
        // Wrong name, truncation, garbage: errors, not panics.
        assert!(parse_vmcoreinfo_note(&note(b"CORE", REAL))
            .unwrap_err()
            .contains("no VMCOREINFO"));
        assert!(
            parse_vmcoreinfo_note(&n[..40])
                .unwrap_err()
                .contains("truncated")
                || parse_vmcoreinfo_note(&n[..40])
                    .unwrap_err()
                    .contains("runs past")
        );
        assert!(parse_vmcoreinfo_note(&[0u8; 8]).is_err());
        assert!(parse_vmcoreinfo_note(&[0xffu8; 64]).is_err());
        assert!(parse_vmcoreinfo_note(&note(b"VMCOREINFO", "hello")).is_err());
    }

    #[test]
    fn location_file() {
        assert_eq!(
            parse_vmcoreinfo_location("1f0a5000 1024\n"),
            Some((0x1f0a_5000, 0x1024))
        );
        // What 6.1 writes ("%pa %x").
        assert_eq!(
            parse_vmcoreinfo_location("0x00000000011e2000 1024\n"),
            Some((0x11e_2000, 0x1024))
        );
        assert_eq!(parse_vmcoreinfo_location(""), None);
        assert_eq!(parse_vmcoreinfo_location("zz 10"), None);
    }

    /// A source over a buffer at a physical base.
    struct Mem(u64, Vec<u8>, Vec<crate::PhysRange>);
    impl Source for Mem {
        fn name(&self) -> &str {
            "mem"
        }
        fn description(&self) -> String {
            "test".into()
        }
        fn ranges(&self) -> &[crate::PhysRange] {
            &self.2
        }
        fn read_at(&self, phys: u64, buf: &mut [u8]) -> Result<(), crate::ReadError> {
            let off = phys.checked_sub(self.0).map(|o| o as usize);
            match off.and_then(|o| self.1.get(o..o + buf.len())) {
                Some(d) => {
                    buf.copy_from_slice(d);
                    Ok(())
                }
                None => Err(crate::ReadError::OutOfRange {
                    phys,
                    len: buf.len(),
                }),
            }
        }
    }

    #[test]
    fn read_through_a_source() {
        let base = 0x1000_0000u64;
        let mut ram = vec![0u8; 0x4000];
        let n = note(b"VMCOREINFO", REAL);
        ram[0x1234..0x1234 + n.len()].copy_from_slice(&n);
        let src = Mem(base, ram, vec![]);
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("vmcoreinfo");
        std::fs::write(&sys, format!("{:x} {:x}\n", base + 0x1234, 0x1024)).unwrap();
        let v = read_vmcoreinfo(&src, &sys).unwrap();
        assert_eq!(v.address, Some(base + 0x1234));
        assert_eq!(v.kernel_offset, Some(0x19e0_0000));
        assert_eq!(v.phys_base, Some((-2113929216i64) as u64));
        // Unreadable address, missing file, bad file: messages, not panics.
        std::fs::write(&sys, "90000000 1024\n").unwrap();
        assert!(read_vmcoreinfo(&src, &sys)
            .unwrap_err()
            .contains("through mem"));
        std::fs::write(&sys, "nonsense\n").unwrap();
        assert!(read_vmcoreinfo(&src, &sys)
            .unwrap_err()
            .contains("PHYSADDR SIZE"));
        assert!(read_vmcoreinfo(&src, &dir.path().join("none")).is_err());
    }
}
