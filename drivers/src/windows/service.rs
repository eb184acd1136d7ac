//! The driver's service: created and started for `--driver`, or an installed one started;
//! stopped (and deleted if we created it) by [`ServiceGuard`]'s drop or by
//! [`cleanup_now`] (a second Ctrl-C exits without unwinding).

use std::ffi::OsStr;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    GetLastError, ERROR_ACCESS_DENIED, ERROR_SERVICE_ALREADY_RUNNING,
    ERROR_SERVICE_DATABASE_LOCKED, ERROR_SERVICE_EXISTS, ERROR_SERVICE_NOT_ACTIVE,
};
use windows_sys::Win32::System::Services::{
    CloseServiceHandle, ControlService, CreateServiceW, DeleteService, OpenSCManagerW,
    OpenServiceW, StartServiceW, SC_HANDLE, SC_MANAGER_ALL_ACCESS, SERVICE_ALL_ACCESS,
    SERVICE_CONTROL_STOP, SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, SERVICE_KERNEL_DRIVER,
    SERVICE_STATUS,
};

/// What the process must undo: (service name, delete it too).
static INSTALLED: Mutex<Option<(String, bool)>> = Mutex::new(None);

fn wide(s: &OsStr) -> Vec<u16> {
    s.encode_wide().chain(Some(0)).collect()
}

fn last_error(what: &str) -> String {
    // SAFETY: no preconditions.
    os_error(what, unsafe { GetLastError() })
}

fn os_error(what: &str, code: u32) -> String {
    format!("{what}: {}", std::io::Error::from_raw_os_error(code as i32))
}

struct Handle(SC_HANDLE);
impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a handle this module opened and owns.
        unsafe { CloseServiceHandle(self.0) };
    }
}

fn manager() -> Result<Handle, String> {
    // SAFETY: null machine and database names mean the local active database.
    let h = unsafe { OpenSCManagerW(std::ptr::null(), std::ptr::null(), SC_MANAGER_ALL_ACCESS) };
    if h.is_null() {
        return Err(last_error(
            "cannot open the service manager (run pmem-aff4 from an elevated prompt: Run as administrator)",
        ));
    }
    Ok(Handle(h))
}

fn open_service(scm: &Handle, name: &str) -> Option<Handle> {
    let n = wide(OsStr::new(name));
    // SAFETY: valid manager handle and NUL-terminated name.
    let h = unsafe { OpenServiceW(scm.0, n.as_ptr(), SERVICE_ALL_ACCESS) };
    (!h.is_null()).then_some(Handle(h))
}

/// How long a start waits while the service manager refuses it with
/// ERROR_SERVICE_DATABASE_LOCKED (another service is being started: during boot, by an
/// installer, or Wine's services.exe starting its own drivers) before giving up.
const LOCKED_WAIT: Duration = Duration::from_secs(60);
const LOCKED_RETRY_EVERY: Duration = Duration::from_millis(500);

fn start(svc: &Handle, name: &str) -> Result<(), String> {
    let what = || format!("cannot start the driver service {name}");
    let began = Instant::now();
    let mut said = false;
    loop {
        // SAFETY: valid service handle, no arguments.
        if unsafe { StartServiceW(svc.0, 0, std::ptr::null()) } != 0 {
            return Ok(());
        }
        // SAFETY: no preconditions.
        let code = unsafe { GetLastError() };
        match code {
            ERROR_SERVICE_ALREADY_RUNNING => return Ok(()),
            ERROR_SERVICE_DATABASE_LOCKED if began.elapsed() < LOCKED_WAIT => {
                if !said {
                    tracing::warn!(
                        "the service manager is busy starting another service (database locked): \
                         waiting up to {} s to start {name}",
                        LOCKED_WAIT.as_secs()
                    );
                    said = true;
                }
                std::thread::sleep(LOCKED_RETRY_EVERY);
            }
            ERROR_SERVICE_DATABASE_LOCKED => {
                return Err(format!(
                    "{} (still locked after {} s: retry once the other service has started; \
                     `sc queryex` lists START_PENDING ones)",
                    os_error(&what(), code),
                    LOCKED_WAIT.as_secs()
                ))
            }
            _ => return Err(os_error(&what(), code)),
        }
    }
}

/// Undoes what [`install`] or [`start_existing`] did, when dropped.
pub(crate) struct ServiceGuard;

impl Drop for ServiceGuard {
    fn drop(&mut self) {
        cleanup_now();
    }
}

