//! Evimetry-style block hashes and the block/map hash (AFF4-FORMAT.md §6.2).
//!
//! Block hashes are one digest per chunk, stored per bevy in members
//! `<stream>/%08d.blockHash.<algo>`; the `aff4:BlockHashes` subject
//! `<stream>/blockhash.<algo>` carries SHA-512 over all of them. A Map's point/idx(/path)
//! hashes combine with those into the `aff4:blockMapHash`.
//!
//! # How pyaff4 0.34's validator checks these (read from `block_hasher.py`, `aff4_image.py`)
//!
//! Facts, in the order its standard-lexicon validator works:
//!
//! 1. It visits every subject typed `aff4:Image`, and each of its `aff4:dataStream`
//!    values that is typed `aff4:Map`. For each `aff4:dependentStream` of that Map it
//!    looks up the stream's parent map: the stream's **first** `aff4:stored` value (no
//!    `aff4:stored` on the ImageStream: crash, `StopIteration`) and the first of its
//!    `aff4:target` values whose own `aff4:stored` is the same volume (none: crash,
//!    "Illegal State"). Only if that parent is this Map is the pair validated.
//! 2. Block hashes of the stream. The algorithms are the subjects whose IRI starts with
//!    `<stream>/blockhash.` (they must exist as RDF subjects with an `aff4:hash`); the
//!    algorithm is the text after the last `.` (`md5 sha1 sha256 sha512 blake2b` exactly,
//!    anything else is a `KeyError`). The value's datatype is the hash used for the
//!    hash-of-hashes (REF: `aff4:SHA512`). It then reads the stream chunk by chunk
//!    (`Read(chunkSize)` at `i * chunkSize`, so **a partial last chunk is hashed trimmed
//!    to `aff4:size`**, not padded), hashes each chunk and compares with the stored block
//!    digest; a mismatch calls the listener's `onInvalidBlockHash`, whose default raises
//!    `InvalidBlockHashComparison` (the CLI and ORACLES.md's listener keep that default).
//!    It feeds the *computed* raw digests into the hash-of-hashes and compares its
//!    lowercase hex with the stored literal as a plain string: **write lowercase hex**.
//! 3. Where it reads a stored block digest: bevy `b = chunk / chunksInSegment`, member
//!    `<stream>/%08d.blockHash.<algo>` of bevy `b`, at byte offset
//!    `chunk * digest_len` — the **global** chunk number, not the chunk's index inside
//!    the bevy. For bevy 0 both are the same. For bevy `b >= 1` a standard member (the
//!    bevy's own digests, `chunksInSegment * digest_len` bytes) is read past its end,
//!    and for a stored ZIP member pyaff4 then asks Python for a negative read length:
//!    validation dies with `ValueError` at the first chunk of bevy 1 (checked by
//!    `tests/blockhash_pyaff4.rs` on a two-bevy re-layout of the AllHashes reference).
//! 4. Map segment hashes, each only if the Map carries the predicate: `mapIdxHash` =
//!    H(`<map>/idx`), `mapPointHash` = H(`<map>/map`), `mapPathHash` = H(`<map>/mapPath`),
//!    `mapHash` = H(map || idx || mapPath-if-the-member-exists), H being the value's
//!    datatype. Don't write `mapPathHash` without a `mapPath` member (its read fails).
//! 5. `blockMapHash`: the Map's **first** `aff4:blockMapHash` (absent: `StopIteration`
//!    crash) is compared with H(stored BlockHashes digests sorted md5 < sha1 < sha256 <
//!    sha512 < blake2b, then the *stored* mapPointHash, mapIdxHash, mapPathHash values),
//!    H = the blockMapHash literal's datatype. With no BlockHashes subjects at all this
//!    is simply H(mapPointHash || mapIdxHash || [mapPathHash]) and still validates.
//! 6. Image hash: each `aff4:hash` on the Image is compared, by value string when the
//!    datatypes differ, with the calculated blockMapHash. The first one consumes the
//!    single per-map result; a second `aff4:hash` is compared with the hash of nothing
//!    and is reported invalid. If no Map produced a blockMapHash (no
//!    `dependentStream`), any Image `aff4:hash` crashes it (`KeyError: None`).
//!    It never reads `aff4:hash` on the Map or on the ImageStream.
//!
//! # Streams with more than one bevy
//!
//! A member layout both readings agree on must hold, for every chunk `i` of bevy `b`,
//! its digest at `i_local * L` (standard) and at `(b * chunksInSegment + i_local) * L`
//! (pyaff4). The two regions are disjoint for `b >= 1`, so member `b` would have to be
//! `(b + 1) * chunksInSegment * L` bytes long (the bevy's digests, filler, the digests
//! again): the block-hash members of an `n`-bevy stream grow as `n² / 2`. A 64 GiB image
//! at 32 KiB chunks and 1024 chunks per bevy (2048 bevies) would need about 68 GB of
//! SHA-256 block hashes, which pyaff4 then re-opens per chunk. Cumulative members (all
//! digests from chunk 0 up to the bevy's end) have the same quadratic size and break
//! the standard reading. A larger `chunksInSegment` making the stream one bevy works
//! for the validator, but pyaff4 loads whole bevies into memory (AFF4-FORMAT.md §8.11).
//! Several single-bevy ImageStreams under one Map do not work either: each stream's
//! recomputed blockMapHash is compared with the Map's one stored value. So no layout
//! that is standard-correct and linear in size makes pyaff4 0.34 report every block
//! hash of a multi-bevy stream valid. (The "digests at both offsets" layout does
//! validate, as the same test shows; it is only its size that rules it out. Stored
//! *deflated*, its zero filler costs about a thousandth of its inflated size, which is
//! what `StreamOptions::block_hashes_every_bevy` writes for `--recover`: linear on disk,
//! quadratic only in what pyaff4 inflates, one member at a time.)
//!
//! # Recommended placement (keeps `pyaff4` validation green)
//!
//! * Write block hashes (standard per-bevy members of the bevy's own digests, via
//!   [`BlockHashWriter`]) only when the stream has a single bevy
//!   ([`pyaff4_reads_block_hashes`]). For longer streams write **no** block-hash members
//!   and no `BlockHashes` subjects; the Map still gets its segment hashes and a
//!   `blockMapHash` over them alone (`block_map_hash(&[], ..)`), which validates.
//! * Map: `aff4:dependentStream <stream>`, `aff4:mapPointHash`, `aff4:mapIdxHash`,
//!   `aff4:mapPathHash` (only with a `mapPath` member), `aff4:mapHash`, exactly one
//!   `aff4:blockMapHash`, all `^^aff4:SHA512` lowercase hex. The **whole-image linear
//!   hashes** (what `sha256sum image.raw` of a raw export prints, holes as zeros,
//!   symbolic ranges as their pattern) go on the Map as `aff4:hash`: the Map is the
//!   Image's data stream, so they hash the same bytes, and the validator ignores them.
//! * ImageStream: `aff4:stored <volume>`, `aff4:target <map>`, and linear `aff4:hash`
//!   values over the stream's own bytes (REF style; ignored by the validator).
//! * Image: exactly one `aff4:hash "<blockMapHash>"^^aff4:blockMapHashSHA512`, and only
//!   when the Map has `dependentStream` + `blockMapHash`; never a linear hash.

