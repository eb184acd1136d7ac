//! Block hashes, BlockHashes, map hashes and blockMapHash recomputed from the Evimetry
//! reference images and compared with the values stored in their turtle.
//!
//! The turtle is read with plain string searches (the values needed are simple literals
//! in Evimetry's pretty-printed layout); the members come from the `zip` crate.

mod common;

use aff4::blockhash::{
    block_hash_member_name, block_hashes_subject, block_map_hash, BlockHashWriter, MapHashes,
};
use aff4::codec::Compression;
use aff4::hash::{to_hex, HashAlgo};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The members of a volume by name.
fn members(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let f = std::fs::File::open(path).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut m = z.by_index(i).unwrap();
        let mut data = Vec::new();
        m.read_to_end(&mut data).unwrap();
        out.insert(m.name().to_string(), data);
    }
    out
}

/// The text of the turtle block of `subject` (from its line to the blank line after it).
fn block<'a>(turtle: &'a str, subject: &str) -> &'a str {
    let head = format!("\n<{subject}>");
    let start = turtle
        .find(&head)
        .unwrap_or_else(|| panic!("no subject {subject}"))
        + 1;
    let rest = &turtle[start..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    &rest[..end]
}

/// The first literal after `predicate` in `block`, without its quotes.
fn literal<'a>(block: &'a str, predicate: &str) -> Option<&'a str> {
    let at = block.find(&format!("{predicate} "))?;
    let rest = &block[at..];
    let open = rest.find('"')? + 1;
    let close = rest[open..].find('"')? + open;
    Some(&rest[open..close])
}

/// Every `"hex"^^aff4:Name` literal of `block` as (hex, Name).
fn hash_literals(block: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = block;
    while let Some(at) = rest.find("\"^^aff4:") {
        let open = rest[..at].rfind('"').unwrap() + 1;
        let hex = rest[open..at].to_string();
        let tail = &rest[at + "\"^^aff4:".len()..];
        let end = tail
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(tail.len());
        out.push((hex, tail[..end].to_string()));
        rest = &tail[end..];
    }
    out
}

fn member_to_urn(member: &str) -> String {
    member.replace("aff4%3A%2F%2F", "aff4://")
}

/// The decompressed, trimmed chunks of the single-bevy stream with member prefix `s`.
fn chunks(m: &BTreeMap<String, Vec<u8>>, s: &str, stream_block: &str) -> Vec<Vec<u8>> {
    let chunk_size: usize = literal(stream_block, "aff4:chunkSize")
        .unwrap()
        .parse()
        .unwrap();
    let size: usize = literal(stream_block, "aff4:size").unwrap().parse().unwrap();
    let at = stream_block.find("aff4:compressionMethod").unwrap();
    let iri = &stream_block[at..];
    let iri = &iri[iri.find('<').unwrap() + 1..iri.find('>').unwrap()];
    let codec = Compression::from_iri(iri).unwrap();
    let bevy = &m[&format!("{s}/00000000")];
    let index = &m[&format!("{s}/00000000.index")];
    let mut out = Vec::new();
    for (n, e) in index.chunks_exact(12).enumerate() {
        let off = u64::from_le_bytes(e[..8].try_into().unwrap()) as usize;
        let len = u32::from_le_bytes(e[8..].try_into().unwrap()) as usize;
        let mut chunk = Vec::new();
        codec
            .decode_chunk(&bevy[off..off + len], chunk_size, &mut chunk, s)
            .unwrap();
        chunk.truncate(size - n * chunk_size);
        out.push(chunk);
    }
    assert_eq!(out.iter().map(Vec::len).sum::<usize>(), size);
    out
}

