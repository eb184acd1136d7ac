//! Reading an aff4:Map: its entries, its range layout (data / symbolic / hole) and a
//! `Read + Seek` view of the virtual address space.

use super::{MapEntry, MAP_ENTRY_LEN};
use crate::lexicon as lx;
use crate::rdf::Term;
use crate::symbolic::Symbolic;
use crate::volume::{Resolver, Stream, MEMBER_LIMIT};
use crate::{Error, Result};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

/// How a range of the map's address space is backed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeKind {
    /// Bytes of another stream.
    Data {
        /// Target URN.
        target: String,
        /// Offset in the target.
        target_offset: u64,
    },
    /// A symbolic pattern (aff4:Zero, aff4:UnreadableData, ...), with its target offset.
    Symbolic(Symbolic, u64),
    /// Not mapped: no data (reads as zeros, or as aff4:mapGapDefaultStream).
    Hole,
}

/// A contiguous range of the map's address space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapRange {
    /// First address.
    pub start: u64,
    /// Length in bytes.
    pub length: u64,
    /// What backs it.
    pub kind: RangeKind,
}

/// A parsed aff4:Map.
#[derive(Debug, Clone)]
pub struct Map {
    urn: String,
    size: u64,
    targets: Vec<String>,
    entries: Vec<MapEntry>,
    gap: Option<Symbolic>,
}

/// Parses `<map>/map` bytes: 28-byte entries (Rekall's swapped field order when
/// `legacy`), zero-length entries dropped, sorted by mapped offset (pyaff4 writes them
/// unsorted). Overlapping entries are an error: the producers disagree on which one
/// wins (pyaff4's interval tree, c-aff4's end-keyed map), so no reading is safe.
pub fn parse_map_entries(b: &[u8], legacy: bool, urn: &str) -> Result<Vec<MapEntry>> {
    if b.len() % MAP_ENTRY_LEN != 0 {
        return Err(Error::corrupt(
            urn,
            format!(
                "map of {} bytes is not a multiple of {MAP_ENTRY_LEN}",
                b.len()
            ),
        ));
    }
    let mut v: Vec<MapEntry> = b
        .chunks_exact(MAP_ENTRY_LEN)
        .map(|c| {
            let mut a = [0u8; MAP_ENTRY_LEN];
            a.copy_from_slice(c);
            MapEntry::from_bytes(&a, legacy)
        })
        .filter(|e| e.length > 0)
        .collect();
    for e in &v {
        if e.mapped.checked_add(e.length).is_none() {
            return Err(Error::corrupt(
                urn,
                format!("map entry at {:#x} + {:#x} overflows", e.mapped, e.length),
            ));
        }
        if e.target_offset.checked_add(e.length).is_none() {
            return Err(Error::corrupt(
                urn,
                format!(
                    "map entry target range {:#x} + {:#x} overflows",
                    e.target_offset, e.length
                ),
            ));
        }
    }
    v.sort();
    for w in v.windows(2) {
        if let [a, b] = w {
            if a.mapped + a.length > b.mapped {
                return Err(Error::corrupt(
                    urn,
                    format!(
                        "map entries overlap: {:#x}+{:#x} and {:#x}+{:#x}",
                        a.mapped, a.length, b.mapped, b.length
                    ),
                ));
            }
        }
    }
    Ok(v)
}

/// Parses `<map>/idx`: one target IRI per line (`\n` or `\r\n`); line *i* is target
/// id *i*. Only empty lines at the end are dropped, so ids never shift; an empty line
/// in the middle stays as an empty target (an error only if an entry uses it).
pub fn parse_idx(b: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(b);
    let mut v: Vec<String> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).trim().to_string())
        .collect();
    while v.last().is_some_and(String::is_empty) {
        v.pop();
    }
    v
}

