//! Hostile and damaged volumes: every malformed case is an `Error::Zip` naming what is
//! wrong, never a panic and never an allocation sized by a lying field.

mod zip_util;

use aff4::zip::{ZipArchive, ZipWriter};
use aff4::Error;
use proptest::prelude::*;
use zip_util::{find, patch, rfind};

const CD: &[u8] = b"PK\x01\x02";
const LOCAL: &[u8] = b"PK\x03\x04";
const Z64: &[u8] = b"PK\x06\x06";
const LOCATOR: &[u8] = b"PK\x06\x07";
const EOCD: &[u8] = b"PK\x05\x06";

/// Stored "m" (300 bytes) then deflated "n" (3000 bytes), ZIP64 end records.
fn small_volume() -> Vec<u8> {
    let mut z = ZipWriter::new(Vec::new());
    z.add_stored("m", &[1u8; 300]).unwrap();
    z.add_deflated("n", &[2u8; 3000]).unwrap();
    z.finish("aff4://hostile").unwrap()
}

fn zip_error(b: &Vec<u8>) -> String {
    match ZipArchive::parse(b) {
        Err(Error::Zip(m)) => m,
        Err(other) => panic!("expected Error::Zip, got {other}"),
        Ok(a) => panic!("parsed a damaged volume: {:?}", a.entries()),
    }
}

