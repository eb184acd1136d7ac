//! Recomputing every stored hash of a volume set (AFF4-FORMAT.md §6).
//!
//! What is checked, per object:
//! - `aff4:hash` with a digest datatype (MD5, SHA1, SHA256, SHA512, BLAKE2b) on any
//!   subject that opens as a stream (Image, Map, ImageStream, FileImage, member): the
//!   hash of the bytes [`VolumeSet::open_stream`] reads ("linear").
//! - Block hashes: every digest in `<stream>/%08d.blockHash.<algo>` (pre-standard
//!   `<bevy>/blockHash.<algo>`) against the decoded chunk ("block"), and the hash over
//!   all of them stored on the `aff4:BlockHashes` subject `<stream>/blockhash.<algo>`
//!   or, pre-standard, as `aff4:blockHashesHash` on the stream ("blockHashes").
//! - Map hashes `aff4:mapPointHash`, `mapIdxHash`, `mapPathHash`, `mapHash` (in the
//!   algorithm their datatype names), `aff4:blockMapHash` on the Map, the pre-standard
//!   `aff4:blockHashesHash` on a map, and `aff4:hash ^^aff4:blockMapHashSHA512` on the
//!   Image (several maps: SHA-512 over their blockMapHashes sorted by map URN).
//! - Evimetry's `aff4:imageStreamIndexHash` (hash of the index members).
//!
//! Stored values we cannot recompute (`aff4:imageStreamHash`, whose input is not
//! documented, unknown datatypes) are reported [`Status::Unverifiable`]; images whose
//! data carries no hash at all are reported [`Status::NotPresent`]. Read errors while
//! hashing are reported as [`Status::Mismatch`] with the error as the actual value.
//! Streams are hashed in bounded memory (one chunk or one 1 MiB buffer at a time).
//!
//! One file (past 600 lines): every hash kind is checked by one walk over the volume set, with one
//! work budget; kept together with their tests.

use crate::hash::{to_hex, HashAlgo, MultiHasher};
use crate::lexicon as lx;
use crate::rdf::{Graph, Term};
use crate::volume::{data_stream, image_stream_info, is_image_stream, is_map, VolumeSet};
use crate::{Error, Result};
use std::io::Read;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Recomputed and equal.
    Ok,
    /// Recomputed and different (or the data could not be read: see `actual`).
    Mismatch,
    /// An object with data but no stored hash.
    NotPresent,
    /// A stored hash we cannot recompute (the reason is in `actual`).
    Unverifiable,
}

impl Status {
    /// Short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Mismatch => "mismatch",
            Status::NotPresent => "not-present",
            Status::Unverifiable => "unverifiable",
        }
    }
}

/// One hash check.
#[derive(Debug, Clone)]
pub struct Check {
    /// The object whose hash it is.
    pub subject: String,
    /// linear, block, blockHashes, imageStreamIndexHash, imageStreamHash, mapPointHash,
    /// mapIdxHash, mapPathHash, mapHash, blockMapHash.
    pub kind: String,
    /// Algorithm name (`-` when there is none).
    pub algorithm: String,
    /// Result.
    pub status: Status,
    /// The stored value.
    pub expected: Option<String>,
    /// The recomputed value, or why it could not be computed.
    pub actual: Option<String>,
}

