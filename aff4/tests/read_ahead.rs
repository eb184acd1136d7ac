//! The read-ahead reader gives the same bytes as the plain reader for any ranges and
//! window sizes, and a corrupt chunk in the middle of a stream gives the same typed
//! error, naming the bevy, when the reader gets to it.

mod common;
mod write_support;

use aff4::codec::Compression;
use aff4::volume::VolumeSet;
use proptest::prelude::*;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use write_support::*;

/// A volume of many small bevies, and the image it holds.
fn volume(codec: Compression, cis: u32) -> (Vec<u8>, Vec<u8>) {
    let (mut pieces, total) = memory_layout(4096);
    pieces.push(Piece::Data(3 << 20, data(9, 300 * 4096 + 77)));
    let total = total.max((3 << 20) + 300 * 4096 + 77);
    let (bytes, _) = write_memory(opts(codec, cis), &pieces, total);
    (bytes, expected_image(&pieces, total))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn read_ahead_reads_what_the_plain_reader_reads(
        codec in prop_oneof![Just(Compression::Snappy), Just(Compression::Stored), Just(Compression::Deflate)],
        cis in 1u32..9,
        window in prop_oneof![Just(0u64), 1u64..20_000, 20_000u64..2_000_000],
        ranges in proptest::collection::vec((0.0f64..1.0, 0usize..200_000), 1..6),
    ) {
        let (bytes, want) = volume(codec, cis);
        let set = VolumeSet::from_bytes(bytes).unwrap();
        let img = set.primary_image().unwrap();
        let mut s = set.open_stream_read_ahead(&img, window).unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        prop_assert!(all == want);
        for (at, len) in ranges {
            let start = (at * want.len() as f64) as usize;
            let len = len.min(want.len() - start);
            s.seek(SeekFrom::Start(start as u64)).unwrap();
            let mut got = vec![0u8; len];
            s.read_exact(&mut got).unwrap();
            prop_assert!(got[..] == want[start..start + len], "{start}+{len}");
        }
    }
}

/// The volume with bevy `bevy` of its ImageStream overwritten with garbage.
fn corrupt_bevy(bytes: &[u8], bevy: u32) -> Vec<u8> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let comment = String::from_utf8_lossy(z.comment())
        .trim_end_matches('\0')
        .to_string();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let suffix = format!("{bevy:08}");
    let mut hit = false;
    for i in 0..z.len() {
        let mut m = z.by_index(i).unwrap();
        let mut data = Vec::new();
        m.read_to_end(&mut data).unwrap();
        if m.name().ends_with(&suffix) {
            data.iter_mut().for_each(|b| *b = 0xff);
            hit = true;
        }
        w.start_file(m.name(), opts).unwrap();
        w.write_all(&data).unwrap();
    }
    assert!(hit, "no member ending in {suffix}");
    w.set_comment(comment);
    w.finish().unwrap().into_inner()
}

/// Reads the image whole in 64 KiB reads: the bytes read before the first error, and
/// the error's text.
fn read_until_error(set: &VolumeSet, window: u64) -> (Vec<u8>, String) {
    let img = set.primary_image().unwrap();
    let mut s = set.open_stream_read_ahead(&img, window).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, String::new()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (out, aff4::volume::stream_error(e, "reading").to_string()),
        }
    }
}

#[test]
fn a_corrupt_chunk_in_the_middle_is_the_same_error_with_read_ahead() {
    let (bytes, want) = volume(Compression::Snappy, 8);
    let bad = corrupt_bevy(&bytes, 20);
    let set = VolumeSet::from_bytes(bad).unwrap();
    let (plain, plain_err) = read_until_error(&set, 0);
    assert!(plain_err.contains("00000020"), "{plain_err}");
    for window in [4096, 100_000, aff4::stream::READ_AHEAD_WINDOW] {
        let (got, err) = read_until_error(&set, window);
        assert_eq!(err, plain_err, "window {window}");
        assert_eq!(got.len(), plain.len(), "window {window}");
        assert!(got[..] == want[..got.len()], "window {window}");
    }
    // Verification reports it too.
    let rep = aff4::verify::verify(&set).unwrap();
    assert!(!rep.all_ok(), "{}", rep.summary());
}
