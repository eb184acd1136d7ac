//! Memory images we write read back identically in our reader, pyaff4 0.34 and the
//! crates.io `aff4` reader; pyaff4's hash Validator finds nothing invalid; `unzip -t`
//! passes. Every codec, one and many bevies, holes and symbolic ranges.

mod common;
mod write_support;

use aff4::codec::Compression;
use aff4::hash::HashAlgo;
use aff4::lexicon as lx;
use aff4::rdf::Term;
use write_support::*;

const CODECS: [Compression; 5] = [
    Compression::Stored,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zlib,
    Compression::Deflate,
];

#[test]
fn every_codec_round_trips_through_our_reader_with_one_and_many_bevies() {
    let (pieces, total) = memory_layout(4096);
    let want = expected_image(&pieces, total);
    for codec in CODECS {
        for cis in [1024, 2] {
            let (bytes, sum) = write_memory(opts(codec, cis), &pieces, total);
            let what = format!("{codec:?}, {cis} chunks per bevy");
            assert_eq!(sum.size, total, "{what}");
            assert!(read_ours(&bytes) == want, "{what}: our reader differs");
            assert_eq!(sum.hashes[0], (HashAlgo::Sha256, sha256(&want)), "{what}");
            let md5 = aff4::hash::to_hex(&HashAlgo::Md5.digest(&want));
            assert_eq!(sum.hashes[1], (HashAlgo::Md5, md5), "{what}");
            assert_eq!(sum.stream.bevies > 1, cis == 2, "{what}");
            let g = turtle(&bytes);
            let on_map: Vec<&str> = g
                .objects(&sum.map_urn, lx::HASH)
                .into_iter()
                .filter_map(Term::as_str)
                .collect();
            assert!(
                on_map.contains(&sum.hashes[0].1.as_str()),
                "{what}: {on_map:?}"
            );
            // The Image holds only the block-map hash (pyaff4's Validator checks it).
            let on_image: Vec<(&str, Option<&str>)> = g
                .objects(&sum.image_urn, lx::HASH)
                .into_iter()
                .map(|t| (t.as_str().unwrap_or(""), t.datatype()))
                .collect();
            let bmh = aff4::writer::vocab::BLOCK_MAP_HASH_SHA512;
            assert_eq!(
                on_image,
                vec![(sum.block_map_hash.as_str(), Some(bmh))],
                "{what}"
            );
            let set = aff4::volume::VolumeSet::from_bytes(bytes).expect("open");
            let rep = aff4::verify::verify(&set).expect("verify");
            assert!(rep.all_ok(), "{what}: {:?}", rep.checks);
        }
    }
}

#[test]
fn counts_and_stored_bytes_add_up() {
    let (pieces, total) = memory_layout(4096);
    let (_, sum) = write_memory(opts(Compression::Stored, 4), &pieces, total);
    let data: u64 = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Data(_, d) => Some(d.len() as u64),
            Piece::Sym(..) => None,
        })
        .sum();
    assert_eq!(sum.data_bytes, data);
    assert_eq!(sum.zero_bytes, 2 * 4096 + (total - (2 << 20) - 4096));
    assert_eq!(sum.unreadable_bytes, 2 * 4096 + 100);
    assert_eq!(sum.other_symbolic_bytes, 5300);
    assert_eq!(
        sum.data_bytes
            + sum.zero_bytes
            + sum.unreadable_bytes
            + sum.other_symbolic_bytes
            + sum.hole_bytes,
        total
    );
    // Stored codec: every chunk (short ones padded) is stored whole.
    assert_eq!(sum.stored_bytes, sum.chunks * 4096);
    assert_eq!(sum.chunks, 4 + 3 + 1 + 1);
}

#[test]
fn out_of_order_and_overlapping_ranges_are_rejected() {
    let mut vw = aff4::writer::VolumeWriter::new(Vec::new(), "t").expect("volume");
    let mut mem = vw
        .memory_image(opts(Compression::Snappy, 8))
        .expect("image");
    mem.add_symbolic(8192, 4096, aff4::symbolic::Symbolic::Zero)
        .expect("zero");
    assert!(mem.add_chunk(4096, &[1; 4096], &[1; 4096]).is_err());
    assert!(mem
        .add_symbolic(12287, 1, aff4::symbolic::Symbolic::Zero)
        .is_err());
    assert!(mem.add_chunk(12288, &[1; 4097], &[1; 4096]).is_err());
    assert!(mem
        .add_symbolic(u64::MAX, 2, aff4::symbolic::Symbolic::Zero)
        .is_err());
    mem.add_chunk(12288, &[1; 4096], &[1; 4096])
        .expect("in order");
}