/// All checks of a set.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl VerifyReport {
    /// True only if no check mismatched and at least one hash was recomputed and
    /// matched. `Unverifiable` and `NotPresent` checks do not make it false, but they
    /// are not successes either: see [`VerifyReport::count`].
    pub fn all_ok(&self) -> bool {
        self.count(&Status::Ok) > 0 && self.count(&Status::Mismatch) == 0
    }

    /// How many checks have `status`.
    pub fn count(&self, status: &Status) -> usize {
        self.checks.iter().filter(|c| &c.status == status).count()
    }

    /// One line: counts per status.
    pub fn summary(&self) -> String {
        format!(
            "{} ok, {} mismatch, {} unverifiable, {} not present",
            self.count(&Status::Ok),
            self.count(&Status::Mismatch),
            self.count(&Status::Unverifiable),
            self.count(&Status::NotPresent)
        )
    }

    fn compare(&mut self, subject: &str, kind: &str, algo: &str, expected: &str, actual: &[u8]) {
        let actual = to_hex(actual);
        let status = if actual.eq_ignore_ascii_case(expected.trim()) {
            Status::Ok
        } else {
            Status::Mismatch
        };
        self.add(subject, kind, algo, status, Some(expected), actual);
    }

    fn add(
        &mut self,
        subject: &str,
        kind: &str,
        algo: &str,
        status: Status,
        expected: Option<&str>,
        actual: impl Into<String>,
    ) {
        self.checks.push(Check {
            subject: subject.into(),
            kind: kind.into(),
            algorithm: algo.into(),
            status,
            expected: expected.map(String::from),
            actual: Some(actual.into()),
        });
    }
}

/// Predicates that carry hashes of some kind.
const HASH_PREDICATES: [&str; 9] = [
    "hash",
    "blockMapHash",
    "mapHash",
    "mapPointHash",
    "mapIdxHash",
    "blockHashesHash",
    "imageStreamIndexHash",
    "imageStreamHash",
    "linearBlockHash",
];

fn aff4(local: &str) -> String {
    format!("{}{local}", lx::AFF4)
}

/// A stored hash literal: (algorithm from its datatype, hex).
fn typed_hash(t: &Term) -> Option<(HashAlgo, String)> {
    Some((
        HashAlgo::from_datatype(t.datatype()?)?,
        t.as_str()?.to_string(),
    ))
}

