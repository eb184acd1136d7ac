//! Disk-style images (aff4:DiskImage → Map → ImageStream, zero chunks as aff4:Zero)
//! read back identically in our reader, pyaff4 0.34 and the crates.io `aff4` reader;
//! pyaff4's Validator finds nothing invalid; `unzip -t` passes.

mod common;
mod write_support;

use aff4::codec::Compression;
use aff4::hash::HashAlgo;
use aff4::writer::{StreamOptions, VolumeWriter};
use write_support::*;

/// 40 chunks of 4 KiB: data, zero chunks (alone and in runs), a short tail.
fn disk() -> Vec<u8> {
    let mut d = data(11, 40 * 4096 + 1234);
    for c in [3usize, 10, 11, 12, 25] {
        d[c * 4096..(c + 1) * 4096].fill(0);
    }
    d
}

fn write_disk(codec: Compression, cis: u32, d: &[u8]) -> (Vec<u8>, aff4::writer::ImageSummary) {
    let mut vw = VolumeWriter::new(Vec::new(), "pmem-aff4 test").expect("volume");
    let o = StreamOptions {
        block_hashes: vec![HashAlgo::Sha1],
        ..opts(codec, cis)
    };
    let mut w = vw.disk_image(o).expect("disk image");
    for piece in d.chunks(3000) {
        w.write(piece).expect("write");
    }
    assert_eq!(w.position(), d.len() as u64);
    let sum = w.finish().expect("finish image");
    (vw.finish().expect("finish volume"), sum)
}

#[test]
fn disk_images_round_trip_in_every_reader() {
    let d = disk();
    for (codec, cis) in [
        (Compression::Snappy, 1024),
        (Compression::Zlib, 4),
        (Compression::Stored, 7),
    ] {
        let what = format!("{codec:?}/{cis}");
        let (bytes, sum) = write_disk(codec, cis, &d);
        assert_eq!(sum.size, d.len() as u64, "{what}");
        assert_eq!(sum.zero_bytes, 5 * 4096, "{what}");
        assert_eq!(sum.hole_bytes, 0, "{what}");
        assert_eq!(sum.hashes[0].1, sha256(&d), "{what}");
        assert_eq!(sum.stream.block_hashes.is_empty(), cis != 1024, "{what}");
        assert!(read_ours(&bytes) == d, "{what}: our reader");
        let g = turtle(&bytes);
        for t in [
            aff4::lexicon::DISK_IMAGE,
            aff4::lexicon::CONTIGUOUS_IMAGE,
            aff4::lexicon::IMAGE,
        ] {
            assert!(g.has_type(&sum.image_urn, t), "{what}: {t}");
        }
        let set = aff4::volume::VolumeSet::from_bytes(bytes.clone()).expect("open");
        let rep = aff4::verify::verify(&set).expect("verify");
        assert!(rep.all_ok(), "{what}: {:?}", rep.checks);
        let path = save(&bytes);
        unzip_t(&path);
        let mut r = aff4_oracle::Aff4Reader::open(&path).expect("aff4 crate opens it");
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut got).expect("aff4 crate reads it");
        assert!(got == d, "{what}: the aff4 crate reads other bytes");
        let Some((size, ranges)) = pyaff4_ranges(&path, &[(0, d.len() as u64)]) else {
            return;
        };
        assert_eq!(size, d.len() as u64, "{what}");
        assert_eq!(ranges, vec![(d.len() as u64, sha256(&d))], "{what}");
        let Some(v) = pyaff4_validate(&path) else {
            return;
        };
        assert!(v.error.is_none() && v.invalid.is_empty(), "{what}: {v:?}");
        assert_eq!(v.blocks.1, 0, "{what}");
        assert!(
            v.valid.iter().any(|(t, _)| t == "AFF4Hash"),
            "{what}: {v:?}"
        );
    }
}

#[test]
fn caller_encoded_chunks_and_zero_runs_mix_with_write() {
    let d = disk();
    let mut vw = VolumeWriter::new(Vec::new(), "t").expect("volume");
    let mut w = vw
        .disk_image(opts(Compression::Lz4, 3))
        .expect("disk image");
    let (mut padded, mut stored) = (Vec::new(), Vec::new());
    for c in d[..20 * 4096].chunks(4096) {
        if c.iter().all(|&b| b == 0) {
            w.add_zero(4096).expect("zero");
            continue;
        }
        padded.clear();
        padded.extend_from_slice(c);
        Compression::Lz4.encode_chunk(&padded, &mut stored);
        w.add_chunk(c, &stored).expect("chunk");
    }
    w.write(&d[20 * 4096..20 * 4096 + 10]).expect("write");
    assert!(w.add_zero(4096).is_err(), "a partial chunk is pending");
    w.write(&d[20 * 4096 + 10..]).expect("write");
    let sum = w.finish().expect("finish");
    assert_eq!(sum.hashes[0].1, sha256(&d));
    assert!(read_ours(&vw.finish().expect("finish volume")) == d);
}
