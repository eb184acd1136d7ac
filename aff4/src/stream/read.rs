//! Reading an aff4:ImageStream: bevies located through the index, chunks decoded on
//! demand, the last decoded chunk and the current bevy's index cached.

use crate::codec::Compression;
use crate::volume::{Resolver, Stream};
use crate::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

/// Largest chunk size we accept from metadata.
pub const MAX_CHUNK_SIZE: u64 = 64 << 20;
/// Largest chunksInSegment we accept from metadata.
pub const MAX_CHUNKS_IN_SEGMENT: u64 = 1 << 20;

/// The parameters of an ImageStream, from its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageStreamInfo {
    /// The stream URN.
    pub urn: String,
    /// Bytes per chunk.
    pub chunk_size: u64,
    /// Chunks per bevy.
    pub chunks_in_segment: u64,
    /// Logical size.
    pub size: u64,
    /// Codec.
    pub compression: Compression,
}

/// One chunk's place in its bevy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Offset inside the bevy member.
    pub offset: u64,
    /// Stored length.
    pub length: u64,
}

/// Parses a standard `<bevy>.index` (12-byte `{u64 offset, u32 length}` entries).
pub fn parse_index(b: &[u8], urn: &str) -> Result<Vec<IndexEntry>> {
    if b.len() % 12 != 0 {
        return Err(Error::corrupt(
            urn,
            format!("index of {} bytes is not a multiple of 12", b.len()),
        ));
    }
    Ok(b.chunks_exact(12)
        .map(|e| {
            let mut o = [0u8; 8];
            o.copy_from_slice(&e[..8]);
            IndexEntry {
                offset: u64::from_le_bytes(o),
                length: u64::from(u32::from_le_bytes([e[8], e[9], e[10], e[11]])),
            }
        })
        .collect())
}

/// Parses a pre-standard `<bevy>/index`: u32 chunk offsets; the bevy length closes the
/// last chunk. Evimetry wrote end offsets, Rekall/c-aff4 start offsets: if the first
/// value is 0 they are starts, otherwise ends.
pub fn parse_legacy_index(b: &[u8], bevy_len: u64, urn: &str) -> Result<Vec<IndexEntry>> {
    if b.len() % 4 != 0 {
        return Err(Error::corrupt(
            urn,
            format!("legacy index of {} bytes is not a multiple of 4", b.len()),
        ));
    }
    let v: Vec<u64> = b
        .chunks_exact(4)
        .map(|e| u64::from(u32::from_le_bytes([e[0], e[1], e[2], e[3]])))
        .collect();
    let starts: Vec<u64> = if v.first() == Some(&0) {
        v.clone()
    } else {
        std::iter::once(0)
            .chain(v.iter().copied().take(v.len().saturating_sub(1)))
            .collect()
    };
    let ends: Vec<u64> = if v.first() == Some(&0) {
        v.iter().skip(1).copied().chain([bevy_len]).collect()
    } else {
        v
    };
    starts
        .iter()
        .zip(&ends)
        .map(|(&s, &e)| {
            if e < s || e > bevy_len {
                Err(Error::corrupt(
                    urn,
                    format!("legacy index entry {s}..{e} outside the bevy of {bevy_len} bytes"),
                ))
            } else {
                Ok(IndexEntry {
                    offset: s,
                    length: e - s,
                })
            }
        })
        .collect()
}

/// Largest stored length we accept for one chunk: a chunk that does not compress is
/// stored raw (exactly `chunk_size`), so anything much longer is corrupt.
pub fn max_stored_chunk(chunk_size: u64) -> u64 {
    chunk_size + chunk_size / 8 + 1024
}

/// Checks that every index entry lies inside its bevy member of `bevy_len` bytes and
/// is not longer than a chunk could be.
pub fn check_index(
    entries: &[IndexEntry],
    bevy_len: u64,
    chunk_size: u64,
    urn: &str,
) -> Result<()> {
    for (i, e) in entries.iter().enumerate() {
        if e.length > max_stored_chunk(chunk_size) {
            return Err(Error::corrupt(
                urn,
                format!(
                    "index entry {i} claims {} stored bytes for a {chunk_size}-byte chunk",
                    e.length
                ),
            ));
        }
        if !e
            .offset
            .checked_add(e.length)
            .is_some_and(|end| end <= bevy_len)
        {
            return Err(Error::corrupt(
                urn,
                format!(
                    "index entry {i} ({}+{}) lies past the end of the {bevy_len}-byte bevy",
                    e.offset, e.length
                ),
            ));
        }
    }
    Ok(())
}