fn hex_to_bytes(h: &str) -> Option<Vec<u8>> {
    let h = h.trim();
    if h.len() % 2 != 0 {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Verifies every stored hash of `set`, within [`VolumeSet::work_limit`]. Fails only
/// if the metadata cannot be walked or the work is refused; unreadable or wrong data
/// is reported in the checks.
///
/// # Errors
/// [`Error::WorkLimit`] (before anything is hashed) when the hashes would read more
/// than the limit; metadata errors.
pub fn verify(set: &VolumeSet) -> Result<VerifyReport> {
    verify_limited(set, Some(set.work_limit()))
}

/// [`verify`] with another limit on the bytes hashed (`None`: no limit).
///
/// # Errors
/// As [`verify`].
pub fn verify_limited(set: &VolumeSet, limit: Option<u64>) -> Result<VerifyReport> {
    if limit.is_some() {
        let (work, biggest) = planned_work(set);
        set.check_work(
            &format!("--verify would hash {biggest} (and the rest)"),
            work,
            limit,
        )?;
    }
    let g = set.graph();
    let mut rep = VerifyReport::default();
    for s in g.subjects() {
        if g.has_type(s, lx::BLOCK_HASHES) {
            block_hashes_subject(set, s, &mut rep);
            continue;
        }
        aff4_hash_values(set, s, &mut rep);
        if is_map(g, s) {
            map_hashes(set, s, &mut rep);
        }
        if is_image_stream(g, s) {
            stream_hashes(set, s, &mut rep);
        }
    }
    not_present(set, &mut rep);
    Ok(rep)
}

/// Bytes [`verify`] would hash, counted once per algorithm (each costs a pass of
/// hashing), and the subject that costs most.
fn planned_work(set: &VolumeSet) -> (u64, String) {
    let g = set.graph();
    let size_of = |s: &str| {
        set.open_stream(s)
            .map(|st| st.size())
            .ok()
            .filter(|&n| n != u64::MAX)
            .unwrap_or(0)
    };
    let (mut total, mut biggest) = (0u64, (0u64, String::new()));
    let mut add = |s: &str, passes: usize, total: &mut u64| {
        if passes == 0 {
            return;
        }
        let w = size_of(s).saturating_mul(passes as u64);
        *total = total.saturating_add(w);
        if w > biggest.0 {
            biggest = (w, s.to_string());
        }
    };
    for s in g.subjects() {
        if g.has_type(s, lx::BLOCK_HASHES) {
            continue;
        }
        let linear = g
            .objects(s, lx::HASH)
            .into_iter()
            .filter(|t| typed_hash(t).is_some())
            .count();
        add(s, linear, &mut total);
        if is_image_stream(g, s) {
            let blocks = HashAlgo::ALL
                .into_iter()
                .filter(|a| block_member(set, s, 0, *a).is_some())
                .count()
                .max(usize::from(!expectations(g, s).is_empty()));
            add(s, blocks, &mut total);
        }
    }
    (total, biggest.1)
}

/// `aff4:hash` values of `s`: linear digests, the Image blockMapHash, the rest
/// unverifiable.
fn aff4_hash_values(set: &VolumeSet, s: &str, rep: &mut VerifyReport) {
    let g = set.graph();
    let mut linear = Vec::new();
    for t in g.objects(s, lx::HASH) {
        let value = t.as_str().unwrap_or_default();
        match (typed_hash(t), t.datatype()) {
            (Some(h), _) => linear.push(h),
            (None, Some(dt)) if dt == aff4("blockMapHashSHA512") => {
                image_block_map_hash(set, s, value, rep)
            }
            (None, dt) => rep.add(
                s,
                "hash",
                "-",
                Status::Unverifiable,
                Some(value),
                format!("unknown hash datatype {}", dt.unwrap_or("(none)")),
            ),
        }
    }
    if !linear.is_empty() {
        linear_hashes(set, s, &linear, "linear", rep);
    }
}

/// Hashes the bytes of `s` once for all `want` algorithms and compares.
fn linear_hashes(
    set: &VolumeSet,
    s: &str,
    want: &[(HashAlgo, String)],
    kind: &str,
    rep: &mut VerifyReport,
) {
    let algos: Vec<HashAlgo> = want.iter().map(|(a, _)| *a).collect();
    match hash_stream(set, s, &algos) {
        Ok(got) => {
            for ((a, expected), (_, actual)) in want.iter().zip(&got) {
                let actual = hex_to_bytes(actual).unwrap_or_default();
                rep.compare(s, kind, a.name(), expected, &actual);
            }
        }
        Err(e) => {
            let status = match e {
                Error::NotFound(_) => Status::Unverifiable,
                _ => Status::Mismatch,
            };
            for (a, expected) in want {
                rep.add(
                    s,
                    kind,
                    a.name(),
                    status.clone(),
                    Some(expected),
                    e.to_string(),
                );
            }
        }
    }
}

fn hash_stream(set: &VolumeSet, urn: &str, algos: &[HashAlgo]) -> Result<Vec<(HashAlgo, String)>> {
    let mut s = set.open_stream_sequential(urn)?;
    if s.size() == u64::MAX {
        return Err(Error::NotFound(format!(
            "{urn} (an unbounded symbolic stream)"
        )));
    }
    let mut h = MultiHasher::new(algos);
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = s
            .read(&mut buf)
            .map_err(|e| crate::volume::stream_error(e, &format!("reading {urn}")))?;
        let Some(data) = buf.get(..n).filter(|d| !d.is_empty()) else {
            break;
        };
        h.update(data);
        total += n as u64;
    }
    if total != s.size() {
        return Err(Error::corrupt(
            urn,
            format!("read {total} bytes of {}", s.size()),
        ));
    }
    Ok(h.finish())
}

/// The SHA-512 (or other) hashes of a map's members, in one algorithm.
struct MapDigests {
    point: Vec<u8>,
    idx: Vec<u8>,
    path: Option<Vec<u8>>,
    all: Vec<u8>,
}

fn map_digests(set: &VolumeSet, map: &str, algo: HashAlgo) -> Result<MapDigests> {
    let m = set.member(&format!("{map}/map"))?;
    let i = set.member(&format!("{map}/idx"))?;
    let p = set.member(&format!("{map}/mapPath")).ok();
    let mut all = algo.hasher();
    all.update(&m);
    all.update(&i);
    if let Some(p) = &p {
        all.update(p);
    }
    Ok(MapDigests {
        point: algo.digest(&m),
        idx: algo.digest(&i),
        path: p.as_deref().map(|p| algo.digest(p)),
        all: all.finish(),
    })
}

fn map_hashes(set: &VolumeSet, map: &str, rep: &mut VerifyReport) {
    let g = set.graph();
    for p in ["mapPointHash", "mapIdxHash", "mapPathHash", "mapHash"] {
        for t in g.objects(map, &aff4(p)) {
            let value = t.as_str().unwrap_or_default();
            let Some((algo, want)) = typed_hash(t) else {
                rep.add(
                    map,
                    p,
                    "-",
                    Status::Unverifiable,
                    Some(value),
                    "unknown datatype",
                );
                continue;
            };
            match map_digests(set, map, algo) {
                Ok(d) => {
                    let got = match p {
                        "mapPointHash" => Some(d.point),
                        "mapIdxHash" => Some(d.idx),
                        "mapPathHash" => d.path,
                        _ => Some(d.all),
                    };
                    match got {
                        Some(got) => rep.compare(map, p, algo.name(), &want, &got),
                        None => rep.add(
                            map,
                            p,
                            algo.name(),
                            Status::Mismatch,
                            Some(&want),
                            "member missing",
                        ),
                    }
                }
                Err(e) => rep.add(
                    map,
                    p,
                    algo.name(),
                    Status::Mismatch,
                    Some(&want),
                    e.to_string(),
                ),
            }
        }
    }
    for t in g.objects(map, lx::BLOCK_MAP_HASH) {
        combined_block_map_hash(set, map, t, "blockMapHash", standard_block_digests, rep);
    }
    for t in g.objects(map, &aff4("blockHashesHash")) {
        combined_block_map_hash(set, map, t, "blockHashesHash", legacy_block_digests, rep);
    }
    for t in g.objects(map, &aff4("linearBlockHash")) {
        let algo = typed_hash(t).map_or("-", |(a, _)| a.name());
        rep.add(
            map,
            "linearBlockHash",
            algo,
            Status::Unverifiable,
            t.as_str(),
            "pre-standard aff4:linearBlockHash: its input is not documented (not the hash of the image bytes)",
        );
    }
}

/// Block-hash digests a map's blockMapHash covers, as stored: standard maps name their
/// streams with `aff4:dependentStream` and the digests sit on `<stream>/blockhash.<algo>`.
/// In a striped set each volume's map lists every volume's stream, but its hash covers
/// only the streams stored in the map's own volume (checked on REF Striped).
fn standard_block_digests(g: &Graph, map: &str) -> Vec<(HashAlgo, Vec<u8>)> {
    let mut out = Vec::new();
    let map_stored: Vec<&str> = g
        .objects(map, lx::STORED)
        .into_iter()
        .filter_map(Term::as_iri)
        .collect();
    let same_volume = |ds: &str| {
        let stored: Vec<&str> = g
            .objects(ds, lx::STORED)
            .into_iter()
            .filter_map(Term::as_iri)
            .collect();
        map_stored.is_empty() || stored.is_empty() || stored.iter().any(|v| map_stored.contains(v))
    };
    for ds in g
        .objects(map, lx::DEPENDENT_STREAM)
        .into_iter()
        .filter_map(Term::as_iri)
        .filter(|ds| same_volume(ds))
    {
        for a in HashAlgo::ALL {
            let bh = format!("{ds}/blockhash.{}", a.name());
            if let Some(h) = g
                .object(&bh, lx::HASH)
                .and_then(Term::as_str)
                .and_then(hex_to_bytes)
            {
                out.push((a, h));
            }
        }
    }
    out
}

/// Pre-standard (Evimetry 1.x): the map's ImageStream targets carry
/// `aff4:blockHashesHash` in the block-hash algorithm itself.
fn legacy_block_digests(g: &Graph, map: &str) -> Vec<(HashAlgo, Vec<u8>)> {
    let mut out = Vec::new();
    for s in g.subjects() {
        let targets_map = g
            .objects(s, lx::TARGET)
            .iter()
            .any(|t| t.as_iri() == Some(map));
        if !targets_map || !is_image_stream(g, s) {
            continue;
        }
        for t in g.objects(s, &aff4("blockHashesHash")) {
            if let Some((a, h)) = typed_hash(t) {
                out.extend(hex_to_bytes(&h).map(|d| (a, d)));
            }
        }
    }
    out
}

type DigestSource = fn(&Graph, &str) -> Vec<(HashAlgo, Vec<u8>)>;

/// H(block digests sorted by algorithm || H(map) || H(idx) || [H(mapPath)]), H being
/// the algorithm of the stored value's datatype.
fn block_map_value(
    set: &VolumeSet,
    map: &str,
    algo: HashAlgo,
    src: DigestSource,
) -> Result<Vec<u8>> {
    let mut digests = src(set.graph(), map);
    digests.sort_by_key(|(a, _)| *a);
    let d = map_digests(set, map, algo)?;
    let mut h = algo.hasher();
    for (_, x) in &digests {
        h.update(x);
    }
    h.update(&d.point);
    h.update(&d.idx);
    if let Some(p) = &d.path {
        h.update(p);
    }
    Ok(h.finish())
}

fn combined_block_map_hash(
    set: &VolumeSet,
    map: &str,
    t: &Term,
    kind: &str,
    src: DigestSource,
    rep: &mut VerifyReport,
) {
    let Some((algo, want)) = typed_hash(t) else {
        rep.add(
            map,
            kind,
            "-",
            Status::Unverifiable,
            t.as_str(),
            "unknown datatype",
        );
        return;
    };
    match block_map_value(set, map, algo, src) {
        Ok(v) => rep.compare(map, kind, algo.name(), &want, &v),
        Err(e) => rep.add(
            map,
            kind,
            algo.name(),
            Status::Mismatch,
            Some(&want),
            e.to_string(),
        ),
    }
}

/// `aff4:hash ^^aff4:blockMapHashSHA512` on an Image: the blockMapHash of its map, or
/// with several maps (striped), SHA-512 over their blockMapHashes sorted by map URN.
fn image_block_map_hash(set: &VolumeSet, image: &str, want: &str, rep: &mut VerifyReport) {
    let g = set.graph();
    let mut maps: Vec<String> = g
        .subjects()
        .into_iter()
        .filter(|m| is_map(g, m))
        .filter(|m| {
            g.objects(m, lx::TARGET)
                .iter()
                .any(|t| t.as_iri() == Some(image))
        })
        .map(String::from)
        .chain(
            g.objects(image, lx::DATA_STREAM)
                .into_iter()
                .filter_map(Term::as_iri)
                .filter(|d| is_map(g, d))
                .map(String::from),
        )
        .collect();
    maps.sort();
    maps.dedup();
    let per_map: Result<Vec<Vec<u8>>> = maps
        .iter()
        .map(|m| block_map_value(set, m, HashAlgo::Sha512, standard_block_digests))
        .collect();
    let value = match per_map {
        Err(e) => {
            rep.add(
                image,
                "blockMapHash",
                "sha512",
                Status::Mismatch,
                Some(want),
                e.to_string(),
            );
            return;
        }
        Ok(v) if v.is_empty() => {
            rep.add(
                image,
                "blockMapHash",
                "sha512",
                Status::Unverifiable,
                Some(want),
                "no aff4:Map belongs to this image",
            );
            return;
        }
        Ok(mut v) if v.len() == 1 => v.remove(0),
        Ok(v) => {
            let mut h = HashAlgo::Sha512.hasher();
            for d in &v {
                h.update(d);
            }
            h.finish()
        }
    };
    rep.compare(image, "blockMapHash", "sha512", want, &value);
}

/// A standalone `aff4:BlockHashes` subject whose stream is not described: its digests
/// cannot be tied to chunks. (Described streams are checked in [`stream_hashes`].)
fn block_hashes_subject(set: &VolumeSet, s: &str, rep: &mut VerifyReport) {
    let g = set.graph();
    let stream = s.rsplit_once("/blockhash.").map(|(st, _)| st);
    if stream.is_some_and(|st| is_image_stream(g, st)) {
        return;
    }
    for t in g.objects(s, lx::HASH) {
        rep.add(
            s,
            "blockHashes",
            "-",
            Status::Unverifiable,
            t.as_str(),
            "its ImageStream is not described in the metadata",
        );
    }
}

/// ImageStream hashes: block hashes, their combined hashes, Evimetry's index hash.
fn stream_hashes(set: &VolumeSet, s: &str, rep: &mut VerifyReport) {
    let g = set.graph();
    block_hashes(set, s, rep);
    for t in g.objects(s, &aff4("imageStreamIndexHash")) {
        match typed_hash(t) {
            Some((algo, want)) => match index_members_hash(set, s, algo) {
                Ok(v) => rep.compare(s, "imageStreamIndexHash", algo.name(), &want, &v),
                Err(e) => rep.add(
                    s,
                    "imageStreamIndexHash",
                    algo.name(),
                    Status::Mismatch,
                    Some(&want),
                    e.to_string(),
                ),
            },
            None => rep.add(
                s,
                "imageStreamIndexHash",
                "-",
                Status::Unverifiable,
                t.as_str(),
                "unknown datatype",
            ),
        }
    }
    for t in g.objects(s, &aff4("imageStreamHash")) {
        let algo = typed_hash(t).map_or("-", |(a, _)| a.name());
        rep.add(
            s,
            "imageStreamHash",
            algo,
            Status::Unverifiable,
            t.as_str(),
            "the input of aff4:imageStreamHash is not documented (AFF4-FORMAT.md §6.2)",
        );
    }
}

/// Whether `x` (or its BlockHashes subjects) carries any hash.
fn has_hash_info(g: &Graph, x: &str) -> bool {
    HASH_PREDICATES
        .iter()
        .any(|p| !g.objects(x, &aff4(p)).is_empty())
        || HashAlgo::ALL
            .iter()
            .any(|a| g.has_type(&format!("{x}/blockhash.{}", a.name()), lx::BLOCK_HASHES))
}

/// Whether the bytes of image `s` are covered by some stored hash: on the image, its
/// data stream, or (for a map) the streams the map reads.
fn covered(g: &Graph, s: &str) -> bool {
    if has_hash_info(g, s) {
        return true;
    }
    let Some(ds) = data_stream(g, s).or_else(|| is_map(g, s).then(|| s.to_string())) else {
        return false;
    };
    if has_hash_info(g, &ds) {
        return true;
    }
    g.objects(&ds, lx::DEPENDENT_STREAM)
        .into_iter()
        .filter_map(Term::as_iri)
        .any(|d| has_hash_info(g, d))
}

/// Images and logical files with no hash anywhere on their data.
fn not_present(set: &VolumeSet, rep: &mut VerifyReport) {
    let g = set.graph();
    for s in g.subjects() {
        let is_object = g.has_type(s, lx::IMAGE)
            || g.has_type(s, lx::FILE_IMAGE)
            || g.object(s, lx::ORIGINAL_FILENAME_CAFF4).is_some();
        if is_object && !covered(g, s) {
            rep.add(
                s,
                "linear",
                "-",
                Status::NotPresent,
                None,
                "no stored hash covers this object's data",
            );
        }
    }
}

/// The member holding bevy `bevy`'s `algo` block digests (standard or pre-standard name).
fn block_member(set: &VolumeSet, stream: &str, bevy: u64, algo: HashAlgo) -> Option<String> {
    [
        format!("{stream}/{bevy:08}.blockHash.{}", algo.name()),
        format!("{stream}/{bevy:08}/blockHash.{}", algo.name()),
    ]
    .into_iter()
    .find(|u| set.resolver().member_by_urn(u).is_some())
}

/// A stored hash over all block digests of one algorithm.
struct Expectation {
    subject: String,
    block_algo: HashAlgo,
    hash_algo: HashAlgo,
    want: String,
    hasher: crate::hash::Hasher,
}

/// The stored hashes over a stream's block digests: `<stream>/blockhash.<algo>`
/// subjects (standard) and `aff4:blockHashesHash` on the stream (pre-standard, hashed
/// with the block algorithm itself).
fn expectations(g: &Graph, stream: &str) -> Vec<Expectation> {
    let mut out = Vec::new();
    for a in HashAlgo::ALL {
        let subject = format!("{stream}/blockhash.{}", a.name());
        for (h, want) in g
            .objects(&subject, lx::HASH)
            .into_iter()
            .filter_map(typed_hash)
        {
            out.push(Expectation {
                subject: subject.clone(),
                block_algo: a,
                hash_algo: h,
                want,
                hasher: h.hasher(),
            });
        }
    }
    for (h, want) in g
        .objects(stream, &aff4("blockHashesHash"))
        .into_iter()
        .filter_map(typed_hash)
    {
        out.push(Expectation {
            subject: stream.to_string(),
            block_algo: h,
            hash_algo: h,
            want,
            hasher: h.hasher(),
        });
    }
    out
}

/// Per-algorithm tally of chunk digests compared.
#[derive(Default)]
struct Tally {
    checked: u64,
    differ: u64,
    problem: Option<String>,
}

/// Every block digest of `stream` against its decoded chunk, and the hashes over the
/// digests; one pass over the stream, one bevy of digests in memory at a time.
fn block_hashes(set: &VolumeSet, stream: &str, rep: &mut VerifyReport) {
    let g = set.graph();
    let algos: Vec<HashAlgo> = HashAlgo::ALL
        .into_iter()
        .filter(|a| block_member(set, stream, 0, *a).is_some())
        .collect();
    let mut exp = expectations(g, stream);
    if algos.is_empty() && exp.is_empty() {
        return;
    }
    let mut tallies: Vec<Tally> = algos.iter().map(|_| Tally::default()).collect();
    if let Err(e) = walk_chunks(set, stream, &algos, &mut tallies, &mut exp) {
        for t in tallies.iter_mut().filter(|t| t.problem.is_none()) {
            t.problem = Some(e.to_string());
        }
        for x in exp.drain(..) {
            rep.add(
                &x.subject,
                "blockHashes",
                x.hash_algo.name(),
                Status::Mismatch,
                Some(&x.want),
                e.to_string(),
            );
        }
    }
    for (a, t) in algos.iter().zip(&tallies) {
        let ok = t.problem.is_none() && t.differ == 0 && t.checked > 0;
        let actual = match &t.problem {
            Some(p) => p.clone(),
            None => format!("{} chunks checked, {} differ", t.checked, t.differ),
        };
        let status = if ok { Status::Ok } else { Status::Mismatch };
        rep.add(
            stream,
            "block",
            a.name(),
            status,
            Some("a digest per chunk"),
            actual,
        );
    }
    for x in exp {
        if !algos.contains(&x.block_algo) {
            rep.add(
                &x.subject,
                "blockHashes",
                x.hash_algo.name(),
                Status::Mismatch,
                Some(&x.want),
                format!("no {} block-hash members", x.block_algo.name()),
            );
            continue;
        }
        let got = x.hasher.finish();
        rep.compare(&x.subject, "blockHashes", x.hash_algo.name(), &x.want, &got);
    }
}

fn walk_chunks(
    set: &VolumeSet,
    stream: &str,
    algos: &[HashAlgo],
    tallies: &mut [Tally],
    exp: &mut [Expectation],
) -> Result<()> {
    let info = image_stream_info(set.graph(), stream)?;
    let n_chunks = info.size.div_ceil(info.chunk_size);
    let n_bevies = n_chunks.div_ceil(info.chunks_in_segment);
    let mut s = set.open_stream_sequential(stream)?;
    let mut buf = vec![0u8; info.chunk_size as usize];
    for bevy in 0..n_bevies {
        let first = bevy * info.chunks_in_segment;
        let here = info.chunks_in_segment.min(n_chunks - first);
        let mut digests = Vec::with_capacity(algos.len());
        for (a, t) in algos.iter().zip(tallies.iter_mut()) {
            let limit = here * a.digest_len() as u64;
            let d = block_member(set, stream, bevy, *a)
                .ok_or_else(|| {
                    Error::MissingMember(format!("{stream}/{bevy:08}.blockHash.{}", a.name()))
                })
                .and_then(|m| {
                    // The pyaff4-compatible layout (`block_hashes_every_bevy`): the
                    // bevy's digests, zeros, and the same digests at the global offset.
                    // The standard reading takes the first `limit` bytes.
                    let both = (first + here) * a.digest_len() as u64;
                    match set.resolver().member_by_urn(&m) {
                        Some((_, e)) if bevy > 0 && e.size == both => {
                            set.resolver().read_member_prefix_by_urn(&m, limit)
                        }
                        _ => set.member_limited(&m, limit),
                    }
                });
            match d {
                Ok(d) => {
                    if d.len() as u64 != limit && t.problem.is_none() {
                        t.problem = Some(format!(
                            "bevy {bevy}: {} digest bytes for {here} chunks",
                            d.len()
                        ));
                    }
                    for x in exp.iter_mut().filter(|x| x.block_algo == *a) {
                        x.hasher.update(&d);
                    }
                    digests.push(d);
                }
                Err(e) => {
                    t.problem.get_or_insert(e.to_string());
                    digests.push(Vec::new());
                }
            }
        }
        for c in 0..here {
            let pos = (first + c) * info.chunk_size;
            let len = info.chunk_size.min(info.size - pos) as usize;
            let chunk = buf.get_mut(..len).unwrap_or_default();
            s.read_exact(chunk).map_err(|e| {
                crate::volume::stream_error(e, &format!("reading chunk {} of {stream}", first + c))
            })?;
            for ((a, t), d) in algos.iter().zip(tallies.iter_mut()).zip(&digests) {
                let n = a.digest_len();
                let at = c as usize * n;
                if let Some(want) = d.get(at..at + n) {
                    t.checked += 1;
                    if a.digest(chunk) != want {
                        t.differ += 1;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The hash of `stream`'s index members (`<bevy>.index`, or `<bevy>/index`), in bevy
/// order: Evimetry's `aff4:imageStreamIndexHash`.
fn index_members_hash(set: &VolumeSet, stream: &str, algo: HashAlgo) -> Result<Vec<u8>> {
    let mut h = algo.hasher();
    let mut bevy = 0u64;
    loop {
        let names = [
            format!("{stream}/{bevy:08}.index"),
            format!("{stream}/{bevy:08}/index"),
        ];
        let Some(m) = names
            .iter()
            .find(|u| set.resolver().member_by_urn(u).is_some())
        else {
            break;
        };
        h.update(&set.member(m)?);
        bevy += 1;
    }
    if bevy == 0 {
        return Err(Error::MissingMember(format!("{stream}/00000000.index")));
    }
    Ok(h.finish())
}
