//! Loading the infected module and reaching its device: the refusals checked before
//! anything is loaded, `init_module(2)` from memory, the character device node made in a
//! private 0700 directory and removed as soon as it is open, and `delete_module(2)` when
//! the source is dropped (and from the second-signal path, see [`emergency_unload`]).

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

/// The infected module's name (in `lsmod`) and its character device's (in /proc/devices).
pub const MODULE_NAME: &str = "pmem_lmap";
const MODULE_NAME_C: &[u8] = b"pmem_lmap\0";

/// The open device's descriptor while the module is loaded (-1 otherwise), for
/// [`emergency_unload`].
static OPEN_FD: AtomicI32 = AtomicI32::new(-1);
static LOADED: AtomicI32 = AtomicI32::new(0);

/// The one-line refusal that applies to this machine before anything is loaded, if any.
/// `root` is whether the process has CAP_SYS_MODULE (effective uid 0).
pub fn preflight(root: bool) -> Result<(), String> {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    let signed_fix = "lmap's module is unsigned: build drivers/linux/pmem (pmem.ko), sign it with a key enrolled with mokutil (MOK), and use --source pmem";
    if !std::path::Path::new("/proc/modules").exists() {
        return Err("the kernel has no loadable module support (no /proc/modules): use --source kcore or devmem".into());
    }
    if read("/proc/sys/kernel/modules_disabled").as_deref() == Some("1") {
        return Err("module loading is disabled until reboot (/proc/sys/kernel/modules_disabled = 1): use --source kcore, or a pmem.ko loaded before it was set".into());
    }
    if read("/sys/module/module/parameters/sig_enforce").as_deref() == Some("Y") {
        return Err(format!(
            "the kernel only loads signed modules (module.sig_enforce / CONFIG_MODULE_SIG_FORCE): {signed_fix}"
        ));
    }
    if let Some(l) = read("/sys/kernel/security/lockdown") {
        if l.contains("[integrity]") || l.contains("[confidentiality]") {
            return Err(format!(
                "kernel lockdown is on ({l}; Secure Boot turns it on), so unsigned modules are refused: {signed_fix}"
            ));
        }
    }
    if read("/sys/hypervisor/guest_type").as_deref() == Some("PV") {
        return Err("this is a Xen PV guest (Xen owns the page tables, a PTE remap would fault): use --source kcore".into());
    }
    if let Some(c) = read("/proc/cpuinfo") {
        if c.lines()
            .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "tdx_guest"))
        {
            return Err("this is an Intel TDX guest (encrypted memory: a PTE remap reads ciphertext): use --source kcore".into());
        }
    }
    if !root {
        return Err("loading a module needs root (CAP_SYS_MODULE): run as root".into());
    }
    Ok(())
}

/// Whether a module named [`MODULE_NAME`] is loaded, and its reference count.
pub fn loaded() -> Option<u64> {
    let m = std::fs::read_to_string("/proc/modules").ok()?;
    m.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next() == Some(MODULE_NAME)).then(|| f.nth(1).and_then(|r| r.parse().ok()).unwrap_or(0))
    })
}

