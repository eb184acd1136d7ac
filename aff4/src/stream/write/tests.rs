use super::*;
use crate::hash::to_hex;

fn zip() -> ZipWriter<Vec<u8>> {
    ZipWriter::new(Vec::new())
}

fn opts(cs: u32, cis: u32) -> StreamOptions {
    StreamOptions {
        chunk_size: cs,
        chunks_in_segment: cis,
        compression: Compression::Stored,
        linear_hashes: vec![HashAlgo::Sha256],
        block_hashes: vec![HashAlgo::Md5],
        ..StreamOptions::default()
    }
}

#[test]
fn options_are_validated() {
    assert!(StreamOptions::default().validate().is_ok());
    for bad in [
        StreamOptions {
            chunk_size: 1000,
            ..StreamOptions::default()
        },
        StreamOptions {
            chunk_size: 256,
            ..StreamOptions::default()
        },
        StreamOptions {
            chunks_in_segment: 0,
            ..StreamOptions::default()
        },
        StreamOptions {
            chunk_size: 64 << 20,
            chunks_in_segment: 32,
            ..StreamOptions::default()
        },
        StreamOptions {
            linear_hashes: vec![HashAlgo::Sha1, HashAlgo::Sha1],
            ..StreamOptions::default()
        },
        StreamOptions {
            block_hashes: vec![HashAlgo::Md5, HashAlgo::Md5],
            ..StreamOptions::default()
        },
    ] {
        assert!(
            matches!(bad.validate(), Err(Error::InvalidArgument(_))),
            "{bad:?}"
        );
        assert!(ImageStreamWriter::new("aff4://v/s", "aff4://v", bad).is_err());
    }
}

fn names(bytes: Vec<u8>) -> (Vec<String>, zip::ZipArchive<std::io::Cursor<Vec<u8>>>) {
    let ar = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (ar.file_names().map(String::from).collect(), ar)
}

fn member(ar: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut ar.by_name(name).unwrap(), &mut v).unwrap();
    v
}

#[test]
fn bevies_and_indexes_are_written_and_block_hashes_dropped_past_one_bevy() {
    let mut z = zip();
    let mut g = Graph::new();
    let mut w = ImageStreamWriter::new("aff4://v/s", "aff4://v", opts(512, 2)).unwrap();
    let data: Vec<u8> = (0..5 * 512 + 7).map(|i| (i * 7 % 251) as u8).collect();
    // Odd-sized writes exercise the partial-chunk buffer.
    for piece in data.chunks(300) {
        w.write(&mut z, piece).unwrap();
    }
    assert_eq!(w.position(), data.len() as u64);
    let sum = w.finish(&mut z, &mut g).unwrap();
    assert_eq!(
        (sum.size, sum.chunks, sum.bevies),
        (data.len() as u64, 6, 3)
    );
    assert_eq!(sum.hashes[0].1, to_hex(&HashAlgo::Sha256.digest(&data)));
    assert!(sum.block_hashes.is_empty() && sum.block_hashes_dropped);
    let (names, mut ar) = names(z.finish("aff4://v").unwrap());
    for n in [
        "s/00000000",
        "s/00000000.index",
        "s/00000002",
        "s/00000002.index",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
    }
    assert!(!names.iter().any(|x| x.contains("blockHash")), "{names:?}");
    // Bevy 2 holds chunk 4 (full) and chunk 5 (7 bytes padded to 512, stored raw).
    let idx = member(&mut ar, "s/00000002.index");
    assert_eq!(idx.len(), 24);
    assert_eq!(&idx[12..20], &512u64.to_le_bytes());
    assert_eq!(&idx[20..24], &512u32.to_le_bytes());
    assert_eq!(&member(&mut ar, "s/00000002")[512..519], &data[5 * 512..]);
    assert!(g.has_type("aff4://v/s", lx::IMAGE_STREAM));
    assert!(!g.has_type("aff4://v/s/blockhash.md5", lx::BLOCK_HASHES));
    assert_eq!(
        g.object("aff4://v/s", lx::SIZE).and_then(Term::as_u64),
        Some(data.len() as u64)
    );
}