/// Creates (or reuses a stale one of ours) and starts the service [`super::SERVICE_NAME`]
/// for the driver file `sys`; it is stopped and deleted when the guard drops.
pub(crate) fn install(sys: &Path) -> Result<ServiceGuard, String> {
    let name = super::SERVICE_NAME;
    let sys = std::path::absolute(sys).map_err(|e| format!("--driver {}: {e}", sys.display()))?;
    if !sys.is_file() {
        return Err(format!(
            "--driver {}: no such file (give the path of winpmem_x64.sys, see docs/WINDOWS.md)",
            sys.display()
        ));
    }
    let scm = manager()?;
    let n = wide(OsStr::new(name));
    let path = wide(sys.as_os_str());
    // SAFETY: valid manager handle, NUL-terminated strings, optional arguments null.
    let h = unsafe {
        CreateServiceW(
            scm.0,
            n.as_ptr(),
            n.as_ptr(),
            SERVICE_ALL_ACCESS,
            SERVICE_KERNEL_DRIVER,
            SERVICE_DEMAND_START,
            SERVICE_ERROR_NORMAL,
            path.as_ptr(),
            std::ptr::null(),
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    let svc = if h.is_null() {
        // SAFETY: no preconditions.
        if unsafe { GetLastError() } != ERROR_SERVICE_EXISTS {
            return Err(last_error(&format!(
                "cannot create the driver service {name} for {}",
                sys.display()
            )));
        }
        // Left by a run that was killed: ours to reuse and delete.
        tracing::warn!("service {name} exists (left by a killed run?): reusing and deleting it");
        open_service(&scm, name)
            .ok_or_else(|| last_error(&format!("cannot open service {name}")))?
    } else {
        Handle(h)
    };
    *INSTALLED.lock().unwrap_or_else(|p| p.into_inner()) = Some((name.to_string(), true));
    let guard = ServiceGuard;
    start(&svc, name).map_err(|e| {
        format!("{e}: the driver did not load (unsigned, blocked by HVCI / the vulnerable driver blocklist, or not a WinPmem driver; see docs/WINDOWS.md)")
    })?;
    tracing::info!(
        "driver service {name} created and started from {}",
        sys.display()
    );
    Ok(guard)
}

/// Starts an installed WinPmem service (`winpmem` or `pmem`). `Ok(None)`: none is
/// installed. The guard stops it again (it is not deleted: not ours).
pub(crate) fn start_existing() -> Result<Option<(String, ServiceGuard)>, String> {
    let scm = manager()?;
    for name in super::KNOWN_SERVICES {
        let Some(svc) = open_service(&scm, name) else {
            // SAFETY: no preconditions.
            match unsafe { GetLastError() } {
                ERROR_ACCESS_DENIED => {
                    return Err(last_error(&format!(
                        "cannot open service {name} (run as administrator)"
                    )))
                }
                // ERROR_SERVICE_DOES_NOT_EXIST, or marked for deletion (Wine: another error).
                code => {
                    tracing::debug!("service {name} not usable (Win32 error {code})");
                    continue;
                }
            }
        };
        *INSTALLED.lock().unwrap_or_else(|p| p.into_inner()) = Some((name.to_string(), false));
        let guard = ServiceGuard;
        start(&svc, name)?;
        tracing::info!("started the installed driver service {name}");
        return Ok(Some((name.to_string(), guard)));
    }
    Ok(None)
}

/// Stops the service this process started, and deletes it if it created it. Idempotent;
/// safe to call from the console control handler.
pub fn cleanup_now() {
    let Some((name, delete)) = INSTALLED.lock().unwrap_or_else(|p| p.into_inner()).take() else {
        return;
    };
    let Ok(scm) = manager() else {
        eprintln!("pmem-aff4: cannot open the service manager to unload {name}: run `sc stop {name}` and `sc delete {name}`");
        return;
    };
    let Some(svc) = open_service(&scm, &name) else {
        return;
    };
    // SAFETY: zeroed SERVICE_STATUS is a valid out-parameter.
    let mut status: SERVICE_STATUS = unsafe { std::mem::zeroed() };
    // SAFETY: valid service handle and out-parameter.
    if unsafe { ControlService(svc.0, SERVICE_CONTROL_STOP, &mut status) } == 0
        // SAFETY: no preconditions.
        && unsafe { GetLastError() } != ERROR_SERVICE_NOT_ACTIVE
    {
        eprintln!(
            "pmem-aff4: {}: run `sc stop {name}`",
            last_error(&format!("cannot stop the driver service {name}"))
        );
    }
    // SAFETY: valid service handle.
    if delete && unsafe { DeleteService(svc.0) } == 0 {
        eprintln!(
            "pmem-aff4: {}: run `sc delete {name}`",
            last_error(&format!("cannot delete the driver service {name}"))
        );
    } else {
        tracing::info!(
            "driver service {name} stopped{}",
            if delete { " and deleted" } else { "" }
        );
    }
}
