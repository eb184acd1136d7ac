//! Seed inputs for the fuzz targets, generated (never stored in the repository): the
//! containers of `../shared/testdata`, volumes our writer makes here (with the
//! recovery journal, and truncated like a killed run's partial file), their members
//! (Turtle, map, idx, index), encoded chunks, and small LiME/AVML/ELF dumps.
#![allow(dead_code)]

use aff4::codec::Compression;
use aff4::writer::{LogicalFileMeta, StreamOptions, VolumeWriter};
use std::path::{Path, PathBuf};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p.extension().is_some_and(|x| x == "aff4" || x == "af4") {
            out.push(p);
        }
    }
}

/// A small memory image with a journal, a zero range, an unreadable range and two
/// logical files, written by our writer.
pub fn our_volume(codec: Compression) -> Vec<u8> {
    let cs = 4096usize;
    let mut vw = VolumeWriter::new(Vec::new(), "pmem-aff4 fuzz seeds").unwrap();
    let opts = StreamOptions {
        chunk_size: cs as u32,
        chunks_in_segment: 4,
        compression: codec,
        ..StreamOptions::default()
    };
    let mut m = vw.memory_image(opts).unwrap();
    m.start_journal(&[(0, 0x9000), (0x10000, 0x14000)], &[])
        .unwrap();
    let mut stored = Vec::new();
    for i in 0..6u64 {
        let chunk: Vec<u8> = (0..cs)
            .map(|j| ((j as u64 * (i + 3)) % 251) as u8)
            .collect();
        codec.encode_chunk(&chunk, &mut stored);
        m.add_chunk(i * cs as u64, &chunk, &stored).unwrap();
    }
    m.add_symbolic(0x6000, 0x2000, aff4::symbolic::Symbolic::Zero)
        .unwrap();
    m.add_symbolic(0x8000, 0x1000, aff4::symbolic::Symbolic::UnreadableData)
        .unwrap();
    let chunk = b"Linux version 6.1.0 ".repeat(cs / 20 + 1)[..cs].to_vec();
    codec.encode_chunk(&chunk, &mut stored);
    m.add_chunk(0x10000, &chunk, &stored).unwrap();
    m.finish(0x14000).unwrap();
    let meta = LogicalFileMeta::default();
    vw.add_logical_file(
        "/proc/iomem",
        &mut &b"00001000-0009ffff : System RAM\n"[..],
        &meta,
    )
    .unwrap();
    vw.finish().unwrap()
}

fn lime(ranges: &[(u64, &[u8])]) -> Vec<u8> {
    let mut f = Vec::new();
    for (start, data) in ranges {
        f.extend_from_slice(b"EMiL");
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&start.to_le_bytes());
        f.extend_from_slice(&(start + data.len() as u64 - 1).to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes());
        f.extend_from_slice(data);
    }
    f
}

