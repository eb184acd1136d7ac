//! Evimetry-style block hashes and the block/map hash (AFF4-FORMAT.md §6.2).
//!
//! Block hashes are one digest per chunk, stored per bevy in members
//! `<stream>/%08d.blockHash.<algo>`; the `aff4:BlockHashes` subject
//! `<stream>/blockhash.<algo>` carries SHA-512 over all of them. A Map's point/idx(/path)
//! hashes combine with those into the `aff4:blockMapHash`.

use crate::hash::HashAlgo;

/// Accumulates per-chunk block hashes of one stream as chunks are written in order.
pub struct BlockHashWriter {
    _private: (),
}

impl BlockHashWriter {
    /// Block hashing with `algos` (may be empty: then it does nothing).
    pub fn new(algos: &[HashAlgo]) -> Self {
        let _ = algos;
        todo!()
    }
    /// Hashes the next chunk (its logical bytes: a short last chunk is not padded).
    pub fn add_chunk(&mut self, data: &[u8]) {
        let _ = data;
        todo!()
    }
    /// The block-hash members for bevy `bevy` of the stream whose member prefix is
    /// `stream_member` (e.g. `PhysicalMemory/data`), to be written when that bevy is.
    pub fn take_bevy_members(&mut self, stream_member: &str, bevy: u32) -> Vec<(String, Vec<u8>)> {
        let _ = (stream_member, bevy);
        todo!()
    }
    /// For each algorithm, the SHA-512 over all chunk digests (the `aff4:BlockHashes`
    /// subject's `aff4:hash`), as raw bytes.
    pub fn finish(self) -> Vec<(HashAlgo, Vec<u8>)> {
        todo!()
    }
}

/// The name of the block-hash member of bevy `bevy` for `algo`.
pub fn block_hash_member_name(stream_member: &str, bevy: u32, algo: HashAlgo) -> String {
    let _ = (stream_member, bevy, algo);
    todo!()
}

/// SHA-512 hashes of a Map's members (`aff4:mapPointHash`, `mapIdxHash`, `mapPathHash`,
/// `mapHash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapHashes {
    /// H(map)
    pub map_point: Vec<u8>,
    /// H(idx)
    pub map_idx: Vec<u8>,
    /// H(mapPath), when the map has one.
    pub map_path: Option<Vec<u8>>,
    /// H(map || idx || mapPath)
    pub map: Vec<u8>,
}

impl MapHashes {
    /// Computes the hashes from the members' bytes.
    pub fn compute(map: &[u8], idx: &[u8], map_path: Option<&[u8]>) -> Self {
        let _ = (map, idx, map_path);
        todo!()
    }
}

/// The blockMapHash (SHA-512): the BlockHashes digests sorted by algorithm
/// (md5 < sha1 < sha256 < sha512 < blake2b), then mapPointHash, mapIdxHash and
/// (if present) mapPathHash.
pub fn block_map_hash(block_hashes: &[(HashAlgo, Vec<u8>)], map: &MapHashes) -> Vec<u8> {
    let _ = (block_hashes, map);
    todo!()
}
