//! What `ZipWriter` writes is read back by our reader and by three independent ones:
//! the `zip` crate, Python's `zipfile` and Info-ZIP `unzip -t`.

mod zip_util;

use aff4::zip::{Method, ZipArchive, ZipWriter};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// How a member is written.
#[derive(Debug, Clone, Copy)]
enum How {
    Stored,
    Deflated,
    Streamed,
}

fn write_member<W: Write>(z: &mut ZipWriter<W>, how: How, name: &str, data: &[u8]) {
    match how {
        How::Stored => z.add_stored(name, data).unwrap(),
        How::Deflated => z.add_deflated(name, data).unwrap(),
        How::Streamed => {
            let mut m = z.start_stored(name).unwrap();
            for chunk in data.chunks(777) {
                m.write_all(chunk).unwrap();
            }
            m.finish().unwrap();
        }
    }
}

fn build(members: &BTreeMap<String, (How, Vec<u8>)>, comment: &str) -> Vec<u8> {
    let mut z = ZipWriter::new(Vec::new());
    for (name, (how, data)) in members {
        write_member(&mut z, *how, name, data);
    }
    z.finish(comment).unwrap()
}

fn check_ours(bytes: &Vec<u8>, members: &BTreeMap<String, (How, Vec<u8>)>, comment: &str) {
    let a = ZipArchive::parse(bytes).unwrap();
    assert_eq!(a.comment(), comment);
    assert_eq!(a.entries().len(), members.len());
    for (name, (how, data)) in members {
        let e = a.entry(name).unwrap();
        let method = if matches!(how, How::Deflated) {
            Method::Deflated
        } else {
            Method::Stored
        };
        assert_eq!(e.method, method);
        assert_eq!(e.crc32, crc32fast::hash(data));
        assert_eq!(
            &a.read_member(bytes, name, 1 << 24).unwrap(),
            data,
            "{name}"
        );
    }
}

fn check_zip_crate(bytes: &[u8], members: &BTreeMap<String, (How, Vec<u8>)>, comment: &str) {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(z.comment(), comment.as_bytes());
    assert_eq!(z.len(), members.len());
    for (name, (_, data)) in members {
        let mut f = z.by_name(name).unwrap();
        let mut got = Vec::new();
        f.read_to_end(&mut got).unwrap(); // checks the CRC
        assert_eq!(&got, data, "zip crate: {name}");
    }
}

fn check_python(path: &Path, members: &BTreeMap<String, (How, Vec<u8>)>, comment: &str) {
    let Some((py_comment, py)) = zip_util::python_members(path) else {
        return;
    };
    assert_eq!(py_comment, comment.as_bytes());
    assert_eq!(py.len(), members.len());
    for m in py {
        let (_, data) = &members[&m.name];
        assert_eq!(m.sha256, zip_util::sha256_hex(data), "python: {}", m.name);
    }
}

fn check_all(bytes: Vec<u8>, members: &BTreeMap<String, (How, Vec<u8>)>, comment: &str) {
    check_ours(&bytes, members, comment);
    check_zip_crate(&bytes, members, comment);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("volume.aff4");
    std::fs::write(&path, &bytes).unwrap();
    check_python(&path, members, comment);
    zip_util::unzip_test(&path);
}

fn how() -> impl Strategy<Value = How> {
    prop_oneof![Just(How::Stored), Just(How::Deflated), Just(How::Streamed)]
}

/// Member names as AFF4 writers produce them, including escaped and non-ASCII ones.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._ üé€中%-]{1,16}(/[A-Za-z0-9._ü€%-]{1,12}){0,3}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn round_trip_through_every_reader(
        members in proptest::collection::btree_map(
            name(),
            (how(), proptest::collection::vec(any::<u8>(), 0..3000)),
            1..6,
        ),
        uuid in "[0-9a-f]{8}",
    ) {
        let comment = format!("aff4://{uuid}-0000-4000-8000-000000000000");
        let bytes = build(&members, &comment);
        check_all(bytes, &members, &comment);
    }
}

#[test]
fn empty_members_compressible_data_and_an_empty_volume() {
    let mut m = BTreeMap::new();
    m.insert(
        "container.description".to_string(),
        (How::Stored, b"aff4://v".to_vec()),
    );
    m.insert("empty-stored".to_string(), (How::Stored, vec![]));
    m.insert("empty-deflated".to_string(), (How::Deflated, vec![]));
    m.insert("empty-streamed".to_string(), (How::Streamed, vec![]));
    m.insert(
        "information.turtle".to_string(),
        (How::Deflated, b"<a> <b> <c> .\n".repeat(999)),
    );
    m.insert(
        "v/data/00000000".to_string(),
        (How::Streamed, vec![0xAB; 100_000]),
    );
    check_all(build(&m, "aff4://v"), &m, "aff4://v");
    let empty = ZipWriter::new(Vec::new()).finish("aff4://empty").unwrap();
    assert_eq!(ZipArchive::parse(&empty).unwrap().entries().len(), 0);
    check_zip_crate(&empty, &BTreeMap::new(), "aff4://empty");
}