fn avml(ranges: &[(u64, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut f = Vec::new();
    for (start, data) in ranges {
        f.extend_from_slice(b"AVML");
        f.extend_from_slice(&2u32.to_le_bytes());
        f.extend_from_slice(&start.to_le_bytes());
        f.extend_from_slice(&(start + data.len() as u64 - 1).to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes());
        let mut enc = snap::write::FrameEncoder::new(Vec::new());
        enc.write_all(data).unwrap();
        let s = enc.into_inner().unwrap();
        f.extend_from_slice(&s);
        f.extend_from_slice(&(s.len() as u64).to_le_bytes());
    }
    f
}

/// A minimal ELF64 core with one PT_LOAD per range.
fn elf_core(ranges: &[(u64, &[u8])]) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // 64-bit
    h[5] = 1; // little endian
    h[6] = 1;
    h[16..18].copy_from_slice(&4u16.to_le_bytes()); // ET_CORE
    h[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    h[52..54].copy_from_slice(&64u16.to_le_bytes());
    h[54..56].copy_from_slice(&56u16.to_le_bytes());
    h[56..58].copy_from_slice(&(ranges.len() as u16).to_le_bytes());
    let mut off = 64 + 56 * ranges.len() as u64;
    let mut data = Vec::new();
    for (start, d) in ranges {
        let mut ph = vec![0u8; 56];
        ph[..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        ph[4..8].copy_from_slice(&4u32.to_le_bytes());
        ph[8..16].copy_from_slice(&off.to_le_bytes());
        ph[16..24].copy_from_slice(&(0xffff_8880_0000_0000u64 + start).to_le_bytes());
        ph[24..32].copy_from_slice(&start.to_le_bytes());
        ph[32..40].copy_from_slice(&(d.len() as u64).to_le_bytes());
        ph[40..48].copy_from_slice(&(d.len() as u64).to_le_bytes());
        h.extend_from_slice(&ph);
        data.extend_from_slice(d);
        off += d.len() as u64;
    }
    h.extend_from_slice(&data);
    h
}

/// Seeds for `target`, named. `shared` is `../shared` (may be absent: then only our
/// own seeds), `repo` the repository root (for `testdata/`).
pub fn seeds(target: &str, shared: Option<&Path>, repo: &Path) -> Vec<(String, Vec<u8>)> {
    let mut containers: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(s) = shared {
        let mut paths = Vec::new();
        files_under(&s.join("testdata"), &mut paths);
        paths.sort();
        for p in paths {
            if let Ok(b) = std::fs::read(&p) {
                if b.len() <= 16 << 20 {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    containers.push((name, b));
                }
            }
        }
    }
    for c in [
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zlib,
        Compression::Stored,
    ] {
        containers.push((format!("ours-{}.aff4", c.name()), our_volume(c)));
    }
    let ours = our_volume(Compression::Snappy);
    let partials: Vec<(String, Vec<u8>)> = [0.3f64, 0.5, 0.8, 0.95]
        .iter()
        .map(|f| {
            let n = (ours.len() as f64 * f) as usize;
            (format!("ours-partial-{n}"), ours[..n].to_vec())
        })
        .collect();
    let members = |pred: &dyn Fn(&str) -> bool| -> Vec<(String, Vec<u8>)> {
        let mut v = Vec::new();
        for (cname, b) in &containers {
            if let Ok(z) = aff4::zip::ZipArchive::parse(b) {
                for e in z.entries() {
                    if pred(&e.name) {
                        if let Ok(d) = z.read_member(b, &e.name, 1 << 20) {
                            v.push((format!("{cname}-{}", e.name.replace('/', "_")), d));
                        }
                    }
                }
            }
        }
        v
    };
    let flagged = |flag: u8, v: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
        v.into_iter()
            .map(|(n, d)| {
                let mut b = vec![flag];
                b.extend_from_slice(&d);
                (n, b)
            })
            .collect()
    };
    let page: Vec<u8> = (0..8192u32).map(|i| (i % 253) as u8).collect();
    let ranges: Vec<(u64, &[u8])> = vec![(0x1000, &page[..4096]), (0x100000, &page[..])];
    match target {
        "zip_directory" => containers.into_iter().chain(partials).collect(),
        "volume" => containers
            .into_iter()
            .filter(|(_, b)| b.len() <= 4 << 20)
            .collect(),
        "turtle" => members(&|n| n.ends_with(".turtle")),
        "map" => {
            let mut v = flagged(0, members(&|n| n.ends_with("/map") || n.ends_with("/idx")));
            v.extend(flagged(1, members(&|n| n.ends_with("/map"))));
            v
        }
        "image_stream" => {
            let mut v = flagged(
                3,
                members(&|n| n.ends_with(".index") || n.ends_with("/index")),
            );
            let chunk = &page[..4096];
            for (i, c) in [
                Compression::Snappy,
                Compression::Lz4,
                Compression::Zlib,
                Compression::Deflate,
            ]
            .iter()
            .enumerate()
            {
                let mut out = Vec::new();
                c.encode_chunk(chunk, &mut out);
                let mut b = vec![3 | ((i as u8) << 4)];
                b.extend_from_slice(&out);
                v.push((format!("chunk-{}", c.name()), b));
            }
            v
        }
        "journal" => {
            let mut v = members(&|n| n.starts_with(aff4::journal::PREFIX));
            v.extend(partials);
            v
        }
        "lime" => {
            let mut v = vec![
                ("small.lime".to_string(), lime(&ranges)),
                ("small.avml".to_string(), avml(&ranges)),
            ];
            for f in ["testdata/sample.lime", "testdata/linux-6.1-qemu.lime"] {
                if let Ok(b) = std::fs::read(repo.join(f)) {
                    v.push((f.replace('/', "_"), b));
                }
            }
            v
        }
        "elf" => vec![("small.elf".to_string(), elf_core(&ranges))],
        _ => Vec::new(),
    }
}
