//! LiME dumps: uncompressed (magic `EMiL`, version 1, as LiME and AVML write them) and
//! AVML's compressed variant (magic `AVML`, version 2).
//!
//! Every range starts with a 32-byte header: magic (u32), version (u32), first and last
//! physical address (u64, the last one inclusive) and a reserved u64, all little-endian.
//! A version 1 range is followed by its bytes. A version 2 range is followed by its bytes
//! as a snappy *framed* stream (stream identifier, then compressed or uncompressed chunks
//! of at most 64 KiB each, CRC-32C checked) and then by the stream's length in bytes as a
//! u64 LE. AVML cuts large ranges into 16 MiB pieces and leaves all-zero pieces out; the
//! touching pieces are merged back into one range here.
//!
//! Positional reads of compressed ranges: opening the file walks the chunk headers only
//! (no decompression) and keeps a checkpoint — (offset in the range, offset in the file)
//! of a chunk — every [`CHECKPOINT_SPACING`] bytes of uncompressed data. A read decodes
//! from the nearest checkpoint before it, so reads may come in any order from any
//! thread, and the index costs 16 bytes per MiB of memory imaged.
//!
//! One file (past 600 lines): both LiME variants share the range walk and its bounds
//! checks; most of the length is the AVML frame index and its tests.

use crate::file_ext::FileExt;
use crate::sources::open_file;
use crate::{merge_ranges, Error, PhysRange, ReadError, Source};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Magic of a LiME header: "EMiL" read as a little-endian u32.
pub(crate) const LIME_MAGIC: u32 = 0x4C69_4D45;
/// Magic of an AVML compressed header: "AVML" read as a little-endian u32.
pub(crate) const AVML_MAGIC: u32 = 0x4C4D_5641;
/// Uncompressed bytes between two checkpoints of a compressed range's index.
pub const CHECKPOINT_SPACING: u64 = 1 << 20;

/// The snappy framing format's stream identifier chunk.
const STREAM_ID: [u8; 10] = [0xff, 6, 0, 0, b's', b'N', b'a', b'P', b'p', b'Y'];
/// Largest uncompressed size of one snappy frame chunk.
const MAX_CHUNK_DATA: u64 = 65536;

/// Where a chunk of the framed stream starts.
#[derive(Debug, Clone, Copy)]
struct Checkpoint {
    /// Offset of the chunk's first uncompressed byte within the range.
    range_offset: u64,
    /// File offset of the chunk header.
    file_offset: u64,
}

#[derive(Debug)]
enum Body {
    /// Version 1: the bytes as they are, from this file offset.
    Raw { file_offset: u64 },
    /// Version 2: a snappy framed stream ending at file offset `end` (exclusive).
    Snappy {
        end: u64,
        checkpoints: Vec<Checkpoint>,
    },
}

#[derive(Debug)]
struct Segment {
    phys: PhysRange,
    header_offset: u64,
    body: Body,
}

/// A LiME or AVML dump file.
struct LimeSource {
    path: String,
    file: File,
    desc: String,
    ranges: Vec<PhysRange>,
    segments: Vec<Segment>,
}

/// Reads `[pos, end)` of a file with positional reads.
struct FileSlice<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for FileSlice<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.end - self.pos) as usize;
        if n == 0 {
            return Ok(0);
        }
        let k = self.file.read_at(&mut buf[..n], self.pos)?;
        self.pos += k as u64;
        Ok(k)
    }
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut q = [0u8; 8];
    q.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(q)
}