#[test]
fn one_bevy_streams_get_block_hashes() {
    let mut z = zip();
    let mut g = Graph::new();
    let mut w = ImageStreamWriter::new("aff4://v/s", "aff4://v", opts(512, 6)).unwrap();
    let data: Vec<u8> = (0..5 * 512 + 7).map(|i| (i * 13 % 251) as u8).collect();
    w.write(&mut z, &data).unwrap();
    let sum = w.finish(&mut z, &mut g).unwrap();
    assert_eq!(
        (sum.chunks, sum.bevies, sum.block_hashes_dropped),
        (6, 1, false)
    );
    // SHA-512 over the MD5 of each chunk, the last one unpadded (as pyaff4 reads it).
    let mut all = Vec::new();
    for c in data.chunks(512) {
        all.extend(HashAlgo::Md5.digest(c));
    }
    assert_eq!(
        sum.block_hashes,
        vec![(HashAlgo::Md5, HashAlgo::Sha512.digest(&all))]
    );
    let (_, mut ar) = names(z.finish("aff4://v").unwrap());
    assert_eq!(member(&mut ar, "s/00000000.blockHash.md5"), all);
    assert!(g.has_type("aff4://v/s/blockhash.md5", lx::BLOCK_HASHES));
    assert_eq!(
        g.object("aff4://v/s/blockhash.md5", lx::HASH)
            .and_then(Term::as_str),
        Some(to_hex(&HashAlgo::Sha512.digest(&all)).as_str())
    );
}

#[test]
fn chunk_rules_are_enforced() {
    let mut z = zip();
    let mut w = ImageStreamWriter::new("aff4://v/s", "aff4://v", opts(512, 4)).unwrap();
    assert!(w.write_chunk(&mut z, &[], &[1]).is_err());
    assert!(w.write_chunk(&mut z, &[0; 513], &[0; 10]).is_err());
    assert!(w.write_chunk(&mut z, &[1; 512], &[0; 600]).is_err());
    assert_eq!(w.write_chunk(&mut z, &[1; 512], &[1; 512]).unwrap(), 0);
    assert_eq!(w.write_chunk(&mut z, &[1; 100], &[1; 512]).unwrap(), 512);
    // Nothing may follow a short chunk.
    assert!(w.write_chunk(&mut z, &[1; 512], &[1; 512]).is_err());
    assert!(w.write(&mut z, &[1; 10]).is_err());
    let mut w = ImageStreamWriter::new("aff4://v/t", "aff4://v", opts(512, 4)).unwrap();
    w.write(&mut z, &[3; 10]).unwrap();
    assert!(
        w.write_chunk(&mut z, &[1; 512], &[1; 512]).is_err(),
        "partial write pending"
    );
}

#[test]
fn empty_stream_writes_no_bevy() {
    let mut z = zip();
    let mut g = Graph::new();
    let w = ImageStreamWriter::new("aff4://v/e", "aff4://v", StreamOptions::default()).unwrap();
    let sum = w.finish(&mut z, &mut g).unwrap();
    assert_eq!((sum.size, sum.chunks, sum.bevies), (0, 0, 0));
    assert_eq!(z.position(), 0);
}

#[test]
fn every_bevy_block_hashes_sit_at_the_local_and_the_global_offset() {
    let mut z = zip();
    let mut g = Graph::new();
    let o = StreamOptions {
        block_hashes_every_bevy: true,
        ..opts(512, 2)
    };
    let mut w = ImageStreamWriter::new("aff4://v/s", "aff4://v", o).unwrap();
    let data: Vec<u8> = (0..5 * 512 + 7).map(|i| (i * 11 % 251) as u8).collect();
    w.write(&mut z, &data).unwrap();
    let sum = w.finish(&mut z, &mut g).unwrap();
    assert_eq!(
        (sum.chunks, sum.bevies, sum.block_hashes_dropped),
        (6, 3, false)
    );
    let digests: Vec<Vec<u8>> = data.chunks(512).map(|c| HashAlgo::Md5.digest(c)).collect();
    assert_eq!(
        sum.block_hashes,
        vec![(HashAlgo::Md5, HashAlgo::Sha512.digest(&digests.concat()))]
    );
    let (_, mut ar) = names(z.finish("aff4://v").unwrap());
    assert_eq!(
        member(&mut ar, "s/00000000.blockHash.md5"),
        digests[..2].concat()
    );
    for b in 1..3usize {
        let own = digests[b * 2..b * 2 + 2].concat();
        let m = member(&mut ar, &format!("s/{b:08}.blockHash.md5"));
        // Bevy-local offset (the standard), then the global chunk offset (pyaff4).
        assert_eq!(m.len(), (b * 2 + 2) * 16, "bevy {b}");
        assert_eq!(&m[..32], own.as_slice());
        assert_eq!(&m[b * 32..], own.as_slice());
        assert!(m[32..b * 32].iter().all(|&x| x == 0));
    }
    assert!(g.has_type("aff4://v/s/blockhash.md5", lx::BLOCK_HASHES));
}