/// A `Read + Seek` view of an ImageStream. Only the bytes of the chunk being read are
/// read from the volume (positional reads into the stored bevy); the last decoded
/// chunk and the current bevy's index are cached. A deflated bevy member (unusual)
/// is inflated once and cached while its chunks are read.
pub struct ImageStreamReader {
    info: ImageStreamInfo,
    res: Arc<Resolver>,
    pos: u64,
    chunk: Option<(u64, Vec<u8>)>,
    index: Option<(u64, Vec<IndexEntry>)>,
    inflated_bevy: Option<(u64, Vec<u8>)>,
    scratch: Vec<u8>,
}

impl ImageStreamReader {
    /// Opens the stream described by `info` (parameters already bounded).
    pub(crate) fn new(info: ImageStreamInfo, res: Arc<Resolver>) -> Result<Self> {
        if info.chunk_size == 0 || info.chunk_size > MAX_CHUNK_SIZE {
            return Err(Error::corrupt(
                &info.urn,
                format!("chunk size {} is out of range", info.chunk_size),
            ));
        }
        if info.chunks_in_segment == 0 || info.chunks_in_segment > MAX_CHUNKS_IN_SEGMENT {
            return Err(Error::corrupt(
                &info.urn,
                format!("chunksInSegment {} is out of range", info.chunks_in_segment),
            ));
        }
        Ok(ImageStreamReader {
            info,
            res,
            pos: 0,
            chunk: None,
            index: None,
            inflated_bevy: None,
            scratch: Vec::new(),
        })
    }

    /// The stream parameters.
    pub fn info(&self) -> &ImageStreamInfo {
        &self.info
    }

    fn bevy_urn(&self, bevy: u64) -> String {
        format!("{}/{:08}", self.info.urn, bevy)
    }

    /// Reads the standard `<bevy>.index`, or the pre-standard `<bevy>/index`.
    fn read_index(&self, bevy_urn: &str, bevy_len: u64) -> Result<Vec<IndexEntry>> {
        let limit = self.info.chunks_in_segment * 12 + 12;
        match self
            .res
            .read_member_by_urn(&format!("{bevy_urn}.index"), limit)
        {
            Ok(b) => parse_index(&b, bevy_urn),
            Err(Error::MissingMember(_)) => {
                let b = self
                    .res
                    .read_member_by_urn(&format!("{bevy_urn}/index"), limit)
                    .map_err(|e| match e {
                        Error::MissingMember(_) => {
                            Error::MissingMember(format!("{bevy_urn}.index"))
                        }
                        other => other,
                    })?;
                parse_legacy_index(&b, bevy_len, bevy_urn)
            }
            Err(e) => Err(e),
        }
    }

    fn load_index(&mut self, bevy: u64) -> Result<()> {
        if self.index.as_ref().is_some_and(|(b, _)| *b == bevy) {
            return Ok(());
        }
        let bevy_urn = self.bevy_urn(bevy);
        let (_, entry) = self
            .res
            .member_by_urn(&bevy_urn)
            .ok_or_else(|| Error::MissingMember(bevy_urn.clone()))?;
        let bevy_len = entry.size;
        let entries = self.read_index(&bevy_urn, bevy_len)?;
        check_index(&entries, bevy_len, self.info.chunk_size, &bevy_urn)?;
        self.index = Some((bevy, entries));
        Ok(())
    }

    /// Copies the stored bytes of `e` in bevy `bevy` into `self.scratch`.
    fn read_stored(&mut self, bevy: u64, e: IndexEntry) -> Result<()> {
        let bevy_urn = self.bevy_urn(bevy);
        let deflated = self
            .res
            .member_by_urn(&bevy_urn)
            .is_some_and(|(_, m)| m.method == crate::zip::Method::Deflated);
        self.scratch.resize(e.length as usize, 0);
        if !deflated {
            return self
                .res
                .read_member_range(&bevy_urn, e.offset, &mut self.scratch);
        }
        if !self.inflated_bevy.as_ref().is_some_and(|(b, _)| *b == bevy) {
            let limit = self.info.chunks_in_segment * max_stored_chunk(self.info.chunk_size);
            let data = self
                .res
                .read_member_by_urn(&bevy_urn, limit.min(crate::volume::MEMBER_LIMIT))?;
            self.inflated_bevy = Some((bevy, data));
        }
        let src = self
            .inflated_bevy
            .as_ref()
            .and_then(|(_, d)| d.get(e.offset as usize..(e.offset + e.length) as usize))
            .ok_or_else(|| Error::corrupt(&bevy_urn, "index entry past the inflated bevy"))?;
        self.scratch.copy_from_slice(src);
        Ok(())
    }

