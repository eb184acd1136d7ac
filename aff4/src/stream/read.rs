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

/// A `Read + Seek` view of an ImageStream.
pub struct ImageStreamReader {
    info: ImageStreamInfo,
    res: Arc<Resolver>,
    pos: u64,
    chunk: Option<(u64, Vec<u8>)>,
    index: Option<(u64, Vec<IndexEntry>)>,
    scratch: Vec<u8>,
}

impl ImageStreamReader {
    /// Opens the stream described by `info`.
    pub(crate) fn new(info: ImageStreamInfo, res: Arc<Resolver>) -> Self {
        ImageStreamReader {
            info,
            res,
            pos: 0,
            chunk: None,
            index: None,
            scratch: Vec::new(),
        }
    }

    /// The stream parameters.
    pub fn info(&self) -> &ImageStreamInfo {
        &self.info
    }

    fn bevy_urn(&self, bevy: u64) -> String {
        format!("{}/{:08}", self.info.urn, bevy)
    }

    fn load_index(&mut self, bevy: u64) -> Result<()> {
        if self.index.as_ref().is_some_and(|(b, _)| *b == bevy) {
            return Ok(());
        }
        let bevy_urn = self.bevy_urn(bevy);
        let limit = self.info.chunks_in_segment * 12 + 12;
        let entries = match self
            .res
            .read_member_by_urn(&format!("{bevy_urn}.index"), limit)
        {
            Ok(b) => parse_index(&b, &bevy_urn)?,
            Err(Error::MissingMember(_)) | Err(Error::NotFound(_)) => {
                let b = self
                    .res
                    .read_member_by_urn(&format!("{bevy_urn}/index"), limit)?;
                let (_, entry) = self
                    .res
                    .member_by_urn(&bevy_urn)
                    .ok_or_else(|| Error::MissingMember(bevy_urn.clone()))?;
                parse_legacy_index(&b, entry.size, &bevy_urn)?
            }
            Err(e) => return Err(e),
        };
        self.index = Some((bevy, entries));
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
        if e.length > self.info.chunk_size + 1024 + self.info.chunk_size / 8 {
            return Err(Error::corrupt(
                &bevy_urn,
                format!(
                    "chunk {i} claims {} stored bytes for a {}-byte chunk",
                    e.length, self.info.chunk_size
                ),
            ));
        }
        self.scratch.resize(e.length as usize, 0);
        self.res
            .read_member_range(&bevy_urn, e.offset, &mut self.scratch)?;
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
}

impl Read for ImageStreamReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.info.size || buf.is_empty() {
            return Ok(0);
        }
        let chunk = self.pos / self.info.chunk_size;
        self.load_chunk(chunk).map_err(std::io::Error::other)?;
        let data = self
            .chunk
            .as_ref()
            .map(|(_, d)| d.as_slice())
            .unwrap_or(&[]);
        let off = (self.pos % self.info.chunk_size) as usize;
        let avail = (data.len().saturating_sub(off) as u64).min(self.info.size - self.pos) as usize;
        if avail == 0 {
            return Err(std::io::Error::other(Error::corrupt(
                &self.info.urn,
                format!(
                    "chunk {chunk} decodes to {} bytes, too short for offset {}",
                    data.len(),
                    self.pos
                ),
            )));
        }
        let n = avail.min(buf.len());
        buf[..n].copy_from_slice(&data[off..off + n]);
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
