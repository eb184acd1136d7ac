//! The WinPmem driver's user-space protocol, platform-independent so that it is tested on
//! any host: IOCTL codes of both driver generations, the `WINPMEM_MEMORY_INFO` layouts,
//! read modes, and the probe that picks the generation and the info buffer size.
//! Facts: ../shared/ACQUISITION-DESIGNS.md §2.4 and §3 (written from them, no WinPmem code).

use crate::{merge_ranges, PhysRange};

/// `CTL_CODE(FILE_DEVICE_UNKNOWN = 0x22, function, method, FILE_READ_DATA | FILE_WRITE_DATA)`.
pub const fn ctl_code(function: u32, method: u32) -> u32 {
    (0x22 << 16) | (3 << 14) | (function << 2) | method
}

const METHOD_BUFFERED: u32 = 0;
const METHOD_NEITHER: u32 = 3;
const FN_SET_MODE: u32 = 0x101;
const FN_GET_INFO: u32 = 0x103;

/// Win32 errors the protocol decisions depend on (what `GetLastError` gives after
/// `DeviceIoControl`; the driver's NTSTATUS is mapped by `RtlNtStatusToDosError`).
pub mod win32 {
    /// ERROR_INVALID_FUNCTION (STATUS_INVALID_DEVICE_REQUEST): unknown IOCTL code.
    pub const INVALID_FUNCTION: u32 = 1;
    /// ERROR_BAD_LENGTH: what STATUS_INFO_LENGTH_MISMATCH becomes.
    pub const BAD_LENGTH: u32 = 24;
    /// ERROR_NOT_SUPPORTED (STATUS_NOT_SUPPORTED).
    pub const NOT_SUPPORTED: u32 = 50;
    /// ERROR_INVALID_PARAMETER (STATUS_INVALID_PARAMETER): how the 2.0+ driver refuses
    /// the old codes.
    pub const INVALID_PARAMETER: u32 = 87;
    /// ERROR_INSUFFICIENT_BUFFER (STATUS_BUFFER_TOO_SMALL).
    pub const INSUFFICIENT_BUFFER: u32 = 122;
    /// ERROR_MORE_DATA (STATUS_BUFFER_OVERFLOW).
    pub const MORE_DATA: u32 = 234;
}

/// The two IOCTL generations of WinPmem drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// Velocidex WinPmem ≥ 2.0 (the signed 2.0.1, and 4.x): `METHOD_NEITHER` codes and
    /// the 64-KPCR info layout.
    Neither,
    /// Rekall's driver ≤ 1.6 (c-aff4's bundled v1.6.3): `METHOD_BUFFERED` codes and the
    /// 32-KPCR info layout.
    Buffered,
}

impl Generation {
    /// The order the probe tries them in: the signed current driver first.
    pub const PROBE_ORDER: [Generation; 2] = [Generation::Neither, Generation::Buffered];

    fn method(self) -> u32 {
        match self {
            Generation::Neither => METHOD_NEITHER,
            Generation::Buffered => METHOD_BUFFERED,
        }
    }
    /// IOCTL_SET_MODE (input: a u32 [`ReadMode`]).
    pub fn set_mode_code(self) -> u32 {
        ctl_code(FN_SET_MODE, self.method())
    }
    /// IOCTL_GET_INFO (output: `WINPMEM_MEMORY_INFO`).
    pub fn get_info_code(self) -> u32 {
        ctl_code(FN_GET_INFO, self.method())
    }
    /// The info layout this generation's drivers fill.
    pub fn layout(self) -> Layout {
        match self {
            Generation::Neither => Layout { kpcr_slots: 64 },
            Generation::Buffered => Layout { kpcr_slots: 32 },
        }
    }
    /// For logs and metadata.
    pub fn name(self) -> &'static str {
        match self {
            Generation::Neither => "WinPmem 2.0+ (METHOD_NEITHER IOCTLs, 64 KPCRs)",
            Generation::Buffered => "WinPmem 1.x (METHOD_BUFFERED IOCTLs, 32 KPCRs)",
        }
    }
}

