//! Recomputing every stored hash: linear hashes on any object, Evimetry block hashes,
//! BlockHashes digests, map hashes and blockMapHash.

use crate::blockhash::{block_map_hash, MapHashes};
use crate::hash::{to_hex, HashAlgo, MultiHasher};
use crate::lexicon as lx;
use crate::rdf::Term;
use crate::volume::VolumeSet;
use crate::{Error, Result};
use std::io::Read;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Recomputed and equal.
    Ok,
    /// Recomputed and different.
    Mismatch,
    /// An object with data but no stored hash.
    NotPresent,
    /// A stored hash we cannot recompute (reason in `actual`).
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
    /// linear, block, blockHashes, mapPointHash, mapIdxHash, mapPathHash, mapHash, blockMapHash.
    pub kind: String,
    /// Algorithm name.
    pub algorithm: String,
    /// Result.
    pub status: Status,
    /// The stored value.
    pub expected: Option<String>,
    /// The recomputed value (or why it could not be).
    pub actual: Option<String>,
}

/// All checks of a set.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl VerifyReport {
    /// True only if at least one hash was verified and none mismatched or was unverifiable.
    pub fn all_ok(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Ok)
            && !self
                .checks
                .iter()
                .any(|c| matches!(c.status, Status::Mismatch | Status::Unverifiable))
    }
    fn push(&mut self, subject: &str, kind: &str, algo: &str, expected: &str, actual: Vec<u8>) {
        let actual = to_hex(&actual);
        let status = if actual.eq_ignore_ascii_case(expected.trim()) {
            Status::Ok
        } else {
            Status::Mismatch
        };
        self.checks.push(Check {
            subject: subject.into(),
            kind: kind.into(),
            algorithm: algo.into(),
            status,
            expected: Some(expected.into()),
            actual: Some(actual),
        });
    }
}

