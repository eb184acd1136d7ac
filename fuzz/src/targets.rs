//! The bodies of the fuzz targets, shared by the libFuzzer binaries (`fuzz_targets/`,
//! nightly, `cargo fuzz`) and the stable replay test (`tests/fuzz_replay.rs`), which
//! runs them over the generated seed corpus and every kept crash input.
//!
//! Each body must never panic, whatever the bytes; work is bounded by the input.
#![allow(dead_code)]

use std::io::Read;

/// A target's body.
pub type Body = fn(&[u8]);

/// Every target: name and body.
pub const TARGETS: &[(&str, Body)] = &[
    ("zip_directory", zip_directory),
    ("turtle", turtle),
    ("map", map),
    ("image_stream", image_stream),
    ("volume", volume),
    ("journal", journal),
    ("lime", lime),
    ("elf", elf),
];

/// The ZIP directory: parse, then read every member (bounded).
pub fn zip_directory(data: &[u8]) {
    if let Ok(z) = aff4::zip::ZipArchive::parse(&data) {
        for e in z.entries().iter().take(64) {
            let _ = z.read_member(&data, &e.name, 1 << 20);
        }
    }
    let s = aff4::recover::scan(&data);
    let _ = s.by_name();
}

/// The Turtle/RDF model.
pub fn turtle(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(g) = aff4::rdf::parse_turtle_with_limit(text, Some("aff4://base"), 1 << 20) {
            let _ = g.to_turtle();
        }
    }
}

/// The map: `<map>/map` entries (both layouts) and `<map>/idx`.
pub fn map(data: &[u8]) {
    let (flag, rest) = data.split_first().unwrap_or((&0, &[]));
    let _ = aff4::map::parse_map_entries(rest, flag & 1 == 1, "aff4://m");
    let _ = aff4::map::parse_idx(rest);
}

/// Image-stream index and chunk decoding.
pub fn image_stream(data: &[u8]) {
    use aff4::codec::Compression;
    let (flag, rest) = data.split_first().unwrap_or((&0, &[]));
    let cs = 512usize << (flag & 7);
    if let Ok(ix) = aff4::stream::parse_index(rest, "aff4://s") {
        let _ = aff4::stream::check_index(&ix, rest.len() as u64, cs as u64, "aff4://s");
    }
    let _ = aff4::stream::parse_legacy_index(rest, rest.len() as u64 + 64, "aff4://s");
    let codec = match flag >> 4 {
        0 => Compression::Snappy,
        1 => Compression::Lz4,
        2 => Compression::Zlib,
        3 => Compression::Deflate,
        _ => Compression::Stored,
    };
    let mut out = Vec::new();
    if codec.decode_chunk(rest, cs, &mut out, "aff4://s").is_ok() {
        assert!(out.len() <= cs, "decoded chunk larger than the chunk size");
    }
}

/// A whole volume: open, list, verify (within the work limit), read the primary image (bounded).
pub fn volume(data: &[u8]) {
    let Ok(set) = aff4::volume::VolumeSet::from_bytes(data.to_vec()) else {
        return;
    };
    let _ = set.objects();
    // Every stored hash, within the work limit the container's size allows: the block-hash
    // members (ours and pyaff4's layout), map hashes, and the limit's own refusal.
    let _ = aff4::verify::verify(&set);
    if let Some(img) = set.primary_image() {
        if let Ok(mut s) = set.open_stream(&img) {
            let mut buf = vec![0u8; 1 << 16];
            let mut total = 0usize;
            while total < 8 << 20 {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
        }
    }
}

/// The recovery journal records.
pub fn journal(data: &[u8]) {
    let _ = aff4::journal::Header::parse(data);
    let _ = aff4::journal::parse_entries(data);
    let _ = aff4::journal::FileRecord::parse(data);
    let _ = aff4::recover::recover(&data, "fuzz", std::io::sink(), "fuzz");
}

fn with_file(data: &[u8], f: impl FnOnce(&std::path::Path)) {
    let dir = std::env::temp_dir().join(format!("pmem-aff4-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join("input");
    if std::fs::write(&p, data).is_ok() {
        f(&p);
    }
}

fn read_source(spec: drivers::SourceSpec) {
    let Ok(src) = drivers::open_source(&spec, &drivers::OpenOptions::default()) else {
        return;
    };
    let mut buf = vec![0u8; 1 << 16];
    let mut budget = 16usize << 20;
    for r in src.ranges().to_vec() {
        let mut at = r.start;
        while at < r.end && budget > 0 {
            let n = ((r.end - at) as usize).min(buf.len());
            if src.read_at(at, &mut buf[..n]).is_err() {
                break;
            }
            at += n as u64;
            budget = budget.saturating_sub(n);
        }
    }
}

/// The LiME and AVML importer.
pub fn lime(data: &[u8]) {
    with_file(data, |p| {
        read_source(drivers::SourceSpec::Lime(p.to_path_buf()))
    });
}

/// The ELF core importer.
pub fn elf(data: &[u8]) {
    let _ = drivers::elf::parse_load_segments(data);
    with_file(data, |p| {
        read_source(drivers::SourceSpec::Elf(p.to_path_buf()))
    });
}
