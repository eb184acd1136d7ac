//! Logical files: AFF4-L (`aff4:FileImage` + `aff4:originalFileName`, backed by a
//! deflated/stored ZIP member (`aff4:ZipSegment`) or an `aff4:ImageStream`) and c-aff4's
//! logical files (`aff4:Image` stored as a plain member, optionally with
//! `aff4:original_filename`). Open one with [`VolumeSet::open_stream`] on its URN.

use crate::lexicon as lx;
use crate::rdf::Term;
use crate::volume::{stored_hashes, VolumeSet};
use crate::Result;

/// Time predicates AFF4-L records on a FileImage.
const TIMES: [&str; 4] = ["lastWritten", "lastAccessed", "recordChanged", "birthTime"];

/// How a logical file's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// A ZIP member named by the URN (AFF4-L ZipSegment, c-aff4 `-i` files).
    Member,
    /// An aff4:ImageStream (AFF4-L files larger than 1 MiB).
    ImageStream,
    /// Another stream through `aff4:dataStream`.
    DataStream,
}

/// A logical file stored in a volume.
#[derive(Debug, Clone)]
pub struct LogicalFile {
    /// Its URN (open it with [`VolumeSet::open_stream`]).
    pub urn: String,
    /// The original file name as stored (untrusted: never use it as a path unchecked).
    /// Without a stored name, the URN's path relative to its volume.
    pub name: String,
    /// Size in bytes (`aff4:size`, else the opened stream's size).
    pub size: u64,
    /// Stored hashes (algorithm name, hex).
    pub hashes: Vec<(String, String)>,
    /// Stored times: (`lastWritten` | `lastAccessed` | `recordChanged` | `birthTime`,
    /// lexical value as written).
    pub times: Vec<(String, String)>,
    /// How its bytes are stored.
    pub backing: Backing,
}

/// Lists the logical files of a set, sorted by name (then URN).
pub fn list(set: &VolumeSet) -> Result<Vec<LogicalFile>> {
    let g = set.graph();
    let mut out = Vec::new();
    for s in g.subjects() {
        if !set.is_logical(s) {
            continue;
        }
        let name = g
            .object(s, lx::ORIGINAL_FILE_NAME)
            .or_else(|| g.object(s, lx::ORIGINAL_FILENAME_CAFF4))
            .and_then(Term::as_str)
            .map(String::from)
            .unwrap_or_else(|| relative_name(set, s));
        let size = match g.object(s, lx::SIZE).and_then(Term::as_u64) {
            Some(n) => n,
            None => set.open_stream(s).map(|st| st.size()).unwrap_or(0),
        };
        let backing = if set.resolver().member_by_urn(s).is_some() {
            Backing::Member
        } else if g.has_type(s, lx::IMAGE_STREAM) {
            Backing::ImageStream
        } else {
            Backing::DataStream
        };
        let times = TIMES
            .iter()
            .filter_map(|t| {
                let v = g.object(s, &format!("{}{t}", lx::AFF4))?.as_str()?;
                Some((t.to_string(), v.to_string()))
            })
            .collect();
        out.push(LogicalFile {
            urn: s.to_string(),
            name,
            size,
            hashes: stored_hashes(g, s),
            times,
            backing,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.urn.cmp(&b.urn)));
    Ok(out)
}

/// The URN's path below the volume that holds it.
fn relative_name(set: &VolumeSet, s: &str) -> String {
    set.volumes()
        .iter()
        .find_map(|v| s.strip_prefix(v.urn.as_str()))
        .unwrap_or(s)
        .trim_start_matches('/')
        .to_string()
}