#[test]
fn more_than_65535_members_counts_saturate_in_the_eocd() {
    let mut z = ZipWriter::new(Vec::new());
    for i in 0..70_000u32 {
        z.add_stored(&format!("{i:08}"), &i.to_le_bytes()).unwrap();
    }
    let b = z.finish("aff4://many").unwrap();
    let eocd = b.len() - 22 - "aff4://many".len();
    assert_eq!(&b[eocd + 8..eocd + 12], &[0xFF; 4]);
    let a = ZipArchive::parse(&b).unwrap();
    assert_eq!(a.entries().len(), 70_000);
    assert_eq!(
        a.read_member(&b, "00069999", 4).unwrap(),
        69_999u32.to_le_bytes()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.zip");
    std::fs::write(&path, &b).unwrap();
    zip_util::run_python(
        "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\n\
         assert len(z.infolist()) == 70000\nassert z.read('00069999') == (69999).to_bytes(4, 'little')",
        &path,
    );
}

/// The CD entry of `name` in `b`: (fixed header, extra field).
fn cd_entry<'a>(b: &'a [u8], name: &str) -> (&'a [u8], &'a [u8]) {
    let mut at = zip_util::find(b, b"PK\x01\x02");
    loop {
        let nlen = u16::from_le_bytes([b[at + 28], b[at + 29]]) as usize;
        let xlen = u16::from_le_bytes([b[at + 30], b[at + 31]]) as usize;
        if &b[at + 46..at + 46 + nlen] == name.as_bytes() {
            return (&b[at..at + 46], &b[at + 46 + nlen..at + 46 + nlen + xlen]);
        }
        at += 46 + nlen + xlen;
    }
}

#[test]
fn members_past_4_gib_get_all_three_zip64_values() {
    const AT: u64 = 5 << 30;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.aff4");
    let mut f = std::fs::File::create(&path).unwrap();
    f.set_len(AT).unwrap();
    f.seek(SeekFrom::Start(AT)).unwrap();
    let mut z = ZipWriter::new_at(std::io::BufWriter::new(f), AT);
    z.add_stored("stored", b"stored past 4 GiB").unwrap();
    z.add_deflated("deflated", &b"deflated past 4 GiB ".repeat(50))
        .unwrap();
    let mut m = z.start_stored("streamed").unwrap();
    m.write_all(b"streamed past 4 GiB").unwrap();
    m.finish().unwrap();
    z.finish("aff4://sparse")
        .unwrap()
        .into_inner()
        .unwrap()
        .sync_all()
        .unwrap();

    let file = std::fs::File::open(&path).unwrap();
    let a = ZipArchive::parse(&file).unwrap();
    assert_eq!(a.comment(), "aff4://sparse");
    for e in a.entries() {
        assert!(e.data_offset > AT, "{}", e.name);
    }
    assert_eq!(
        a.read_member(&file, "stored", 100).unwrap(),
        b"stored past 4 GiB"
    );
    assert_eq!(
        a.read_member(&file, "streamed", 100).unwrap(),
        b"streamed past 4 GiB"
    );
    assert_eq!(
        a.read_member(&file, "deflated", 10_000).unwrap(),
        b"deflated past 4 GiB ".repeat(50)
    );

    // The raw CD (read from the tail of the file): all three 32-bit fields saturated,
    // all three u64 values in a 24-byte ZIP64 extra, as c-aff4 needs.
    let mut tail = vec![0u8; 4096];
    let len = file.metadata().unwrap().len();
    let tail_at = len - tail.len() as u64;
    aff4::io::ReadAt::read_exact_at(&file, &mut tail, tail_at).unwrap();
    let (hdr, extra) = cd_entry(&tail, "stored");
    assert_eq!(&hdr[20..28], &[0xFF; 8]);
    assert_eq!(&hdr[42..46], &[0xFF; 4]);
    assert_eq!(extra.len(), 28);
    assert_eq!(&extra[..4], &[1, 0, 24, 0]);
    assert_eq!(u64::from_le_bytes(extra[4..12].try_into().unwrap()), 17);
    assert_eq!(u64::from_le_bytes(extra[12..20].try_into().unwrap()), 17);
    assert_eq!(u64::from_le_bytes(extra[20..28].try_into().unwrap()), AT);

    let mut expected = BTreeMap::new();
    expected.insert(
        "stored".to_string(),
        (How::Stored, b"stored past 4 GiB".to_vec()),
    );
    expected.insert(
        "streamed".to_string(),
        (How::Streamed, b"streamed past 4 GiB".to_vec()),
    );
    expected.insert(
        "deflated".to_string(),
        (How::Deflated, b"deflated past 4 GiB ".repeat(50)),
    );
    check_python(&path, &expected, "aff4://sparse");
    zip_util::unzip_test(&path);
}
