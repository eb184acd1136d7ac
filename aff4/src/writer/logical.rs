//! AFF4-L logical files (AFF4-FORMAT.md §7): each file is an aff4:FileImage with
//! `aff4:originalFileName` (the name exactly as given), `aff4:size`, MD5/SHA-1/SHA-256
//! `aff4:hash` values and optional times. Small files are deflated ZIP members
//! (aff4:ZipSegment), larger ones snappy ImageStreams.
//!
//! For c-aff4 (aff4imager), a small file is also typed with its pre-standard member
//! type `aff4:zip_segment`: c-aff4's `VolumeGroup::GetStream` opens a typed subject as
//! a ZIP member only under that type (or `aff4:file`), never under `aff4:ZipSegment`.
//! Large files need nothing more (it opens any `aff4:ImageStream`). Logical files are
//! deliberately *not* typed `aff4:Image`, although c-aff4's `-e PATTERN` and `-l` only
//! list aff4:Image and aff4:Map subjects: pyaff4 0.34 opens `images[0]` of an unordered
//! query, so a second aff4:Image makes it open a logical file instead of the memory
//! image in a random share of runs. aff4imager extracts them by URN instead:
//! `echo URN | aff4imager -e @ -D DIR host.aff4`.
//!
//! The original name never reaches a member name: the URN is
//! `<vol>/files/<n>/<sanitised path>`, built from `[A-Za-z0-9._-]` components only, so
//! hostile names (`../`, NUL, `%`, control characters, non-ASCII) cannot escape the
//! volume's folder, collide with another object or need escaping (§2 "safe rule").

use super::{xsd_datetime, VolumeWriter};
use crate::hash::{HashAlgo, MultiHasher};
use crate::lexicon as lx;
use crate::rdf::Term;
use crate::stream::{ImageStreamWriter, StreamOptions};
use crate::{urn, Error, Result};
use std::io::{Read, Write};
use std::time::SystemTime;

/// Files up to this size become deflated ZIP members (aff4:ZipSegment), as pyaff4
/// does; larger ones become ImageStreams.
pub const SMALL_FILE: u64 = 1 << 20;

/// The hashes every logical file gets (pyaff4's `LinearHasher2` checks MD5 and SHA-1).
const LOGICAL_HASHES: [HashAlgo; 3] = [HashAlgo::Md5, HashAlgo::Sha1, HashAlgo::Sha256];

/// Longest sanitised path kept in a URN (the full name is in `aff4:originalFileName`).
const MAX_PATH: usize = 180;

/// Optional facts about a logical file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogicalFileMeta {
    /// Modification time (`aff4:lastWritten`).
    pub last_written: Option<SystemTime>,
    /// Access time (`aff4:lastAccessed`).
    pub last_accessed: Option<SystemTime>,
    /// Inode change time (`aff4:recordChanged`).
    pub record_changed: Option<SystemTime>,
    /// Creation time (`aff4:birthTime`).
    pub birth_time: Option<SystemTime>,
}

/// A member-name-safe relative path for `name`: components split at `/` and `\`,
/// characters outside `[A-Za-z0-9._-]` replaced by `_`, empty, `.` and `..`
/// components dropped, at most [`MAX_PATH`] bytes; `unnamed` if nothing is left.
pub fn sanitize_path(name: &str) -> String {
    let mut out = String::new();
    for comp in name.split(['/', '\\']) {
        if comp.is_empty() || comp == "." || comp == ".." {
            continue;
        }
        let clean: String = comp
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if out.len() + clean.len() + 1 > MAX_PATH {
            break;
        }
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(&clean);
    }
    if out.is_empty() {
        out.push_str("unnamed");
    }
    out
}

fn read_err(name: &str, e: std::io::Error) -> Error {
    Error::io(format!("reading logical file {name:?}"), e)
}

