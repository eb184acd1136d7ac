//! Shared by the writer's integration tests: deterministic image layouts, writing them
//! with our writer, the bytes a raw export must give, and running the oracles.
#![allow(dead_code)]

use aff4::codec::Compression;
use aff4::hash::{to_hex, HashAlgo};
use aff4::symbolic::Symbolic;
use aff4::writer::{ImageSummary, StreamOptions, VolumeWriter};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

/// A piece of a memory image layout.
#[derive(Debug, Clone)]
pub enum Piece {
    /// Bytes at an address.
    Data(u64, Vec<u8>),
    /// A symbolic range.
    Sym(u64, u64, Symbolic),
}

impl Piece {
    /// `(start, length)`.
    pub fn range(&self) -> (u64, u64) {
        match self {
            Piece::Data(a, d) => (*a, d.len() as u64),
            Piece::Sym(a, n, _) => (*a, *n),
        }
    }
}

/// Deterministic bytes: runs of a repeated byte (compressible) and xorshift noise.
pub fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let run = (x % 300) as usize;
        if x % 3 == 0 {
            out.extend(std::iter::repeat((x >> 8) as u8).take(run));
        } else {
            out.extend((0..run).map(|i| (x >> (i % 56)) as u8 ^ i as u8));
        }
    }
    out.truncate(len);
    out
}

/// A memory layout for chunk size `cs`: full and short data pieces, holes, Zero,
/// UnreadableData and UnknownData ranges (one crossing a MiB boundary), and the total
/// size (beyond the last range, so the writer maps a trailing Zero range).
pub fn memory_layout(cs: u64) -> (Vec<Piece>, u64) {
    let mib = 1u64 << 20;
    let pieces = vec![
        Piece::Data(0, data(1, 3 * cs as usize + 1000)),
        Piece::Sym(5 * cs, 2 * cs, Symbolic::Zero),
        Piece::Data(7 * cs, data(2, 3 * cs as usize)),
        Piece::Sym(10 * cs, 2 * cs + 100, Symbolic::UnreadableData),
        Piece::Data(12 * cs + 100, data(3, 700)),
        Piece::Sym(mib - 300, 5000, Symbolic::UnknownData),
        Piece::Sym(mib + 4700, 300, Symbolic::Byte(0x61)),
        Piece::Data(2 * mib, data(4, cs as usize)),
    ];
    (pieces, 2 * mib + cs + 12_345)
}

/// Options with small chunks so a few KiB make several bevies.
pub fn opts(compression: Compression, chunks_in_segment: u32) -> StreamOptions {
    StreamOptions {
        chunk_size: 4096,
        chunks_in_segment,
        compression,
        linear_hashes: vec![HashAlgo::Sha256, HashAlgo::Md5],
        block_hashes: Vec::new(),
        ..StreamOptions::default()
    }
}

/// Writes `pieces` as a memory image (data cut into chunks and encoded here, as the
/// CLI's pipeline does); returns the volume bytes and the summary.
pub fn write_memory(opts: StreamOptions, pieces: &[Piece], total: u64) -> (Vec<u8>, ImageSummary) {
    let mut vw = VolumeWriter::new(Vec::new(), "pmem-aff4 test").expect("volume");
    let cs = opts.chunk_size as usize;
    let codec = opts.compression;
    let mut mem = vw.memory_image(opts).expect("memory image");
    let (mut padded, mut stored) = (Vec::new(), Vec::new());
    for p in pieces {
        match p {
            Piece::Data(addr, bytes) => {
                for (i, c) in bytes.chunks(cs).enumerate() {
                    padded.clear();
                    padded.extend_from_slice(c);
                    padded.resize(cs, 0);
                    codec.encode_chunk(&padded, &mut stored);
                    mem.add_chunk(addr + (i * cs) as u64, c, &stored)
                        .expect("add_chunk");
                }
            }
            Piece::Sym(addr, len, s) => mem.add_symbolic(*addr, *len, *s).expect("add_symbolic"),
        }
    }
    let summary = mem.finish(total).expect("finish image");
    (vw.finish().expect("finish volume"), summary)
}

/// The raw export of a layout: zeros, data and symbolic patterns up to `total`.
pub fn expected_image(pieces: &[Piece], total: u64) -> Vec<u8> {
    let mut img = vec![0u8; total as usize];
    for p in pieces {
        let (a, n) = p.range();
        let dst = &mut img[a as usize..(a + n) as usize];
        match p {
            Piece::Data(_, d) => dst.copy_from_slice(d),
            Piece::Sym(_, _, s) => s.fill(a, dst),
        }
    }
    img
}

