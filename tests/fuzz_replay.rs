//! The fuzz targets (`fuzz/`, libFuzzer, nightly) replayed on stable: every target
//! over its generated seeds and every kept crash input (`fuzz/regressions/<target>/`).
//! With `PMEM_AFF4_FUZZ_CORPUS=DIR` it also writes the seeds to `DIR/<target>/`, the
//! starting corpus `bench/fuzz` gives `cargo fuzz`.

#[path = "../fuzz/src/seeds.rs"]
mod seeds;
#[path = "../fuzz/src/targets.rs"]
mod targets;

use std::path::{Path, PathBuf};

fn shared() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PMEM_AFF4_SHARED") {
        return Some(PathBuf::from(p));
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.join("testdata").is_dir() {
        return Some(p);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "../shared/testdata missing: the seeds need it");
    eprintln!("SKIP part of the seeds: ../shared/testdata missing");
    None
}

#[test]
fn every_fuzz_target_survives_its_seeds_and_kept_crashes() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = shared();
    let out = std::env::var_os("PMEM_AFF4_FUZZ_CORPUS").map(PathBuf::from);
    let mut total = 0;
    for (name, body) in targets::TARGETS {
        let mut inputs = seeds::seeds(name, shared.as_deref(), repo);
        assert!(!inputs.is_empty(), "{name}: no seeds");
        if let Some(dir) = &out {
            let d = dir.join(name);
            std::fs::create_dir_all(&d).unwrap();
            for (n, b) in &inputs {
                std::fs::write(d.join(n), b).unwrap();
            }
        }
        let kept = repo.join("fuzz/regressions").join(name);
        if let Ok(rd) = std::fs::read_dir(&kept) {
            for e in rd.flatten() {
                inputs.push((
                    e.path().display().to_string(),
                    std::fs::read(e.path()).unwrap(),
                ));
            }
        }
        for (n, b) in &inputs {
            let r = std::panic::catch_unwind(|| body(b));
            assert!(r.is_ok(), "fuzz target {name} panics on {n}");
            total += 1;
        }
    }
    eprintln!(
        "{total} inputs replayed over {} targets",
        targets::TARGETS.len()
    );
}
