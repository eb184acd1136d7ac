//! The RDF layer against the `information.turtle` of every reference volume (Evimetry
//! standard, pre-standard legacy namespace, AFF4-L) and the c-aff4 volumes (`@base`
//! style). The turtle is extracted with the `zip` crate, independently of our ZIP code.

mod common;

use aff4::lexicon as lx;
use aff4::rdf::{parse_turtle, Graph, Term};
use std::io::Read;
use std::path::Path;

/// Every volume whose turtle these tests read.
const VOLUMES: [&str; 11] = [
    "reference/AFF4Std/Base-Linear.aff4",
    "reference/AFF4Std/Base-Allocated.aff4",
    "reference/AFF4Std/Base-Linear-AllHashes.aff4",
    "reference/AFF4Std/Base-Linear-ReadError.aff4",
    "reference/AFF4Std/Striped/Base-Linear_1.aff4",
    "reference/AFF4Std/Striped/Base-Linear_2.aff4",
    "reference/AFF4PreStd/Base-Linear.af4",
    "reference/AFF4-L/dream.aff4",
    "c-aff4/c-aff4-snappy.aff4",
    "c-aff4/c-aff4-zlib.aff4",
    "c-aff4/c-aff4-logical.aff4",
];

/// `information.turtle` and the volume URN (ZIP comment without Evimetry's NUL).
struct Volume {
    turtle: String,
    urn: String,
}

fn open(path: &Path) -> Volume {
    let f = std::fs::File::open(path).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let urn = String::from_utf8(z.comment().to_vec()).unwrap();
    let urn = urn.trim_end_matches('\0').to_string();
    let mut turtle = String::new();
    z.by_name("information.turtle")
        .unwrap()
        .read_to_string(&mut turtle)
        .unwrap();
    Volume { turtle, urn }
}

/// The volume at `rel` with its turtle parsed against its URN (as the reader does).
fn load(rel: &str) -> Option<(Volume, Graph)> {
    let path = common::shared_testdata(rel)?;
    let v = open(&path);
    let g = parse_turtle(&v.turtle, Some(&v.urn))
        .unwrap_or_else(|e| panic!("{rel}: {e}\n{}", v.turtle));
    Some((v, g))
}

fn u64_of(g: &Graph, s: &str, p: &str) -> Option<u64> {
    g.object(s, p).and_then(Term::as_u64)
}

fn single<'a>(v: &[&'a str], what: &str) -> &'a str {
    assert_eq!(v.len(), 1, "{what}: {v:?}");
    v[0]
}

#[test]
fn every_volume_parses_with_the_volume_subject_and_no_legacy_iris() {
    for rel in VOLUMES {
        let Some((v, g)) = load(rel) else { continue };
        assert!(g.len() >= 2, "{rel}: {} triples", g.len());
        let all = g.to_turtle();
        assert!(!all.contains("afflib.org"), "{rel}: legacy IRI left");
        // Without a caller base, the self-contained (Evimetry/rdflib) files parse the
        // same; the c-aff4 ones resolve against their own @base.
        assert_eq!(parse_turtle(&v.turtle, None).unwrap(), g, "{rel}");
        // Every volume is the subject or object of something: the URN in the ZIP
        // comment and the one in the turtle agree.
        let mentioned = g
            .iter()
            .any(|t| t.s.as_iri() == Some(v.urn.as_str()) || t.o.as_iri() == Some(v.urn.as_str()));
        assert!(mentioned, "{rel}: volume {} not in its turtle", v.urn);
        // Our serialisation reads back to the same graph.
        assert_eq!(parse_turtle(&all, None).unwrap(), g, "{rel}:\n{all}");
    }
}