/// Lowercase hex SHA-256.
pub fn sha256(b: &[u8]) -> String {
    to_hex(&HashAlgo::Sha256.digest(b))
}

/// The whole primary image as our reader reads it.
pub fn read_ours(bytes: &[u8]) -> Vec<u8> {
    let set = aff4::volume::VolumeSet::from_bytes(bytes.to_vec()).expect("our reader opens it");
    let img = set.primary_image().expect("an image");
    let mut s = set.open_stream(&img).expect("open image");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read image");
    out
}

/// `bytes` in a temporary `.aff4` file.
pub fn save(bytes: &[u8]) -> tempfile::TempPath {
    let mut f = tempfile::Builder::new()
        .suffix(".aff4")
        .tempfile()
        .expect("temp file");
    f.write_all(bytes).expect("write temp file");
    f.into_temp_path()
}

/// Runs `aff4/tests/oracle/<script>` with the oracle venv's python; `None` (skipped)
/// outside CI when the venv is missing. Panics with stderr if the script fails.
pub fn python(script: &str, args: &[&str]) -> Option<String> {
    let py = crate::common::oracle_python()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracle")
        .join(script);
    let out = Command::new(py)
        .arg(&script)
        .args(args)
        .output()
        .expect("run python");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed: {stderr}",
        script.display()
    );
    Some(String::from_utf8(out.stdout).expect("utf-8 output"))
}

/// pyaff4's reading of `ranges` of the image in `path`: (size, [(read, sha256)]).
pub fn pyaff4_ranges(path: &Path, ranges: &[(u64, u64)]) -> Option<(u64, Vec<(u64, String)>)> {
    let arg = format!(
        "[{}]",
        ranges
            .iter()
            .map(|(s, n)| format!("[{s},{n}]"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let out = python(
        "write_read_ranges.py",
        &[path.to_str().expect("utf-8 path"), &arg],
    )?;
    let mut size = None;
    let mut got = Vec::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f.as_slice() {
            ["size", n] => size = n.parse().ok(),
            ["range", _, _, read, h] => got.push((read.parse().expect("count"), h.to_string())),
            _ => panic!("unexpected pyaff4 output line {line:?}"),
        }
    }
    Some((size.expect("size line"), got))
}

/// What pyaff4's block_hasher.Validator reported.
#[derive(Debug, Default)]
pub struct Validation {
    /// `(type, uri)` of each valid hash.
    pub valid: Vec<(String, String)>,
    /// Each invalid-hash line.
    pub invalid: Vec<String>,
    /// Block hashes checked (valid, invalid).
    pub blocks: (u64, u64),
    /// The crash, if it crashed.
    pub error: Option<String>,
}

/// Runs pyaff4's Validator on `path`.
pub fn pyaff4_validate(path: &Path) -> Option<Validation> {
    let out = python("write_validate.py", &[path.to_str().expect("utf-8 path")])?;
    let mut v = Validation::default();
    for line in out.lines() {
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "valid" => {
                let (t, u) = rest.split_once(' ').unwrap_or((rest, ""));
                v.valid.push((t.to_string(), u.to_string()));
            }
            "invalid" => v.invalid.push(rest.to_string()),
            "blocks" => {
                let (a, b) = rest.split_once(' ').expect("two counts");
                v.blocks = (a.parse().expect("count"), b.parse().expect("count"));
            }
            "error" => v.error = Some(rest.to_string()),
            _ => panic!("unexpected validator output line {line:?}"),
        }
    }
    Some(v)
}

/// `unzip -t` on `path` must pass (skipped outside CI when unzip is missing).
pub fn unzip_t(path: &Path) {
    match Command::new("unzip").arg("-tq").arg(path).output() {
        Ok(out) => assert!(
            out.status.success(),
            "unzip -t failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if !crate::common::in_ci() => eprintln!("SKIP: unzip not runnable: {e}"),
        Err(e) => panic!("unzip not runnable: {e}"),
    }
}

/// The `information.turtle` of a volume, parsed.
pub fn turtle(bytes: &[u8]) -> aff4::rdf::Graph {
    let set = aff4::volume::VolumeSet::from_bytes(bytes.to_vec()).expect("our reader opens it");
    set.graph().clone()
}
