//! Shared helpers for the integration tests: finding `../shared` test data and oracles.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The workspace root (the directory holding the root Cargo.toml).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `../shared` beside the project (or `$PMEM_AFF4_SHARED`), if present.
pub fn shared_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PMEM_AFF4_SHARED") {
        return Some(PathBuf::from(p));
    }
    let p = workspace_root().join("../shared");
    p.join("testdata").is_dir().then_some(p)
}

/// Whether we run in CI, where a missing oracle is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// Returns the path of a file or directory under `../shared/testdata`, or `None` after
/// printing why the test is skipped. In CI a missing oracle panics.
pub fn shared_testdata(rel: &str) -> Option<PathBuf> {
    match shared_dir().map(|d| d.join("testdata").join(rel)) {
        Some(p) if p.exists() => Some(p),
        _ => {
            let msg = format!("oracle missing: ../shared/testdata/{rel} (set PMEM_AFF4_SHARED)");
            if in_ci() {
                panic!("{msg}");
            }
            eprintln!("SKIP: {msg}");
            None
        }
    }
}

/// The oracle venv's python (pyaff4 0.34 + volatility3), from `$PMEM_AFF4_VENV` or
/// `<workspace>/.venv`; `None` (with a SKIP message) when absent outside CI.
pub fn oracle_python() -> Option<PathBuf> {
    let venv = std::env::var_os("PMEM_AFF4_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv"));
    let py = venv.join("bin/python");
    if py.exists() {
        return Some(py);
    }
    let msg = format!(
        "oracle missing: pyaff4 venv at {} (run ../shared/oracles/setup-venv.sh .venv)",
        venv.display()
    );
    if in_ci() {
        panic!("{msg}");
    }
    eprintln!("SKIP: {msg}");
    None
}
