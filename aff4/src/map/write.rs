//! Writing an aff4:Map: entries collected in address order (adjacent ones merged),
//! then `<map>/map` (28-byte entries) and `<map>/idx` (one target per line).

use super::MapEntry;
use crate::symbolic::Symbolic;
use crate::zip::ZipWriter;
use crate::{urn, Error, Result};
use std::io::Write;

/// Builds a map; ranges must be added in increasing address order.
#[derive(Debug, Clone)]
pub struct MapWriter {
    urn: String,
    targets: Vec<String>,
    entries: Vec<MapEntry>,
}

impl MapWriter {
    /// A map with URN `urn`.
    pub fn new(urn: &str) -> Self {
        MapWriter {
            urn: urn.to_string(),
            targets: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// The map URN.
    pub fn urn(&self) -> &str {
        &self.urn
    }

    fn target_id(&mut self, target: &str) -> u32 {
        match self.targets.iter().position(|t| t == target) {
            Some(i) => i as u32,
            None => {
                self.targets.push(target.to_string());
                (self.targets.len() - 1) as u32
            }
        }
    }

    /// Maps `len` bytes at `mapped` to `target` at `target_offset`.
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
        let id = self.target_id(target);
        if let Some(last) = self.entries.last_mut() {
            let end = last.mapped + last.length;
            if mapped < end {
                return Err(Error::InvalidArgument(format!(
                    "{}: range at {mapped:#x} overlaps or precedes {end:#x}",
                    self.urn
                )));
            }
            if mapped == end
                && last.target_id == id
                && last.target_offset + last.length == target_offset
            {
                last.length += len;
                return Ok(());
            }
        }
        self.entries.push(MapEntry {
            mapped,
            length: len,
            target_offset,
            target_id: id,
        });
        Ok(())
    }

    /// Maps a symbolic range; its target offset equals the mapped offset (as Evimetry
    /// writes it), so patterns tile by address.
    pub fn add_symbolic(&mut self, mapped: u64, len: u64, s: Symbolic) -> Result<()> {
        self.add(mapped, len, &s.iri(), mapped)
    }

    /// End of the last range.
    pub fn end(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.mapped + e.length)
    }

    /// The entries so far.
    pub fn entries(&self) -> &[MapEntry] {
        &self.entries
    }

    /// The target list.
    pub fn targets(&self) -> &[String] {
        &self.targets
    }

    /// Writes `<map>/map` and `<map>/idx`; returns their bytes (for hashing).
    pub fn finish<W: Write>(
        self,
        zip: &mut ZipWriter<W>,
        volume_urn: &str,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let member = urn::member_name_for_urn(&self.urn, volume_urn);
        let map: Vec<u8> = self.entries.iter().flat_map(|e| e.to_bytes()).collect();
        let idx: Vec<u8> = self
            .targets
            .iter()
            .flat_map(|t| format!("{t}\n").into_bytes())
            .collect();
        zip.add_stored(&format!("{member}/map"), &map)?;
        zip.add_stored(&format!("{member}/idx"), &idx)?;
        Ok((map, idx))
    }
}