#[test]
fn base_linear_has_one_image_whose_data_stream_is_a_map() {
    let Some((v, g)) = load("reference/AFF4Std/Base-Linear.aff4") else {
        return;
    };
    assert!(g.has_type(&v.urn, lx::ZIP_VOLUME));
    assert_eq!(
        g.object(&v.urn, lx::STORED),
        Some(&Term::string("Base-Linear.aff4"))
    );
    assert_eq!(g.objects(&v.urn, lx::CONTAINS).len(), 7);
    let image = single(&g.subjects_of_type(lx::IMAGE), "aff4:Image");
    for t in [lx::DISK_IMAGE, lx::CONTIGUOUS_IMAGE] {
        assert!(g.has_type(image, t), "{t}");
    }
    assert_eq!(u64_of(&g, image, lx::SIZE), Some(268_435_456));
    assert_eq!(u64_of(&g, image, lx::BLOCK_SIZE), Some(512));
    assert_eq!(u64_of(&g, image, lx::SECTOR_COUNT), Some(524_288));
    let hash = g.object(image, lx::HASH).unwrap();
    assert_eq!(hash.datatype(), Some(lx::HASH_BLOCK_MAP_SHA512));
    let map = g
        .object(image, lx::DATA_STREAM)
        .and_then(Term::as_iri)
        .unwrap();
    assert!(g.has_type(map, lx::MAP));
    assert_eq!(
        g.object(map, lx::MAP_GAP_DEFAULT_STREAM),
        Some(&Term::iri(lx::ZERO))
    );
    assert_eq!(g.object(map, lx::TARGET), Some(&Term::iri(image)));
    assert_eq!(g.object(map, lx::STORED), Some(&Term::iri(v.urn.as_str())));
    for p in [
        lx::MAP_HASH,
        lx::MAP_IDX_HASH,
        lx::MAP_PATH_HASH,
        lx::MAP_POINT_HASH,
    ] {
        let h = g.object(map, p).unwrap_or_else(|| panic!("{p}"));
        assert_eq!(h.datatype(), Some(lx::HASH_SHA512), "{p}");
        assert_eq!(h.as_str().map(str::len), Some(128), "{p}");
    }
    let stream = g
        .object(map, lx::DEPENDENT_STREAM)
        .and_then(Term::as_iri)
        .unwrap();
    assert_eq!(
        single(&g.subjects_of_type(lx::IMAGE_STREAM), "stream"),
        stream
    );
    assert_eq!(u64_of(&g, stream, lx::CHUNK_SIZE), Some(32768));
    assert_eq!(u64_of(&g, stream, lx::CHUNKS_IN_SEGMENT), Some(2048));
    assert_eq!(u64_of(&g, stream, lx::SIZE), Some(3_964_928));
    assert_eq!(u64_of(&g, stream, lx::VERSION), Some(1));
    assert_eq!(
        g.object(stream, lx::COMPRESSION_METHOD),
        Some(&Term::iri(lx::COMPRESSION_SNAPPY))
    );
    // Linear MD5 + SHA1 on the stream: two values, so GetUnique-style object() is None.
    assert_eq!(g.object(stream, lx::HASH), None);
    let hashes = g.objects(stream, lx::HASH);
    assert!(hashes.contains(&&Term::typed(
        "d5825dc1152a42958c8219ff11ed01a3",
        lx::HASH_MD5
    )));
    assert!(hashes.iter().any(|h| h.datatype() == Some(lx::HASH_SHA1)));
    for p in [lx::IMAGE_STREAM_HASH, lx::IMAGE_STREAM_INDEX_HASH] {
        assert_eq!(
            g.object(stream, p).and_then(Term::datatype),
            Some(lx::HASH_SHA512)
        );
    }
    // Evimetry case metadata.
    let notes = g.subjects_of_type(lx::CASE_NOTES);
    assert_eq!(notes.len(), 2, "an original and an appended case note");
    for n in notes {
        assert_eq!(g.object(n, lx::TARGET), Some(&Term::iri(image)));
        assert!(g.object(n, lx::NOTES).and_then(Term::as_str).is_some());
    }
    let ts = single(&g.subjects_of_type(lx::TIME_STAMPS), "timestamps");
    assert_eq!(
        g.object(ts, lx::START_TIME).and_then(Term::datatype),
        Some(lx::XSD_DATETIME)
    );
    assert_eq!(g.subjects_of_type(lx::BLOCK_HASHES).len(), 2);
}

#[test]
fn every_standard_reference_image_is_image_to_map_to_streams() {
    for rel in &VOLUMES[..6] {
        let Some((_, g)) = load(rel) else { continue };
        let image = single(&g.subjects_of_type(lx::IMAGE), rel);
        let map = g
            .object(image, lx::DATA_STREAM)
            .and_then(Term::as_iri)
            .unwrap();
        assert!(g.has_type(map, lx::MAP), "{rel}");
        assert_eq!(
            u64_of(&g, map, lx::SIZE),
            u64_of(&g, image, lx::SIZE),
            "{rel}"
        );
        for s in g.subjects_of_type(lx::IMAGE_STREAM) {
            // A stream stored in the other stripe is declared without its properties.
            if g.object(s, lx::CHUNK_SIZE).is_none() {
                assert_eq!(g.about(s).len(), 3, "{rel}: {s}");
                continue;
            }
            assert_eq!(u64_of(&g, s, lx::CHUNK_SIZE), Some(32768), "{rel}: {s}");
            assert_eq!(
                u64_of(&g, s, lx::CHUNKS_IN_SEGMENT),
                Some(2048),
                "{rel}: {s}"
            );
            assert!(u64_of(&g, s, lx::SIZE).is_some(), "{rel}: {s}");
        }
    }
}

