//! Logical files: AFF4-L (`aff4:FileImage` + `aff4:originalFileName`) and c-aff4's
//! logical files (`aff4:original_filename`, untyped members).

use crate::lexicon as lx;
use crate::rdf::Term;
use crate::volume::VolumeSet;
use crate::Result;

/// A logical file stored in a volume.
#[derive(Debug, Clone)]
pub struct LogicalFile {
    /// Its URN (open it with [`VolumeSet::open_stream`]).
    pub urn: String,
    /// The original file name as stored (untrusted: never use it as a path unchecked).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Stored hashes (algorithm name, hex).
    pub hashes: Vec<(String, String)>,
}

/// Lists the logical files of a set, sorted by name.
pub fn list(set: &VolumeSet) -> Result<Vec<LogicalFile>> {
    let g = set.graph();
    let mut out = Vec::new();
    for s in g.subjects() {
        let name = g
            .object(s, lx::ORIGINAL_FILE_NAME)
            .or_else(|| g.object(s, lx::ORIGINAL_FILENAME_CAFF4))
            .and_then(Term::as_str);
        // c-aff4's `-i` files: an untyped or aff4:Image subject stored as a member of the
        // same name, without a dataStream.
        let member_name;
        let name = match name {
            Some(n) => n,
            None if g.has_type(s, lx::IMAGE)
                && g.object(s, lx::DATA_STREAM).is_none()
                && !g.has_type(s, lx::MAP)
                && !g.has_type(s, lx::IMAGE_STREAM)
                && set.open_stream(s).is_ok() =>
            {
                member_name = set
                    .volumes()
                    .iter()
                    .find_map(|v| s.strip_prefix(v.urn.as_str()))
                    .unwrap_or(s)
                    .trim_start_matches('/')
                    .to_string();
                member_name.as_str()
            }
            None => continue,
        };
        let size = match g.object(s, lx::SIZE).and_then(Term::as_u64) {
            Some(n) => n,
            None => set.open_stream(s).map(|st| st.size()).unwrap_or(0),
        };
        let hashes = g
            .objects(s, lx::HASH)
            .into_iter()
            .filter_map(|t| {
                let a = crate::hash::HashAlgo::from_datatype(t.datatype()?)?;
                Some((a.name().to_string(), t.as_str()?.to_string()))
            })
            .collect();
        out.push(LogicalFile {
            urn: s.to_string(),
            name: name.to_string(),
            size,
            hashes,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