/// Opens a LiME or AVML dump, checking every header and (for compressed ranges) every
/// snappy chunk header and the trailing size, without decompressing anything.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Source>, Error> {
    let file = open_file(path, "LiME dump")?;
    let shown = path.display().to_string();
    let len = file
        .metadata()
        .map_err(|e| Error::Unavailable(format!("{shown}: {e}")))?
        .len();
    let bad = |reason: String| Error::Format {
        path: shown.clone(),
        reason,
    };
    let mut segments = Vec::new();
    let mut off = 0u64;
    while off < len {
        if len - off < 32 {
            return Err(bad(format!(
                "only {} bytes left for the 32-byte range header at offset {off}: the dump is truncated",
                len - off
            )));
        }
        let mut h = [0u8; 32];
        file.read_exact_at(&mut h, off)
            .map_err(|e| bad(format!("header at offset {off}: {e}")))?;
        let (magic, version) = (u32_at(&h, 0), u32_at(&h, 4));
        let (start, last) = (u64_at(&h, 8), u64_at(&h, 16));
        let size = last
            .checked_sub(start)
            .and_then(|d| d.checked_add(1))
            .ok_or_else(|| {
                bad(format!(
                    "range header at offset {off}: end {last:#x} is before start {start:#x}"
                ))
            })?;
        let phys = PhysRange {
            start,
            end: start + size,
        };
        let (body, next) = match (magic, version) {
            (LIME_MAGIC, 1) => {
                if size > len - off - 32 {
                    return Err(bad(format!(
                        "range {start:#x}-{last:#x} (header at offset {off}) runs past the end of the file: the dump is truncated"
                    )));
                }
                (Body::Raw { file_offset: off + 32 }, off + 32 + size)
            }
            (AVML_MAGIC, 2) => index_frames(&file, off, phys, len).map_err(bad)?,
            (LIME_MAGIC, v) | (AVML_MAGIC, v) => {
                return Err(bad(format!(
                    "unsupported header version {v} at offset {off}: only LiME version 1 and AVML (compressed) version 2 exist"
                )))
            }
            _ => {
                return Err(bad(format!(
                    "no LiME or AVML header at offset {off} (magic {magic:#010x}): not a LiME/AVML dump, or damaged"
                )))
            }
        };
        segments.push(Segment {
            phys,
            header_offset: off,
            body,
        });
        off = next;
    }
    segments.sort_by_key(|s| s.phys.start);
    if let Some(w) = segments
        .windows(2)
        .find(|w| w[0].phys.end > w[1].phys.start)
    {
        return Err(bad(format!(
            "the ranges of the headers at offsets {} and {} overlap",
            w[0].header_offset, w[1].header_offset
        )));
    }
    let ranges = merge_ranges(segments.iter().map(|s| s.phys).collect());
    let compressed = segments
        .iter()
        .any(|s| matches!(s.body, Body::Snappy { .. }));
    let desc = format!(
        "{} {shown} ({} ranges)",
        if compressed {
            "AVML compressed LiME dump"
        } else {
            "LiME dump"
        },
        ranges.len()
    );
    Ok(Box::new(LimeSource {
        path: shown,
        file,
        desc,
        ranges,
        segments,
    }))
}