/// Checks every block hash, BlockHashes hash, map hash and the blockMapHash of `rel`;
/// returns the algorithms found.
fn check_reference(rel: &str) -> Option<Vec<HashAlgo>> {
    let path = common::shared_testdata(rel)?;
    let m = members(&path);
    let turtle = String::from_utf8(m["information.turtle"].clone()).unwrap();
    let s_member = m
        .keys()
        .find_map(|k| k.strip_suffix("/00000000.index"))
        .unwrap()
        .to_string();
    let stream = member_to_urn(&s_member);
    let map_member = m
        .keys()
        .find_map(|k| k.strip_suffix("/idx"))
        .unwrap()
        .to_string();
    let map_urn = member_to_urn(&map_member);
    let stream_block = block(&turtle, &stream);
    let chunks = chunks(&m, &s_member, stream_block);

    // Linear hashes on the ImageStream: over its decompressed bytes.
    let mut linear = 0;
    for (hex, name) in hash_literals(literal_line(stream_block, "aff4:hash")) {
        let algo = HashAlgo::from_datatype(&format!("http://aff4.org/Schema#{name}")).unwrap();
        let mut h = algo.hasher();
        chunks.iter().for_each(|c| h.update(c));
        assert_eq!(to_hex(&h.finish()), hex, "{rel}: stream {name}");
        linear += 1;
    }
    assert!(linear >= 2, "{rel}: stream linear hashes");

    // Block hashes: each digest is the digest of its chunk; the BlockHashes hash is
    // SHA-512 over the members; our writer reproduces both.
    let mut found = Vec::new();
    let mut block_hashes = Vec::new();
    for algo in HashAlgo::ALL {
        let subject = block_hashes_subject(&stream, algo);
        if !turtle.contains(&format!("<{subject}>")) {
            continue;
        }
        let sb = block(&turtle, &subject);
        assert!(sb.contains("aff4:BlockHashes"), "{subject}");
        let stored = hash_literals(sb);
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].1, "SHA512");
        let member = &m[&block_hash_member_name(&s_member, 0, algo)];
        assert_eq!(member.len(), chunks.len() * algo.digest_len());
        for (i, (c, d)) in chunks
            .iter()
            .zip(member.chunks_exact(algo.digest_len()))
            .enumerate()
        {
            assert_eq!(algo.digest(c), d, "{rel}: {algo:?} block {i}");
        }
        assert_eq!(to_hex(&HashAlgo::Sha512.digest(member)), stored[0].0);
        let mut w = BlockHashWriter::new(&[algo]);
        chunks.iter().for_each(|c| w.add_chunk(c));
        let ours = w.take_bevy_members(&s_member, 0);
        assert_eq!(ours.len(), 1);
        assert_eq!(&ours[0].1, member);
        let total = w.finish();
        assert_eq!(to_hex(&total[0].1), stored[0].0);
        block_hashes.push((algo, total[0].1.clone()));
        found.push(algo);
    }

    // Map hashes and the blockMapHash.
    let mb = block(&turtle, &map_urn);
    let path_member = m.get(&format!("{map_member}/mapPath"));
    let mh = MapHashes::compute(
        &m[&format!("{map_member}/map")],
        &m[&format!("{map_member}/idx")],
        path_member.map(Vec::as_slice),
    );
    assert_eq!(
        to_hex(&mh.map_point),
        literal(mb, "aff4:mapPointHash").unwrap()
    );
    assert_eq!(to_hex(&mh.map_idx), literal(mb, "aff4:mapIdxHash").unwrap());
    assert_eq!(
        mh.map_path.as_deref().map(to_hex).as_deref(),
        literal(mb, "aff4:mapPathHash")
    );
    assert_eq!(to_hex(&mh.map), literal(mb, "aff4:mapHash").unwrap());
    let bmh = to_hex(&block_map_hash(&block_hashes, &mh));
    assert_eq!(bmh, literal(mb, "aff4:blockMapHash").unwrap(), "{rel}");
    // The Image carries the same value typed blockMapHashSHA512.
    assert!(turtle.contains(&format!("\"{bmh}\"^^aff4:blockMapHashSHA512")));
    Some(found)
}

/// The text from `predicate` to the end of its statement (`;` or `.` at line end).
fn literal_line<'a>(block: &'a str, predicate: &str) -> &'a str {
    let at = block.find(&format!("{predicate} ")).unwrap();
    let rest = &block[at..];
    let end = rest
        .find(" ;\n")
        .or_else(|| rest.find(" ."))
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn all_hashes_reference_every_algorithm_recomputes() {
    if let Some(found) = check_reference("reference/AFF4Std/Base-Linear-AllHashes.aff4") {
        assert_eq!(found, HashAlgo::ALL.to_vec());
    }
}

#[test]
fn base_linear_reference_recomputes() {
    if let Some(found) = check_reference("reference/AFF4Std/Base-Linear.aff4") {
        assert_eq!(found, vec![HashAlgo::Md5, HashAlgo::Sha1]);
    }
}

#[test]
fn block_map_hash_ignores_the_order_block_hashes_are_given_in() {
    let mh = MapHashes::compute(b"map", b"idx", Some(b"path"));
    let a = vec![
        (HashAlgo::Blake2b, vec![5u8; 64]),
        (HashAlgo::Md5, vec![1u8; 16]),
        (HashAlgo::Sha256, vec![3u8; 32]),
    ];
    let mut b = a.clone();
    b.reverse();
    assert_eq!(block_map_hash(&a, &mh), block_map_hash(&b, &mh));
    b.pop();
    assert_ne!(block_map_hash(&a, &mh), block_map_hash(&b, &mh));
}