/// Parses and reads every member; any outcome but a panic is fine.
fn exercise(b: &Vec<u8>) {
    if let Ok(a) = ZipArchive::parse(b) {
        for e in a.entries() {
            let _ = a.read_member(b, &e.name, 1 << 20);
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    let b = small_volume();
    assert!(ZipArchive::parse(&b).is_ok());
    for cut in 0..b.len() {
        let t = b[..cut].to_vec();
        assert!(
            matches!(ZipArchive::parse(&t), Err(Error::Zip(_))),
            "cut at {cut} parsed"
        );
    }
}

#[test]
fn every_single_byte_corruption_is_survived() {
    let b = small_volume();
    for i in 0..b.len() {
        for v in [b[i] ^ 0xFF, 0x00, 0xFF, b[i].wrapping_add(1)] {
            let mut c = b.clone();
            c[i] = v;
            exercise(&c);
        }
    }
}

#[test]
fn entry_count_lies() {
    let b = small_volume();
    let z64 = rfind(&b, Z64);
    for lie in [3u64, 1000, u64::MAX / 46 + 1, u64::MAX] {
        let mut c = b.clone();
        patch(&mut c, z64 + 32, &lie.to_le_bytes());
        assert!(zip_error(&c).contains("entries"), "{lie}");
    }
    // Fewer entries than present: only those are listed.
    let mut c = b.clone();
    patch(&mut c, z64 + 32, &1u64.to_le_bytes());
    assert_eq!(ZipArchive::parse(&c).unwrap().entries().len(), 1);
}

#[test]
fn directory_size_and_offset_lies() {
    let b = small_volume();
    let z64 = rfind(&b, Z64);
    for lie in [u64::MAX, b.len() as u64 * 2, z64 as u64 + 1] {
        let mut c = b.clone();
        patch(&mut c, z64 + 40, &lie.to_le_bytes());
        assert!(zip_error(&c).contains("central directory size"), "{lie}");
    }
    let mut c = b.clone();
    patch(&mut c, z64 + 48, &(b.len() as u64).to_le_bytes());
    assert!(zip_error(&c).contains("central directory offset"));
    let mut c = b.clone();
    let real = u64::from_le_bytes(c[z64 + 40..z64 + 48].try_into().unwrap());
    patch(&mut c, z64 + 40, &(real - 1).to_le_bytes());
    zip_error(&c);
}

#[test]
fn local_header_offset_past_eof() {
    let b = small_volume();
    let cd = find(&b, CD);
    for lie in [b.len() as u32, 0xFFFF_FFF0] {
        let mut c = b.clone();
        patch(&mut c, cd + 42, &lie.to_le_bytes());
        assert!(zip_error(&c).contains("past the end of the file"), "{lie}");
    }
    // Saturated offset without a ZIP64 extra field to hold the real one.
    let mut c = b.clone();
    patch(&mut c, cd + 42, &u32::MAX.to_le_bytes());
    assert!(zip_error(&c).contains("past the end"));
}

#[test]
fn compressed_size_huge() {
    let b = small_volume();
    let cd = find(&b, CD);
    let mut c = b.clone();
    patch(&mut c, cd + 20, &0xFFFF_FFFEu32.to_le_bytes());
    assert!(zip_error(&c).contains("run past the end"));
}

/// Our one-member volume ("m" = "x") with its CD entry rewritten as a ZIP64 entry:
/// usize, csize and offset saturated and `extra` as its extra field.
fn with_zip64_extra(extra: &[u8]) -> Vec<u8> {
    let mut z = ZipWriter::new(Vec::new());
    z.add_stored("m", b"x").unwrap();
    let b = z.finish("aff4://e").unwrap();
    let cd = find(&b, CD);
    let mut entry = b[cd..cd + 47].to_vec();
    for field in [20, 24, 42] {
        patch(&mut entry, field, &u32::MAX.to_le_bytes());
    }
    patch(&mut entry, 30, &(extra.len() as u16).to_le_bytes());
    let cd_size = (entry.len() + extra.len()) as u64;
    let mut end = b[rfind(&b, Z64)..].to_vec();
    patch(&mut end, 40, &cd_size.to_le_bytes()); // ZIP64 record: CD size
    patch(&mut end, 56 + 8, &(cd as u64 + cd_size).to_le_bytes()); // locator: record offset
    let mut v = b[..cd].to_vec();
    v.extend_from_slice(&entry);
    v.extend_from_slice(extra);
    v.extend_from_slice(&end);
    v
}

fn zip64_extra(usize: u64, csize: u64, lho: u64) -> Vec<u8> {
    let mut e = vec![1, 0, 24, 0];
    for v in [usize, csize, lho] {
        e.extend_from_slice(&v.to_le_bytes());
    }
    e
}

#[test]
fn zip64_extra_values_are_used_and_bounded() {
    let ok = with_zip64_extra(&zip64_extra(1, 1, 0));
    let a = ZipArchive::parse(&ok).unwrap();
    assert_eq!(a.read_member(&ok, "m", 10).unwrap(), b"x");
    // Unknown extra ids before the ZIP64 one are skipped.
    let mut skipped = vec![0x55, 0x54, 5, 0, 1, 2, 3, 4, 5];
    skipped.extend_from_slice(&zip64_extra(1, 1, 0));
    let v = with_zip64_extra(&skipped);
    assert_eq!(
        ZipArchive::parse(&v)
            .unwrap()
            .read_member(&v, "m", 10)
            .unwrap(),
        b"x"
    );
    let huge_csize = with_zip64_extra(&zip64_extra(1, u64::MAX, 0));
    assert!(zip_error(&huge_csize).contains("run past the end"));
    let huge_lho = with_zip64_extra(&zip64_extra(1, 1, u64::MAX - 10));
    assert!(zip_error(&huge_lho).contains("past the end of the file"));
    let mut short = zip64_extra(1, 1, 0);
    short.truncate(20);
    short[2] = 16;
    assert!(zip_error(&with_zip64_extra(&short)).contains("extra field truncated"));
    let mut overlong = zip64_extra(1, 1, 0);
    overlong[2] = 200;
    assert!(zip_error(&with_zip64_extra(&overlong)).contains("extra field truncated"));
}

#[test]
fn local_name_mismatch() {
    let mut b = small_volume();
    let local = find(&b, LOCAL);
    b[local + 30] = b'x';
    assert!(zip_error(&b).contains("names a different member"));
}

#[test]
fn no_local_header_at_offset() {
    let mut b = small_volume();
    let local = find(&b, LOCAL);
    b[local] = b'Q';
    assert!(zip_error(&b).contains("no local header"));
}

#[test]
fn unsupported_method_names_the_member() {
    let mut b = small_volume();
    let cd = find(&b, CD);
    patch(&mut b, cd + 10, &12u16.to_le_bytes());
    let m = zip_error(&b);
    assert!(m.contains("\"m\"") && m.contains("method 12"), "{m}");
}

#[test]
fn comment_length_past_the_end() {
    let mut b = small_volume();
    let eocd = rfind(&b, EOCD);
    patch(&mut b, eocd + 20, &100u16.to_le_bytes());
    assert!(zip_error(&b).contains("no end-of-central-directory"));
}

#[test]
fn locator_without_room_for_a_zip64_record() {
    // A locator right before an EOCD at offset 20: nothing fits before it.
    let mut b = LOCATOR.to_vec();
    b.extend_from_slice(&[0; 16]);
    b.extend_from_slice(EOCD);
    b.extend_from_slice(&[0; 18]);
    assert!(zip_error(&b).contains("ZIP64 locator"));
    let mut b = vec![0u8; 60];
    b.extend_from_slice(LOCATOR);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&u64::MAX.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(EOCD);
    b.extend_from_slice(&[0; 18]);
    assert!(zip_error(&b).contains("ZIP64 locator"));
}

#[test]
fn zip64_record_with_extensible_data_found_through_the_locator() {
    let b = small_volume();
    let loc = rfind(&b, LOCATOR);
    let z64 = rfind(&b, Z64);
    let mut c = b[..loc].to_vec();
    c.extend_from_slice(b"EXTENSIB");
    c.extend_from_slice(&b[loc..]);
    patch(&mut c, z64 + 4, &52u64.to_le_bytes());
    let a = ZipArchive::parse(&c).unwrap();
    assert_eq!(a.read_member(&c, "m", 1000).unwrap(), vec![1u8; 300]);
}

#[test]
fn deflate_bomb_stops_at_the_limit() {
    let mut z = ZipWriter::new(Vec::new());
    z.add_deflated("bomb", &vec![0u8; 64 << 20]).unwrap();
    let b = z.finish("aff4://bomb").unwrap();
    assert!(b.len() < 1 << 20, "bomb is small on disk");
    let a = ZipArchive::parse(&b).unwrap();
    let e = a.read_member(&b, "bomb", 1 << 20).unwrap_err().to_string();
    assert!(e.contains("exceed the limit"), "{e}");
    // The directory lies that it is tiny: inflation stops just past the limit.
    let mut c = b.clone();
    let cd = find(&c, CD);
    patch(&mut c, cd + 24, &10u32.to_le_bytes());
    let a = ZipArchive::parse(&c).unwrap();
    let e = a.read_member(&c, "bomb", 1 << 20).unwrap_err().to_string();
    assert!(e.contains("inflates to more than 1048576 bytes"), "{e}");
}

#[test]
fn deflated_garbage_and_wrong_length() {
    let mut z = ZipWriter::new(Vec::new());
    z.add_deflated("d", &b"hello ".repeat(100)).unwrap();
    let b = z.finish("aff4://d").unwrap();
    let cd = find(&b, CD);
    let mut c = b.clone();
    patch(&mut c, cd + 24, &601u32.to_le_bytes());
    let a = ZipArchive::parse(&c).unwrap();
    let e = a.read_member(&c, "d", 1 << 20).unwrap_err().to_string();
    assert!(
        e.contains("inflates to 600 bytes but the directory says 601"),
        "{e}"
    );
    let mut c = b.clone();
    let data = find(&c, LOCAL) + 31;
    c[data] = 0xFF; // an invalid block type
    let a = ZipArchive::parse(&c).unwrap();
    assert!(a.read_member(&c, "d", 1 << 20).is_err());
}

#[test]
fn missing_member_and_stored_limit() {
    let b = small_volume();
    let a = ZipArchive::parse(&b).unwrap();
    assert!(matches!(
        a.read_member(&b, "nope", 10),
        Err(Error::MissingMember(_))
    ));
    assert!(a.read_member(&b, "m", 299).is_err());
    assert_eq!(a.read_member(&b, "m", 300).unwrap().len(), 300);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_corruption_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = small_volume();
        for (i, v) in edits {
            let i = i.index(b.len());
            b[i] = v;
        }
        exercise(&b);
        b.truncate(cut.index(b.len()) + 1);
        exercise(&b);
    }
}
