//! Helpers shared by the `zip_*` integration tests: the independent ZIP oracles
//! (Python's `zipfile`, Info-ZIP `unzip -t`, the `zip` crate) and record patching.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether we run in CI, where a missing oracle is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// The path of the executable `name` on `PATH`, or `None` after printing why the test is
/// skipped (panics in CI).
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = format!("oracle missing: `{name}` is not on PATH (apt-get install {name})");
        assert!(!in_ci(), "{msg}");
        eprintln!("SKIP: {msg}");
    }
    found
}

/// One member as Python's `zipfile` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyMember {
    /// Name as Python decodes it.
    pub name: String,
    /// Uncompressed size from the directory.
    pub size: u64,
    /// Compression method.
    pub method: u16,
    /// SHA-256 (hex) of the bytes Python reads (it checks the CRC while reading).
    pub sha256: String,
    /// The raw CD extra field, hex.
    pub extra: String,
}

const PY_LIST: &str = r#"
import hashlib, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print("COMMENT", z.comment.hex())
bad = z.testzip()
print("TESTZIP", bad if bad is not None else "-")
seen = {}
for i in z.infolist():
    seen[i.filename] = i
for name, i in seen.items():
    h = hashlib.sha256(z.read(i)).hexdigest()
    print("M", name.encode("utf-8", "surrogateescape").hex(), i.file_size, i.compress_type, h, i.extra.hex() or "-")
"#;

/// The comment and members (last of each name) as Python's `zipfile` reads `path`;
/// asserts `testzip()` finds no bad CRC. `None` when python3 is absent outside CI.
pub fn python_members(path: &Path) -> Option<(Vec<u8>, Vec<PyMember>)> {
    let py = tool("python3")?;
    let out = Command::new(py)
        .arg("-c")
        .arg(PY_LIST)
        .arg(path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python zipfile rejects {}: {}{stdout}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut comment = Vec::new();
    let mut members = Vec::new();
    for line in stdout.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f.as_slice() {
            ["COMMENT", hex] => comment = unhex(hex),
            ["TESTZIP", bad] => assert_eq!(*bad, "-", "python testzip: bad CRC in {bad}"),
            ["M", name, size, method, sha, extra] => members.push(PyMember {
                name: String::from_utf8(unhex(name)).unwrap(),
                size: size.parse().unwrap(),
                method: method.parse().unwrap(),
                sha256: sha.to_string(),
                extra: extra.trim_start_matches('-').to_string(),
            }),
            other => panic!("unexpected python output {other:?}"),
        }
    }
    Some((comment, members))
}

/// Runs `unzip -t` on `path` and asserts it reports no errors. Returns `false` (after a
/// SKIP message) when unzip is absent outside CI.
pub fn unzip_test(path: &Path) -> bool {
    let Some(unzip) = tool("unzip") else {
        return false;
    };
    let out = Command::new(unzip).arg("-t").arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "unzip -t {} failed ({}): {}{}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("No errors detected"), "unzip -t: {text}");
    assert!(
        !text.contains("warning") && warnings.is_empty(),
        "unzip -t: {text}{warnings}"
    );
    true
}

/// Runs a Python snippet with `sys.argv[1] = arg`; returns whether python3 was present.
pub fn run_python(script: &str, arg: &Path) -> bool {
    let Some(py) = tool("python3") else {
        return false;
    };
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(arg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

/// Lowercase hex of `b`.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Bytes of the hex string `s`.
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// SHA-256 hex of `b`, as Python prints it.
pub fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(b))
}

/// The offset of the last occurrence of `needle` in `hay`.
pub fn rfind(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .rposition(|w| w == needle)
        .expect("signature present")
}

/// The offset of the first occurrence of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("signature present")
}

/// Overwrites `b[at..]` with the little-endian bytes of `v`.
pub fn patch(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}
