//! Every shared reference and c-aff4 volume parses, and our reader agrees member by
//! member with Python's `zipfile` (an independent reader).

mod common;
mod zip_util;

use aff4::urn::urn_for_member_name;
use aff4::zip::{Method, ZipArchive};
use std::path::PathBuf;

const VOLUMES: [&str; 10] = [
    "reference/AFF4Std/Base-Linear.aff4",
    "reference/AFF4Std/Base-Allocated.aff4",
    "reference/AFF4Std/Base-Linear-ReadError.aff4",
    "reference/AFF4Std/Base-Linear-AllHashes.aff4",
    "reference/AFF4Std/Striped/Base-Linear_1.aff4",
    "reference/AFF4Std/Striped/Base-Linear_2.aff4",
    "reference/AFF4PreStd/Base-Linear.af4",
    "reference/AFF4-L/dream.aff4",
    "c-aff4/c-aff4-snappy.aff4",
    "c-aff4/c-aff4-zlib.aff4",
];
const C_AFF4_LOGICAL: &str = "c-aff4/c-aff4-logical.aff4";

fn volumes() -> Option<Vec<(String, PathBuf)>> {
    let mut v = Vec::new();
    for rel in VOLUMES.iter().chain([&C_AFF4_LOGICAL]) {
        v.push((rel.to_string(), common::shared_testdata(rel)?));
    }
    Some(v)
}

#[test]
fn every_shared_volume_parses_with_its_urn_and_turtle() {
    let Some(vols) = volumes() else { return };
    for (rel, path) in vols {
        let file = std::fs::File::open(&path).unwrap();
        let a = ZipArchive::parse(&file).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(
            a.comment().starts_with("aff4://"),
            "{rel}: comment {:?}",
            a.comment()
        );
        assert!(!a.comment().ends_with('\0'), "{rel}: NUL kept");
        let turtle = a
            .read_member(&file, "information.turtle", 64 << 20)
            .unwrap();
        let turtle = String::from_utf8(turtle).unwrap();
        assert!(
            turtle.contains(a.comment()),
            "{rel}: turtle does not name the volume URN"
        );
        assert!(
            a.entry("version.txt").is_some() || rel.contains("PreStd"),
            "{rel}"
        );
        for e in a.entries() {
            assert!(e.data_offset + e.compressed_size <= file.metadata().unwrap().len());
            let data = a.read_member(&file, &e.name, 64 << 20).unwrap();
            assert_eq!(data.len() as u64, e.size, "{rel}: {}", e.name);
        }
    }
}

#[test]
fn our_reader_agrees_with_python_zipfile_on_every_member() {
    let Some(vols) = volumes() else { return };
    for (rel, path) in vols {
        let file = std::fs::File::open(&path).unwrap();
        let a = ZipArchive::parse(&file).unwrap();
        let Some((comment, py)) = zip_util::python_members(&path) else {
            return;
        };
        let trimmed = comment.strip_suffix(b"\0").unwrap_or(&comment);
        assert_eq!(a.comment().as_bytes(), trimmed, "{rel}");
        assert_eq!(a.entries().len(), py.len(), "{rel}: member count");
        for m in &py {
            let e = a
                .entry(&m.name)
                .unwrap_or_else(|| panic!("{rel}: {} missing", m.name));
            assert_eq!(e.size, m.size, "{rel}: {}", m.name);
            let method = if m.method == 8 {
                Method::Deflated
            } else {
                Method::Stored
            };
            assert_eq!(e.method, method, "{rel}: {}", m.name);
            let data = a.read_member(&file, &m.name, 64 << 20).unwrap();
            assert_eq!(zip_util::sha256_hex(&data), m.sha256, "{rel}: {}", m.name);
        }
    }
}

#[test]
fn c_aff4_members_written_out_of_order_resolve() {
    let Some(path) = common::shared_testdata(C_AFF4_LOGICAL) else {
        return;
    };
    let file = std::fs::File::open(&path).unwrap();
    let a = ZipArchive::parse(&file).unwrap();
    let offsets: Vec<u64> = a.entries().iter().map(|e| e.data_offset).collect();
    assert!(
        offsets.windows(2).any(|w| w[0] > w[1]),
        "directory is not out of order"
    );
    let version = a.read_member(&file, "version.txt", 4096).unwrap();
    assert!(String::from_utf8(version).unwrap().starts_with("major=1\n"));
    let description = a.read_member(&file, "container.description", 4096).unwrap();
    assert_eq!(description, a.comment().as_bytes());
}

#[test]
fn dream_member_name_maps_to_the_urn_its_turtle_uses() {
    let Some(path) = common::shared_testdata("reference/AFF4-L/dream.aff4") else {
        return;
    };
    let Some(txt) = common::shared_testdata("reference/AFF4-L/dream.txt") else {
        return;
    };
    let file = std::fs::File::open(&path).unwrap();
    let a = ZipArchive::parse(&file).unwrap();
    let name = "/test_images/AFF4-L/dream.txt";
    let e = a.entry(name).expect("AFF4-L member with a leading slash");
    assert_eq!(e.method, Method::Deflated);
    assert_eq!(
        a.read_member(&file, name, 1 << 20).unwrap(),
        std::fs::read(txt).unwrap()
    );
    let urn = urn_for_member_name(name, a.comment());
    assert_eq!(
        urn,
        format!("{}//test_images/AFF4-L/dream.txt", a.comment())
    );
    let turtle = String::from_utf8(a.read_member(&file, "information.turtle", 1 << 20).unwrap());
    assert!(
        turtle.unwrap().contains(&format!("<{urn}>")),
        "turtle does not use {urn}"
    );
    assert_eq!(aff4::urn::member_name_for_urn(&urn, a.comment()), name);
}
