//! Volumes rebuilt by `aff4::recover` from truncated journaled volumes (what a killed
//! run leaves) open in our reader, pyaff4 0.34 (ranges read identically, Validator
//! finds nothing invalid) and the crates.io `aff4` reader, and read the source's bytes
//! wherever they were recovered. Journaled volumes themselves stay readable by all.

mod common;
mod write_support;

use aff4::codec::Compression;
use aff4::symbolic::Symbolic;
use aff4::writer::VolumeWriter;
use write_support::*;

/// A journaled memory volume (bevies of 2 chunks of 4 KiB) of `memory_layout`.
fn journaled(codec: Compression) -> (Vec<u8>, Vec<Piece>, u64) {
    let (pieces, total) = memory_layout(4096);
    let opts = opts(codec, 2);
    let mut vw = VolumeWriter::new(Vec::new(), "pmem-aff4 test").unwrap();
    let mut mem = vw.memory_image(opts).unwrap();
    let planned: Vec<(u64, u64)> = pieces
        .iter()
        .map(|p| {
            let (a, n) = p.range();
            (a, a + n)
        })
        .collect();
    mem.start_journal(&planned, &[]).unwrap();
    let (mut padded, mut stored) = (Vec::new(), Vec::new());
    for p in &pieces {
        match p {
            Piece::Data(addr, bytes) => {
                for (i, c) in bytes.chunks(4096).enumerate() {
                    padded.clear();
                    padded.extend_from_slice(c);
                    padded.resize(4096, 0);
                    codec.encode_chunk(&padded, &mut stored);
                    mem.add_chunk(addr + (i * 4096) as u64, c, &stored).unwrap();
                }
            }
            Piece::Sym(addr, len, s) => mem.add_symbolic(*addr, *len, *s).unwrap(),
        }
    }
    mem.finish(total).unwrap();
    (vw.finish().unwrap(), pieces, total)
}

#[test]
fn journaled_volumes_read_the_same_everywhere() {
    let (bytes, pieces, total) = journaled(Compression::Snappy);
    let want = expected_image(&pieces, total);
    assert!(read_ours(&bytes) == want);
    let path = save(&bytes);
    let mut r = aff4_oracle::Aff4Reader::open(&path).expect("aff4 crate opens it");
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut got).expect("aff4 crate reads it");
    assert!(got == want, "the aff4 crate reads other bytes");
    if let Some(v) = pyaff4_validate(&path) {
        assert!(
            v.error.is_none() && v.invalid.is_empty(),
            "{:?} {:?}",
            v.error,
            v.invalid
        );
    }
    unzip_t(&path);
}

#[test]
fn recovered_volumes_open_in_every_reader() {
    let (bytes, pieces, total) = journaled(Compression::Snappy);
    let want = expected_image(&pieces, total);
    let mut kept_any_partial = false;
    let mut most_bevies = 0;
    for frac in [0.35f64, 0.6, 0.85, 1.0] {
        let cut = (bytes.len() as f64 * frac) as usize;
        let part = bytes[..cut].to_vec();
        let (out, sum) = aff4::recover::recover(&part, "partial", Vec::new(), "pmem-aff4 test")
            .unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let what = format!("cut at {cut} of {}", bytes.len());
        let got = read_ours(&out);
        // The size is the final one once the image-end record is on disk, else the end
        // of the planned ranges.
        let planned_end = pieces
            .iter()
            .map(|p| p.range().0 + p.range().1)
            .max()
            .unwrap();
        assert_eq!(got.len() as u64, sum.size, "{what}");
        assert!(
            sum.size == total || sum.size == planned_end,
            "{what}: size {}",
            sum.size
        );
        // Every recovered data byte is the source's; the rest is UnknownData or zeros.
        let set = aff4::volume::VolumeSet::from_bytes(out.clone()).unwrap();
        let map = set.image_map(&sum.image_urn).unwrap();
        for r in map.ranges() {
            let (s, e) = (r.start as usize, (r.start + r.length) as usize);
            match r.kind {
                aff4::map::RangeKind::Data { .. } => {
                    assert!(got[s..e] == want[s..e], "{what}: {s:#x}")
                }
                aff4::map::RangeKind::Symbolic(Symbolic::UnknownData, _) => {
                    kept_any_partial |= frac < 1.0
                }
                _ => assert!(got[s..e] == want[s..e], "{what}: symbolic/hole at {s:#x}"),
            }
        }
        let rep = aff4::verify::verify(&set).unwrap();
        assert!(rep.all_ok(), "{what}: {}", rep.summary());
        // Block hashes for every recovered bevy, checked by --verify.
        let stream = set
            .objects()
            .into_iter()
            .find(|o| o.kind == aff4::volume::ObjectKind::ImageStream)
            .unwrap();
        let chunks = stream.size.unwrap() / 4096;
        let bevies = chunks.div_ceil(2);
        most_bevies = most_bevies.max(bevies);
        let g = set.graph();
        assert!(
            g.has_type(
                &format!("{}/blockhash.sha256", stream.urn),
                aff4::lexicon::BLOCK_HASHES
            ),
            "{what}"
        );
        for b in 0..bevies {
            let m = format!("{}/{b:08}.blockHash.sha256", stream.urn);
            assert!(set.resolver().member_by_urn(&m).is_some(), "{what}: {m}");
        }
        let checked = rep
            .checks
            .iter()
            .find(|c| c.kind == "block" && c.subject == stream.urn)
            .unwrap_or_else(|| panic!("{what}: no block check in {}", rep.summary()));
        assert_eq!(
            checked.actual.as_deref(),
            Some(format!("{chunks} chunks checked, 0 differ").as_str()),
            "{what}"
        );
        let path = save(&out);
        let mut r = aff4_oracle::Aff4Reader::open(&path).expect("aff4 crate opens it");
        let mut crate_got = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut crate_got).expect("aff4 crate reads it");
        assert!(crate_got == got, "{what}: the aff4 crate reads other bytes");
        unzip_t(&path);
        let data_ranges: Vec<(u64, u64)> = map
            .ranges()
            .iter()
            .filter(|r| !matches!(r.kind, aff4::map::RangeKind::Hole))
            .map(|r| (r.start, r.length))
            .collect();
        if let Some((size, hashes)) = pyaff4_ranges(&path, &data_ranges) {
            assert_eq!(size, sum.size, "{what}: pyaff4 size");
            for ((s, n), (read, h)) in data_ranges.iter().zip(&hashes) {
                assert_eq!(read, n, "{what}: pyaff4 short read at {s:#x}");
                assert_eq!(
                    h,
                    &sha256(&got[*s as usize..(s + n) as usize]),
                    "{what}: pyaff4 at {s:#x}"
                );
            }
        }
        if let Some(v) = pyaff4_validate(&path) {
            assert!(
                v.error.is_none(),
                "{what}: validator crashed: {:?}",
                v.error
            );
            assert!(v.invalid.is_empty(), "{what}: invalid: {:?}", v.invalid);
            // pyaff4 checked every block hash of every bevy, and their hash.
            assert_eq!(v.blocks, (chunks, 0), "{what}: pyaff4 block hashes");
            assert!(
                v.valid.iter().any(|(t, _)| t == "BlockHashesHash"),
                "{what}: {:?}",
                v.valid
            );
        }
    }
    assert!(kept_any_partial, "some cut must lose data to UnknownData");
    assert!(
        most_bevies >= 3,
        "recoveries of several bevies: {most_bevies}"
    );
}
