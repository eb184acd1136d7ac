//! Hostile volumes: a real reference volume with members rewritten (by the `zip`
//! crate's writer) to lie. Every case must give a typed error naming what is wrong, or a
//! verification mismatch, never a panic.

mod common;

use aff4::volume::VolumeSet;
use aff4::Error;
use proptest::prelude::*;
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;

const BASE: &str = "reference/AFF4Std/Base-Linear.aff4";

/// The members of a volume, in order, and its comment.
fn members(path: &PathBuf) -> (Vec<(String, Vec<u8>)>, String) {
    let f = std::fs::File::open(path).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    let comment = String::from_utf8_lossy(z.comment())
        .trim_end_matches('\0')
        .to_string();
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut m = z.by_index(i).unwrap();
        let mut data = Vec::new();
        m.read_to_end(&mut data).unwrap();
        out.push((m.name().to_string(), data));
    }
    (out, comment)
}

/// Rewrites a volume: `edit(name, data)` returns the new bytes of a member, or `None`
/// to keep it.
fn rewrite(edit: impl Fn(&str, &[u8]) -> Option<Vec<u8>>) -> Option<Vec<u8>> {
    let path = common::shared_testdata(BASE)?;
    let (ms, comment) = members(&path);
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    for (name, data) in &ms {
        let data = edit(name, data).unwrap_or_else(|| data.clone());
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(&data).unwrap();
    }
    w.set_comment(comment);
    Some(w.finish().unwrap().into_inner())
}

fn open(bytes: Vec<u8>) -> aff4::Result<VolumeSet> {
    VolumeSet::from_bytes(bytes)
}

