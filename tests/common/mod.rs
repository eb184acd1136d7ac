//! Helpers shared by the command-line integration tests: running the binary, the
//! oracle venv, acquiring and exporting.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `pmem-aff4` binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pmem-aff4"))
}

/// Runs `pmem-aff4 args…` to completion.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run pmem-aff4")
}

/// Whether this is CI (missing oracles must fail there, not skip).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A program of the oracle venv (`$PMEM_AFF4_VENV`, default `.venv`); `None` (after
/// saying so) when it is missing outside CI, a failure in CI.
pub fn venv_bin(name: &str) -> Option<PathBuf> {
    let venv = std::env::var_os("PMEM_AFF4_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let p = venv.join("bin").join(name);
    if p.exists() {
        return Some(p);
    }
    let msg = format!(
        "oracle missing: {} (run ../shared/oracles/setup-venv.sh .venv)",
        p.display()
    );
    assert!(!in_ci(), "{msg}");
    eprintln!("SKIP: {msg}");
    None
}

/// Runs `script` with the oracle venv's `python` (`python -c SCRIPT ARGS…`) and asserts
/// that it printed `PYAFF4-OK` (its stderr is shown otherwise).
pub fn assert_pyaff4_script(py: &Path, script: &str, args: &[&std::ffi::OsStr]) {
    let o = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("PYAFF4-OK"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Acquires `src` (a `--source` spec) into `out` with `extra` flags; must succeed;
/// returns the JSON summary.
pub fn acquire(src: &str, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--source", src, "-o", out.to_str().unwrap(), "--json", "-q"];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(
        o.status.success(),
        "acquire failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON summary")
}

/// Exports the memory image of `container` to `out` as `format`; must succeed.
pub fn export(container: &Path, out: &Path, format: &str) {
    let o = run(&[
        "-q",
        "--export",
        out.to_str().unwrap(),
        "--format",
        format,
        container.to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "export to {format} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs Volatility 3's `banners.Banners` on the LiME file `lime` (from the oracle venv)
/// and asserts that it prints `banner`. Skips, saying so, when the oracle is missing
/// outside CI.
pub fn assert_volatility_banner(lime: &Path, banner: &str) {
    let Some(vol) = venv_bin("vol") else { return };
    let o = Command::new(vol)
        .args(["-q", "-f"])
        .arg(lime)
        .arg("banners.Banners")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(banner),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