    fn load_chunk(&mut self, chunk: u64) -> Result<()> {
        if self.chunk.as_ref().is_some_and(|(c, _)| *c == chunk) {
            return Ok(());
        }
        let (bevy, i) = (
            chunk / self.info.chunks_in_segment,
            chunk % self.info.chunks_in_segment,
        );
        self.load_index(bevy)?;
        let bevy_urn = self.bevy_urn(bevy);
        let e = self
            .index
            .as_ref()
            .and_then(|(_, idx)| idx.get(i as usize).copied())
            .ok_or_else(|| {
                Error::corrupt(&bevy_urn, format!("index has no entry for chunk {i}"))
            })?;
        self.read_stored(bevy, e)?;
        let mut out = self.chunk.take().map(|(_, v)| v).unwrap_or_default();
        self.info.compression.decode_chunk(
            &self.scratch,
            self.info.chunk_size as usize,
            &mut out,
            &bevy_urn,
        )?;
        self.chunk = Some((chunk, out));
        Ok(())
    }

    /// Reads into `buf` at stream offset `offset` (at most one chunk's worth); returns
    /// the number of bytes read, 0 at the end of the stream.
    pub fn read_at(&mut self, buf: &mut [u8], offset: u64) -> Result<usize> {
        if offset >= self.info.size || buf.is_empty() {
            return Ok(0);
        }
        let chunk = offset / self.info.chunk_size;
        self.load_chunk(chunk)?;
        let data = self
            .chunk
            .as_ref()
            .map(|(_, d)| d.as_slice())
            .unwrap_or(&[]);
        let off = (offset % self.info.chunk_size) as usize;
        let avail = (data.len().saturating_sub(off) as u64).min(self.info.size - offset) as usize;
        let n = avail.min(buf.len());
        match (data.get(off..off + n), buf.get_mut(..n)) {
            (Some(src), Some(dst)) if n > 0 => {
                dst.copy_from_slice(src);
                Ok(n)
            }
            _ => Err(Error::corrupt(
                &self.info.urn,
                format!(
                    "chunk {chunk} decodes to {} bytes, too short for offset {offset}",
                    data.len()
                ),
            )),
        }
    }
}

impl Read for ImageStreamReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.read_at(buf, self.pos).map_err(std::io::Error::other)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ImageStreamReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.pos = crate::volume::seek_to(self.pos, self.info.size, pos)?;
        Ok(self.pos)
    }
}

impl Stream for ImageStreamReader {
    fn size(&self) -> u64 {
        self.info.size
    }
    fn urn(&self) -> &str {
        &self.info.urn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn legacy_index_end_and_start_offsets() {
        let ends: Vec<u8> = [10u32, 25, 40]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let e = parse_legacy_index(&ends, 40, "t").unwrap();
        assert_eq!(
            e[1],
            IndexEntry {
                offset: 10,
                length: 15
            }
        );
        let starts: Vec<u8> = [0u32, 10, 25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let s = parse_legacy_index(&starts, 40, "t").unwrap();
        assert_eq!(s, e);
        assert!(parse_legacy_index(&ends, 30, "t").is_err());
    }

    #[test]
    fn index_entries_are_checked_against_the_bevy() {
        let ok = [
            IndexEntry {
                offset: 0,
                length: 100,
            },
            IndexEntry {
                offset: 100,
                length: 50,
            },
        ];
        assert!(check_index(&ok, 150, 32768, "b").is_ok());
        assert!(check_index(&ok, 149, 32768, "b").is_err());
        let huge = [IndexEntry {
            offset: 0,
            length: 1 << 30,
        }];
        assert!(check_index(&huge, 2 << 30, 32768, "b").is_err());
        let wrap = [IndexEntry {
            offset: u64::MAX,
            length: 1,
        }];
        assert!(check_index(&wrap, u64::MAX, 32768, "b").is_err());
    }

    proptest! {
        #[test]
        fn legacy_index_never_panics_and_stays_in_the_bevy(
            v in proptest::collection::vec(any::<u32>(), 0..40),
            bevy_len in any::<u32>(),
        ) {
            let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            if let Ok(entries) = parse_legacy_index(&b, u64::from(bevy_len), "t") {
                for e in entries {
                    prop_assert!(e.offset + e.length <= u64::from(bevy_len));
                }
            }
        }
    }

    proptest! {
        #[test]
        fn index_round_trip(v in proptest::collection::vec((any::<u64>(), any::<u32>()), 0..50)) {
            let bytes: Vec<u8> = v.iter().flat_map(|(o, l)| o.to_le_bytes().into_iter().chain(l.to_le_bytes())).collect();
            let parsed = parse_index(&bytes, "t").unwrap();
            prop_assert_eq!(parsed.len(), v.len());
            for (p, (o, l)) in parsed.iter().zip(&v) {
                prop_assert_eq!(p.offset, *o);
                prop_assert_eq!(p.length, u64::from(*l));
            }
            prop_assert!(parse_index(&bytes[..bytes.len().saturating_sub(1)], "t").is_err() || bytes.is_empty());
        }
    }
}
