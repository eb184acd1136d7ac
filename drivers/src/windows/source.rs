//! [`WinPmemSource`]: `\\.\pmem` opened, its IOCTL generation probed, the read mode set,
//! the info block read; physical reads are positioned `ReadFile`s (the file offset is the
//! physical address). The pipeline retries a failed block page by page.

use super::protocol::{self, MemoryInfo, ReadMode};
use super::service::{self, ServiceGuard};
use super::WinPmemOptions;
use crate::{Error, PhysRange, ReadError, Source};
use std::fs::File;
use std::os::windows::fs::FileExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle};
use windows_sys::Win32::Foundation::{
    GetLastError, GENERIC_READ, GENERIC_WRITE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};
use windows_sys::Win32::System::IO::DeviceIoControl;

const DEVICE: &str = r"\\.\pmem";

/// The WinPmem driver's device. Field order matters: the device closes before the guard
/// stops the service.
pub struct WinPmemSource {
    device: File,
    info: MemoryInfo,
    ranges: Vec<PhysRange>,
    mode: Option<ReadMode>,
    how: String,
    _service: Option<ServiceGuard>,
}

fn open_device() -> std::io::Result<File> {
    let name: Vec<u16> = DEVICE.encode_utf16().chain(Some(0)).collect();
    // SAFETY: NUL-terminated name; no security attributes, no template.
    let h = unsafe {
        CreateFileW(
            name.as_ptr(),
            GENERIC_READ | GENERIC_WRITE,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
            std::ptr::null(),
            OPEN_EXISTING,
            FILE_ATTRIBUTE_NORMAL,
            std::ptr::null_mut(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a handle we just opened and now own.
    Ok(unsafe { File::from_raw_handle(h as _) })
}

/// One DeviceIoControl; `Ok(bytes returned)` or the Win32 error.
fn ioctl(dev: &File, code: u32, input: &[u8], output: &mut [u8]) -> Result<usize, u32> {
    let mut returned = 0u32;
    // SAFETY: the buffers live across the synchronous call and their lengths are theirs.
    let ok = unsafe {
        DeviceIoControl(
            dev.as_raw_handle() as _,
            code,
            if input.is_empty() {
                std::ptr::null()
            } else {
                input.as_ptr().cast()
            },
            input.len() as u32,
            if output.is_empty() {
                std::ptr::null_mut()
            } else {
                output.as_mut_ptr().cast()
            },
            output.len() as u32,
            &mut returned,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        // SAFETY: no preconditions.
        return Err(unsafe { GetLastError() });
    }
    Ok(returned as usize)
}

fn describe(code: u32) -> String {
    std::io::Error::from_raw_os_error(code as i32).to_string()
}

/// Opens the WinPmem driver: `\\.\pmem` if a driver is loaded already, else the service
/// for `--driver`, else an installed `winpmem`/`pmem` service. Services this call started
/// are stopped (and deleted if it created them) when the source drops, or on error.
///
/// # Errors
/// No driver, a driver that does not load or does not speak WinPmem, or a bad info block.
pub fn open(opts: &WinPmemOptions) -> Result<Box<dyn Source>, Error> {
    let unavailable = |m: String| Error::Unavailable(m);
    let (device, guard, how) = match open_device() {
        Ok(d) if opts.driver.is_none() => (d, None, "an already loaded WinPmem driver".to_string()),
        Ok(_) => {
            return Err(unavailable(format!(
                "{DEVICE} is already open by a loaded driver: leave out --driver to use it, or unload it first (sc stop pmem / sc stop winpmem)"
            )))
        }
        Err(_) => {
            let (guard, how) = match &opts.driver {
                Some(sys) => (service::install(sys).map_err(unavailable)?, format!("driver {}", sys.display())),
                None => match service::start_existing().map_err(unavailable)? {
                    Some((name, g)) => (g, format!("installed service {name}")),
                    None => {
                        return Err(unavailable(
                            "no WinPmem driver is loaded: give --driver winpmem_x64.sys (the signed WinPmem 2.0.1 driver, see docs/WINDOWS.md)".into(),
                        ))
                    }
                },
            };
            let d = open_device().map_err(|e| {
                unavailable(format!("the driver service started but {DEVICE} does not open ({e}): not a WinPmem driver?"))
            })?;
            (d, Some(guard), how)
        }
    };
    let info = protocol::probe(
        |code, len| {
            let mut buf = vec![0u8; len];
            let n = ioctl(&device, code, &[], &mut buf)?;
            buf.truncate(n);
            Ok(buf)
        },
        describe,
    )
    .map_err(|e| unavailable(format!("{DEVICE}: {e}")))?;
    let mut mode = None;
    for m in ReadMode::plan(opts.mode, cfg!(target_arch = "x86_64")) {
        match ioctl(
            &device,
            info.generation.set_mode_code(),
            &m.code().to_le_bytes(),
            &mut [],
        ) {
            Ok(_) => {
                mode = Some(m);
                break;
            }
            Err(e) => tracing::warn!(
                "{DEVICE}: the driver refused read mode {} ({})",
                m.name(),
                describe(e)
            ),
        }
    }
    if mode.is_none() {
        if opts.mode.is_some() {
            return Err(unavailable(format!(
                "{DEVICE}: the driver refused the read mode asked for"
            )));
        }
        // The 4.x driver refuses a second SET_MODE: it reads with the mode set first.
        tracing::warn!(
            "{DEVICE}: reading with the mode the driver was set to before (not recorded)"
        );
    }
    let ranges = info.ranges();
    tracing::info!(
        "{DEVICE}: {}, {} run(s), CR3 {:#x}, NtBuildNumber {}, read mode {}",
        info.generation.name(),
        info.runs.len(),
        info.cr3,
        info.build(),
        mode.map_or("unknown", ReadMode::name)
    );
    Ok(Box::new(WinPmemSource {
        device,
        info,
        ranges,
        mode,
        how,
        _service: guard,
    }))
}

impl Source for WinPmemSource {
    fn name(&self) -> &str {
        "winpmem"
    }
    fn description(&self) -> String {
        format!("{DEVICE} ({}, {})", self.info.generation.name(), self.how)
    }
    fn ranges(&self) -> &[PhysRange] {
        &self.ranges
    }
    fn read_method(&self) -> Option<&str> {
        self.mode.map(ReadMode::name)
    }
    fn winpmem_info(&self) -> Option<&MemoryInfo> {
        Some(&self.info)
    }
    fn read_at(&self, phys: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        if !self
            .ranges
            .iter()
            .any(|r| r.start <= phys && phys + buf.len() as u64 <= r.end)
        {
            return Err(ReadError::OutOfRange {
                phys,
                len: buf.len(),
            });
        }
        let mut done = 0;
        while done < buf.len() {
            // The driver stops at a page it cannot read and returns what it read before it
            // with an error; the rest of the buffer is untouched, so the read fails.
            match self.device.seek_read(&mut buf[done..], phys + done as u64) {
                Ok(0) => {
                    return Err(ReadError::Unreadable {
                        phys,
                        len: buf.len(),
                        source: std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
                    })
                }
                Ok(n) => done += n,
                Err(source) => {
                    return Err(ReadError::Unreadable {
                        phys,
                        len: buf.len(),
                        source,
                    })
                }
            }
        }
        Ok(())
    }
}