impl<W: Write> VolumeWriter<W> {
    /// Adds `data` as an AFF4-L logical file named `original_name` (stored exactly, in
    /// `aff4:originalFileName`); returns its URN. Memory stays bounded: large files are
    /// streamed into an ImageStream.
    ///
    /// # Errors
    /// I/O errors reading `data` (named after the file) or writing the volume.
    pub fn add_logical_file(
        &mut self,
        original_name: &str,
        data: &mut dyn Read,
        meta: &LogicalFileMeta,
    ) -> Result<String> {
        self.logical_count += 1;
        let path = format!(
            "files/{}/{}",
            self.logical_count,
            sanitize_path(original_name)
        );
        self.claim(&path)?;
        let file_urn = format!("{}/{path}", self.volume_urn);
        let mut head = Vec::new();
        data.take(SMALL_FILE + 1)
            .read_to_end(&mut head)
            .map_err(|e| read_err(original_name, e))?;
        let s = Term::iri(file_urn.clone());
        let small = head.len() as u64 <= SMALL_FILE;
        let size = if small {
            self.add_small_file(&file_urn, &head)?
        } else {
            self.add_large_file(&file_urn, original_name, head, data)?
        };
        if self.journal {
            let o = StreamOptions::default();
            let rec = crate::journal::FileRecord {
                member: urn::member_name_for_urn(&file_urn, &self.volume_urn),
                urn: file_urn.clone(),
                name: original_name.to_string(),
                size,
                stream: (!small).then_some((o.chunk_size, o.chunks_in_segment, o.compression)),
            };
            let name = crate::journal::file_member(self.logical_count);
            self.zip.add_stored(&name, rec.encode()?.as_bytes())?;
            self.zip.flush()?;
        }
        let g = &mut self.graph;
        g.insert(s.clone(), lx::RDF_TYPE, Term::iri(lx::FILE_IMAGE));
        g.insert(
            s.clone(),
            lx::ORIGINAL_FILE_NAME,
            Term::typed(original_name, lx::XSD_STRING),
        );
        g.set(
            s.clone(),
            lx::SIZE,
            Term::typed(size.to_string(), lx::XSD_LONG),
        );
        g.set(s.clone(), lx::STORED, Term::iri(self.volume_urn.clone()));
        let times = [
            (super::vocab::LAST_WRITTEN, meta.last_written),
            (super::vocab::LAST_ACCESSED, meta.last_accessed),
            (super::vocab::RECORD_CHANGED, meta.record_changed),
            (super::vocab::BIRTH_TIME, meta.birth_time),
        ];
        for (p, t) in times {
            if let Some(t) = t {
                g.insert(s.clone(), p, Term::typed(xsd_datetime(t), lx::XSD_DATETIME));
            }
        }
        g.insert(Term::iri(self.volume_urn.clone()), lx::CONTAINS, s);
        Ok(file_urn)
    }

    /// A deflated member named by the URN, typed aff4:ZipSegment and (for c-aff4)
    /// aff4:zip_segment; returns the size.
    fn add_small_file(&mut self, file_urn: &str, bytes: &[u8]) -> Result<u64> {
        let mut h = MultiHasher::new(&LOGICAL_HASHES);
        h.update(bytes);
        let member = urn::member_name_for_urn(file_urn, &self.volume_urn);
        self.zip.add_deflated(&member, bytes)?;
        let s = Term::iri(file_urn);
        self.graph
            .insert(s.clone(), lx::RDF_TYPE, Term::iri(lx::ZIP_SEGMENT));
        self.graph
            .insert(s.clone(), lx::RDF_TYPE, Term::iri(lx::ZIP_SEGMENT_LEGACY));
        for (a, hex) in h.finish() {
            self.graph
                .insert(s.clone(), lx::HASH, Term::typed(hex, a.datatype()));
        }
        Ok(bytes.len() as u64)
    }

    /// A snappy ImageStream at the file's URN (its hashes are the stream's linear
    /// hashes); returns the size.
    fn add_large_file(
        &mut self,
        file_urn: &str,
        name: &str,
        head: Vec<u8>,
        data: &mut dyn Read,
    ) -> Result<u64> {
        let opts = StreamOptions {
            linear_hashes: LOGICAL_HASHES.to_vec(),
            ..StreamOptions::default()
        };
        let mut w = ImageStreamWriter::new(file_urn, &self.volume_urn, opts)?;
        w.write(&mut self.zip, &head)?;
        let mut buf = head;
        buf.resize(1 << 20, 0);
        loop {
            let n = match data.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(name, e)),
            };
            w.write(&mut self.zip, buf.get(..n).unwrap_or(&buf))?;
        }
        Ok(w.finish(&mut self.zip, &mut self.graph)?.size)
    }
}
