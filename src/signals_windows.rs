//! Windows counterpart of `signals.rs` (same API): Ctrl-C, Ctrl-Break and closing the
//! console window reach a console control handler (`SetConsoleCtrlHandler`). The first
//! stops reading but still closes a valid (incomplete) container; a second one removes the
//! unfinished output and exits at once with 130. Windows runs the handler on a thread of
//! its own, so it may call ordinary functions.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use windows_sys::Win32::Foundation::{BOOL, TRUE};
use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;

static STOP: AtomicBool = AtomicBool::new(false);
/// The temporary output file to remove on a second event.
static PARTIAL: Mutex<Option<PathBuf>> = Mutex::new(None);

/// CTRL_CLOSE_EVENT and later (logoff, shutdown): Windows ends the process when the
/// handler returns, or after about 5 s.
const CTRL_CLOSE_EVENT: u32 = 2;

unsafe extern "system" fn on_ctrl(event: u32) -> BOOL {
    if !STOP.swap(true, Ordering::SeqCst) {
        if event >= CTRL_CLOSE_EVENT {
            // The console is going away: give the acquisition up to 4 s to close the
            // container (it forgets the partial file once renamed into place), then
            // unload the driver before Windows ends the process.
            for _ in 0..40 {
                if PARTIAL.lock().map_or(true, |p| p.is_none()) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            drivers::windows::cleanup_now();
        }
        // Handled: the process goes on and closes the container as incomplete.
        return TRUE;
    }
    let partial = PARTIAL.lock().ok().and_then(|p| p.clone());
    let msg = match &partial {
        Some(p) => {
            let _ = std::fs::remove_file(p);
            "pmem-aff4: interrupted again: stopped at once, the unfinished output was removed"
        }
        None => "pmem-aff4: interrupted again: stopped at once",
    };
    eprintln!("{msg}");
    drivers::windows::cleanup_now();
    std::process::exit(130);
}

/// Installs the handler.
pub fn install() {
    // SAFETY: registers a plain function with the signature the API expects.
    unsafe { SetConsoleCtrlHandler(Some(on_ctrl), TRUE) };
}

/// Names the temporary output that a second Ctrl-C removes before exiting.
pub fn remove_on_abort(path: &Path) {
    if let Ok(mut p) = PARTIAL.lock() {
        *p = Some(path.to_path_buf());
    }
}

/// Forgets the temporary output (it was renamed into place or removed).
pub fn forget_partial() {
    if let Ok(mut p) = PARTIAL.lock() {
        *p = None;
    }
}

/// Whether a stop was requested.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}
