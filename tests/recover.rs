//! Killing acquisitions for real (SIGKILL) at many points of the output, and turning
//! each leftover `NAME.partial` into a container with `--recover`: every recovered
//! byte equals the source, every bevy that reached the disk whole is kept, the rest is
//! aff4:UnknownData, and the result verifies.
//!
//! The kill points are byte offsets of a reference run's layout (the layout does not
//! change between runs: same input, same codec, URNs and timestamps of fixed length).
//! `--inject-stall-after N` makes the run's output block after exactly N bytes; the
//! test waits for the partial file to reach N bytes and sends SIGKILL.

mod common;

use aff4::volume::VolumeSet;
use common::{bin, run};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CHUNK: usize = 4096;
/// Chunks per bevy the writer uses by default.
const CIS: u64 = 1024;

/// A LiME (v1) file of three ranges with pseudo-random, text and zero pages.
fn make_source(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut page = |kind: usize| -> Vec<u8> {
        match kind % 5 {
            0 => vec![0u8; CHUNK],
            1 => b"Linux version 6.1 kernel text ".repeat(CHUNK / 30 + 1)[..CHUNK].to_vec(),
            _ => (0..CHUNK)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect(),
        }
    };
    let layout = [(0x1000u64, 150usize), (0x100000, 2300), (0x4000000, 1700)];
    let mut ranges = Vec::new();
    let mut file = Vec::new();
    for (start, pages) in layout {
        let data: Vec<u8> = (0..pages).flat_map(|i| page(i * 7 + pages)).collect();
        file.extend_from_slice(b"EMiL");
        file.extend_from_slice(&1u32.to_le_bytes());
        file.extend_from_slice(&start.to_le_bytes());
        file.extend_from_slice(&(start + data.len() as u64 - 1).to_le_bytes());
        file.extend_from_slice(&0u64.to_le_bytes());
        file.extend_from_slice(&data);
        ranges.push((start, data));
    }
    std::fs::write(path, file).unwrap();
    ranges
}

fn acquire_args(src: &Path, out: &Path, inputs: &[PathBuf]) -> Vec<String> {
    let mut a = vec![
        "--source".to_string(),
        format!("lime:{}", src.display()),
        "-o".into(),
        out.display().to_string(),
        "--chunk-size".into(),
        CHUNK.to_string(),
        "-q".into(),
    ];
    for i in inputs {
        a.push("-i".into());
        a.push(i.display().to_string());
    }
    a
}

/// One member of the reference container: name, header start, data start, data end.
#[derive(Debug, Clone)]
struct Member {
    name: String,
    header: u64,
    data: u64,
    end: u64,
}

fn layout(container: &Path) -> (Vec<Member>, u64) {
    let bytes = std::fs::read(container).unwrap();
    let z = aff4::zip::ZipArchive::parse(&bytes).unwrap();
    let mut v: Vec<Member> = z
        .entries()
        .iter()
        .map(|e| {
            let big = e.compressed_size >= 0xFFFF_FFFF;
            let header = e.data_offset - 30 - e.name.len() as u64 - if big { 20 } else { 0 };
            Member {
                name: e.name.clone(),
                header,
                data: e.data_offset,
                end: e.data_offset + e.compressed_size,
            }
        })
        .collect();
    v.sort_by_key(|m| m.data);
    (v, bytes.len() as u64)
}

/// Runs an acquisition that stalls after `at` bytes and SIGKILLs it once they are on
/// disk; returns the partial file.
fn kill_at(args: &[String], out: &Path, at: u64) -> PathBuf {
    let mut a = args.to_vec();
    a.push("--inject-stall-after".into());
    a.push(at.to_string());
    let mut child = bin()
        .args(&a)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    let started = Instant::now();
    loop {
        let len = std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
        if len >= at && partial.exists() {
            break;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("the run ended ({st}) before writing {at} bytes");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "stalled run never reached {at}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !out.exists(),
        "a killed run must not leave {}",
        out.display()
    );
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), at);
    partial
}

/// The source bytes at `addr..addr+len`, if the source has them all.
fn source_bytes(ranges: &[(u64, Vec<u8>)], addr: u64, len: usize) -> Option<&[u8]> {
    ranges.iter().find_map(|(s, d)| {
        let off = addr.checked_sub(*s)? as usize;
        d.get(off..off + len)
    })
}