/// A `WINPMEM_MEMORY_INFO` layout: all fields are 8 bytes, packed; the layouts differ in
/// the number of KPCR slots, which moves everything after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// 32 (rekall ≤ 1.6, c-aff4) or 64 (Velocidex x64 ≥ 2.0).
    pub kpcr_slots: usize,
}

/// Offsets of the fixed header fields.
const CR3: usize = 0x00;
const NT_BUILD_NUMBER: usize = 0x08;
const KERN_BASE: usize = 0x10;
const KPCR: usize = 0x20;
/// `Padding[0xFE]` of u64 before `NumberOfRuns`.
const PADDING_WORDS: usize = 0xFE;
/// One run: `{BaseAddress, NumberOfBytes}`.
pub const RUN_LEN: usize = 16;

impl Layout {
    /// Offset of `NtBuildNumberAddr` (after KPCRs, PfnDataBase, PsLoadedModuleList,
    /// PsActiveProcessHead).
    pub fn nt_build_number_addr_offset(self) -> usize {
        KPCR + 8 * self.kpcr_slots + 3 * 8
    }
    /// Offset of `NumberOfRuns` (0x930 for 32 KPCRs, 0xA30 for 64).
    pub fn number_of_runs_offset(self) -> usize {
        self.nt_build_number_addr_offset() + 8 + 8 * PADDING_WORDS
    }
    /// Offset of `Run[0]`.
    pub fn runs_offset(self) -> usize {
        self.number_of_runs_offset() + 8
    }
    /// Size of the structure declaring `runs` run slots.
    pub fn size_with_runs(self, runs: usize) -> usize {
        self.runs_offset() + RUN_LEN * runs
    }
}

/// What the driver's info block says (fields the driver leaves 0 are `None`/absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryInfo {
    /// The generation that answered.
    pub generation: Generation,
    /// Kernel CR3 (the DTB), as read by the driver in System context.
    pub cr3: u64,
    /// `NtBuildNumber` (the high nibble flags a checked/free build).
    pub nt_build_number: u64,
    /// ntoskrnl's base virtual address.
    pub kern_base: u64,
    /// `&NtBuildNumber` (virtual), 0 when the driver does not fill it.
    pub nt_build_number_addr: u64,
    /// The per-CPU KPCR addresses the driver filled (non-zero slots, in order).
    pub kpcr: Vec<u64>,
    /// Physical memory runs as the driver listed them (zero-length runs dropped).
    pub runs: Vec<PhysRange>,
}

impl MemoryInfo {
    /// The runs sorted and merged: what to read.
    pub fn ranges(&self) -> Vec<PhysRange> {
        merge_ranges(self.runs.clone())
    }
    /// `NtBuildNumber` without the checked-build flag: 19045, 22631, ...
    pub fn build(&self) -> u64 {
        self.nt_build_number & 0xFFFF
    }
}

/// A malformed info block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    /// Fewer bytes than the header up to `NumberOfRuns`.
    #[error("the driver returned {got} bytes of memory information, fewer than the {need} its layout needs")]
    Short {
        /// Bytes returned.
        got: usize,
        /// Bytes the layout's fixed part needs.
        need: usize,
    },
    /// `NumberOfRuns` claims more runs than the returned bytes hold.
    #[error("the driver claims {claimed} memory runs but returned room for {fit}")]
    RunsTruncated {
        /// NumberOfRuns.
        claimed: u64,
        /// Runs that fit in what was returned.
        fit: usize,
    },
    /// A run wraps past 2^64, is not page-aligned, or lies at or above 2^63 (the file
    /// offset limit of the I/O manager).
    #[error("memory run {index} ({base:#x}+{len:#x}) is {why}")]
    BadRun {
        /// Position in the list.
        index: usize,
        /// BaseAddress.
        base: u64,
        /// NumberOfBytes.
        len: u64,
        /// What is wrong.
        why: &'static str,
    },
    /// No run at all.
    #[error("the driver lists no physical memory runs")]
    NoRuns,
}

fn u64_at(buf: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(buf[off..off + 8].try_into().expect("8 bytes"))
}

