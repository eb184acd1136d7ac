//! ZIPs written by other producers (Python's `zipfile`, the `zip` crate) and shapes
//! real AFF4 producers leave behind: plain EOCDs, data descriptors, prefixed and
//! appended ZIPs, duplicate names, deflated members.

mod zip_util;

use aff4::zip::{Method, ZipArchive, ZipWriter};
use std::io::Write;

fn parse(bytes: &Vec<u8>) -> ZipArchive {
    ZipArchive::parse(bytes).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `script` (which writes the ZIP to `sys.argv[1]`) and returns the file's bytes.
fn python_zip(script: &str) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("made-by-python.zip");
    zip_util::run_python(script, &path).then(|| std::fs::read(&path).unwrap())
}

const PY_PLAIN: &str = r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.comment = b"aff4://plain\0"
    z.writestr("information.turtle", "@prefix aff4: <http://aff4.org/Schema#> .\n" * 50,
               compress_type=zipfile.ZIP_DEFLATED)
    z.writestr("data/00000000", bytes(range(256)) * 40)
    z.writestr("ünïcode name", b"x")
"#;

#[test]
fn python_plain_zip_with_deflated_member_and_nul_comment() {
    let Some(b) = python_zip(PY_PLAIN) else {
        return;
    };
    assert_eq!(
        &b[b.len() - 22 - 13..b.len() - 13 - 18],
        b"PK\x05\x06",
        "plain EOCD"
    );
    let a = parse(&b);
    assert_eq!(a.comment(), "aff4://plain");
    let names: Vec<&str> = a.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["information.turtle", "data/00000000", "ünïcode name"]
    );
    let t = a.entry("information.turtle").unwrap();
    assert_eq!(t.method, Method::Deflated);
    assert!(t.compressed_size < t.size);
    let turtle = a.read_member(&b, "information.turtle", 1 << 20).unwrap();
    assert_eq!(
        turtle,
        "@prefix aff4: <http://aff4.org/Schema#> .\n"
            .repeat(50)
            .as_bytes()
    );
    let data = a.read_member(&b, "data/00000000", 1 << 20).unwrap();
    assert_eq!(data, (0..=255u8).collect::<Vec<_>>().repeat(40));
}

const PY_STREAMED: &str = r#"
import sys, zipfile
class Unseekable:
    def __init__(self, f): self.f = f
    def write(self, b): return self.f.write(b)
    def flush(self): self.f.flush()
with open(sys.argv[1], "wb") as f:
    with zipfile.ZipFile(Unseekable(f), "w") as z:
        z.comment = b"aff4://streamed"
        with z.open("big", "w", force_zip64=True) as m:
            m.write(b"0123456789" * 1000)
        with z.open("small", "w") as m:
            m.write(b"abc")
        z.writestr(zipfile.ZipInfo("deflated"), b"zz" * 5000, zipfile.ZIP_DEFLATED)
"#;

#[test]
fn python_data_descriptors_take_sizes_from_the_directory() {
    let Some(b) = python_zip(PY_STREAMED) else {
        return;
    };
    assert!(
        b.windows(4).any(|w| w == b"PK\x07\x08"),
        "python wrote no data descriptor"
    );
    let a = parse(&b);
    assert_eq!(a.comment(), "aff4://streamed");
    assert_eq!(
        a.read_member(&b, "big", 1 << 20).unwrap(),
        b"0123456789".repeat(1000)
    );
    assert_eq!(a.read_member(&b, "small", 10).unwrap(), b"abc");
    assert_eq!(
        a.read_member(&b, "deflated", 1 << 20).unwrap(),
        b"zz".repeat(5000)
    );
}

const PY_DUPLICATES: &str = r#"
import sys, warnings, zipfile
warnings.simplefilter("ignore")
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.comment = b"aff4://dups"
    z.writestr("information.turtle", b"old turtle")
    z.writestr("other", b"o")
    z.writestr("information.turtle", b"new turtle", zipfile.ZIP_DEFLATED)
"#;

