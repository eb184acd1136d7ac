//! The AFF4 Standard reference images, the c-aff4 volumes and the AFF4-L sample: every
//! one opens, every stored hash verifies, and the images read as pyaff4 and the crates.io
//! `aff4` reader read them.

mod common;

use aff4::hash::{to_hex, HashAlgo};
use aff4::map::RangeKind;
use aff4::volume::VolumeSet;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const REFERENCE: [&str; 5] = [
    "reference/AFF4Std/Base-Linear.aff4",
    "reference/AFF4Std/Base-Allocated.aff4",
    "reference/AFF4Std/Base-Linear-ReadError.aff4",
    "reference/AFF4Std/Base-Linear-AllHashes.aff4",
    "reference/AFF4PreStd/Base-Linear.af4",
];

fn sha256_range(s: &mut dyn aff4::volume::Stream, start: u64, len: u64) -> String {
    s.seek(SeekFrom::Start(start)).unwrap();
    let mut h = HashAlgo::Sha256.hasher();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = (buf.len() as u64).min(left) as usize;
        s.read_exact(&mut buf[..n]).unwrap();
        h.update(&buf[..n]);
        left -= n as u64;
    }
    to_hex(&h.finish())
}

fn whole_sha256(set: &VolumeSet) -> String {
    let img = set.primary_image().expect("an image");
    let mut s = set.open_stream(&img).unwrap();
    let size = s.size();
    sha256_range(s.as_mut(), 0, size)
}

#[test]
fn reference_images_open_and_every_stored_hash_verifies() {
    for rel in REFERENCE {
        let Some(p) = common::shared_testdata(rel) else {
            return;
        };
        let set = VolumeSet::open(&[&p]).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let img = set
            .primary_image()
            .unwrap_or_else(|| panic!("{rel}: no image"));
        let rep = aff4::verify::verify(&set).unwrap_or_else(|e| panic!("{rel}: {e}"));
        for c in &rep.checks {
            eprintln!(
                "{rel}: {} {} {} {}",
                c.status.name(),
                c.kind,
                c.algorithm,
                c.subject
            );
        }
        assert!(
            rep.all_ok(),
            "{rel}: verification failed: {}",
            rep.summary()
        );
        for kind in ["linear", "block", "blockHashes", "mapHash", "mapPointHash"] {
            assert!(
                rep.checks
                    .iter()
                    .any(|c| c.kind == kind && c.status == aff4::verify::Status::Ok),
                "{rel}: no {kind} hash verified"
            );
        }
        let combined = if rel.contains("PreStd") {
            "blockHashesHash"
        } else {
            "blockMapHash"
        };
        assert!(
            rep.checks
                .iter()
                .any(|c| c.kind == combined && c.status == aff4::verify::Status::Ok),
            "{rel}: {combined} not verified"
        );
        let mut s = set.open_stream(&img).unwrap();
        assert!(s.size() > 0, "{rel}");
        let mut buf = vec![0u8; 4096];
        s.read_exact(&mut buf).unwrap();
    }
}

#[test]
fn all_hashes_image_checks_all_five_algorithms() {
    let Some(p) = common::shared_testdata("reference/AFF4Std/Base-Linear-AllHashes.aff4") else {
        return;
    };
    let set = VolumeSet::open(&[&p]).unwrap();
    let rep = aff4::verify::verify(&set).unwrap();
    for algo in HashAlgo::ALL {
        for kind in ["block", "blockHashes"] {
            let ok = rep.checks.iter().any(|c| {
                c.kind == kind && c.status == aff4::verify::Status::Ok && c.algorithm == algo.name()
            }) || (kind == "blockHashes"
                && rep.checks.iter().any(|c| {
                    c.kind == kind
                        && c.subject.ends_with(algo.name())
                        && c.status == aff4::verify::Status::Ok
                }));
            assert!(ok, "{kind} {algo:?} not verified");
        }
    }
    assert!(rep
        .checks
        .iter()
        .any(|c| c.kind == "blockMapHash" && c.status == aff4::verify::Status::Ok));
    assert!(rep.all_ok());
}

#[test]
fn striped_pair_reads_as_base_linear() {
    let (Some(a), Some(b), Some(base)) = (
        common::shared_testdata("reference/AFF4Std/Striped/Base-Linear_1.aff4"),
        common::shared_testdata("reference/AFF4Std/Striped/Base-Linear_2.aff4"),
        common::shared_testdata("reference/AFF4Std/Base-Linear.aff4"),
    ) else {
        return;
    };
    let striped = VolumeSet::open(&[&a, &b]).unwrap();
    let linear = VolumeSet::open(&[&base]).unwrap();
    assert_eq!(whole_sha256(&striped), whole_sha256(&linear));
    let rep = aff4::verify::verify(&striped).unwrap();
    assert!(rep.all_ok(), "{}", rep.summary());
    // The multi-part blockMapHash on the shared Image, and one per volume's Map.
    let image = striped.primary_image().unwrap();
    let block_map_ok: Vec<&str> = rep
        .checks
        .iter()
        .filter(|c| c.kind == "blockMapHash" && c.status == aff4::verify::Status::Ok)
        .map(|c| c.subject.as_str())
        .collect();
    assert!(block_map_ok.contains(&image.as_str()), "{block_map_ok:?}");
    assert_eq!(block_map_ok.len(), 3, "{block_map_ok:?}");
    // Both volumes' streams were read and their linear hashes checked.
    let linear_subjects: std::collections::BTreeSet<&str> = rep
        .checks
        .iter()
        .filter(|c| c.kind == "linear" && c.status == aff4::verify::Status::Ok)
        .map(|c| c.subject.as_str())
        .collect();
    assert_eq!(linear_subjects.len(), 2, "{linear_subjects:?}");
}