/// Walks the snappy chunk headers of the compressed range whose header is at `off`;
/// returns its body and the offset of the next range header.
fn index_frames(
    file: &File,
    off: u64,
    phys: PhysRange,
    file_len: u64,
) -> Result<(Body, u64), String> {
    let what = format!("range {:#x}-{:#x}", phys.start, phys.end - 1);
    let truncated = |at: u64| {
        format!("{what}: the snappy stream stops at offset {at}, at the end of the file: the dump is truncated")
    };
    let max_chunk = snap::raw::max_compress_len(MAX_CHUNK_DATA as usize) as u64 + 4;
    let start = off + 32;
    let size = phys.len();
    let mut pos = start;
    let mut produced = 0u64;
    // The range size comes from the file: reserve no more than the file could index.
    let mut checkpoints =
        Vec::with_capacity((size / CHECKPOINT_SPACING + 1).min(file_len / 64 + 1) as usize);
    let mut next_checkpoint = 0u64;
    while produced < size {
        if file_len - pos < 4 {
            return Err(truncated(pos));
        }
        let mut h = [0u8; 16];
        let avail = (file_len - pos).min(h.len() as u64) as usize;
        file.read_exact_at(&mut h[..avail], pos)
            .map_err(|e| format!("{what}: reading offset {pos}: {e}"))?;
        let ty = h[0];
        let clen = u64::from(u32::from_le_bytes([h[1], h[2], h[3], 0]));
        if pos == start && ty != 0xff {
            return Err(format!(
                "{what}: no snappy stream identifier at offset {pos}: damaged, or not an AVML file"
            ));
        }
        if clen > max_chunk {
            return Err(format!(
                "{what}: the snappy chunk at offset {pos} claims {clen} bytes (at most {max_chunk}): the dump is damaged"
            ));
        }
        if clen > file_len - pos - 4 {
            return Err(truncated(pos));
        }
        let data = match ty {
            0xff => {
                if clen != 6 || h[4..10] != STREAM_ID[4..] {
                    return Err(format!(
                        "{what}: bad snappy stream identifier at offset {pos}: the dump is damaged"
                    ));
                }
                0
            }
            0x00 => {
                if clen < 5 {
                    return Err(format!(
                        "{what}: snappy chunk at offset {pos} is too short: the dump is damaged"
                    ));
                }
                let body = &h[8..avail.min(4 + clen as usize)];
                snap::raw::decompress_len(body).map_err(|e| {
                    format!("{what}: snappy chunk at offset {pos}: {e}: the dump is damaged")
                })? as u64
            }
            0x01 => clen.checked_sub(4).ok_or_else(|| {
                format!("{what}: snappy chunk at offset {pos} is too short: the dump is damaged")
            })?,
            0x02..=0x7f => {
                return Err(format!(
                "{what}: unknown snappy chunk type {ty:#04x} at offset {pos}: the dump is damaged"
            ))
            }
            _ => 0, // padding and reserved skippable chunks
        };
        if data > MAX_CHUNK_DATA {
            return Err(format!(
                "{what}: the snappy chunk at offset {pos} claims {data} bytes (at most {MAX_CHUNK_DATA}): the dump is damaged"
            ));
        }
        if data > 0 && produced >= next_checkpoint {
            checkpoints.push(Checkpoint {
                range_offset: produced,
                file_offset: pos,
            });
            next_checkpoint = produced + CHECKPOINT_SPACING;
        }
        produced += data;
        if produced > size {
            return Err(format!(
                "{what}: its snappy stream holds more than the header's {size} bytes: the dump is damaged"
            ));
        }
        pos += 4 + clen;
    }
    if file_len - pos < 8 {
        return Err(format!(
            "{what}: the trailing compressed size at offset {pos} is cut off: the dump is truncated"
        ));
    }
    let mut t = [0u8; 8];
    file.read_exact_at(&mut t, pos)
        .map_err(|e| format!("{what}: reading offset {pos}: {e}"))?;
    let trailer = u64::from_le_bytes(t);
    if trailer != pos - start {
        return Err(format!(
            "{what}: the trailing compressed size at offset {pos} says {trailer} bytes but the snappy stream is {} bytes: the dump is damaged",
            pos - start
        ));
    }
    checkpoints.shrink_to_fit();
    Ok((
        Body::Snappy {
            end: pos,
            checkpoints,
        },
        pos + 8,
    ))
}

impl LimeSource {
    /// Reads `buf.len()` bytes at `offset` within the compressed range `seg`.
    fn read_snappy(
        &self,
        seg: &Segment,
        end: u64,
        checkpoints: &[Checkpoint],
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), ReadError> {
        let phys = seg.phys.start + offset;
        let i = checkpoints
            .partition_point(|c| c.range_offset <= offset)
            .saturating_sub(1);
        let cp = checkpoints.get(i).copied().ok_or(ReadError::OutOfRange {
            phys,
            len: buf.len(),
        })?;
        let slice = FileSlice {
            file: &self.file,
            pos: cp.file_offset,
            end,
        };
        // The decoder wants a stream identifier first; the checkpoint is mid-stream.
        let mut dec = snap::read::FrameDecoder::new(STREAM_ID.chain(slice));
        let skip = offset - cp.range_offset;
        let res = io::copy(&mut (&mut dec).take(skip), &mut io::sink()).and_then(|n| {
            if n < skip {
                Err(io::ErrorKind::UnexpectedEof.into())
            } else {
                dec.read_exact(buf)
            }
        });
        res.map_err(|e| {
            let damaged = e.kind() == io::ErrorKind::UnexpectedEof
                || e.get_ref().is_some_and(|inner| inner.is::<snap::Error>());
            if damaged {
                ReadError::Damaged {
                    path: self.path.clone(),
                    phys,
                    reason: format!(
                        "the compressed range whose header is at offset {} does not decode ({e}): the dump is damaged",
                        seg.header_offset
                    ),
                }
            } else {
                ReadError::Unreadable {
                    phys,
                    len: buf.len(),
                    source: e,
                }
            }
        })
    }
}