fn hash_stream(set: &VolumeSet, urn: &str, algos: &[HashAlgo]) -> Result<Vec<(HashAlgo, String)>> {
    let mut s = set.open_stream(urn)?;
    let mut h = MultiHasher::new(algos);
    let mut buf = vec![0u8; 4 << 20];
    loop {
        let n = s
            .read(&mut buf)
            .map_err(|e| Error::io(format!("reading {urn}"), e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

fn hex_to_bytes(h: &str) -> Option<Vec<u8>> {
    let h = h.trim();
    (h.len() % 2 == 0)
        .then(|| {
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                .collect()
        })
        .flatten()
}

/// Verifies every stored hash of `set`.
pub fn verify(set: &VolumeSet) -> Result<VerifyReport> {
    let g = set.graph();
    let mut rep = VerifyReport::default();
    for s in g.subjects() {
        let hashes: Vec<&Term> = g.objects(s, lx::HASH);
        let linear: Vec<(HashAlgo, String)> = hashes
            .iter()
            .filter_map(|t| {
                Some((
                    HashAlgo::from_datatype(t.datatype()?)?,
                    t.as_str()?.to_string(),
                ))
            })
            .collect();
        if g.has_type(s, lx::BLOCK_HASHES) {
            verify_block_hashes(set, s, &linear, &mut rep)?;
            continue;
        }
        if !linear.is_empty() {
            let algos: Vec<HashAlgo> = linear.iter().map(|(a, _)| *a).collect();
            let got = hash_stream(set, s, &algos)?;
            for ((a, want), (_, have)) in linear.iter().zip(&got) {
                rep.push(
                    s,
                    "linear",
                    a.name(),
                    want,
                    hex_to_bytes(have).unwrap_or_default(),
                );
            }
        }
        if g.has_type(s, lx::MAP) {
            verify_map_hashes(set, s, &mut rep)?;
        }
        for t in &hashes {
            if t.datatype() == Some(&format!("{}blockMapHashSHA512", lx::AFF4)) {
                verify_image_block_map_hash(set, s, t.as_str().unwrap_or_default(), &mut rep)?;
            }
        }
    }
    Ok(rep)
}

fn member_opt(set: &VolumeSet, urn: &str) -> Option<Vec<u8>> {
    set.member(urn).ok()
}

fn map_hashes(set: &VolumeSet, map: &str) -> Result<MapHashes> {
    let m = set.member(&format!("{map}/map"))?;
    let i = set.member(&format!("{map}/idx"))?;
    let p = member_opt(set, &format!("{map}/mapPath"));
    Ok(MapHashes::compute(&m, &i, p.as_deref()))
}

fn verify_map_hashes(set: &VolumeSet, map: &str, rep: &mut VerifyReport) -> Result<()> {
    let g = set.graph();
    let mh = map_hashes(set, map)?;
    let lit = |p: &str| {
        g.object(map, &format!("{}{p}", lx::AFF4))
            .and_then(Term::as_str)
            .map(String::from)
    };
    for (p, v) in [
        ("mapPointHash", Some(&mh.map_point)),
        ("mapIdxHash", Some(&mh.map_idx)),
        ("mapPathHash", mh.map_path.as_ref()),
        ("mapHash", Some(&mh.map)),
    ] {
        if let (Some(want), Some(have)) = (lit(p), v) {
            rep.push(map, p, "sha512", &want, have.clone());
        }
    }
    if let Some(want) = lit("blockMapHash") {
        rep.push(
            map,
            "blockMapHash",
            "sha512",
            &want,
            compute_block_map_hash(set, map, &mh)?,
        );
    }
    Ok(())
}

fn compute_block_map_hash(set: &VolumeSet, map: &str, mh: &MapHashes) -> Result<Vec<u8>> {
    let g = set.graph();
    let mut digests = Vec::new();
    for ds in g
        .objects(map, lx::DEPENDENT_STREAM)
        .into_iter()
        .filter_map(Term::as_iri)
    {
        for a in HashAlgo::ALL {
            let bh = format!("{ds}/blockhash.{}", a.name());
            if let Some(h) = g
                .object(&bh, lx::HASH)
                .and_then(Term::as_str)
                .and_then(hex_to_bytes)
            {
                digests.push((a, h));
            }
        }
    }
    Ok(block_map_hash(&digests, mh))
}

fn verify_image_block_map_hash(
    set: &VolumeSet,
    image: &str,
    want: &str,
    rep: &mut VerifyReport,
) -> Result<()> {
    let g = set.graph();
    // The maps of this image (one per volume in a striped set), sorted by URN.
    let mut maps: Vec<&str> = g
        .subjects_of_type(lx::MAP)
        .into_iter()
        .filter(|m| {
            g.objects(m, lx::TARGET)
                .iter()
                .any(|t| t.as_iri() == Some(image))
        })
        .collect();
    maps.sort();
    let mut per_map = Vec::new();
    for m in &maps {
        let mh = map_hashes(set, m)?;
        per_map.push(compute_block_map_hash(set, m, &mh)?);
    }
    let value = match per_map.len() {
        0 => {
            rep.checks.push(Check {
                subject: image.into(),
                kind: "blockMapHash".into(),
                algorithm: "sha512".into(),
                status: Status::Unverifiable,
                expected: Some(want.into()),
                actual: Some("no aff4:Map targets this image".into()),
            });
            return Ok(());
        }
        1 => per_map.remove(0),
        _ => {
            let mut h = HashAlgo::Sha512.hasher();
            for d in &per_map {
                h.update(d);
            }
            h.finish()
        }
    };
    rep.push(image, "blockMapHash", "sha512", want, value);
    Ok(())
}

/// `<stream>/blockhash.<algo>`: SHA-512 over the block-hash members, and each block
/// digest against the decoded chunk.
fn verify_block_hashes(
    set: &VolumeSet,
    subject: &str,
    stored: &[(HashAlgo, String)],
    rep: &mut VerifyReport,
) -> Result<()> {
    let Some((stream, algo)) = subject
        .rsplit_once("/blockhash.")
        .and_then(|(s, a)| Some((s, HashAlgo::from_name(a)?)))
    else {
        return Ok(());
    };
    let mut all = Vec::new();
    let mut bevy = 0u32;
    while let Ok(m) = set.member(&format!("{stream}/{bevy:08}.blockHash.{}", algo.name())) {
        all.extend_from_slice(&m);
        bevy += 1;
    }
    for (a, want) in stored {
        rep.push(subject, "blockHashes", a.name(), want, a.digest(&all));
    }
    // Each chunk's digest.
    let g = set.graph();
    let cs = g
        .object(stream, lx::CHUNK_SIZE)
        .and_then(Term::as_u64)
        .unwrap_or(32768) as usize;
    let mut s = set.open_stream(stream)?;
    let mut buf = vec![0u8; cs];
    let (mut bad, mut n_chunks) = (0u64, 0u64);
    for want in all.chunks(algo.digest_len()) {
        let mut got = 0;
        while got < cs {
            let n = s
                .read(&mut buf[got..])
                .map_err(|e| Error::io(format!("reading {stream}"), e))?;
            if n == 0 {
                break;
            }
            got += n;
        }
        if got == 0 {
            bad += 1;
            continue;
        }
        if algo.digest(&buf[..got]) != want {
            bad += 1;
        }
        n_chunks += 1;
    }
    rep.checks.push(Check {
        subject: stream.into(),
        kind: "block".into(),
        algorithm: algo.name().into(),
        status: if bad == 0 && n_chunks > 0 {
            Status::Ok
        } else {
            Status::Mismatch
        },
        expected: Some(format!("{} block digests", all.len() / algo.digest_len())),
        actual: Some(format!("{} chunks checked, {bad} differ", n_chunks)),
    });
    Ok(())
}
