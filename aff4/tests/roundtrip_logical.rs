//! AFF4-L logical files with ordinary, non-ASCII and hostile names (`../`, NUL, `%`,
//! control characters), small (deflated members) and large (ImageStreams): read back
//! byte for byte, names exactly, by our reader, pyaff4 0.34 (whose LinearHasher2 also
//! checks the stored hashes) and the crates.io `aff4` reader; `unzip -t` passes.

mod common;
mod write_support;

use aff4::hash::to_hex;
use aff4::lexicon as lx;
use aff4::writer::{LogicalFileMeta, StreamOptions, VolumeWriter, SMALL_FILE};
use std::time::{Duration, UNIX_EPOCH};
use write_support::*;

fn files() -> Vec<(String, Vec<u8>)> {
    let names = [
        "dream.txt",
        "../../etc/passwd",
        "/proc/iomem",
        "naïve 日本語 файл.txt",
        "nul\0inside",
        "100%25 done%",
        "tab\there\nnew line\r",
        "\u{1}\u{7f}ctrl",
        "C:\\Windows\\System32\\x.sys",
        "quote\"and\\back<>",
        "/proc/iomem",
        "",
    ];
    let mut v: Vec<(String, Vec<u8>)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), data(100 + i as u64, i * 997 % 5000)))
        .collect();
    v.push((
        "big/large file.bin".into(),
        data(7, SMALL_FILE as usize * 2 + 12_345),
    ));
    v.push(("exactly-small".into(), data(8, SMALL_FILE as usize)));
    v
}

fn write_volume(with_memory: bool, files: &[(String, Vec<u8>)]) -> (Vec<u8>, Vec<String>) {
    let mut vw = VolumeWriter::new(Vec::new(), "pmem-aff4 test").expect("volume");
    if with_memory {
        let (pieces, total) = memory_layout(4096);
        let mut mem = vw
            .memory_image(opts(aff4::codec::Compression::Snappy, 2))
            .expect("image");
        for p in &pieces {
            if let Piece::Sym(a, n, s) = p {
                mem.add_symbolic(*a, *n, *s).expect("symbolic");
            }
        }
        mem.finish(total).expect("finish image");
    }
    let meta = LogicalFileMeta {
        last_written: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        last_accessed: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_100)),
        ..LogicalFileMeta::default()
    };
    let urns = files
        .iter()
        .map(|(n, d)| {
            vw.add_logical_file(n, &mut d.as_slice(), &meta)
                .expect("add file")
        })
        .collect();
    (vw.finish().expect("finish"), urns)
}

#[test]
fn our_reader_lists_and_reads_every_file_exactly() {
    let files = files();
    for with_memory in [false, true] {
        let (bytes, urns) = write_volume(with_memory, &files);
        let set = aff4::volume::VolumeSet::from_bytes(bytes.clone()).expect("open");
        let listed = aff4::logical::list(&set).expect("list");
        assert_eq!(listed.len(), files.len());
        for ((name, content), urn) in files.iter().zip(&urns) {
            let f = listed.iter().find(|f| &f.urn == urn).expect("listed");
            assert_eq!(&f.name, name, "name of {urn}");
            assert_eq!(f.size, content.len() as u64, "{name:?}");
            let mut s = set.open_stream(urn).expect("open file");
            let mut got = Vec::new();
            std::io::Read::read_to_end(&mut s, &mut got).expect("read file");
            assert!(&got == content, "{name:?}: content differs");
            // URNs stay inside the volume and use only safe characters.
            let rel = urn
                .strip_prefix(&format!("{}/files/", set.volumes()[0].urn))
                .expect("under files/");
            assert!(
                rel.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b)),
                "{urn}"
            );
            assert!(
                !rel.split('/')
                    .any(|c| c == ".." || c == "." || c.is_empty()),
                "{urn}"
            );
        }
        let rep = aff4::verify::verify(&set).expect("verify");
        assert!(rep.all_ok(), "{:?}", rep.checks);
        unzip_t(&save(&bytes));
    }
}