impl Source for LimeSource {
    fn name(&self) -> &str {
        "lime"
    }
    fn description(&self) -> String {
        self.desc.clone()
    }
    fn ranges(&self) -> &[PhysRange] {
        &self.ranges
    }
    fn read_at(&self, phys: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let end = phys + buf.len() as u64;
        let mut si = self.segments.partition_point(|s| s.phys.end <= phys);
        let mut at = phys;
        let mut done = 0usize;
        while at < end {
            let seg = self.segments.get(si).filter(|s| s.phys.start <= at).ok_or(
                ReadError::OutOfRange {
                    phys,
                    len: buf.len(),
                },
            )?;
            let n = (seg.phys.end.min(end) - at) as usize;
            let part = &mut buf[done..done + n];
            let offset = at - seg.phys.start;
            match &seg.body {
                Body::Raw { file_offset } => self
                    .file
                    .read_exact_at(part, file_offset + offset)
                    .map_err(|source| ReadError::Unreadable {
                        phys: at,
                        len: n,
                        source,
                    })?,
                Body::Snappy {
                    end, checkpoints, ..
                } => self.read_snappy(seg, *end, checkpoints, offset, part)?,
            }
            done += n;
            at += n as u64;
            si += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{open_source, OpenOptions, SourceSpec};
    use std::io::Write;

    /// Deterministic bytes that compress somewhat (text-like runs and noise).
    fn pattern(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if (i / 4096) % 3 == 0 {
                    b"memory "[i % 7]
                } else {
                    x as u8
                }
            })
            .collect()
    }