#[test]
fn dream_logical_image_lists_dream_txt() {
    let (Some(vol), Some(txt)) = (
        common::shared_testdata("reference/AFF4-L/dream.aff4"),
        common::shared_testdata("reference/AFF4-L/dream.txt"),
    ) else {
        return;
    };
    let set = VolumeSet::open(&[&vol]).unwrap();
    let files = aff4::logical::list(&set).unwrap();
    let f = files
        .iter()
        .find(|f| f.name.ends_with("dream.txt"))
        .expect("dream.txt listed");
    let mut data = Vec::new();
    set.open_stream(&f.urn)
        .unwrap()
        .read_to_end(&mut data)
        .unwrap();
    assert_eq!(data, std::fs::read(txt).unwrap());
    assert!(aff4::verify::verify(&set).unwrap().all_ok());
}

/// The SHA-256 the c-aff4 README table gives for `file`; a row saying "same" repeats
/// the row above.
fn readme_sha256(readme: &str, file: &str) -> String {
    let rows: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("| c-aff4"))
        .collect();
    let at = rows
        .iter()
        .position(|l| l.contains(file))
        .unwrap_or_else(|| panic!("{file} not in README"));
    let hash_of = |l: &str| {
        l.find("SHA-256 `")
            .map(|i| l[i + 9..i + 9 + 64].to_string())
    };
    rows[..=at]
        .iter()
        .rev()
        .find_map(|l| hash_of(l))
        .expect("a SHA-256 in the README table")
}

#[test]
fn c_aff4_volumes_read_to_their_readme_hashes() {
    let Some(dir) = common::shared_testdata("c-aff4") else {
        return;
    };
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    for f in ["c-aff4-snappy.aff4", "c-aff4-zlib.aff4"] {
        let set = VolumeSet::open(&[dir.join(f)]).unwrap();
        assert_eq!(whole_sha256(&set), readme_sha256(&readme, f), "{f}");
    }
    let set = VolumeSet::open(&[dir.join("c-aff4-logical.aff4")]).unwrap();
    let files = aff4::logical::list(&set).unwrap();
    let logical_line = readme
        .lines()
        .find(|l| l.contains("c-aff4-logical.aff4"))
        .unwrap();
    for name in ["a.txt", "b.bin"] {
        let f = files
            .iter()
            .find(|f| f.name.ends_with(name))
            .unwrap_or_else(|| panic!("{name} not listed: {files:?}"));
        let mut data = Vec::new();
        set.open_stream(&f.urn)
            .unwrap()
            .read_to_end(&mut data)
            .unwrap();
        let at = logical_line.find(&format!("{name}:")).unwrap();
        let sha_at = logical_line[at..].find("SHA-256 `").unwrap() + at + 9;
        assert_eq!(
            to_hex(&HashAlgo::Sha256.digest(&data)),
            &logical_line[sha_at..sha_at + 64],
            "{name}"
        );
    }
}

/// Our reader and pyaff4 read identical bytes, range by range over the map (data and
/// symbolic ranges; pyaff4 reads holes badly, AFF4-FORMAT.md §11).
#[test]
fn reference_images_read_identically_to_pyaff4() {
    let Some(py) = common::oracle_python() else {
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/pyaff4_digest.py");
    for rel in &REFERENCE[..4] {
        let Some(p) = common::shared_testdata(rel) else {
            return;
        };
        let set = VolumeSet::open(&[&p]).unwrap();
        let img = set.primary_image().unwrap();
        let map = set.image_map(&img).unwrap();
        let ranges: Vec<(u64, u64)> = map
            .ranges()
            .iter()
            .filter(|r| r.kind != RangeKind::Hole)
            .map(|r| (r.start, r.length))
            .collect();
        assert!(!ranges.is_empty(), "{rel}");
        let out = std::process::Command::new(&py)
            .arg(&script)
            .arg(&p)
            .arg(serde_like_json(&ranges))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{rel}: pyaff4 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let size_line = lines.next().expect("size line");
        // pyaff4's size is the end of the last mapped range (§4.2).
        let last_end = ranges.last().map_or(0, |(a, b)| a + b);
        assert_eq!(size_line, format!("size {last_end}"), "{rel}");
        let mut s = set.open_stream(&img).unwrap();
        let mut compared = 0;
        for ((start, len), line) in ranges.iter().zip(lines) {
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f.len(), 4, "{rel}: bad oracle line {line:?}");
            assert_eq!(
                (f[0], f[1]),
                (start.to_string().as_str(), len.to_string().as_str())
            );
            assert_eq!(
                f[2],
                len.to_string(),
                "{rel}: pyaff4 read short at {start:#x}"
            );
            let ours = sha256_range(s.as_mut(), *start, *len);
            assert_eq!(
                ours, f[3],
                "{rel}: range {start:#x}+{len:#x} differs from pyaff4"
            );
            compared += 1;
        }
        assert_eq!(
            compared,
            ranges.len(),
            "{rel}: pyaff4 printed too few ranges"
        );
    }
}