#[test]
fn pyaff4_reads_every_range_identically() {
    let (pieces, total) = memory_layout(4096);
    let want = expected_image(&pieces, total);
    for codec in [
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zlib,
        Compression::Stored,
    ] {
        for cis in [1024, 2] {
            let (bytes, _) = write_memory(opts(codec, cis), &pieces, total);
            let path = save(&bytes);
            // Mapped ranges only: pyaff4 returns nothing for reads starting in a hole.
            let mut ranges: Vec<(u64, u64)> = pieces.iter().map(Piece::range).collect();
            ranges.push((2 << 20, total - (2 << 20)));
            let Some((size, got)) = pyaff4_ranges(&path, &ranges) else {
                return;
            };
            assert_eq!(size, total, "{codec:?}/{cis}: pyaff4 size");
            for ((s, n), (read, h)) in ranges.iter().zip(&got) {
                let what = format!("{codec:?}/{cis}: range {s:#x}+{n:#x}");
                assert_eq!(read, n, "{what}: short read");
                assert_eq!(h, &sha256(&want[*s as usize..(s + n) as usize]), "{what}");
            }
            unzip_t(&path);
        }
    }
}

fn validate(opts: aff4::writer::StreamOptions) -> Option<(Validation, aff4::writer::ImageSummary)> {
    let (pieces, total) = memory_layout(4096);
    let (bytes, sum) = write_memory(opts, &pieces, total);
    let path = save(&bytes);
    let v = pyaff4_validate(&path)?;
    assert!(v.error.is_none(), "validator crashed: {:?}", v.error);
    assert!(v.invalid.is_empty(), "invalid hashes: {:?}", v.invalid);
    assert_eq!(v.blocks.1, 0, "invalid block hashes");
    Some((v, sum))
}

#[test]
fn pyaff4_validator_finds_no_invalid_hash() {
    let block = vec![HashAlgo::Sha1, HashAlgo::Md5, HashAlgo::Blake2b];
    for (cis, block_hashes) in [
        (1024, Vec::new()),
        (2, Vec::new()),
        (1024, block.clone()),
        (3, block),
    ] {
        let o = aff4::writer::StreamOptions {
            block_hashes: block_hashes.clone(),
            ..opts(Compression::Snappy, cis)
        };
        let what = format!("{cis} chunks per bevy, block hashes {block_hashes:?}");
        let Some((v, sum)) = validate(o) else { return };
        // The map hashes, the blockMapHash and the Image's hash are always checked.
        let types: Vec<&str> = v.valid.iter().map(|(t, _)| t.as_str()).collect();
        for t in [
            "mapIdxHash",
            "mapPointHash",
            "mapHash",
            "BlockMapHash",
            "AFF4Hash",
        ] {
            assert!(types.contains(&t), "{what}: {t} not validated: {types:?}");
        }
        let one_bevy = sum.stream.bevies == 1;
        assert_eq!(one_bevy, cis == 1024, "{what}");
        if one_bevy && !block_hashes.is_empty() {
            assert!(types.contains(&"BlockHashesHash"), "{what}: {types:?}");
            assert_eq!(
                v.blocks.0,
                3 * sum.chunks,
                "{what}: every block of every algorithm"
            );
        } else {
            assert_eq!(
                sum.stream.block_hashes_dropped,
                !block_hashes.is_empty(),
                "{what}"
            );
            assert_eq!(v.blocks, (0, 0), "{what}");
        }
    }
}

/// The crates.io reader decodes LZ4 as *frames* (pyaff4 and c-aff4 write and read raw
/// blocks, AFF4-FORMAT.md §3.3) and does not know the rfc1951 URI, so it is asked
/// about the other codecs only.
#[test]
fn crates_io_reader_agrees() {
    let (pieces, total) = memory_layout(4096);
    let want = expected_image(&pieces, total);
    for codec in [Compression::Snappy, Compression::Zlib, Compression::Stored] {
        let (bytes, _) = write_memory(opts(codec, 2), &pieces, total);
        let path = save(&bytes);
        let mut r = aff4_oracle::Aff4Reader::open(&path).expect("aff4 crate opens it");
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut got).expect("aff4 crate reads it");
        assert_eq!(got.len(), want.len(), "{codec:?}");
        assert!(got == want, "{codec:?}: the aff4 crate reads other bytes");
    }
}