    fn header(magic: u32, version: u32, start: u64, len: u64) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&magic.to_le_bytes());
        h.extend_from_slice(&version.to_le_bytes());
        h.extend_from_slice(&start.to_le_bytes());
        h.extend_from_slice(&(start + len - 1).to_le_bytes());
        h.extend_from_slice(&0u64.to_le_bytes());
        h
    }

    fn avml_range(out: &mut Vec<u8>, start: u64, data: &[u8]) {
        out.extend_from_slice(&header(AVML_MAGIC, 2, start, data.len() as u64));
        let mut enc = snap::write::FrameEncoder::new(Vec::new());
        enc.write_all(data).unwrap();
        let stream = enc.into_inner().unwrap();
        out.extend_from_slice(&stream);
        out.extend_from_slice(&(stream.len() as u64).to_le_bytes());
    }

    fn open_bytes(bytes: &[u8]) -> (tempfile::NamedTempFile, Result<Box<dyn Source>, Error>) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let s = open_source(&SourceSpec::Lime(f.path().into()), &OpenOptions::default());
        (f, s)
    }

    #[test]
    fn compressed_ranges_read_back_at_any_offset_in_any_order() {
        // 5 MiB in two touching AVML pieces (merged), then a LiME v1 range, then a gap.
        let a = pattern(3 << 20, 1);
        let b = pattern((2 << 20) + 4096, 2);
        let c = pattern(64 << 10, 3);
        let mut file = Vec::new();
        avml_range(&mut file, 0x100000, &a);
        avml_range(&mut file, 0x100000 + a.len() as u64, &b);
        file.extend_from_slice(&header(LIME_MAGIC, 1, 0x1000_0000, c.len() as u64));
        file.extend_from_slice(&c);
        let (_f, s) = open_bytes(&file);
        let s = s.unwrap();
        let whole: Vec<u8> = [a.as_slice(), b.as_slice()].concat();
        assert_eq!(
            s.ranges(),
            &[
                PhysRange {
                    start: 0x100000,
                    end: 0x100000 + whole.len() as u64
                },
                PhysRange {
                    start: 0x1000_0000,
                    end: 0x1000_0000 + c.len() as u64
                }
            ]
        );
        assert!(s.description().contains("AVML"));
        // Reads crossing chunk, checkpoint and piece boundaries, backwards.
        let probes = [
            (whole.len() - 5000, 5000),
            (a.len() - 100, 200_000),
            ((1 << 20) - 1, 2),
            (65535, 65538),
            (0, 1 << 20),
            (12345, 1),
        ];
        for (off, len) in probes {
            let mut buf = vec![0u8; len];
            s.read_at(0x100000 + off as u64, &mut buf).unwrap();
            assert!(buf == whole[off..off + len], "offset {off} len {len}");
        }
        // Many threads at once, interleaved.
        std::thread::scope(|sc| {
            for t in 0..4usize {
                let (s, whole) = (&s, &whole);
                sc.spawn(move || {
                    let mut buf = vec![0u8; 300_000];
                    let mut off = t * 77_777;
                    while off + buf.len() <= whole.len() {
                        s.read_at(0x100000 + off as u64, &mut buf).unwrap();
                        assert!(buf == whole[off..off + buf.len()]);
                        off += 1_300_001;
                    }
                });
            }
        });
        let mut buf = vec![0u8; 10];
        s.read_at(0x1000_0000 + 20, &mut buf).unwrap();
        assert_eq!(buf, c[20..30]);
        assert!(matches!(
            s.read_at(0x100000 + whole.len() as u64, &mut buf),
            Err(ReadError::OutOfRange { .. })
        ));
    }

    #[test]
    fn the_index_holds_one_checkpoint_per_mib() {
        let data = vec![7u8; 8 << 20];
        let mut bytes = Vec::new();
        avml_range(&mut bytes, 0, &data);
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), &bytes).unwrap();
        let file = File::open(f.path()).unwrap();
        let len = bytes.len() as u64;
        let range = PhysRange {
            start: 0,
            end: 8 << 20,
        };
        let (body, next) = index_frames(&file, 0, range, len).unwrap();
        assert_eq!(next, len);
        let Body::Snappy { checkpoints, .. } = body else {
            panic!("not compressed")
        };
        let at: Vec<u64> = checkpoints.iter().map(|c| c.range_offset).collect();
        assert_eq!(at, (0..8).map(|i| i << 20).collect::<Vec<u64>>());
    }

    #[test]
    fn hostile_files_fail_with_a_reason() {
        let data = pattern(300_000, 9);
        let mut good = Vec::new();
        avml_range(&mut good, 0x1000, &data);
        let (_f, s) = open_bytes(&good);
        assert!(s.is_ok());
        let err = |bytes: &[u8]| {
            let (f, s) = open_bytes(bytes);
            let e = s.err().expect("must fail").to_string();
            assert!(
                e.contains(&f.path().display().to_string()),
                "no file name: {e}"
            );
            e
        };
        // Truncated anywhere: in the stream, in the trailer, in the next header.
        for cut in [40, good.len() / 2, good.len() - 3] {
            assert!(err(&good[..cut]).contains("truncated"), "cut {cut}");
        }
        let mut two = good.clone();
        two.extend_from_slice(&header(AVML_MAGIC, 2, 0x100000, 4096)[..20]);
        assert!(err(&two).contains("truncated"));
        // Wrong trailing size.
        let mut t = good.clone();
        let n = t.len();
        t[n - 8] ^= 1;
        assert!(err(&t).contains("trailing compressed size"));
        // A chunk header claiming too much.
        let mut t = good.clone();
        t[32 + 10 + 3] = 0x7f;
        assert!(err(&t).contains("claims"));
        // Unknown version, wrong magic.
        let mut t = good.clone();
        t[4] = 3;
        assert!(err(&t).contains("version 3"));
        let mut t = good.clone();
        t[0] = b'X';
        assert!(err(&t).contains("no LiME or AVML header"));
    }

    #[test]
    fn a_corrupt_chunk_is_reported_as_damage_at_read_time() {
        let data = pattern(300_000, 4);
        let mut file = Vec::new();
        avml_range(&mut file, 0x1000, &data);
        // Flip a byte inside the second chunk's compressed data (CRC mismatch or bad
        // snappy), leaving every header intact.
        let first_len = u32::from_le_bytes([file[43], file[44], file[45], 0]) as usize;
        let second = 32 + 10 + 4 + first_len;
        file[second + 4 + 4 + 100] ^= 0x55;
        let (f, s) = open_bytes(&file);
        let s = s.unwrap();
        let mut buf = vec![0u8; 4096];
        s.read_at(0x1000, &mut buf).unwrap();
        let e = s.read_at(0x1000 + 70_000, &mut buf).unwrap_err();
        assert!(matches!(e, ReadError::Damaged { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains(&f.path().display().to_string()), "{msg}");
        assert!(msg.contains("damaged"), "{msg}");
    }
}
