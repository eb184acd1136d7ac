//! Writing an aff4:Map (AFF4-FORMAT.md §4): ranges are collected (in any order), then
//! sorted, checked for overlaps and merged, and written as `<map>/map` (28-byte
//! entries, §4.1) and `<map>/idx` (one target IRI per line, every line ending in `\n`,
//! no empty line). `<map>/mapPath` is not written: its encoding is undocumented (§10)
//! and no reader needs it.

use super::MapEntry;
use crate::blockhash::MapHashes;
use crate::hash::{to_hex, HashAlgo};
use crate::lexicon as lx;
use crate::rdf::{Graph, Term};
use crate::symbolic::Symbolic;
use crate::zip::ZipWriter;
use crate::{urn, Error, Result};
use std::collections::HashMap;
use std::io::Write;

/// `aff4:mapPointHash`: SHA-512 of `<map>/map`.
pub const MAP_POINT_HASH: &str = "http://aff4.org/Schema#mapPointHash";
/// `aff4:mapIdxHash`: SHA-512 of `<map>/idx`.
pub const MAP_IDX_HASH: &str = "http://aff4.org/Schema#mapIdxHash";
/// `aff4:mapHash`: SHA-512 of `map || idx`.
pub const MAP_HASH: &str = "http://aff4.org/Schema#mapHash";

/// What a finished map holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSummary {
    /// The map URN.
    pub urn: String,
    /// `aff4:size` written: the end of the last range, or the size given with
    /// [`MapWriter::set_size`] if larger.
    pub size: u64,
    /// The sorted, merged entries written to `<map>/map`.
    pub entries: Vec<MapEntry>,
    /// The targets, in `<map>/idx` order.
    pub targets: Vec<String>,
    /// SHA-512 of the map members (also written as `aff4:mapPointHash`,
    /// `aff4:mapIdxHash` and `aff4:mapHash`).
    pub hashes: MapHashes,
}

/// Builds an aff4:Map.
#[derive(Debug, Clone)]
pub struct MapWriter {
    urn: String,
    targets: Vec<String>,
    ids: HashMap<String, u32>,
    entries: Vec<MapEntry>,
    sorted: bool,
    size: u64,
}

fn end(e: &MapEntry) -> u64 {
    e.mapped.saturating_add(e.length)
}

/// Whether `next` continues `prev` in both the address space and the target.
fn continues(prev: &MapEntry, next: &MapEntry) -> bool {
    end(prev) == next.mapped
        && prev.target_id == next.target_id
        && prev.target_offset.checked_add(prev.length) == Some(next.target_offset)
}

impl MapWriter {
    /// An empty map with URN `urn`.
    pub fn new(urn: &str) -> Self {
        MapWriter {
            urn: urn.to_string(),
            targets: Vec::new(),
            ids: HashMap::new(),
            entries: Vec::new(),
            sorted: true,
            size: 0,
        }
    }

    /// The map URN.
    pub fn urn(&self) -> &str {
        &self.urn
    }

    fn target_id(&mut self, target: &str) -> Result<u32> {
        if let Some(&id) = self.ids.get(target) {
            return Ok(id);
        }
        if target.is_empty() || target.contains(['\n', '\r']) {
            return Err(Error::InvalidArgument(format!(
                "{}: map target {target:?} cannot be an idx line",
                self.urn
            )));
        }
        let id = u32::try_from(self.targets.len())
            .map_err(|_| Error::InvalidArgument(format!("{}: too many targets", self.urn)))?;
        self.targets.push(target.to_string());
        self.ids.insert(target.to_string(), id);
        Ok(id)
    }