#[test]
fn all_hashes_image_stream_has_five_linear_hashes_with_pyaff4_blake2b() {
    let Some((_, g)) = load("reference/AFF4Std/Base-Linear-AllHashes.aff4") else {
        return;
    };
    let stream = single(&g.subjects_of_type(lx::IMAGE_STREAM), "stream");
    let mut types: Vec<&str> = g
        .objects(stream, lx::HASH)
        .into_iter()
        .filter_map(Term::datatype)
        .collect();
    types.sort_unstable();
    let mut expected = [
        lx::HASH_BLAKE2B_PYAFF4,
        lx::HASH_MD5,
        lx::HASH_SHA1,
        lx::HASH_SHA256,
        lx::HASH_SHA512,
    ];
    expected.sort_unstable();
    assert_eq!(types, expected);
}

#[test]
fn striped_volumes_agree_on_the_shared_image_and_remote_stream() {
    let Some((v1, g1)) = load("reference/AFF4Std/Striped/Base-Linear_1.aff4") else {
        return;
    };
    let Some((v2, g2)) = load("reference/AFF4Std/Striped/Base-Linear_2.aff4") else {
        return;
    };
    let image = single(&g1.subjects_of_type(lx::IMAGE), "image 1");
    assert_eq!(single(&g2.subjects_of_type(lx::IMAGE), "image 2"), image);
    // Volume 1 declares a stream that volume 2 stores (and describes).
    let remote: Vec<&str> = g1
        .subjects_of_type(lx::IMAGE_STREAM)
        .into_iter()
        .filter(|s| g1.object(s, lx::STORED).and_then(Term::as_iri) == Some(&v2.urn))
        .collect();
    let remote = single(&remote, "remote stream");
    assert_eq!(
        g2.object(remote, lx::STORED),
        Some(&Term::iri(v2.urn.as_str()))
    );
    let mut merged = g1.clone();
    merged.extend(&g2);
    // Both declarations agree, so the merged value is still unique.
    assert_eq!(
        merged.object(remote, lx::STORED),
        Some(&Term::iri(v2.urn.as_str()))
    );
    assert_eq!(u64_of(&merged, remote, lx::CHUNK_SIZE), Some(32768));
    assert_eq!(merged.subjects_of_type(lx::IMAGE_STREAM).len(), 2);
    assert!(merged.has_type(&v1.urn, lx::ZIP_VOLUME));
    assert!(merged.has_type(&v2.urn, lx::ZIP_VOLUME));
    // Each volume has its own map for the shared image: two dataStream values.
    assert_eq!(merged.objects(image, lx::DATA_STREAM).len(), 2);
    assert_eq!(merged.object(image, lx::DATA_STREAM), None);
}

#[test]
fn pre_standard_legacy_namespace_ends_up_in_the_standard_one() {
    let Some((v, g)) = load("reference/AFF4PreStd/Base-Linear.af4") else {
        return;
    };
    assert!(v.turtle.contains("http://afflib.org/2009/aff4#"));
    assert!(g.iter().all(|t| {
        let text = format!("{t:?}");
        !text.contains("afflib.org")
    }));
    assert!(g.has_type(&v.urn, lx::ZIP_VOLUME_LEGACY));
    assert_eq!(
        g.object(&v.urn, lx::INTERFACE),
        Some(&Term::iri(format!("{}volume", lx::AFF4)))
    );
    let image = single(&g.subjects_of_type(lx::IMAGE), "aff4:Image");
    assert!(g.has_type(image, lx::MAP_LEGACY));
    assert_eq!(u64_of(&g, image, lx::SIZE), Some(268_435_456));
    assert_eq!(u64_of(&g, image, lx::MAP_VERSION), Some(2));
    let stream = single(&g.subjects_of_type(lx::STREAM_LEGACY), "aff4:stream");
    assert_eq!(u64_of(&g, stream, lx::CHUNK_SIZE_LEGACY), Some(32768));
    assert_eq!(u64_of(&g, stream, lx::CHUNKS_IN_SEGMENT_LEGACY), Some(2048));
    assert_eq!(u64_of(&g, stream, lx::SIZE), Some(3_276_800));
    assert_eq!(
        g.object(stream, lx::COMPRESSION_METHOD_LEGACY),
        Some(&Term::iri(lx::COMPRESSION_SNAPPY))
    );
    let md5 = Term::typed("2b0b853c0101c23c1507a55622e72437", lx::HASH_MD5);
    assert!(g.objects(stream, lx::HASH).contains(&&md5));
    // Strings were typed xsd:string explicitly; they compare equal to Term::string.
    let tool = single(&g.subjects_with(&format!("{}ClientName", lx::AFF4)), "tool");
    assert_eq!(
        g.object(tool, &format!("{}ClientVersion", lx::AFF4)),
        Some(&Term::string("1.4.0"))
    );
}

