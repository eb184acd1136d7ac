//! The recovery journal: small stored members a journaling writer adds so that the
//! partial file of a killed run can be turned back into a container
//! ([`crate::recover`]).
//!
//! A volume's map, stream parameters and metadata are only written when it is closed,
//! so without help the bevies of a killed run are bytes nobody can place. A journal
//! member says where they go. Every member is UTF-8 text, one record per line, fields
//! separated by one space, numbers in lowercase hex (no `0x`), free text hex-encoded:
//!
//! - `pmem-journal/header`, written right after the image starts: the URNs, the
//!   stream parameters, the planned ranges (`range START END`) and metadata triples
//!   for the Image (`meta PREDICATE DATATYPE HEXVALUE`).
//! - `pmem-journal/bevy-NNNNNNNN`, written *before* bevy N: every map entry whose data
//!   lies in bevies up to N, and every symbolic entry before them, not journaled yet
//!   (`entry MAPPED LENGTH TARGET_OFFSET TARGET`, TARGET `stream` or a symbolic IRI).
//!   `pmem-journal/image-end` closes the image the same way, before its last bevy,
//!   with `size SIZE`.
//! - `pmem-journal/file-NNNNNNNN`, written after each logical file: its URN, original
//!   name, size and how it is stored.
//!
//! Readers that do not know the journal ignore it (it is neither in the RDF nor named
//! like an AFF4 object); `pmem-journal/` is reserved in a journaling volume.

use crate::codec::Compression;
use crate::symbolic::Symbolic;
use crate::{Error, Result};

/// First line of every journal member.
pub const MAGIC: &str = "pmem-aff4 journal 1";
/// Prefix of every journal member name.
pub const PREFIX: &str = "pmem-journal/";
/// The header member.
pub const HEADER: &str = "pmem-journal/header";
/// The member closing the image.
pub const IMAGE_END: &str = "pmem-journal/image-end";

/// The member journaling the entries up to bevy `n`.
pub fn bevy_member(n: u32) -> String {
    format!("{PREFIX}bevy-{n:08}")
}

/// The member journaling logical file `n` (1-based, as the volume counts them).
pub fn file_member(n: u64) -> String {
    format!("{PREFIX}file-{n:08}")
}

/// What a map entry points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The image's ImageStream, at the entry's target offset.
    Stream,
    /// A symbolic stream.
    Symbolic(Symbolic),
}

/// One journaled map entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Address in the image.
    pub mapped: u64,
    /// Length in bytes.
    pub length: u64,
    /// Offset in the target.
    pub target_offset: u64,
    /// The target.
    pub target: Target,
}

/// The journal header of an image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// The volume URN of the run.
    pub volume: String,
    /// The aff4:Image URN.
    pub image: String,
    /// The aff4:Map URN.
    pub map: String,
    /// The aff4:ImageStream URN.
    pub stream: String,
    /// The ImageStream's member name prefix.
    pub stream_member: String,
    /// Stream chunk size.
    pub chunk_size: u32,
    /// Stream chunks per bevy.
    pub chunks_in_segment: u32,
    /// Stream codec IRI.
    pub compression: String,
    /// The ranges the run set out to acquire, `(start, end)`.
    pub ranges: Vec<(u64, u64)>,
    /// Metadata for the Image: `(predicate, datatype, lexical value)`.
    pub meta: Vec<(String, String, String)>,
}

/// A journaled logical file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Its URN.
    pub urn: String,
    /// The member name (a deflated member) or member prefix (an ImageStream).
    pub member: String,
    /// The original name.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// `None`: one deflated member; `Some((chunk_size, chunks_in_segment, codec))`: an
    /// ImageStream.
    pub stream: Option<(u32, u32, Compression)>,
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str, what: &str) -> Result<String> {
    let bad = || Error::Zip(format!("journal: {what} is not hex text"));
    if s.len() % 2 != 0 {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    String::from_utf8(bytes.ok_or_else(bad)?).map_err(|_| bad())
}

fn num(s: Option<&str>, what: &str) -> Result<u64> {
    s.and_then(|v| u64::from_str_radix(v, 16).ok())
        .ok_or_else(|| Error::Zip(format!("journal: {what} is not a hex number")))
}

fn word<'a>(s: Option<&'a str>, what: &str) -> Result<&'a str> {
    s.filter(|w| !w.is_empty())
        .ok_or_else(|| Error::Zip(format!("journal: {what} is missing")))
}

fn space_free(s: &str) -> Result<&str> {
    if s.is_empty() || s.contains([' ', '\n', '\r']) {
        return Err(Error::InvalidArgument(format!(
            "journal value {s:?} must be one word"
        )));
    }
    Ok(s)
}

