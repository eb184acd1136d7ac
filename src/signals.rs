//! SIGINT/SIGTERM: the first stops reading but still closes a valid (incomplete)
//! container; a second one removes the unfinished output and exits at once.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
/// The temporary output file to remove on a second signal (a leaked C string), or null.
static PARTIAL: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

extern "C" fn on_signal(_sig: libc::c_int) {
    if !STOP.swap(true, Ordering::SeqCst) {
        return;
    }
    // Second signal. Only async-signal-safe calls from here: unlink, write, _exit.
    let partial = PARTIAL.load(Ordering::SeqCst);
    let msg: &[u8] = if partial.is_null() {
        b"pmem-aff4: interrupted again: stopped at once\n"
    } else {
        b"pmem-aff4: interrupted again: stopped at once, the unfinished output was removed\n"
    };
    // SAFETY: `partial` is null or a NUL-terminated string leaked by `remove_on_abort`
    // and never freed; unlink, write and _exit are async-signal-safe.
    unsafe {
        if !partial.is_null() {
            libc::unlink(partial);
        }
        libc::write(2, msg.as_ptr().cast(), msg.len());
        // An lmap module must not stay loaded (close + delete_module, signal-safe).
        drivers::lmap::emergency_unload();
        libc::_exit(130);
    }
}

/// Installs the handlers.
pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `on_signal` only touches atomics and async-signal-safe calls;
        // SA_RESTART keeps blocking reads and writes from failing with EINTR.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_signal as *const () as usize;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// Names the temporary output that a second Ctrl-C/SIGTERM removes before exiting
/// (so no half-written file is left behind even then). Call once per process.
pub fn remove_on_abort(path: &Path) {
    if let Ok(c) = CString::new(path.as_os_str().as_bytes()) {
        // Leaked on purpose: a handler may read it at any time.
        PARTIAL.store(c.into_raw(), Ordering::SeqCst);
    }
}

/// Forgets the temporary output (it was renamed into place or removed).
pub fn forget_partial() {
    PARTIAL.store(std::ptr::null_mut(), Ordering::SeqCst);
}

/// Whether a stop was requested.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}