/// Every entry must name an existing, non-empty idx line.
fn check_targets(entries: &[MapEntry], targets: &[String], urn: &str) -> Result<()> {
    for e in entries {
        match targets.get(e.target_id as usize) {
            Some(t) if !t.is_empty() => {}
            Some(_) => {
                return Err(Error::corrupt(
                    urn,
                    format!(
                        "map entry names target {} whose idx line is empty",
                        e.target_id
                    ),
                ))
            }
            None => {
                return Err(Error::corrupt(
                    urn,
                    format!(
                        "map entry names target {} but idx lists {}",
                        e.target_id,
                        targets.len()
                    ),
                ))
            }
        }
    }
    Ok(())
}

/// Ranges (data, symbolic or gaps) may not run past a declared `aff4:size`: the size
/// is what the producer wrote, and honouring ranges beyond it would let a few flipped
/// bytes in `<map>/map` make a 3 MiB image claim terabytes.
fn check_declared_size(urn: &str, declared: Option<u64>, end: u64) -> Result<()> {
    match declared {
        Some(size) if end > size => Err(Error::corrupt(
            urn,
            format!("map ranges run to {end:#x}, past the map's aff4:size {size:#x}"),
        )),
        _ => Ok(()),
    }
}

/// A map may not be larger than the image it says it maps (`aff4:target`, when that
/// declares an `aff4:size`): its linear hash would otherwise make `--verify` hash a
/// size nobody declared for the image.
fn check_target_image(res: &Resolver, urn: &str, size: u64) -> Result<()> {
    let g = res.graph_ref();
    let image_size = g
        .object(urn, lx::TARGET)
        .and_then(Term::as_iri)
        .filter(|t| crate::volume::is_image_type(g, t))
        .and_then(|t| g.object(t, lx::SIZE))
        .and_then(Term::as_u64);
    match image_size {
        Some(img) if size > img => Err(Error::corrupt(
            urn,
            format!("map of {size:#x} bytes is larger than its image's aff4:size {img:#x}"),
        )),
        _ => Ok(()),
    }
}

impl Map {
    /// Loads the map `urn` from the volume set.
    pub(crate) fn load(res: &Resolver, urn: &str) -> Result<Self> {
        let legacy = res.map_is_rekall_layout(urn);
        let bytes = res.read_member_by_urn(&format!("{urn}/map"), MEMBER_LIMIT)?;
        let entries = parse_map_entries(&bytes, legacy, urn)?;
        let idx = res.read_member_by_urn(&format!("{urn}/idx"), MEMBER_LIMIT)?;
        let targets = parse_idx(&idx);
        check_targets(&entries, &targets, urn)?;
        let end = entries.last().map_or(0, |e| e.mapped + e.length);
        let declared = res.graph_ref().object(urn, lx::SIZE).and_then(Term::as_u64);
        check_declared_size(urn, declared, end)?;
        let size = declared.unwrap_or(0).max(end);
        check_target_image(res, urn, size)?;
        let gap = res
            .graph_ref()
            .object(urn, lx::MAP_GAP_DEFAULT_STREAM)
            .and_then(Term::as_iri)
            .and_then(Symbolic::from_iri);
        Ok(Map {
            urn: urn.to_string(),
            size,
            targets,
            entries,
            gap,
        })
    }

    /// A map with one range covering all of `target`.
    pub fn single(target: &str, size: u64) -> Self {
        let entries = if size > 0 {
            vec![MapEntry {
                mapped: 0,
                length: size,
                target_offset: 0,
                target_id: 0,
            }]
        } else {
            vec![]
        };
        Map {
            urn: target.to_string(),
            size,
            targets: vec![target.to_string()],
            entries,
            gap: None,
        }
    }

    /// The map URN.
    pub fn urn(&self) -> &str {
        &self.urn
    }
    /// Size of the address space: aff4:size or the end of the last range, whichever is larger.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Target URNs (the idx lines).
    pub fn targets(&self) -> &[String] {
        &self.targets
    }
    /// The sorted entries.
    pub fn entries(&self) -> &[MapEntry] {
        &self.entries
    }

    /// The target URN of an entry ("" if the id is out of range, which
    /// [`Map::load`] rejects).
    fn target_of(&self, e: &MapEntry) -> &str {
        self.targets
            .get(e.target_id as usize)
            .map_or("", String::as_str)
    }