/// Parses the `returned` bytes of a `WINPMEM_MEMORY_INFO` in `generation`'s layout.
///
/// # Errors
/// A short block, a run count larger than the block, or a run that cannot be read.
pub fn parse_memory_info(buf: &[u8], generation: Generation) -> Result<MemoryInfo, InfoError> {
    let layout = generation.layout();
    let need = layout.runs_offset();
    if buf.len() < need {
        return Err(InfoError::Short {
            got: buf.len(),
            need,
        });
    }
    let claimed = u64_at(buf, layout.number_of_runs_offset());
    let fit = (buf.len() - need) / RUN_LEN;
    if claimed > fit as u64 {
        return Err(InfoError::RunsTruncated { claimed, fit });
    }
    let mut runs = Vec::with_capacity(claimed as usize);
    for index in 0..claimed as usize {
        let off = need + index * RUN_LEN;
        let (base, len) = (u64_at(buf, off), u64_at(buf, off + 8));
        if len == 0 {
            continue;
        }
        let bad = |why| InfoError::BadRun {
            index,
            base,
            len,
            why,
        };
        let end = base
            .checked_add(len)
            .ok_or_else(|| bad("past the end of the address space"))?;
        if base % 4096 != 0 || len % 4096 != 0 {
            return Err(bad("not page-aligned"));
        }
        if end > 1 << 63 {
            return Err(bad("above 2^63, which no file offset reaches"));
        }
        runs.push(PhysRange { start: base, end });
    }
    if runs.is_empty() {
        return Err(InfoError::NoRuns);
    }
    let kpcr = (0..layout.kpcr_slots)
        .map(|i| u64_at(buf, KPCR + 8 * i))
        .filter(|&v| v != 0)
        .collect();
    Ok(MemoryInfo {
        generation,
        cr3: u64_at(buf, CR3),
        nt_build_number: u64_at(buf, NT_BUILD_NUMBER),
        kern_base: u64_at(buf, KERN_BASE),
        nt_build_number_addr: u64_at(buf, layout.nt_build_number_addr_offset()),
        kpcr,
        runs,
    })
}

/// Info buffer sizes tried in order: 64 KiB holds 4,000 runs in either layout (the 2.0.1
/// driver returns at most 20, 4.x 300, and Hyper-V dynamic memory can fragment the list
/// into thousands), 1 MiB holds 65,000.
pub const INFO_BUFFER_SIZES: [usize; 2] = [64 << 10, 1 << 20];

/// How the probe failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// Neither generation's IOCTL_GET_INFO was accepted.
    #[error("\\\\.\\pmem answers neither WinPmem IOCTL generation (2.0+: {neither}; 1.x: {buffered}): it is not a WinPmem driver")]
    NotWinPmem {
        /// Win32 error of the 2.0+ code.
        neither: String,
        /// Win32 error of the 1.x code.
        buffered: String,
    },
    /// The driver kept answering STATUS_INFO_LENGTH_MISMATCH: it has more runs than it can
    /// return (WinPmem 2.0.1 returns at most 20).
    #[error("the WinPmem driver reports more physical memory runs than it can return (STATUS_INFO_LENGTH_MISMATCH; WinPmem 2.0.1 holds 20): this machine's memory map is too fragmented for this driver (e.g. Hyper-V dynamic memory)")]
    TooManyRuns,
    /// The driver failed IOCTL_GET_INFO with another error.
    #[error("IOCTL_GET_INFO failed: {0}")]
    Failed(String),
    /// The info block was malformed.
    #[error("{0}")]
    Info(#[from] InfoError),
}