/// Opens the primary image and reads all of it; the first error.
fn read_image(set: &VolumeSet) -> aff4::Result<u64> {
    let img = set
        .primary_image()
        .ok_or_else(|| Error::NotFound("image".into()))?;
    let mut s = set.open_stream(&img)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = s
            .read(&mut buf)
            .map_err(|e| aff4::volume::stream_error(e, "reading image"))?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

/// Reads the ImageStream(s) of the volume whole; the first error.
fn read_streams(set: &VolumeSet) -> aff4::Result<()> {
    for o in set.objects() {
        if o.kind == aff4::volume::ObjectKind::ImageStream {
            let mut s = set.open_stream(&o.urn)?;
            std::io::copy(&mut s, &mut std::io::sink())
                .map_err(|e| aff4::volume::stream_error(e, "reading stream"))?;
        }
    }
    Ok(())
}

/// Text of an error, including an io::Error's inner typed error.
fn text(e: &Error) -> String {
    e.to_string()
}

#[test]
fn the_unmodified_rewrite_still_reads_and_verifies() {
    let Some(bytes) = rewrite(|_, _| None) else {
        return;
    };
    let set = open(bytes).unwrap();
    assert_eq!(read_image(&set).unwrap(), 268_435_456);
    assert!(aff4::verify::verify(&set).unwrap().all_ok());
}

#[test]
fn truncated_volumes_are_errors() {
    let Some(path) = common::shared_testdata(BASE) else {
        return;
    };
    let full = std::fs::read(path).unwrap();
    for cut in [0, 21, 100, full.len() / 2, full.len() - 30, full.len() - 1] {
        let r = open(full[..cut].to_vec());
        match r {
            Err(Error::Zip(m)) => assert!(!m.is_empty()),
            Err(other) => panic!("cut at {cut}: unexpected error kind {other:?}"),
            Ok(set) => {
                // Only possible if the end records survived: reading must then fail.
                assert!(
                    read_image(&set).is_err() || read_streams(&set).is_err(),
                    "cut at {cut} read fine"
                );
            }
        }
    }
}

fn edit_index(f: impl Fn(&mut Vec<u8>, u64) + Copy) -> Option<Vec<u8>> {
    let path = common::shared_testdata(BASE)?;
    let (ms, _) = members(&path);
    let bevy_len = ms
        .iter()
        .find(|(n, _)| n.ends_with("/00000000"))
        .map(|(_, d)| d.len() as u64)
        .unwrap();
    rewrite(move |name, data| {
        name.ends_with("/00000000.index").then(|| {
            let mut d = data.to_vec();
            f(&mut d, bevy_len);
            d
        })
    })
}

#[test]
fn index_entry_past_the_bevy_is_a_typed_error() {
    let Some(bytes) = edit_index(|d, bevy_len| {
        d[12..20].copy_from_slice(&(bevy_len + 10).to_le_bytes());
    }) else {
        return;
    };
    let set = open(bytes).unwrap();
    let e = read_streams(&set).unwrap_err();
    assert!(text(&e).contains("past the end"), "{e}");
    assert!(!aff4::verify::verify(&set).unwrap().all_ok());
}

#[test]
fn absurd_chunk_length_is_a_typed_error() {
    let Some(bytes) = edit_index(|d, _| {
        d[20..24].copy_from_slice(&(10u32 << 20).to_le_bytes());
    }) else {
        return;
    };
    let set = open(bytes).unwrap();
    let e = read_streams(&set).unwrap_err();
    assert!(text(&e).contains("stored bytes"), "{e}");
}

#[test]
fn truncated_index_is_a_typed_error() {
    let Some(bytes) = edit_index(|d, _| d.truncate(d.len() - 5)) else {
        return;
    };
    let set = open(bytes).unwrap();
    let e = read_streams(&set).unwrap_err();
    assert!(text(&e).contains("multiple of 12"), "{e}");
}

#[test]
fn corrupted_chunk_bytes_fail_verification() {
    let Some(bytes) = rewrite(|name, data| {
        name.ends_with("/00000000").then(|| {
            let mut d = data.to_vec();
            for b in d.iter_mut().skip(40_000).take(64) {
                *b ^= 0x5a;
            }
            d
        })
    }) else {
        return;
    };
    let set = open(bytes).unwrap();
    let rep = aff4::verify::verify(&set).unwrap();
    assert!(!rep.all_ok(), "{}", rep.summary());
    assert!(rep
        .checks
        .iter()
        .any(|c| c.status == aff4::verify::Status::Mismatch && c.kind != "blockMapHash"));
}

fn edit_map(f: impl Fn(&mut Vec<u8>) + Copy) -> Option<Vec<u8>> {
    rewrite(move |name, data| {
        name.ends_with("/map").then(|| {
            let mut d = data.to_vec();
            f(&mut d);
            d
        })
    })
}

#[test]
fn overlapping_map_entries_are_a_typed_error() {
    let Some(bytes) = edit_map(|d| {
        // Entry 1 starts one byte into entry 0.
        let mut e0 = [0u8; 8];
        e0.copy_from_slice(&d[0..8]);
        let start = u64::from_le_bytes(e0) + 1;
        d[28..36].copy_from_slice(&start.to_le_bytes());
    }) else {
        return;
    };
    let set = open(bytes).unwrap();
    let img = set.primary_image().unwrap();
    let e = set.open_stream(&img).err().expect("overlap accepted");
    assert!(matches!(e, Error::Corrupt { .. }), "{e:?}");
    assert!(text(&e).contains("overlap"), "{e}");
}

#[test]
fn map_entry_with_unknown_target_is_a_typed_error() {
    let Some(bytes) = edit_map(|d| d[24..28].copy_from_slice(&77u32.to_le_bytes())) else {
        return;
    };
    let set = open(bytes).unwrap();
    let img = set.primary_image().unwrap();
    let e = set.open_stream(&img).err().expect("bad target id accepted");
    assert!(text(&e).contains("target 77"), "{e}");
}

#[test]
fn map_that_targets_itself_is_a_map_cycle() {
    let Some(path) = common::shared_testdata(BASE) else {
        return;
    };
    let set = VolumeSet::open(&[&path]).unwrap();
    let img = set.primary_image().unwrap();
    let map = set.image_map(&img).unwrap();
    let map_urn = map.urn().to_string();
    let stream = map
        .targets()
        .iter()
        .find(|t| t.starts_with("aff4://"))
        .unwrap()
        .clone();
    let bytes = rewrite(|name, data| {
        name.ends_with("/idx").then(|| {
            String::from_utf8_lossy(data)
                .replace(&stream, &map_urn)
                .into_bytes()
        })
    })
    .unwrap();
    let set = open(bytes).unwrap();
    let e = set.open_stream(&img).err().expect("cycle accepted");
    match e {
        Error::MapCycle(chain) => assert!(chain.contains(&map_urn), "{chain}"),
        other => panic!("expected MapCycle, got {other:?}"),
    }
}

fn edit_turtle(from: &'static str, to: &'static str) -> Option<Vec<u8>> {
    rewrite(move |name, data| {
        (name == "information.turtle").then(|| {
            let t = String::from_utf8_lossy(data);
            assert!(t.contains(from), "turtle lacks {from}");
            t.replace(from, to).into_bytes()
        })
    })
}

#[test]
fn absurd_chunk_size_in_turtle_is_a_typed_error() {
    for (from, to, what) in [
        ("\"32768\"^^xsd:int", "\"4294967296\"^^xsd:int", "chunkSize"),
        ("\"32768\"^^xsd:int", "\"0\"^^xsd:int", "chunkSize"),
        (
            "\"2048\"^^xsd:int",
            "\"99999999\"^^xsd:int",
            "chunksInSegment",
        ),
    ] {
        let Some(bytes) = edit_turtle(from, to) else {
            return;
        };
        let set = open(bytes).unwrap();
        let e = read_streams(&set).unwrap_err();
        assert!(matches!(e, Error::Corrupt { .. }), "{e:?}");
        assert!(text(&e).contains(what), "{e}");
        assert!(read_image(&set).is_err());
    }
}

#[test]
fn stream_size_smaller_than_the_map_needs_is_a_typed_error() {
    let Some(bytes) = edit_turtle("\"3964928\"^^xsd:long", "\"1000\"^^xsd:long") else {
        return;
    };
    let set = open(bytes).unwrap();
    let e = read_image(&set).unwrap_err();
    assert!(text(&e).contains("past its size"), "{e}");
}

#[test]
fn stream_size_larger_than_its_bevies_is_refused_when_it_opens() {
    let Some(bytes) = edit_turtle("\"3964928\"^^xsd:long", "\"396492800\"^^xsd:long") else {
        return;
    };
    let set = open(bytes).unwrap();
    let e = read_streams(&set).unwrap_err();
    assert!(
        text(&e).contains("needs 6 bevies") && text(&e).contains("bevy 5 is not in the volume"),
        "{e}"
    );
    let rep = aff4::verify::verify(&set).unwrap();
    assert!(!rep.all_ok(), "{}", rep.summary());
}

#[test]
fn missing_bevy_is_refused_when_the_stream_opens() {
    let Some(path) = common::shared_testdata(BASE) else {
        return;
    };
    let (ms, comment) = members(&path);
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in ms.iter().filter(|(n, _)| !n.ends_with("/00000000")) {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.set_comment(comment);
    let set = open(w.finish().unwrap().into_inner()).unwrap();
    // Refused when the stream is opened: its aff4:size needs the bevy.
    let e = read_streams(&set).unwrap_err();
    assert!(text(&e).contains("bevy 0 is not in the volume"), "{e:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Random corruption anywhere in the metadata-bearing members never panics.
    #[test]
    fn random_corruption_never_panics(
        target in 0usize..4,
        at in any::<u16>(),
        bytes in proptest::collection::vec(any::<u8>(), 1..8),
    ) {
        let suffix = ["/00000000.index", "/map", "/idx", "information.turtle"][target];
        let Some(vol) = rewrite(|name, data| {
            name.ends_with(suffix).then(|| {
                let mut d = data.to_vec();
                let start = usize::from(at) % d.len().max(1);
                for (i, b) in bytes.iter().enumerate() {
                    if let Some(x) = d.get_mut(start + i) {
                        *x = *b;
                    }
                }
                d
            })
        }) else {
            return Ok(());
        };
        if let Ok(set) = open(vol) {
            let _ = read_streams(&set);
            let _ = aff4::verify::verify(&set);
            if let Some(img) = set.primary_image() {
                if let Ok(mut s) = set.open_stream(&img) {
                    let mut buf = vec![0u8; 4 << 20];
                    let _ = s.read(&mut buf);
                }
            }
        }
    }
}