    /// What backs an entry: symbolic pattern or another stream's bytes.
    fn kind_of(&self, e: &MapEntry) -> RangeKind {
        let target = self.target_of(e);
        match Symbolic::from_iri(target) {
            Some(s) => RangeKind::Symbolic(s, e.target_offset),
            None => RangeKind::Data {
                target: target.to_string(),
                target_offset: e.target_offset,
            },
        }
    }

    /// Every range from 0 to the size, in order: data, symbolic, and holes (unmapped
    /// bytes, including a trailing hole up to `aff4:size`) so exporters can write
    /// sparse output. Holes read as zeros, or as `aff4:mapGapDefaultStream` when that
    /// names a symbolic stream (REF sets `aff4:Zero`, which reads the same).
    pub fn ranges(&self) -> Vec<MapRange> {
        let mut out = Vec::new();
        let mut pos = 0u64;
        for e in &self.entries {
            if e.mapped > pos {
                out.push(MapRange {
                    start: pos,
                    length: e.mapped - pos,
                    kind: RangeKind::Hole,
                });
            }
            out.push(MapRange {
                start: e.mapped,
                length: e.length,
                kind: self.kind_of(e),
            });
            pos = e.mapped + e.length;
        }
        if self.size > pos {
            out.push(MapRange {
                start: pos,
                length: self.size - pos,
                kind: RangeKind::Hole,
            });
        }
        out
    }

    /// The symbolic stream holes read as.
    pub fn gap_stream(&self) -> Symbolic {
        self.gap.unwrap_or(Symbolic::Zero)
    }
}

/// `Read + Seek` over a map's address space.
pub struct MapReader {
    map: Map,
    pos: u64,
    streams: HashMap<u32, Box<dyn Stream>>,
}

impl MapReader {
    /// Opens the map's data targets (checking for cycles through `chain`) and checks
    /// that every entry lies inside its target; ImageStream targets get a read-ahead
    /// window of `read_ahead` bytes (0: none).
    pub(crate) fn new(
        map: Map,
        res: Arc<Resolver>,
        chain: &mut Vec<String>,
        read_ahead: u64,
    ) -> Result<Self> {
        let mut streams: HashMap<u32, Box<dyn Stream>> = HashMap::new();
        for e in &map.entries {
            let t = map.target_of(e);
            if Symbolic::from_iri(t).is_some() {
                continue;
            }
            let size = match streams.entry(e.target_id) {
                std::collections::hash_map::Entry::Occupied(o) => o.get().size(),
                std::collections::hash_map::Entry::Vacant(v) => v
                    .insert(crate::volume::open_stream(&res, t, chain, read_ahead)?)
                    .size(),
            };
            if e.target_offset + e.length > size {
                return Err(Error::corrupt(
                    &map.urn,
                    format!(
                        "entry {:#x}+{:#x} reads {t} at {:#x}, past its size {size:#x}",
                        e.mapped, e.length, e.target_offset
                    ),
                ));
            }
        }
        Ok(MapReader {
            map,
            pos: 0,
            streams,
        })
    }

    /// The map being read.
    pub fn map(&self) -> &Map {
        &self.map
    }

    /// Reads `dst.len()` bytes of entry `e` starting `within` bytes into it.
    fn read_entry(&mut self, e: MapEntry, within: u64, dst: &mut [u8]) -> std::io::Result<()> {
        let toff = e.target_offset + within;
        match self.streams.get_mut(&e.target_id) {
            Some(s) => {
                s.seek(SeekFrom::Start(toff))?;
                s.read_exact(dst).map_err(|err| {
                    std::io::Error::other(Error::corrupt(
                        &self.map.urn,
                        format!("target {} at {toff:#x}: {err}", self.map.target_of(&e)),
                    ))
                })
            }
            None => {
                Symbolic::from_iri(self.map.target_of(&e))
                    .unwrap_or(Symbolic::Zero)
                    .fill(toff, dst);
                Ok(())
            }
        }
    }
}