use crate::hash::{HashAlgo, Hasher};

/// Accumulates per-chunk block hashes of one stream as chunks are written in order.
pub struct BlockHashWriter {
    /// Per algorithm: the raw digests of the current bevy's chunks.
    pending: Vec<(HashAlgo, Vec<u8>)>,
    /// Per algorithm: SHA-512 over every digest so far.
    totals: Vec<Hasher>,
    /// Reused digest buffer.
    scratch: Vec<u8>,
}

impl BlockHashWriter {
    /// Block hashing with `algos` (may be empty: then it does nothing). Duplicates are
    /// ignored; members and results come in the standard's algorithm order.
    pub fn new(algos: &[HashAlgo]) -> Self {
        let mut sorted = algos.to_vec();
        sorted.sort();
        sorted.dedup();
        BlockHashWriter {
            totals: sorted.iter().map(|_| HashAlgo::Sha512.hasher()).collect(),
            pending: sorted.into_iter().map(|a| (a, Vec::new())).collect(),
            scratch: Vec::with_capacity(64),
        }
    }

    /// Hashes the next chunk (its logical bytes: a short last chunk is not padded).
    pub fn add_chunk(&mut self, data: &[u8]) {
        for ((algo, digests), total) in self.pending.iter_mut().zip(&mut self.totals) {
            self.scratch.clear();
            let mut h = algo.hasher();
            h.update(data);
            h.finish_into(&mut self.scratch);
            digests.extend_from_slice(&self.scratch);
            total.update(&self.scratch);
        }
    }

    /// The block-hash members for bevy `bevy` of the stream whose member prefix is
    /// `stream_member` (e.g. `PhysicalMemory/data`), to be written when that bevy is:
    /// the digests of the chunks added since the previous call. Empty when no chunk was
    /// added or no algorithm was asked for.
    pub fn take_bevy_members(&mut self, stream_member: &str, bevy: u32) -> Vec<(String, Vec<u8>)> {
        self.pending
            .iter_mut()
            .filter(|(_, d)| !d.is_empty())
            .map(|(algo, d)| {
                (
                    block_hash_member_name(stream_member, bevy, *algo),
                    std::mem::take(d),
                )
            })
            .collect()
    }