fn serde_like_json(r: &[(u64, u64)]) -> String {
    let parts: Vec<String> = r.iter().map(|(a, b)| format!("[{a},{b}]")).collect();
    format!("[{}]", parts.join(","))
}

/// The crates.io `aff4` reader (another team's) reads the same bytes as we do on every
/// standard reference image (it cannot open the pre-standard one or c-aff4 volumes).
#[test]
fn crates_io_aff4_reader_agrees() {
    for rel in &REFERENCE[..4] {
        let Some(p) = common::shared_testdata(rel) else {
            return;
        };
        let set = VolumeSet::open(&[&p]).unwrap();
        let ours = whole_sha256(&set);
        let theirs = oracle::whole_sha256(&p);
        assert_eq!(ours, theirs, "{rel}");
    }
}

mod oracle {
    use super::*;
    pub fn whole_sha256(p: &Path) -> String {
        crate::oracle_impl::sha256(p)
    }
}

#[path = "oracle/crate_oracle.rs"]
mod oracle_impl;

/// The pre-standard (Evimetry 1.x) image: legacy `aff4:map` typed Image, `<bevy>/index`
/// end offsets, legacy symbolic IRIs in the idx. Its data ranges read the stream's
/// bytes (whose own hashes verify) and its symbolic ranges read their patterns.
#[test]
fn prestd_image_reads_through_its_legacy_map() {
    let Some(p) = common::shared_testdata("reference/AFF4PreStd/Base-Linear.af4") else {
        return;
    };
    let set = VolumeSet::open(&[&p]).unwrap();
    assert_eq!(
        set.volumes()[0].dialect,
        aff4::volume::Dialect::LegacyEvimetry
    );
    let img = set.primary_image().expect("the map typed aff4:Image");
    let map = set.image_map(&img).unwrap();
    let mut s = set.open_stream(&img).unwrap();
    assert_eq!(s.size(), 268_435_456);
    let (mut data, mut symbolic) = (0, 0);
    for r in map.ranges() {
        let len = r.length.min(1 << 20);
        let mut ours = vec![0u8; len as usize];
        s.seek(SeekFrom::Start(r.start)).unwrap();
        s.read_exact(&mut ours).unwrap();
        match &r.kind {
            RangeKind::Data {
                target,
                target_offset,
            } => {
                let mut t = set.open_stream(target).unwrap();
                let mut want = vec![0u8; len as usize];
                t.seek(SeekFrom::Start(*target_offset)).unwrap();
                t.read_exact(&mut want).unwrap();
                assert_eq!(ours, want, "range at {:#x}", r.start);
                data += 1;
            }
            RangeKind::Symbolic(sym, off) => {
                let mut want = vec![0u8; len as usize];
                sym.fill(*off, &mut want);
                assert_eq!(ours, want, "range at {:#x}", r.start);
                symbolic += 1;
            }
            RangeKind::Hole => assert!(ours.iter().all(|b| *b == 0)),
        }
    }
    assert!(data > 0 && symbolic > 0, "{data} data, {symbolic} symbolic");
    assert!(map.ranges().iter().any(|r| matches!(
        r.kind,
        RangeKind::Symbolic(aff4::symbolic::Symbolic::FfDevice, _)
    )));
    assert!(map.ranges().iter().any(|r| matches!(
        r.kind,
        RangeKind::Symbolic(aff4::symbolic::Symbolic::Byte(0x61), _)
    )));
}

/// c-aff4's logical volume has no physical image; its files list with their names.
#[test]
fn c_aff4_logical_volume_has_no_primary_image() {
    let Some(p) = common::shared_testdata("c-aff4/c-aff4-logical.aff4") else {
        return;
    };
    let set = VolumeSet::open(&[&p]).unwrap();
    assert_eq!(set.primary_image(), None);
    let names: Vec<String> = aff4::logical::list(&set)
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["a.txt", "b.bin"]);
    let rep = aff4::verify::verify(&set).unwrap();
    assert!(!rep.all_ok(), "nothing is hashed, so nothing verifies");
    assert_eq!(rep.count(&aff4::verify::Status::NotPresent), 2);
}
