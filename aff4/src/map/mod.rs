//! aff4:Map: a virtual address space made of ranges of other streams (AFF4-FORMAT.md §4).

mod read;
mod write;

pub use read::*;
pub use write::*;

/// Size of one packed `map` entry in bytes.
pub const MAP_ENTRY_LEN: usize = 28;

/// One entry of a `<map>/map` member: `length` bytes at `mapped` come from target
/// `target_id` (a line of `<map>/idx`) at `target_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MapEntry {
    /// Offset in the map's address space.
    pub mapped: u64,
    /// Length in bytes.
    pub length: u64,
    /// Offset in the target stream.
    pub target_offset: u64,
    /// Index into the map's target list.
    pub target_id: u32,
}

impl MapEntry {
    /// The standard packed form `{u64 mapped; u64 length; u64 target_offset; u32 id}` (LE).
    pub fn to_bytes(&self) -> [u8; MAP_ENTRY_LEN] {
        let mut b = [0u8; MAP_ENTRY_LEN];
        b[0..8].copy_from_slice(&self.mapped.to_le_bytes());
        b[8..16].copy_from_slice(&self.length.to_le_bytes());
        b[16..24].copy_from_slice(&self.target_offset.to_le_bytes());
        b[24..28].copy_from_slice(&self.target_id.to_le_bytes());
        b
    }

    /// Parses the standard packed form; `legacy` swaps length and target offset
    /// (Rekall 2015 `aff4:map`).
    pub fn from_bytes(b: &[u8; MAP_ENTRY_LEN], legacy: bool) -> Self {
        let u = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(a)
        };
        let id = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
        let (length, target_offset) = if legacy { (u(16), u(8)) } else { (u(8), u(16)) };
        MapEntry {
            mapped: u(0),
            length,
            target_offset,
            target_id: id,
        }
    }
}
