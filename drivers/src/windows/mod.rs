//! Windows physical memory through the WinPmem driver the examiner supplies (the only
//! production-signed one is WinPmem 2.0.1). [`protocol`] is plain data and compiles (and
//! is tested) everywhere; the source and the service handling are Windows-only.

pub mod protocol;

#[cfg(windows)]
mod service;
#[cfg(windows)]
mod source;

#[cfg(windows)]
pub use service::cleanup_now;
#[cfg(windows)]
pub use source::open;

/// How to reach a WinPmem driver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WinPmemOptions {
    /// The driver file (`winpmem_x64.sys`) to load as a service for the acquisition; `None`:
    /// use a driver already loaded or an installed `winpmem`/`pmem` service.
    pub driver: Option<std::path::PathBuf>,
    /// The read mode; `None`: PTE remapping, else `\Device\PhysicalMemory`.
    pub mode: Option<protocol::ReadMode>,
}

/// Name of the service pmem-aff4 creates for `--driver` (and deletes afterwards).
pub const SERVICE_NAME: &str = "pmem-aff4-winpmem";

/// Existing services of WinPmem drivers, by the names they have used: `winpmem` (Velocidex
/// since 2024), `pmem` (rekall, c-aff4, Velocidex before).
pub const KNOWN_SERVICES: [&str; 2] = ["winpmem", "pmem"];

/// No-op stand-in where there is no service manager, so callers need no cfg.
#[cfg(not(windows))]
pub fn cleanup_now() {}
