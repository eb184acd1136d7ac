//! Symbolic-stream bytes and hash datatypes/digests compared with pyaff4 0.34 itself.

mod common;

use aff4::hash::{to_hex, HashAlgo};
use aff4::symbolic::Symbolic;
use std::process::Command;

/// Prints, for each `iri offset length` line on stdin, the hex of the bytes pyaff4's
/// standard-lexicon stream factory gives for that symbolic stream at that offset.
const SYMBOLIC: &str = r#"
import sys, binascii
from pyaff4 import lexicon, stream_factory
f = stream_factory.StdStreamFactory(None, lexicon.standard)
for line in sys.stdin:
    iri, off, n = line.split()
    s = f.createSymbolic(iri)
    s.SeekRead(int(off))
    print(binascii.hexlify(s.Read(int(n))).decode())
"#;

fn python(script: &str, stdin: &str) -> Option<String> {
    let py = common::oracle_python()?;
    let mut child = Command::new(py)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn symbolic_bytes_equal_pyaff4_across_mebibyte_boundaries() {
    const MIB: u64 = 1 << 20;
    let cases: Vec<(&str, u64, usize)> = vec![
        ("http://aff4.org/Schema#UnknownData", 0, 40),
        ("http://aff4.org/Schema#UnknownData", 13, 1000),
        ("http://aff4.org/Schema#UnknownData", MIB - 9, 30),
        (
            "http://aff4.org/Schema#UnknownData",
            5 * MIB - 3,
            2 * MIB as usize + 7,
        ),
        ("http://aff4.org/Schema#UnreadableData", 1, 64),
        ("http://aff4.org/Schema#UnreadableData", MIB - 11, 40),
        (
            "http://aff4.org/Schema#UnreadableData",
            7 * MIB + 12345,
            70_001,
        ),
        ("http://aff4.org/Schema#Zero", 77, 20),
        ("http://aff4.org/Schema#SymbolicStreamab", 3, 20),
        ("http://aff4.org/Schema#SymbolicStream7F", 0, 9),
    ];
    let input: String = cases
        .iter()
        .map(|(i, o, n)| format!("{i} {o} {n}\n"))
        .collect();
    let Some(out) = python(SYMBOLIC, &input) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), cases.len());
    for ((iri, off, n), want) in cases.iter().zip(lines) {
        let s = Symbolic::from_iri(iri).unwrap();
        let mut buf = vec![0u8; *n];
        s.fill(*off, &mut buf);
        assert_eq!(to_hex(&buf), want, "{iri} at {off}+{n}");
    }
}

/// Prints pyaff4's BLAKE2b datatype, then for each algorithm its digest of b"abc" * 1000.
const HASHES: &str = r#"
from pyaff4 import lexicon, hashes
print(lexicon.HASH_BLAKE2B)
for dt in [lexicon.HASH_MD5, lexicon.HASH_SHA1, lexicon.HASH_SHA256, lexicon.HASH_SHA512, lexicon.HASH_BLAKE2B]:
    h = hashes.new(dt); h.update(b"abc" * 1000)
    print(dt, hashes.toShortAlgoName(dt), hashes.length(dt), h.hexdigest())
"#;

#[test]
fn datatypes_names_and_digests_equal_pyaff4() {
    let Some(out) = python(HASHES, "") else {
        return;
    };
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(HashAlgo::Blake2b.datatype()));
    for (algo, line) in HashAlgo::ALL.into_iter().zip(lines) {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f[0], algo.datatype(), "{algo:?}");
        assert_eq!(f[1], algo.name(), "{algo:?}");
        assert_eq!(f[2], algo.digest_len().to_string(), "{algo:?}");
        assert_eq!(f[3], to_hex(&algo.digest(&b"abc".repeat(1000))), "{algo:?}");
    }
}
