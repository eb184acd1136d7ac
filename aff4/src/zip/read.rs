//! Reading the central directory of a ZIP/ZIP64 volume.

use crate::io::ReadAt;
use crate::Result;

/// How a member's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Method 0: the bytes as they are.
    Stored,
    /// Method 8: raw deflate (RFC 1951).
    Deflated,
}

/// One member of the volume, as the (last) central directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The member name (UTF-8, as stored).
    pub name: String,
    /// Storage method.
    pub method: Method,
    /// Bytes stored in the file.
    pub compressed_size: u64,
    /// Bytes after decompression.
    pub size: u64,
    /// CRC-32 from the central directory.
    pub crc32: u32,
    /// Absolute offset in the file of the member's first data byte.
    pub data_offset: u64,
}

/// The parsed central directory of a volume.
#[derive(Debug, Clone)]
pub struct ZipArchive {
    _private: (),
}

impl ZipArchive {
    /// Parses the last end-of-central-directory record of `src` and its directory.
    pub fn parse(src: &dyn ReadAt) -> Result<Self> {
        let _ = src;
        todo!()
    }

    /// The EOCD comment (the volume URN), with one trailing NUL removed.
    pub fn comment(&self) -> &str {
        todo!()
    }

    /// The members, in directory order; when a name occurs twice only the last is kept.
    pub fn entries(&self) -> &[Entry] {
        todo!()
    }

    /// Looks a member up by exact name.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        let _ = name;
        todo!()
    }

    /// Reads (and inflates) a whole member; fails if it is larger than `limit` bytes.
    pub fn read_member(&self, src: &dyn ReadAt, name: &str, limit: u64) -> Result<Vec<u8>> {
        let _ = (src, name, limit);
        todo!()
    }
}