/// Lines of a journal member after its magic line.
fn lines(b: &[u8]) -> Result<impl Iterator<Item = &str>> {
    let text = std::str::from_utf8(b).map_err(|_| Error::Zip("journal: not UTF-8".into()))?;
    let mut it = text.lines();
    if it.next() != Some(MAGIC) {
        return Err(Error::Zip(format!("journal: first line is not {MAGIC:?}")));
    }
    Ok(it)
}

impl Header {
    /// The member text.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if a URN or IRI has a space or line break.
    pub fn encode(&self) -> Result<String> {
        let mut t = format!("{MAGIC}\n");
        for (k, v) in [
            ("volume", &self.volume),
            ("image", &self.image),
            ("map", &self.map),
            ("stream", &self.stream),
            ("stream_member", &self.stream_member),
            ("compression", &self.compression),
        ] {
            t += &format!("{k} {}\n", space_free(v)?);
        }
        t += &format!(
            "chunk_size {:x}\nchunks_in_segment {:x}\n",
            self.chunk_size, self.chunks_in_segment
        );
        for (s, e) in &self.ranges {
            t += &format!("range {s:x} {e:x}\n");
        }
        for (p, d, v) in &self.meta {
            t += &format!("meta {} {} {}\n", space_free(p)?, space_free(d)?, hex(v));
        }
        Ok(t)
    }

    /// Parses a header member.
    ///
    /// # Errors
    /// [`Error::Zip`] naming the bad line.
    pub fn parse(b: &[u8]) -> Result<Self> {
        let mut h = Header::default();
        for line in lines(b)? {
            let mut f = line.split(' ');
            let key = f.next().unwrap_or_default();
            match key {
                "volume" => h.volume = word(f.next(), key)?.into(),
                "image" => h.image = word(f.next(), key)?.into(),
                "map" => h.map = word(f.next(), key)?.into(),
                "stream" => h.stream = word(f.next(), key)?.into(),
                "stream_member" => h.stream_member = word(f.next(), key)?.into(),
                "compression" => h.compression = word(f.next(), key)?.into(),
                "chunk_size" => {
                    h.chunk_size = u32::try_from(num(f.next(), key)?)
                        .map_err(|_| Error::Zip("journal: chunk_size too large".into()))?
                }
                "chunks_in_segment" => {
                    h.chunks_in_segment = u32::try_from(num(f.next(), key)?)
                        .map_err(|_| Error::Zip("journal: chunks_in_segment too large".into()))?
                }
                "range" => h.ranges.push((num(f.next(), key)?, num(f.next(), key)?)),
                "meta" => h.meta.push((
                    word(f.next(), key)?.into(),
                    word(f.next(), key)?.into(),
                    unhex(f.next().unwrap_or_default(), key)?,
                )),
                _ => {}
            }
        }
        if h.stream_member.is_empty() || h.image.is_empty() {
            return Err(Error::Zip("journal header: no image or stream".into()));
        }
        Ok(h)
    }
}

/// The text of an entries member (`pmem-journal/bevy-N` or `image-end`).
pub fn encode_entries(entries: &[Entry], size: Option<u64>) -> String {
    let mut t = format!("{MAGIC}\n");
    for e in entries {
        let target = match e.target {
            Target::Stream => "stream".to_string(),
            Target::Symbolic(s) => s.iri(),
        };
        t += &format!(
            "entry {:x} {:x} {:x} {target}\n",
            e.mapped, e.length, e.target_offset
        );
    }
    if let Some(s) = size {
        t += &format!("size {s:x}\n");
    }
    t
}

/// Parses an entries member: its entries and, for `image-end`, the image size.
///
/// # Errors
/// [`Error::Zip`] naming the bad line.
pub fn parse_entries(b: &[u8]) -> Result<(Vec<Entry>, Option<u64>)> {
    let (mut v, mut size) = (Vec::new(), None);
    for line in lines(b)? {
        let mut f = line.split(' ');
        match f.next().unwrap_or_default() {
            "entry" => {
                let (mapped, length, target_offset) = (
                    num(f.next(), "entry address")?,
                    num(f.next(), "entry length")?,
                    num(f.next(), "entry target offset")?,
                );
                let t = word(f.next(), "entry target")?;
                let target = if t == "stream" {
                    Target::Stream
                } else {
                    Target::Symbolic(Symbolic::from_iri(t).ok_or_else(|| {
                        Error::Zip(format!("journal: unknown entry target {t:?}"))
                    })?)
                };
                if mapped.checked_add(length).is_none()
                    || target_offset.checked_add(length).is_none()
                {
                    return Err(Error::Zip("journal: entry overflows".into()));
                }
                v.push(Entry {
                    mapped,
                    length,
                    target_offset,
                    target,
                });
            }
            "size" => size = Some(num(f.next(), "size")?),
            _ => {}
        }
    }
    Ok((v, size))
}