#[test]
fn duplicate_names_last_directory_entry_wins() {
    let Some(b) = python_zip(PY_DUPLICATES) else {
        return;
    };
    let a = parse(&b);
    assert_eq!(a.entries().len(), 2);
    assert_eq!(
        a.read_member(&b, "information.turtle", 100).unwrap(),
        b"new turtle"
    );
    assert_eq!(
        a.entry("information.turtle").unwrap().method,
        Method::Deflated
    );
}

fn our_volume(comment: &str, members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = ZipWriter::new(Vec::new());
    for (name, data) in members {
        z.add_stored(name, data).unwrap();
    }
    z.finish(comment).unwrap()
}

#[test]
fn prefixed_zip64_volume_resolves_through_the_global_offset() {
    let vol = our_volume("aff4://pre", &[("a", b"alpha"), ("b", b"beta")]);
    let mut b = b"some bytes that are not a zip at all".repeat(100);
    b.extend_from_slice(&vol);
    let a = parse(&b);
    assert_eq!(a.read_member(&b, "a", 10).unwrap(), b"alpha");
    assert_eq!(a.read_member(&b, "b", 10).unwrap(), b"beta");
}

#[test]
fn prefixed_plain_zip_resolves_through_the_global_offset() {
    let Some(zip) = python_zip(PY_PLAIN) else {
        return;
    };
    let mut b = vec![0x5a; 12345];
    b.extend_from_slice(&zip);
    let a = parse(&b);
    assert_eq!(a.read_member(&b, "ünïcode name", 10).unwrap(), b"x");
}

#[test]
fn appended_zips_the_last_end_record_wins() {
    let Some(py) = python_zip(PY_PLAIN) else {
        return;
    };
    // python zip, then our ZIP64 volume appended (offsets relative to its own start).
    let mut b = py.clone();
    b.extend_from_slice(&our_volume("aff4://second", &[("new", b"new data")]));
    let a = parse(&b);
    assert_eq!(a.comment(), "aff4://second");
    assert_eq!(a.read_member(&b, "new", 100).unwrap(), b"new data");
    assert!(a.entry("data/00000000").is_none());
    // our volume, then the python plain zip appended.
    let mut b = our_volume("aff4://first", &[("old", b"old")]);
    b.extend_from_slice(&py);
    let a = parse(&b);
    assert_eq!(a.comment(), "aff4://plain");
    assert_eq!(a.read_member(&b, "ünïcode name", 10).unwrap(), b"x");
    // our volume, then a second volume written with absolute offsets (new_at).
    let first = our_volume("aff4://first", &[("old", b"old")]);
    let at = first.len() as u64;
    let mut z = ZipWriter::new_at(first, at);
    z.add_stored("newer", b"absolute").unwrap();
    let b = z.finish("aff4://third").unwrap();
    let a = parse(&b);
    assert_eq!(a.comment(), "aff4://third");
    assert_eq!(a.entry("newer").unwrap().data_offset, at + 30 + 5);
    assert_eq!(a.read_member(&b, "newer", 100).unwrap(), b"absolute");
}

#[test]
fn zip_crate_plain_eocd_archive() {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = stored.compression_method(zip::CompressionMethod::Deflated);
    w.start_file("stored", stored).unwrap();
    w.write_all(b"plain stored member").unwrap();
    w.start_file("deflated", deflated).unwrap();
    w.write_all(&b"compress me ".repeat(300)).unwrap();
    w.set_comment("aff4://crate");
    let b = w.finish().unwrap().into_inner();
    let a = parse(&b);
    assert_eq!(a.comment(), "aff4://crate");
    assert_eq!(
        a.read_member(&b, "stored", 100).unwrap(),
        b"plain stored member"
    );
    assert_eq!(a.entry("deflated").unwrap().method, Method::Deflated);
    assert_eq!(
        a.read_member(&b, "deflated", 1 << 20).unwrap(),
        b"compress me ".repeat(300)
    );
}

#[test]
fn eocd_comment_without_nul_and_empty_comment() {
    let b = our_volume("", &[("m", b"1")]);
    assert_eq!(parse(&b).comment(), "");
    let b = our_volume("aff4://x\0", &[("m", b"1")]);
    assert_eq!(parse(&b).comment(), "aff4://x");
    let b = our_volume("aff4://x\0\0", &[("m", b"1")]);
    assert_eq!(parse(&b).comment(), "aff4://x\0", "only one NUL is removed");
}