#[test]
fn stored_metadata_has_hashes_and_times() {
    let files = files();
    let (bytes, urns) = write_volume(false, &files[..1]);
    let g = turtle(&bytes);
    let hashes: Vec<(String, String)> = g
        .objects(&urns[0], aff4::lexicon::HASH)
        .into_iter()
        .map(|t| {
            (
                t.datatype().unwrap_or("").to_string(),
                t.as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for a in [
        aff4::hash::HashAlgo::Md5,
        aff4::hash::HashAlgo::Sha1,
        aff4::hash::HashAlgo::Sha256,
    ] {
        let want = (a.datatype().to_string(), to_hex(&a.digest(&files[0].1)));
        assert!(hashes.contains(&want), "{a:?} missing: {hashes:?}");
    }
    let lw = g
        .object(&urns[0], aff4::writer::vocab::LAST_WRITTEN)
        .and_then(|t| t.as_str());
    assert_eq!(lw, Some("2023-11-14T22:13:20Z"));
    assert!(g.has_type(&urns[0], aff4::lexicon::FILE_IMAGE));
    assert!(
        !g.has_type(&urns[0], aff4::lexicon::IMAGE),
        "not an aff4:Image (pyaff4 images[0])"
    );
}

/// What c-aff4's aff4imager needs to extract a logical file by URN (`-e @` with the URN
/// on stdin), as its source says (`VolumeGroup::GetStream`, `ZipFile::OpenMemberStream`):
/// a small file carries the member type `aff4:zip_segment` beside the Standard's types
/// and `aff4:stored <volume>`, and its ZIP member is named exactly as c-aff4 encodes the
/// URN (the path below the volume; c-aff4 escapes `! $ \ : * % ? " < > |`, so none of
/// them may occur); a large file is an `aff4:ImageStream`. No logical file is an
/// aff4:Image, in a volume with or without a memory image.
#[test]
fn logical_files_carry_what_c_aff4_opens_them_by() {
    let files = files();
    for with_memory in [false, true] {
        let (bytes, urns) = write_volume(with_memory, &files);
        let g = turtle(&bytes);
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).expect("zip");
        let volume = z.comment().to_vec();
        let volume = String::from_utf8(volume).expect("utf-8 comment");
        let volume = volume.trim_end_matches('\0');
        for ((name, content), urn) in files.iter().zip(&urns) {
            assert!(!g.has_type(urn, lx::IMAGE), "{name:?} is an aff4:Image");
            assert!(g.has_type(urn, lx::FILE_IMAGE), "{name:?}");
            if content.len() as u64 > SMALL_FILE {
                assert!(g.has_type(urn, lx::IMAGE_STREAM), "{name:?}");
                continue;
            }
            assert!(g.has_type(urn, lx::ZIP_SEGMENT), "{name:?}");
            assert!(g.has_type(urn, lx::ZIP_SEGMENT_LEGACY), "{name:?}");
            let stored = g.object(urn, lx::STORED).and_then(|t| t.as_iri());
            assert_eq!(stored, Some(volume), "{name:?}: aff4:stored");
            let member = urn
                .strip_prefix(&format!("{volume}/"))
                .expect("URN below the volume");
            assert!(!member.contains(['!', '$', '\\', ':', '*', '%', '?', '"', '<', '>', '|']));
            let m = z.by_name(member).expect("member named by the URN");
            assert_eq!(m.size(), content.len() as u64, "{name:?}");
            assert_eq!(m.compression(), zip::CompressionMethod::Deflated);
        }
    }
}

#[test]
fn pyaff4_reads_names_and_bytes_and_checks_hashes() {
    let files = files();
    for with_memory in [false, true] {
        let (bytes, _) = write_volume(with_memory, &files);
        let path = save(&bytes);
        let Some(out) = python("write_logical.py", &[path.to_str().expect("utf-8")]) else {
            return;
        };
        // With a memory image, pyaff4 must still open the volume as that image: a
        // logical file typed aff4:Image would make it pick one at random.
        let container = if with_memory {
            "container PhysicalImageContainer"
        } else {
            "container LogicalImageContainer"
        };
        assert_eq!(out.lines().next(), Some(container), "{out}");
        let mut got: Vec<(String, u64, String, String, u64)> = out
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                assert_eq!(f.len(), 6, "{l}");
                let name = if f[1] == "-" {
                    String::new()
                } else {
                    f[1].to_string()
                };
                (
                    name,
                    f[2].parse().expect("size"),
                    f[3].into(),
                    f[4].into(),
                    f[5].parse().expect("n"),
                )
            })
            .collect();
        got.sort();
        let mut want: Vec<(String, u64, String, String, u64)> = files
            .iter()
            .map(|(n, d)| {
                let hex = n.bytes().map(|b| format!("{b:02x}")).collect();
                (hex, d.len() as u64, sha256(d), "MD5,SHA1,SHA256".into(), 0)
            })
            .collect();
        want.sort();
        assert_eq!(got, want, "with memory image: {with_memory}");
    }
}

/// The crates.io reader reads AFF4-L files stored as ZIP members only (not
/// ImageStreams), so it gets a volume of small files; beside a memory image it still
/// reads that image as our reader does.
#[test]
fn crates_io_reader_reads_small_files() {
    let files: Vec<(String, Vec<u8>)> = files()
        .into_iter()
        .filter(|(_, d)| d.len() as u64 <= SMALL_FILE)
        .collect();
    let (bytes, _) = write_volume(true, &files);
    let mem_path = save(&bytes);
    let mut r = aff4_oracle::Aff4Reader::open(&mem_path).expect("aff4 crate opens it");
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut got).expect("aff4 crate reads the image");
    let ours = read_ours(&bytes);
    assert!(ours.len() > 1 << 20 && got == ours, "memory image differs");
    let (bytes, _) = write_volume(false, &files);
    let path = save(&bytes);
    let mut c = aff4_oracle::LogicalContainer::open(&path).expect("aff4 crate opens it");
    let entries = c.files().to_vec();
    assert_eq!(entries.len(), files.len());
    for e in &entries {
        let content = c.read_file(e).expect("aff4 crate reads it");
        assert_eq!(e.size, content.len() as u64);
        assert!(
            files.iter().any(|(_, d)| d == &content),
            "{:?}: content not among the files written",
            e.original_file_name
        );
    }
    // Its turtle scanner does not undo Turtle string escapes, so only names that need
    // none (no quote, backslash or control character) come back exactly.
    let plain = |n: &str| !n.chars().any(|c| c == '"' || c == '\\' || c.is_control());
    let mut want: Vec<&str> = files
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| plain(n))
        .collect();
    let mut got: Vec<&str> = entries
        .iter()
        .map(|e| e.original_file_name.as_str())
        .filter(|n| plain(n))
        .collect();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want);
    assert!(want.contains(&"naïve 日本語 файл.txt") && want.contains(&"../../etc/passwd"));
}

#[test]
fn a_failing_reader_is_reported_with_the_file_name() {
    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("device gone"))
        }
    }
    let mut vw = VolumeWriter::new(Vec::new(), "t").expect("volume");
    let err = vw
        .add_logical_file("/dev/thing", &mut Broken, &LogicalFileMeta::default())
        .expect_err("read error");
    assert!(
        err.to_string().contains("/dev/thing") && err.to_string().contains("device gone"),
        "{err}"
    );
    let _ = StreamOptions::default();
}