#[test]
fn aff4_l_dream_file_image() {
    let Some((v, g)) = load("reference/AFF4-L/dream.aff4") else {
        return;
    };
    // The extracted copy next to the volume holds the same graph.
    let extracted = common::shared_testdata("reference/AFF4-L/dream.aff4.information.turtle")
        .map(|p| std::fs::read_to_string(p).unwrap());
    if let Some(text) = extracted {
        assert_eq!(parse_turtle(&text, None).unwrap(), g);
    }
    let file = single(&g.subjects_of_type(lx::FILE_IMAGE), "FileImage");
    assert_eq!(file, format!("{}//test_images/AFF4-L/dream.txt", v.urn));
    assert!(g.has_type(file, lx::IMAGE));
    assert!(g.has_type(file, lx::ZIP_SEGMENT_LEGACY));
    assert_eq!(g.object(file, lx::STORED), Some(&Term::iri(v.urn.as_str())));
    assert_eq!(
        g.object(file, lx::ORIGINAL_FILE_NAME),
        Some(&Term::string("./test_images/AFF4-L/dream.txt"))
    );
    // A bare integer: xsd:integer, and the size of the original file.
    let size = g.object(file, lx::SIZE).unwrap();
    assert_eq!(size.datatype(), Some(lx::XSD_INTEGER));
    if let Some(txt) = common::shared_testdata("reference/AFF4-L/dream.txt") {
        assert_eq!(size.as_u64(), Some(std::fs::metadata(txt).unwrap().len()));
    }
    for p in [
        lx::BIRTH_TIME,
        lx::LAST_WRITTEN,
        lx::LAST_ACCESSED,
        lx::RECORD_CHANGED,
    ] {
        let t = g.object(file, p).unwrap_or_else(|| panic!("{p}"));
        assert_eq!(t.datatype(), Some(lx::XSD_DATETIME_MISSPELT), "{p}");
        assert!(t.as_str().unwrap().starts_with("2018-"), "{p}");
    }
    let hashes: Vec<_> = g
        .objects(file, lx::HASH)
        .into_iter()
        .filter_map(Term::datatype)
        .collect();
    assert_eq!(hashes, [lx::HASH_MD5, lx::HASH_SHA1]);
}

#[test]
fn c_aff4_streams_resolve_against_the_base() {
    for (rel, method) in [
        ("c-aff4/c-aff4-snappy.aff4", lx::COMPRESSION_SNAPPY),
        ("c-aff4/c-aff4-zlib.aff4", lx::COMPRESSION_ZLIB),
    ] {
        let Some((v, g)) = load(rel) else { continue };
        assert!(v.turtle.contains("@base <aff4://"), "{rel}");
        let stream = format!("{}/mem16.raw", v.urn);
        assert_eq!(g.subjects(), [stream.as_str()], "{rel}");
        assert!(g.has_type(&stream, lx::IMAGE_STREAM) && g.has_type(&stream, lx::IMAGE));
        assert_eq!(
            g.object(&stream, lx::COMPRESSION_METHOD),
            Some(&Term::iri(method))
        );
        assert_eq!(
            g.object(&stream, lx::STORED),
            Some(&Term::iri(v.urn.as_str()))
        );
        assert_eq!(u64_of(&g, &stream, lx::CHUNK_SIZE), Some(32768));
        assert_eq!(u64_of(&g, &stream, lx::CHUNKS_IN_SEGMENT), Some(1024));
        assert_eq!(u64_of(&g, &stream, lx::SIZE), Some(16 << 20));
        // The same text without its @base, given the volume URN as base, is the same.
        let no_base: String = v
            .turtle
            .lines()
            .filter(|l| !l.starts_with("@base"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse_turtle(&no_base, Some(&v.urn)).unwrap(), g, "{rel}");
        assert!(
            parse_turtle(&no_base, None).is_err(),
            "{rel}: relative IRIs need a base"
        );
    }
}

#[test]
fn c_aff4_logical_files_are_untyped_members_of_the_volume() {
    let Some((v, g)) = load("c-aff4/c-aff4-logical.aff4") else {
        return;
    };
    let a = format!("{}/a.txt", v.urn);
    let b = format!("{}/b.bin", v.urn);
    assert_eq!(g.subjects_of_type(lx::IMAGE), [a.as_str(), b.as_str()]);
    for s in [&a, &b] {
        assert_eq!(g.object(s, lx::STORED), Some(&Term::iri(v.urn.as_str())));
        assert_eq!(g.about(s).len(), 2);
    }
}
