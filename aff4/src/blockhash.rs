//! Evimetry-style block hashes and the block/map hash (AFF4-FORMAT.md §6.2).
//!
//! Block hashes are one digest per chunk, stored per bevy in members
//! `<stream>/%08d.blockHash.<algo>`; the `aff4:BlockHashes` subject
//! `<stream>/blockhash.<algo>` carries SHA-512 over all of them. A Map's point/idx(/path)
//! hashes combine with those into the `aff4:blockMapHash`. We verify these; our own
//! writer does not emit them (see [`crate::writer`] for where our hashes live).

use crate::hash::HashAlgo;

/// The name of the block-hash member of bevy `bevy` for `algo`.
pub fn block_hash_member_name(stream_member: &str, bevy: u32, algo: HashAlgo) -> String {
    format!("{stream_member}/{bevy:08}.blockHash.{}", algo.name())
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
        let h = |d: &[u8]| HashAlgo::Sha512.digest(d);
        let mut all = HashAlgo::Sha512.hasher();
        all.update(map);
        all.update(idx);
        if let Some(p) = map_path {
            all.update(p);
        }
        MapHashes {
            map_point: h(map),
            map_idx: h(idx),
            map_path: map_path.map(h),
            map: all.finish(),
        }
    }
}

/// The blockMapHash (SHA-512): the BlockHashes digests sorted by algorithm
/// (md5 < sha1 < sha256 < sha512 < blake2b), then mapPointHash, mapIdxHash and
/// (if present) mapPathHash.
pub fn block_map_hash(block_hashes: &[(HashAlgo, Vec<u8>)], map: &MapHashes) -> Vec<u8> {
    let mut sorted: Vec<&(HashAlgo, Vec<u8>)> = block_hashes.iter().collect();
    sorted.sort_by_key(|(a, _)| *a);
    let mut h = HashAlgo::Sha512.hasher();
    for (_, d) in sorted {
        h.update(d);
    }
    h.update(&map.map_point);
    h.update(&map.map_idx);
    if let Some(p) = &map.map_path {
        h.update(p);
    }
    h.finish()
}