impl Read for MapReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.map.size || buf.is_empty() {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(self.map.size - self.pos);
        let pos = self.pos;
        let idx = self
            .map
            .entries
            .partition_point(|e| e.mapped + e.length <= pos);
        let n = match self.map.entries.get(idx).copied() {
            Some(e) if e.mapped <= pos => {
                let within = pos - e.mapped;
                let n = want.min(e.length - within) as usize;
                self.read_entry(e, within, &mut buf[..n])?;
                n
            }
            next => {
                let hole_end = next.map_or(self.map.size, |e| e.mapped);
                let n = want.min(hole_end - pos) as usize;
                self.map.gap_stream().fill(pos, &mut buf[..n]);
                n
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for MapReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.pos = crate::volume::seek_to(self.pos, self.map.size, pos)?;
        Ok(self.pos)
    }
}

impl Stream for MapReader {
    fn size(&self) -> u64 {
        self.map.size
    }
    fn urn(&self) -> &str {
        &self.map.urn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn overlapping_entries_are_rejected() {
        let a = MapEntry {
            mapped: 0,
            length: 10,
            target_offset: 0,
            target_id: 0,
        };
        let b = MapEntry {
            mapped: 5,
            length: 10,
            target_offset: 0,
            target_id: 0,
        };
        let bytes: Vec<u8> = [a, b].iter().flat_map(|e| e.to_bytes()).collect();
        assert!(parse_map_entries(&bytes, false, "m").is_err());
        assert!(parse_map_entries(&bytes[..27], false, "m").is_err());
    }

    #[test]
    fn idx_lines_keep_their_ids() {
        assert_eq!(parse_idx(b"a\r\nb\n"), ["a", "b"]);
        assert_eq!(parse_idx(b"a\n\nc\n\n"), ["a", "", "c"]);
        assert_eq!(parse_idx(b"a"), ["a"]);
        assert!(parse_idx(b"").is_empty());
        let e = MapEntry {
            mapped: 0,
            length: 1,
            target_offset: 0,
            target_id: 1,
        };
        assert!(check_targets(&[e], &parse_idx(b"a\n\nc"), "m").is_err());
        assert!(check_targets(&[e], &parse_idx(b"a\nb"), "m").is_ok());
    }

    #[test]
    fn rekall_layout_swaps_length_and_target_offset() {
        let e = MapEntry {
            mapped: 1,
            length: 2,
            target_offset: 3,
            target_id: 0,
        };
        let parsed = parse_map_entries(&e.to_bytes(), true, "m").unwrap();
        assert_eq!((parsed[0].length, parsed[0].target_offset), (3, 2));
    }

    #[test]
    fn overflowing_entries_are_rejected() {
        let e = MapEntry {
            mapped: u64::MAX - 1,
            length: 10,
            target_offset: 0,
            target_id: 0,
        };
        assert!(parse_map_entries(&e.to_bytes(), false, "m").is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_map_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(v) = parse_map_entries(&b, false, "m") {
                for w in v.windows(2) {
                    prop_assert!(w[0].mapped + w[0].length <= w[1].mapped);
                }
            }
            let _ = parse_idx(&b);
        }
    }

    proptest! {
        #[test]
        fn ranges_tile_the_address_space(lens in proptest::collection::vec((0u64..1000, 1u64..1000), 0..20), extra in 0u64..100) {
            let mut pos = 0;
            let mut entries = Vec::new();
            for (gap, len) in lens {
                pos += gap;
                entries.push(MapEntry { mapped: pos, length: len, target_offset: pos, target_id: 0 });
                pos += len;
            }
            let bytes: Vec<u8> = entries.iter().rev().flat_map(|e| e.to_bytes()).collect();
            let parsed = parse_map_entries(&bytes, false, "m").unwrap();
            prop_assert_eq!(&parsed, &entries);
            let map = Map { urn: "m".into(), size: pos + extra, targets: vec!["aff4://t".into()], entries: parsed, gap: None };
            let ranges = map.ranges();
            let mut at = 0;
            for r in &ranges {
                prop_assert_eq!(r.start, at);
                prop_assert!(r.length > 0);
                at += r.length;
            }
            prop_assert_eq!(at, pos + extra);
        }
    }
}