#[test]
fn sparse_image_above_4_gib_uses_u64_offsets() {
    let gib = 1u64 << 30;
    let pieces = vec![
        Piece::Data(0, data(7, 10_000)),
        Piece::Sym(gib, gib, aff4::symbolic::Symbolic::Zero),
        Piece::Data(4 * gib + 8192, data(8, 3 * 32768 + 5)),
        Piece::Sym(
            4 * gib + (1 << 20) - 100,
            9000,
            aff4::symbolic::Symbolic::UnreadableData,
        ),
    ];
    let total = 5 * gib + 4096;
    let o = aff4::writer::StreamOptions {
        chunks_in_segment: 2,
        linear_hashes: vec![HashAlgo::Sha256],
        ..aff4::writer::StreamOptions::default()
    };
    let (bytes, sum) = write_memory(o, &pieces, total);
    assert_eq!(sum.size, total);
    // Our reader: the whole image hashes to the summary's value, and ranges match.
    let set = aff4::volume::VolumeSet::from_bytes(bytes.clone()).expect("open");
    let img = set.primary_image().expect("image");
    let mut s = set.open_stream(&img).expect("stream");
    let mut h = HashAlgo::Sha256.hasher();
    let mut buf = vec![0u8; 8 << 20];
    let mut n_total = 0u64;
    loop {
        let n = std::io::Read::read(&mut s, &mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        n_total += n as u64;
    }
    assert_eq!(n_total, total);
    assert_eq!(aff4::hash::to_hex(&h.finish()), sum.hashes[0].1);
    let mut ranges = Vec::new();
    let mut want = Vec::new();
    for p in &pieces {
        let (a, n) = p.range();
        let mut b = vec![0u8; n.min(1 << 20) as usize];
        match p {
            Piece::Data(_, d) => b.copy_from_slice(d),
            Piece::Sym(_, _, sym) => sym.fill(a, &mut b),
        }
        ranges.push((a, b.len() as u64));
        want.push(sha256(&b));
        let mut got = vec![0u8; b.len()];
        std::io::Seek::seek(&mut s, std::io::SeekFrom::Start(a)).expect("seek");
        std::io::Read::read_exact(&mut s, &mut got).expect("read range");
        assert!(got == b, "our reader at {a:#x}");
    }
    let path = save(&bytes);
    unzip_t(&path);
    let Some((size, got)) = pyaff4_ranges(&path, &ranges) else {
        return;
    };
    assert_eq!(size, total, "pyaff4 size");
    for (((a, n), (read, hash)), w) in ranges.iter().zip(&got).zip(&want) {
        assert_eq!(read, n, "pyaff4 short read at {a:#x}");
        assert_eq!(hash, w, "pyaff4 bytes at {a:#x}");
    }
}

#[test]
fn information_yaml_resolves_under_the_map_urn() {
    let mut vw = aff4::writer::VolumeWriter::new(Vec::new(), "t").expect("volume");
    let mut mem = vw
        .memory_image(opts(Compression::Snappy, 8))
        .expect("image");
    mem.add_chunk(0, &[7; 4096], &[7; 4096]).expect("chunk");
    let name = mem.map_member("information.yaml");
    let sum = mem.finish(4096).expect("finish");
    assert_eq!(
        name,
        vw.member_name(&format!("{}/information.yaml", sum.map_urn))
    );
    vw.add_member(&name, b"Registers: {CR3: 0x1aa000}\n")
        .expect("member");
    let set = aff4::volume::VolumeSet::from_bytes(vw.finish().expect("finish")).expect("open");
    let yaml = set
        .member(&format!("{}/information.yaml", sum.map_urn))
        .expect("by URN");
    assert_eq!(yaml, b"Registers: {CR3: 0x1aa000}\n");
}

/// `-c deflate` writes what the Standard's URI means: raw RFC 1951 chunks, not the
/// zlib-wrapped data c-aff4 writes and expects under it (AFF4-FORMAT.md §3.3). Every
/// compressed chunk inflates as raw deflate to a whole chunk and is no zlib stream.
#[test]
fn deflate_chunks_are_raw_rfc1951() {
    use std::io::Read;
    let (pieces, total) = memory_layout(4096);
    let (bytes, sum) = write_memory(opts(Compression::Deflate, 1024), &pieces, total);
    let g = turtle(&bytes);
    let method = g
        .object(&sum.stream_urn, lx::COMPRESSION_METHOD)
        .and_then(Term::as_iri);
    assert_eq!(method, Some(lx::COMPRESSION_DEFLATE));
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
    let index_name = z
        .file_names()
        .find(|n| n.ends_with("/00000000.index"))
        .expect("an index")
        .to_string();
    let read = |z: &mut zip::ZipArchive<_>, n: &str| {
        let mut v = Vec::new();
        z.by_name(n).expect(n).read_to_end(&mut v).expect(n);
        v
    };
    let index = read(&mut z, &index_name);
    let bevy = read(&mut z, index_name.trim_end_matches(".index"));
    let mut compressed = 0;
    for e in index.chunks_exact(12) {
        let off = u64::from_le_bytes(e[..8].try_into().unwrap()) as usize;
        let len = u32::from_le_bytes(e[8..].try_into().unwrap()) as usize;
        if len == 4096 {
            continue; // stored raw
        }
        compressed += 1;
        let chunk = &bevy[off..off + len];
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(chunk)
            .read_to_end(&mut out)
            .expect("raw deflate");
        assert_eq!(out.len(), 4096);
        let mut z_out = Vec::new();
        assert!(
            flate2::read::ZlibDecoder::new(chunk)
                .read_to_end(&mut z_out)
                .is_err(),
            "a chunk is zlib-wrapped"
        );
    }
    assert!(compressed > 3, "{compressed} compressed chunks");
}