impl FileRecord {
    /// The member text.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the URN or member has a space or line break.
    pub fn encode(&self) -> Result<String> {
        let mut t = format!(
            "{MAGIC}\nfile {}\nmember {}\nname {}\nsize {:x}\n",
            space_free(&self.urn)?,
            space_free(&self.member)?,
            hex(&self.name),
            self.size
        );
        if let Some((cs, cis, c)) = self.stream {
            t += &format!("stream {cs:x} {cis:x} {}\n", c.iri());
        }
        Ok(t)
    }

    /// Parses a file member.
    ///
    /// # Errors
    /// [`Error::Zip`] naming the bad line.
    pub fn parse(b: &[u8]) -> Result<Self> {
        let mut r = FileRecord {
            urn: String::new(),
            member: String::new(),
            name: String::new(),
            size: 0,
            stream: None,
        };
        for line in lines(b)? {
            let mut f = line.split(' ');
            let key = f.next().unwrap_or_default();
            match key {
                "file" => r.urn = word(f.next(), key)?.into(),
                "member" => r.member = word(f.next(), key)?.into(),
                "name" => r.name = unhex(f.next().unwrap_or_default(), key)?,
                "size" => r.size = num(f.next(), key)?,
                "stream" => {
                    let small = |v: u64| {
                        u32::try_from(v).map_err(|_| Error::Zip("journal: stream field".into()))
                    };
                    let cs = small(num(f.next(), key)?)?;
                    let cis = small(num(f.next(), key)?)?;
                    let c = word(f.next(), key)?;
                    let c = Compression::from_iri(c)
                        .ok_or_else(|| Error::Zip(format!("journal: unknown codec {c:?}")))?;
                    r.stream = Some((cs, cis, c));
                }
                _ => {}
            }
        }
        if r.member.is_empty() {
            return Err(Error::Zip("journal file record: no member".into()));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let h = Header {
            volume: "aff4://v".into(),
            image: "aff4://i".into(),
            map: "aff4://m".into(),
            stream: "aff4://s".into(),
            stream_member: "aff4%3A%2F%2Fs".into(),
            chunk_size: 32768,
            chunks_in_segment: 1024,
            compression: Compression::Snappy.iri().into(),
            ranges: vec![(0x1000, 0x9f000), (0x100000, 0x2000000)],
            meta: vec![("p:x".into(), "xsd:string".into(), "a b\nc ü".into())],
        };
        assert_eq!(Header::parse(h.encode().unwrap().as_bytes()).unwrap(), h);
        let e = vec![
            Entry {
                mapped: 0x1000,
                length: 0x8000,
                target_offset: 0,
                target: Target::Stream,
            },
            Entry {
                mapped: 0x9000,
                length: 0x1000,
                target_offset: 0x9000,
                target: Target::Symbolic(Symbolic::UnreadableData),
            },
        ];
        let t = encode_entries(&e, Some(0x2000000));
        assert_eq!(parse_entries(t.as_bytes()).unwrap(), (e, Some(0x2000000)));
        let f = FileRecord {
            urn: "aff4://v/files/1/a".into(),
            member: "files/1/a".into(),
            name: "/proc/kallsyms".into(),
            size: 77,
            stream: Some((32768, 1024, Compression::Snappy)),
        };
        assert_eq!(
            FileRecord::parse(f.encode().unwrap().as_bytes()).unwrap(),
            f
        );
    }

    #[test]
    fn bad_records_are_errors() {
        assert!(Header::parse(b"not a journal\n").is_err());
        assert!(Header::parse(format!("{MAGIC}\nimage x\n").as_bytes()).is_err());
        assert!(parse_entries(format!("{MAGIC}\nentry 1 2\n").as_bytes()).is_err());
        assert!(parse_entries(format!("{MAGIC}\nentry 1 2 3 aff4://nope\n").as_bytes()).is_err());
        assert!(
            parse_entries(format!("{MAGIC}\nentry ffffffffffffffff 2 0 stream\n").as_bytes())
                .is_err()
        );
        assert!(FileRecord::parse(format!("{MAGIC}\nname zz\n").as_bytes()).is_err());
        assert!(Header {
            image: "a b".into(),
            ..Header::default()
        }
        .encode()
        .is_err());
    }
}