/// Chunks the reference stores in bevies whose data and index end at or before `at`.
fn chunks_on_disk(members: &[Member], stream_prefix: &str, at: u64) -> u64 {
    members
        .iter()
        .filter(|m| m.name.starts_with(stream_prefix) && m.name.ends_with(".index"))
        .filter(|m| m.end <= at)
        .map(|m| (m.end - m.data) / 12)
        .sum()
}

/// Checks one recovered container against the source; returns the data bytes kept.
fn check_recovered(c: &Path, ranges: &[(u64, Vec<u8>)], what: &str) -> (u64, u64, usize) {
    let set = VolumeSet::open(&[c.to_path_buf()]).unwrap();
    let rep = aff4::verify::verify(&set).unwrap();
    assert!(rep.all_ok(), "{what}: verify: {}", rep.summary());
    let img = set.primary_image().unwrap();
    let g = set.graph();
    let complete = g
        .object(
            &img,
            "https://pmem-aff4.github.io/schema#acquisitionComplete",
        )
        .and_then(|t| t.as_str().map(str::to_string));
    assert_eq!(complete.as_deref(), Some("false"), "{what}");
    assert!(g
        .object(&img, "https://pmem-aff4.github.io/schema#recoveredFrom")
        .is_some());
    assert!(g
        .object(
            &img,
            "https://pmem-aff4.github.io/schema#linearHashRecomputed"
        )
        .is_some());
    // Block hashes for every recovered bevy, each checked against its chunk.
    if let Some(st) = set
        .objects()
        .into_iter()
        .find(|o| o.kind == aff4::volume::ObjectKind::ImageStream && !o.urn.contains("/files/"))
        .filter(|o| o.size.unwrap_or(0) > 0)
    {
        let chunks = st.size.unwrap() / CHUNK as u64;
        for b in 0..chunks.div_ceil(CIS) {
            let m = format!("{}/{b:08}.blockHash.sha256", st.urn);
            assert!(set.resolver().member_by_urn(&m).is_some(), "{what}: {m}");
        }
        let block = rep
            .checks
            .iter()
            .find(|c| c.kind == "block" && c.subject == st.urn)
            .unwrap_or_else(|| panic!("{what}: no block-hash check: {}", rep.summary()));
        assert_eq!(
            block.actual.as_deref(),
            Some(format!("{chunks} chunks checked, 0 differ").as_str()),
            "{what}"
        );
    }
    let map = set.image_map(&img).unwrap();
    let mut stream = set.open_stream(&img).unwrap();
    let (mut data, mut unknown) = (0u64, 0u64);
    use std::io::{Read, Seek, SeekFrom};
    for r in map.ranges() {
        let mut buf = vec![0u8; r.length as usize];
        stream.seek(SeekFrom::Start(r.start)).unwrap();
        stream.read_exact(&mut buf).unwrap();
        match &r.kind {
            aff4::map::RangeKind::Data { .. } => {
                let want = source_bytes(ranges, r.start, buf.len())
                    .unwrap_or_else(|| panic!("{what}: data at {:#x} outside the source", r.start));
                assert!(
                    buf == want,
                    "{what}: bytes at {:#x}+{:#x} differ",
                    r.start,
                    r.length
                );
                data += r.length;
            }
            aff4::map::RangeKind::Symbolic(aff4::symbolic::Symbolic::Zero, _) => {
                if let Some(want) = source_bytes(ranges, r.start, buf.len()) {
                    assert!(
                        want.iter().all(|&b| b == 0),
                        "{what}: zero range {:#x}",
                        r.start
                    );
                }
            }
            aff4::map::RangeKind::Symbolic(aff4::symbolic::Symbolic::UnknownData, _) => {
                unknown += r.length;
            }
            aff4::map::RangeKind::Hole => {
                assert!(
                    source_bytes(ranges, r.start, 1).is_none(),
                    "{what}: hole at {:#x} in RAM",
                    r.start
                );
            }
            other => panic!("{what}: unexpected range {other:?}"),
        }
    }
    let files = set
        .objects()
        .iter()
        .filter(|o| o.kind == aff4::volume::ObjectKind::LogicalFile)
        .count();
    (data, unknown, files)
}