fn delete_module() -> std::io::Result<()> {
    // SAFETY: the name is NUL-terminated and outlives the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_delete_module,
            MODULE_NAME_C.as_ptr(),
            libc::O_NONBLOCK,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Unloads a [`MODULE_NAME`] module left by an earlier run killed before it could
/// (unused: refcount 0). Returns whether one was unloaded.
pub fn unload_stale() -> Result<bool, String> {
    match loaded() {
        None => Ok(false),
        Some(0) => delete_module().map(|()| true).map_err(|e| {
            format!("a {MODULE_NAME} module from an earlier run is loaded and cannot be unloaded ({e}): rmmod {MODULE_NAME}")
        }),
        Some(n) => Err(format!(
            "a {MODULE_NAME} module is loaded and in use ({n} users: another pmem-aff4 is running?): wait for it or rmmod {MODULE_NAME}"
        )),
    }
}

/// The loaded module; unloaded on drop (after the device file, which pins it, is closed).
#[derive(Debug)]
pub struct Loaded {
    _private: (),
}

impl Drop for Loaded {
    fn drop(&mut self) {
        OPEN_FD.store(-1, Ordering::SeqCst);
        if LOADED.swap(0, Ordering::SeqCst) == 0 {
            return;
        }
        // A reader thread may still hold the file for a moment: retry briefly.
        let mut last = None;
        for _ in 0..50 {
            match delete_module() {
                Ok(()) => {
                    tracing::info!("lmap: module {MODULE_NAME} unloaded");
                    return;
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        tracing::error!(
            "lmap: cannot unload module {MODULE_NAME} ({}): rmmod {MODULE_NAME}",
            last.map(|e| e.to_string()).unwrap_or_default()
        );
    }
}

/// What `init_module` errno means here (the parasite's init returns distinct errnos).
fn init_error(e: &std::io::Error, host: &str, unversioned: &[String]) -> String {
    if e.raw_os_error() == Some(libc::EINVAL) && !unversioned.is_empty() {
        return format!(
            "the kernel requires a symbol version (CRC) for {}, and no installed module has one (EINVAL): install the running kernel's full modules package (linux-image-$(uname -r))",
            unversioned.join(", ")
        );
    }
    let fix_signed = "lmap's module is unsigned: use a MOK-signed pmem.ko (--source pmem)";
    match e.raw_os_error() {
        Some(libc::EEXIST) => format!("a module named {MODULE_NAME} is already loaded: rmmod {MODULE_NAME}"),
        Some(libc::EPERM) => format!("the kernel refused to load a module (EPERM: lockdown or a security module): {fix_signed}"),
        Some(libc::EKEYREJECTED) | Some(libc::ENOKEY) => format!("the kernel requires a valid module signature ({e}): {fix_signed}"),
        Some(libc::ENOEXEC) => format!("the kernel refused the module built from host {host} as invalid (ENOEXEC; dmesg says why): try another host with --source lmap:PATH"),
        Some(libc::ENOENT) => format!("a symbol the module built from host {host} needs is not in this kernel (ENOENT; dmesg names it): try another host with --source lmap:PATH"),
        Some(libc::EINVAL) => format!("the module built from host {host} does not match this kernel (EINVAL: wrong symbol version or vermagic; dmesg says which): use the host modules of the running kernel"),
        Some(libc::EDOM) => "the parasite's rogue page is not page-aligned: report a bug".into(),
        Some(libc::ENXIO) => "the parasite's page-table walk found a missing level: use --source kcore or pmem".into(),
        Some(libc::EFBIG) => "the parasite's rogue page is mapped by a large page, not a 4 KiB PTE: use --source kcore or pmem".into(),
        Some(libc::EMEDIUMTYPE) => "memory encryption (AMD SME/SEV) is active: a rogue PTE without the C-bit would read ciphertext: use --source kcore".into(),
        _ => format!("init_module of the module built from host {host} failed: {e}"),
    }
}

/// Loads `image` (an infected module) and opens its device read-only.
/// `unversioned`: imports added without a CRC (named if the kernel refuses them).
pub fn load_and_open(
    image: &[u8],
    host: &str,
    unversioned: &[String],
) -> Result<(File, Loaded), String> {
    // SAFETY: image is a valid buffer of image.len() bytes; the params string is "".
    let rc = unsafe {
        libc::syscall(
            libc::SYS_init_module,
            image.as_ptr(),
            image.len() as libc::c_ulong,
            c"".as_ptr(),
        )
    };
    if rc != 0 {
        return Err(init_error(
            &std::io::Error::last_os_error(),
            host,
            unversioned,
        ));
    }
    LOADED.store(1, Ordering::SeqCst);
    let guard = Loaded { _private: () };
    let major = major_of(MODULE_NAME).ok_or_else(|| {
        format!("module {MODULE_NAME} loaded but its device is not in /proc/devices: report a bug")
    })?;
    let file = open_node(major)?;
    OPEN_FD.store(file.as_raw_fd(), Ordering::SeqCst);
    Ok((file, guard))
}

/// The major number of character device `name` in /proc/devices.
pub fn major_of(name: &str) -> Option<u32> {
    parse_major(&std::fs::read_to_string("/proc/devices").ok()?, name)
}

/// The major number of character device `name` in /proc/devices text.
pub fn parse_major(devices: &str, name: &str) -> Option<u32> {
    devices
        .lines()
        .skip_while(|l| !l.starts_with("Character devices"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("Block devices"))
        .find_map(|l| {
            let (n, dev) = l.trim().split_once(' ')?;
            (dev.trim() == name).then(|| n.parse().ok()).flatten()
        })
}

/// A fresh 0700 directory for the device node: in /dev first (devtmpfs allows device
/// nodes; /tmp is often mounted nodev), else in the temporary directory.
fn private_dir() -> Result<std::path::PathBuf, String> {
    let mut last = String::new();
    for base in [std::path::PathBuf::from("/dev"), std::env::temp_dir()] {
        let mut tmpl = CString::new(base.join("pmem-lmap.XXXXXX").as_os_str().as_encoded_bytes())
            .map_err(|_| "bad temporary directory path".to_string())?
            .into_bytes_with_nul();
        // SAFETY: tmpl is a writable NUL-terminated template ending in XXXXXX.
        let p = unsafe { libc::mkdtemp(tmpl.as_mut_ptr().cast()) };
        if !p.is_null() {
            tmpl.pop();
            return Ok(std::path::PathBuf::from(
                String::from_utf8_lossy(&tmpl).into_owned(),
            ));
        }
        last = format!("{}: {}", base.display(), std::io::Error::last_os_error());
    }
    Err(format!("cannot make a private directory for the lmap device node ({last}): set TMPDIR to a writable directory"))
}

/// Makes the node in a fresh 0700 directory, opens it, and removes node and directory.
fn open_node(major: u32) -> Result<File, String> {
    let dir = private_dir()?;
    let node = dir.join("pmem");
    let node_c = CString::new(node.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: node_c is NUL-terminated; makedev/mknod have no other preconditions.
    let rc = unsafe {
        libc::mknod(
            node_c.as_ptr(),
            libc::S_IFCHR | 0o400,
            libc::makedev(major, 0),
        )
    };
    let opened = if rc == 0 {
        File::open(&node)
            .map_err(|e| format!("cannot open the lmap device {}: {e}", node.display()))
    } else {
        Err(format!(
            "cannot make the lmap device node in {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ))
    };
    let _ = std::fs::remove_file(&node);
    let _ = std::fs::remove_dir(&dir);
    opened
}

/// For the second-signal path (which exits at once): closes the device and unloads the
/// module. Only async-signal-safe calls (close, delete_module).
pub fn emergency_unload() {
    let fd = OPEN_FD.swap(-1, Ordering::SeqCst);
    if LOADED.swap(0, Ordering::SeqCst) == 0 {
        return;
    }
    // SAFETY: close and the delete_module syscall are async-signal-safe; fd is ours.
    unsafe {
        if fd >= 0 {
            libc::close(fd);
        }
        libc::syscall(
            libc::SYS_delete_module,
            MODULE_NAME_C.as_ptr(),
            libc::O_NONBLOCK,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_is_found_among_character_devices_only() {
        let t = "Character devices:\n  1 mem\n 10 misc\n250 pmem_lmap\n\nBlock devices:\n251 pmem_lmap_blk\n259 blkext\n";
        assert_eq!(parse_major(t, "pmem_lmap"), Some(250));
        assert_eq!(parse_major(t, "misc"), Some(10));
        assert_eq!(parse_major(t, "blkext"), None);
        assert_eq!(parse_major(t, "pmem"), None);
        assert_eq!(parse_major("", "pmem_lmap"), None);
    }
}