    /// Maps `len` bytes at `mapped` to `target` at `target_offset`. Ranges may come in
    /// any order; a range continuing the previous one is merged at once.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if a range end overflows u64 or the target IRI is
    /// empty or contains a line break. Overlaps are reported by
    /// [`MapWriter::finish`].
    pub fn add(&mut self, mapped: u64, len: u64, target: &str, target_offset: u64) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        if mapped.checked_add(len).is_none() || target_offset.checked_add(len).is_none() {
            return Err(Error::InvalidArgument(format!(
                "{}: range {mapped:#x}+{len:#x} overflows",
                self.urn
            )));
        }
        let e = MapEntry {
            mapped,
            length: len,
            target_offset,
            target_id: self.target_id(target)?,
        };
        match self.entries.last_mut() {
            Some(last) if continues(last, &e) => last.length += len,
            Some(last) => {
                self.sorted &= last.mapped < e.mapped;
                self.entries.push(e);
            }
            None => self.entries.push(e),
        }
        Ok(())
    }

    /// Maps `len` bytes at `mapped` to a symbolic stream with target offset = mapped
    /// offset (as Evimetry writes it, AFF4-FORMAT.md §4.3), so repeated-string
    /// patterns tile by address and neighbouring ranges merge.
    ///
    /// # Errors
    /// As [`MapWriter::add`].
    pub fn add_symbolic(&mut self, mapped: u64, len: u64, s: Symbolic) -> Result<()> {
        self.add(mapped, len, &s.iri(), mapped)
    }

    /// Declares the address-space size; `aff4:size` is the larger of this and the end
    /// of the last range. (pyaff4 ignores it and uses the end of the last range, so map
    /// the end explicitly when the size matters to pyaff4, AFF4-FORMAT.md §4.2.)
    pub fn set_size(&mut self, size: u64) {
        self.size = size;
    }

    /// End of the highest range so far.
    pub fn end(&self) -> u64 {
        self.entries.iter().map(end).max().unwrap_or(0)
    }

    /// The entries so far (in insertion order, merged where they continue each other).
    pub fn entries(&self) -> &[MapEntry] {
        &self.entries
    }

    /// The targets so far, in idx order.
    pub fn targets(&self) -> &[String] {
        &self.targets
    }

    /// Sorts, rejects overlaps and merges continuing entries.
    fn normalized(&self) -> Result<Vec<MapEntry>> {
        let mut v = self.entries.clone();
        if !self.sorted {
            v.sort_unstable_by_key(|e| e.mapped);
        }
        let mut out: Vec<MapEntry> = Vec::with_capacity(v.len());
        for e in v {
            match out.last_mut() {
                Some(last) if e.mapped < end(last) => {
                    return Err(Error::InvalidArgument(format!(
                        "{}: range {:#x}+{:#x} overlaps range {:#x}+{:#x}",
                        self.urn, e.mapped, e.length, last.mapped, last.length
                    )));
                }
                Some(last) if continues(last, &e) => last.length += e.length,
                _ => out.push(e),
            }
        }
        Ok(out)
    }

    /// The `<map>/map` and `<map>/idx` member bytes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if two ranges overlap.
    pub fn members(&self) -> Result<(Vec<MapEntry>, Vec<u8>, Vec<u8>)> {
        let entries = self.normalized()?;
        let map: Vec<u8> = entries.iter().flat_map(MapEntry::to_bytes).collect();
        let mut idx = Vec::new();
        for t in &self.targets {
            idx.extend_from_slice(t.as_bytes());
            idx.push(b'\n');
        }
        Ok((entries, map, idx))
    }

    /// Writes `<map>/map` and `<map>/idx` into the volume `volume_urn` and records in
    /// `graph`: `a aff4:Map`, `aff4:size` (`xsd:long`), `aff4:stored` and the SHA-512
    /// map hashes. The caller adds category, target, linear and block-map hashes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if two ranges overlap; ZIP write errors.
    pub fn finish<W: Write>(
        self,
        zip: &mut ZipWriter<W>,
        volume_urn: &str,
        graph: &mut Graph,
    ) -> Result<MapSummary> {
        let (entries, map, idx) = self.members()?;
        let member = urn::member_name_for_urn(&self.urn, volume_urn);
        zip.add_stored(&format!("{member}/map"), &map)?;
        zip.add_stored(&format!("{member}/idx"), &idx)?;
        let hashes = MapHashes::compute(&map, &idx, None);
        let size = entries.last().map_or(0, end).max(self.size);
        let s = Term::iri(self.urn.clone());
        let sha512 = |d: &[u8]| Term::typed(to_hex(d), HashAlgo::Sha512.datatype());
        graph.insert(s.clone(), lx::RDF_TYPE, Term::iri(lx::MAP));
        graph.insert(
            s.clone(),
            lx::SIZE,
            Term::typed(size.to_string(), lx::XSD_LONG),
        );
        graph.insert(s.clone(), lx::STORED, Term::iri(volume_urn));
        graph.insert(s.clone(), MAP_POINT_HASH, sha512(&hashes.map_point));
        graph.insert(s.clone(), MAP_IDX_HASH, sha512(&hashes.map_idx));
        graph.insert(s, MAP_HASH, sha512(&hashes.map));
        Ok(MapSummary {
            urn: self.urn,
            size,
            entries,
            targets: self.targets,
            hashes,
        })
    }
}

#[cfg(test)]
mod tests;