/// Picks the generation and reads the info block. `get_info(code, buffer_len)` sends one
/// IOCTL_GET_INFO and returns the bytes the driver wrote, or the Win32 error; `describe`
/// names a Win32 error for messages.
///
/// Order: each generation (2.0+ first), each buffer size; an unknown code
/// (ERROR_INVALID_PARAMETER / INVALID_FUNCTION / NOT_SUPPORTED) moves to the next
/// generation, a length error (STATUS_INFO_LENGTH_MISMATCH and kin) to the next size.
///
/// # Errors
/// See [`ProbeError`].
pub fn probe(
    mut get_info: impl FnMut(u32, usize) -> Result<Vec<u8>, u32>,
    describe: impl Fn(u32) -> String,
) -> Result<MemoryInfo, ProbeError> {
    let mut refused = Vec::new();
    for generation in Generation::PROBE_ORDER {
        let mut length_error = false;
        for &len in &INFO_BUFFER_SIZES {
            match get_info(generation.get_info_code(), len) {
                Ok(bytes) => return Ok(parse_memory_info(&bytes, generation)?),
                Err(win32::BAD_LENGTH | win32::INSUFFICIENT_BUFFER | win32::MORE_DATA) => {
                    length_error = true
                }
                Err(
                    e @ (win32::INVALID_PARAMETER | win32::INVALID_FUNCTION | win32::NOT_SUPPORTED),
                ) => {
                    refused.push(describe(e));
                    break;
                }
                Err(e) => return Err(ProbeError::Failed(describe(e))),
            }
        }
        if length_error {
            return Err(ProbeError::TooManyRuns);
        }
    }
    let mut it = refused.into_iter();
    Err(ProbeError::NotWinPmem {
        neither: it.next().unwrap_or_default(),
        buffered: it.next().unwrap_or_default(),
    })
}

/// How the driver reads physical pages (IOCTL_SET_MODE's u32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// `MmMapIoSpace` per page (can bugcheck on unlocked pages: never a default).
    IoSpace = 0,
    /// Views of `\Device\PhysicalMemory`.
    PhysicalMemory = 1,
    /// Rogue-PTE remapping (x64 only): no kernel mapping API is trusted.
    PteRemap = 2,
}

impl ReadMode {
    /// The value IOCTL_SET_MODE takes.
    pub fn code(self) -> u32 {
        self as u32
    }
    /// For logs and the `pmem:readMethod` metadata.
    pub fn name(self) -> &'static str {
        match self {
            ReadMode::IoSpace => "iospace",
            ReadMode::PhysicalMemory => "physical-memory",
            ReadMode::PteRemap => "pte-remap",
        }
    }
    /// Parses `pte`, `physical` or `iospace`.
    pub fn from_name(s: &str) -> Option<ReadMode> {
        match s {
            "pte" | "pte-remap" => Some(ReadMode::PteRemap),
            "physical" | "physical-memory" => Some(ReadMode::PhysicalMemory),
            "iospace" => Some(ReadMode::IoSpace),
            _ => None,
        }
    }
    /// Modes to try in order: the one asked for alone, else PTE remapping (the default
    /// on x64, as in every WinPmem since 1.6) then `\Device\PhysicalMemory`. IoSpace is
    /// never tried unasked.
    pub fn plan(asked: Option<ReadMode>, x64: bool) -> Vec<ReadMode> {
        match asked {
            Some(m) => vec![m],
            None if x64 => vec![ReadMode::PteRemap, ReadMode::PhysicalMemory],
            None => vec![ReadMode::PhysicalMemory],
        }
    }
}

/// `information.yaml` lines c-aff4's winpmem writes (Registers.CR3, NtBuildNumber,
/// KernBase, NtBuildNumberAddr), for the caller to put before its `Runs:` list.
pub fn information_yaml_fields(info: &MemoryInfo) -> String {
    let mut y = format!(
        "Registers: {{CR3: {:#x}}}\nNtBuildNumber: {}\nKernBase: {:#x}\n",
        info.cr3, info.nt_build_number, info.kern_base
    );
    if info.nt_build_number_addr != 0 {
        y.push_str(&format!(
            "NtBuildNumberAddr: {:#x}\n",
            info.nt_build_number_addr
        ));
    }
    if !info.kpcr.is_empty() {
        y.push_str("KPCR:\n");
        for k in &info.kpcr {
            y.push_str(&format!("- {k:#x}\n"));
        }
    }
    y
}

#[cfg(test)]
mod tests;