#[test]
fn sigkill_at_every_kind_of_point_recovers_every_complete_bevy() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src.lime");
    let ranges = make_source(&src);
    let total_ram: u64 = ranges.iter().map(|r| r.1.len() as u64).sum();
    let small = d.path().join("small.txt");
    std::fs::write(&small, b"small logical file\n".repeat(50)).unwrap();
    let large = d.path().join("large.bin");
    std::fs::write(
        &large,
        (0..(3u32 << 20))
            .map(|i| (i % 253) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let inputs = [small, large];

    let reference = d.path().join("ref.aff4");
    let o = bin()
        .args(acquire_args(&src, &reference, &inputs))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (members, len) = layout(&reference);
    let find = |pred: &dyn Fn(&str) -> bool| -> Vec<&Member> {
        members.iter().filter(|m| pred(&m.name)).collect()
    };
    let stream_prefix = {
        let b = find(&|n| n.ends_with("/00000000.index"))[0].name.clone();
        b.trim_end_matches("/00000000.index").to_string()
    };
    let bevies: Vec<&Member> = members
        .iter()
        .filter(|m| m.name.starts_with(&stream_prefix) && !m.name.ends_with(".index"))
        .collect();
    assert!(bevies.len() >= 3, "the source must need several bevies");
    let one = |pred: &dyn Fn(&str) -> bool, what: &str| -> Member {
        find(pred)
            .first()
            .map(|m| (*m).clone())
            .unwrap_or_else(|| panic!("no {what}"))
    };
    let header = one(&|n| n == "pmem-journal/header", "journal header");
    let end_rec = one(&|n| n == "pmem-journal/image-end", "image-end");
    let map = one(&|n| n.ends_with("/map"), "map");
    let yaml = one(&|n| n.ends_with("/information.yaml"), "information.yaml");
    let file1 = one(&|n| n == "pmem-journal/file-00000001", "file journal 1");
    let file2 = one(&|n| n == "pmem-journal/file-00000002", "file journal 2");
    let turtle = one(&|n| n == "information.turtle", "turtle");

    // (kill offset, what is there)
    let mut points: Vec<(u64, String)> = vec![
        (20, "inside the first member header".into()),
        (header.data + 10, "inside the journal header".into()),
        (header.end, "right after the journal header".into()),
    ];
    for (k, b) in bevies.iter().enumerate() {
        points.push((b.header + 12, format!("inside bevy {k}'s member header")));
        points.push(((b.data + b.end) / 2, format!("in the middle of bevy {k}")));
        let idx = one(&|n| n == format!("{}.index", b.name), "index");
        points.push((idx.header + 3, format!("inside bevy {k}'s index header")));
        points.push((idx.end, format!("right after bevy {k}'s index")));
    }
    points.extend([
        (
            end_rec.data + 5,
            "inside the image-end journal record".to_string(),
        ),
        (
            map.data + 3,
            "inside the map (after the last bevy)".to_string(),
        ),
        (yaml.data + 2, "inside information.yaml".to_string()),
        (
            file1.header + 5,
            "inside the first logical file's journal header".to_string(),
        ),
        (file1.end, "after the first logical file".to_string()),
        (
            (file1.end + file2.header) / 2,
            "inside the large logical file".to_string(),
        ),
        (file2.end, "after the second logical file".to_string()),
        (turtle.data + 100, "inside information.turtle".to_string()),
        (turtle.end + 40, "inside the central directory".to_string()),
        (
            len - 10,
            "inside the end of central directory record".to_string(),
        ),
    ]);
    assert!(points.len() >= 20, "{} points", points.len());

    let args_for = |out: &Path| acquire_args(&src, out, &inputs);
    let mut report = Vec::new();
    for (i, (at, what)) in points.iter().enumerate() {
        let out = d.path().join(format!("k{i}.aff4"));
        let partial = kill_at(&args_for(&out), &out, *at);
        let what = format!("kill at {at} ({what})");
        // The leftover is visible and pointed at --recover by -l.
        let l = run(&["-l", partial.to_str().unwrap()]);
        assert_ne!(l.status.code(), Some(0), "{what}");
        let err = String::from_utf8_lossy(&l.stderr);
        if *at >= header.end {
            assert!(err.contains("--recover"), "{what}: -l says {err}");
        }
        let rec = d.path().join(format!("r{i}.aff4"));
        let o = run(&[
            "--recover",
            partial.to_str().unwrap(),
            "-o",
            rec.to_str().unwrap(),
            "--json",
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{what}: {err}");
        if *at < header.end {
            assert_eq!(o.status.code(), Some(1), "{what}: {err}");
            assert!(
                err.contains("cannot recover") && err.lines().count() == 1,
                "{what}: {err}"
            );
            assert!(!rec.exists());
            report.push(format!("{what}: refused"));
            continue;
        }
        assert!(o.status.success(), "{what}: {err}");
        let sum: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(sum["block_hashes"].as_bool(), Some(true), "{what}");
        let (data, unknown, files) = check_recovered(&rec, &ranges, &what);
        assert_eq!(sum["data_bytes"].as_u64(), Some(data), "{what}");
        // Every chunk of every bevy on disk whole is kept (only the unfinished one may go).
        let set = VolumeSet::open(std::slice::from_ref(&rec)).unwrap();
        let stream = set
            .objects()
            .iter()
            .find(|o| o.kind == aff4::volume::ObjectKind::ImageStream && !o.urn.contains("/files/"))
            .and_then(|o| o.size)
            .unwrap_or(0);
        let want = chunks_on_disk(&members, &stream_prefix, *at);
        assert!(
            stream / CHUNK as u64 >= want,
            "{what}: {} chunks kept, {want} on disk",
            stream / CHUNK as u64
        );
        assert!(want + CIS >= stream / CHUNK as u64);
        // The planned ranges are all there: data, zero pages or UnknownData.
        assert!(data + unknown <= total_ram, "{what}");
        if *at >= map.data {
            assert_eq!(unknown, 0, "{what}: the whole image was on disk");
        }
        let expect_files = [file1.end, file2.end].iter().filter(|&&e| e <= *at).count();
        assert_eq!(files, expect_files, "{what}: logical files");
        report.push(format!(
            "{what}: {data} data bytes, {unknown} unknown, {files} files"
        ));
    }
    // pyaff4's Validator checks every block hash of a recovery of several bevies.
    let whole = points
        .iter()
        .position(|(at, _)| *at == map.data + 3)
        .unwrap();
    let rec = d.path().join(format!("r{whole}.aff4"));
    if let Some(py) = common::venv_bin("python") {
        common::assert_pyaff4_script(&py, VALIDATE, &[rec.as_os_str()]);
    }
    // The next acquisition in the same directory points at the leftovers.
    let next = d.path().join("next.aff4");
    let o = bin().args(args_for(&next)).output().unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("k5.aff4.partial") && err.contains("--recover"),
        "{err}"
    );
    eprintln!("{}", report.join("\n"));
}

/// pyaff4 0.34's block-hash Validator on argv[1]: prints PYAFF4-OK when every block
/// and every hash it checked is valid and it checked more than one bevy of blocks.
const VALIDATE: &str = r#"
import sys
from pyaff4 import block_hasher, rdfvalue
class L(block_hasher.ValidationListener):
    good, bad, ok, invalid = 0, 0, [], []
    def onValidBlockHash(self, a): L.good += 1
    def onInvalidBlockHash(self, a, b, uri, off): L.bad += 1
    def onValidHash(self, t, h, uri): L.ok.append(str(t))
    def onInvalidHash(self, t, a, b, uri): L.invalid.append(str(t))
block_hasher.Validator(L()).validateContainer(rdfvalue.URN.FromFileName(sys.argv[1]))
print(L.good, L.bad, sorted(L.ok), L.invalid, file=sys.stderr)
if L.bad == 0 and not L.invalid and L.good > 1024 and "BlockHashesHash" in L.ok:
    print("PYAFF4-OK")
"#;

/// A kill at an arbitrary moment of a paced run (not at a chosen byte) recovers too.
#[test]
fn sigkill_mid_read_of_a_paced_run_recovers() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src.lime");
    let ranges = make_source(&src);
    let out = d.path().join("paced.aff4");
    let mut args = acquire_args(&src, &out, &[]);
    args.extend([
        "--inject-read-delay".into(),
        "20".into(),
        "-t".into(),
        "1".into(),
    ]);
    let mut child = bin().args(&args).spawn().unwrap();
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    let started = Instant::now();
    // Wait until at least one bevy reached the disk.
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) < 5 << 20 {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let rec = d.path().join("rec.aff4");
    let o = run(&[
        "--recover",
        partial.to_str().unwrap(),
        "-o",
        rec.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (data, unknown, _) = check_recovered(&rec, &ranges, "paced kill");
    assert!(data >= CIS * CHUNK as u64 / 2, "{data}");
    assert!(unknown > 0);
    // Recovering again into an existing file needs --force.
    let o = run(&[
        "--recover",
        partial.to_str().unwrap(),
        "-o",
        rec.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
}
