//! Host facts recorded in the metadata: kernel, architecture, page size, boot id, and the
//! VMCOREINFO note so analysis tools need not scan for KASLR.

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

/// The kernel's VMCOREINFO note (KEY=VALUE lines).
#[derive(Debug, Clone, Default)]
pub struct VmcoreInfo {
    /// The note text.
    pub raw: String,
    /// KERNELOFFSET (KASLR slide).
    pub kernel_offset: Option<u64>,
    /// NUMBER(phys_base).
    pub phys_base: Option<u64>,
}

/// Parses VMCOREINFO text.
pub fn parse_vmcoreinfo(text: &str) -> VmcoreInfo {
    let get = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)).map(str::trim);
    VmcoreInfo {
        raw: text.to_string(),
        kernel_offset: get("KERNELOFFSET=").and_then(|v| u64::from_str_radix(v, 16).ok()),
        phys_base: get("NUMBER(phys_base)=").and_then(|v| {
            v.parse::<i64>()
                .ok()
                .map(|n| n as u64)
                .or_else(|| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
        }),
    }
}

fn read(p: &str) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Collects what this host tells. The VMCOREINFO text is looked for in the kernel's
/// crash notes only when a source can read it; here we keep what /proc offers.
pub fn collect() -> HostFacts {
    HostFacts {
        hostname: read("/proc/sys/kernel/hostname"),
        kernel_release: read("/proc/sys/kernel/osrelease"),
        kernel_version: read("/proc/version"),
        architecture: Some(std::env::consts::ARCH.to_string()),
        page_size: Some(4096),
        boot_id: read("/proc/sys/kernel/random/boot_id"),
        vmcoreinfo: None,
    }
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
    }
}