    /// For each algorithm, the SHA-512 over all chunk digests (the `aff4:BlockHashes`
    /// subject's `aff4:hash`), as raw bytes.
    pub fn finish(self) -> Vec<(HashAlgo, Vec<u8>)> {
        self.pending
            .into_iter()
            .zip(self.totals)
            .map(|((algo, _), total)| (algo, total.finish()))
            .collect()
    }
}

/// The name of the block-hash member of bevy `bevy` for `algo`.
pub fn block_hash_member_name(stream_member: &str, bevy: u32, algo: HashAlgo) -> String {
    format!("{stream_member}/{bevy:08}.blockHash.{}", algo.name())
}

/// The IRI of the `aff4:BlockHashes` subject of `stream` for `algo`
/// (`<stream>/blockhash.<algo>`, lowercase `blockhash`).
pub fn block_hashes_subject(stream: &str, algo: HashAlgo) -> String {
    format!("{stream}/blockhash.{}", algo.name())
}

/// Whether pyaff4 0.34's validator reads the block hashes of a stream of `total_chunks`
/// chunks correctly: only when they all lie in bevy 0 (see the module notes).
pub fn pyaff4_reads_block_hashes(total_chunks: u64, chunks_in_segment: u32) -> bool {
    total_chunks <= u64::from(chunks_in_segment)
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
/// (if present) mapPathHash. With no block hashes it covers the map hashes alone.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_splits_digests_per_bevy_and_hashes_all_of_them() {
        let chunks: Vec<Vec<u8>> = (0u8..5).map(|i| vec![i; 100 + usize::from(i)]).collect();
        let mut w = BlockHashWriter::new(&[HashAlgo::Sha256, HashAlgo::Md5, HashAlgo::Md5]);
        for c in &chunks[..3] {
            w.add_chunk(c);
        }
        let bevy0 = w.take_bevy_members("s/data", 0);
        for c in &chunks[3..] {
            w.add_chunk(c);
        }
        let bevy1 = w.take_bevy_members("s/data", 1);
        assert!(w.take_bevy_members("s/data", 2).is_empty());
        let names: Vec<&str> = bevy0.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "s/data/00000000.blockHash.md5",
                "s/data/00000000.blockHash.sha256"
            ]
        );
        assert_eq!(bevy1[0].0, "s/data/00000001.blockHash.md5");
        let want0: Vec<u8> = chunks[..3]
            .iter()
            .flat_map(|c| HashAlgo::Md5.digest(c))
            .collect();
        let want1: Vec<u8> = chunks[3..]
            .iter()
            .flat_map(|c| HashAlgo::Md5.digest(c))
            .collect();
        assert_eq!(bevy0[0].1, want0);
        assert_eq!(bevy1[0].1, want1);
        let totals = w.finish();
        assert_eq!(totals[0].0, HashAlgo::Md5);
        assert_eq!(
            totals[0].1,
            HashAlgo::Sha512.digest(&[want0, want1].concat())
        );
        assert_eq!(totals[1].0, HashAlgo::Sha256);
    }

    #[test]
    fn no_algorithms_means_no_members() {
        let mut w = BlockHashWriter::new(&[]);
        w.add_chunk(b"abc");
        assert!(w.take_bevy_members("s", 0).is_empty());
        assert!(w.finish().is_empty());
    }

    #[test]
    fn names_and_single_bevy_rule() {
        assert_eq!(
            block_hash_member_name("aff4%3A%2F%2Fx", 12, HashAlgo::Blake2b),
            "aff4%3A%2F%2Fx/00000012.blockHash.blake2b"
        );
        assert_eq!(
            block_hashes_subject("aff4://x", HashAlgo::Sha1),
            "aff4://x/blockhash.sha1"
        );
        assert!(pyaff4_reads_block_hashes(1024, 1024));
        assert!(!pyaff4_reads_block_hashes(1025, 1024));
    }

    #[test]
    fn block_map_hash_sorts_algorithms_and_omits_absent_map_path() {
        let mh = MapHashes::compute(b"m", b"i", None);
        assert_eq!(mh.map, HashAlgo::Sha512.digest(b"mi"));
        let a = vec![(HashAlgo::Sha1, vec![1u8]), (HashAlgo::Md5, vec![2u8])];
        let want = HashAlgo::Sha512.digest(&[&[2u8, 1][..], &mh.map_point, &mh.map_idx].concat());
        assert_eq!(block_map_hash(&a, &mh), want);
        let only_map = HashAlgo::Sha512.digest(&[mh.map_point.as_slice(), &mh.map_idx].concat());
        assert_eq!(block_map_hash(&[], &mh), only_map);
    }
}
