//! Symbolic streams: byte patterns named by URI (AFF4-FORMAT.md §4.3).

/// A symbolic stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Symbolic {
    /// `aff4:Zero`: 0x00 bytes.
    Zero,
    /// `aff4:SymbolicStreamXX`: the byte 0xXX.
    Byte(u8),
    /// `aff4:FFDevice`: 0xFF bytes.
    FfDevice,
    /// `aff4:UnknownData`: "UNKNOWN" repeated, tiled per 1 MiB of target offset.
    UnknownData,
    /// `aff4:UnreadableData`: "UNREADABLEDATA" repeated, tiled per 1 MiB of target offset.
    UnreadableData,
}

impl Symbolic {
    /// Recognises a symbolic stream IRI (standard and legacy spellings, any hex case).
    pub fn from_iri(iri: &str) -> Option<Self> {
        let _ = iri;
        todo!()
    }
    /// The IRI we write (uppercase hex for `SymbolicStreamXX`).
    pub fn iri(self) -> String {
        todo!()
    }
    /// Fills `buf` with the bytes at `target_offset` of this stream.
    pub fn fill(self, target_offset: u64, buf: &mut [u8]) {
        let _ = (target_offset, buf);
        todo!()
    }
}
