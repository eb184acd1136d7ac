//! Opening volumes (one file, or several forming a striped set) and resolving AFF4
//! objects by URN.

use crate::codec::Compression;
use crate::hash::HashAlgo;
use crate::io::ReadAt;
use crate::lexicon as lx;
use crate::map::{Map, MapReader};
use crate::rdf::{Graph, Term};
use crate::stream::{ImageStreamInfo, ImageStreamReader, MAX_CHUNKS_IN_SEGMENT, MAX_CHUNK_SIZE};
use crate::symbolic::Symbolic;
use crate::zip::{Entry, Method, ZipArchive};
use crate::{urn, Error, Result};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest member we read whole (turtle, map, idx, index, small files).
pub const MEMBER_LIMIT: u64 = 1 << 30;

/// A readable, seekable AFF4 stream.
pub trait Stream: Read + Seek + Send {
    /// Logical size in bytes.
    fn size(&self) -> u64;
    /// The URN.
    fn urn(&self) -> &str;
}

/// New position for a seek within a stream of `size` bytes.
pub(crate) fn seek_to(cur: u64, size: u64, pos: SeekFrom) -> std::io::Result<u64> {
    let new = match pos {
        SeekFrom::Start(p) => Some(p),
        SeekFrom::End(d) => size.checked_add_signed(d),
        SeekFrom::Current(d) => cur.checked_add_signed(d),
    };
    new.ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "seek before the start of the stream",
        )
    })
}

/// One opened volume file.
pub struct Volume {
    /// The volume URN (from the ZIP comment).
    pub urn: String,
    /// Where it was opened from.
    pub path: PathBuf,
    /// `tool` from version.txt, when present.
    pub tool: Option<String>,
    /// `major.minor` from version.txt, when present.
    pub version: Option<String>,
    src: Arc<dyn ReadAt>,
    archive: ZipArchive,
}

/// Member lookup shared by every stream opened from a set.
pub struct Resolver {
    volumes: Vec<Volume>,
    members: HashMap<String, (usize, usize)>,
    graph: Graph,
}

impl Resolver {
    pub(crate) fn graph_ref(&self) -> &Graph {
        &self.graph
    }

    /// The volume and ZIP entry that store the object `urn`.
    pub fn member_by_urn(&self, urn: &str) -> Option<(&Volume, &Entry)> {
        let &(v, e) = self.members.get(urn)?;
        let vol = self.volumes.get(v)?;
        Some((vol, vol.archive.entries().get(e)?))
    }

    /// Reads a whole member (inflating it) by URN.
    pub fn read_member_by_urn(&self, urn: &str, limit: u64) -> Result<Vec<u8>> {
        let (vol, entry) = self
            .member_by_urn(urn)
            .ok_or_else(|| Error::MissingMember(urn.to_string()))?;
        vol.archive
            .read_member(vol.src.as_ref(), &entry.name, limit)
    }

    /// Reads `buf.len()` bytes at `offset` inside a stored member.
    pub fn read_member_range(&self, urn: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
        let (vol, entry) = self
            .member_by_urn(urn)
            .ok_or_else(|| Error::MissingMember(urn.to_string()))?;
        if entry.method != Method::Stored {
            let all = vol
                .archive
                .read_member(vol.src.as_ref(), &entry.name, MEMBER_LIMIT)?;
            let s = all
                .get(offset as usize..offset as usize + buf.len())
                .ok_or_else(|| {
                    Error::corrupt(
                        urn,
                        format!("range {offset}+{} past the member end", buf.len()),
                    )
                })?;
            buf.copy_from_slice(s);
            return Ok(());
        }
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|end| end > entry.compressed_size)
        {
            return Err(Error::corrupt(
                urn,
                format!(
                    "range {offset}+{} runs past the member's {} bytes",
                    buf.len(),
                    entry.compressed_size
                ),
            ));
        }
        vol.src
            .read_exact_at(buf, entry.data_offset + offset)
            .map_err(|e| Error::io(format!("reading {}", entry.name), e))
    }
}

/// What kind of object a URN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// aff4:Image (memory or disk image).
    Image,
    /// aff4:Map.
    Map,
    /// aff4:ImageStream.
    ImageStream,
    /// A logical file (AFF4-L FileImage or c-aff4 logical file).
    LogicalFile,
    /// A plain ZIP member.
    ZipSegment,
    /// Anything else described in the metadata.
    Other,
}

/// A summary of one object for listings.
#[derive(Debug, Clone)]
pub struct ObjectInfo {
    /// URN.
    pub urn: String,
    /// Kind.
    pub kind: ObjectKind,
    /// rdf:type IRIs.
    pub types: Vec<String>,
    /// Logical size, when known.
    pub size: Option<u64>,
    /// Bytes stored in the volume(s), when it has members.
    pub stored_size: Option<u64>,
    /// Codec, for ImageStreams.
    pub compression: Option<Compression>,
    /// Stored hashes: (algorithm or datatype name, hex).
    pub hashes: Vec<(String, String)>,
}

/// One volume or a striped set opened as one resolver.
#[derive(Clone)]
pub struct VolumeSet {
    res: Arc<Resolver>,
}

fn parse_version(text: &str) -> (Option<String>, Option<String>) {
    let mut kv = HashMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            kv.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    let version = match (kv.get("major"), kv.get("minor")) {
        (Some(a), Some(b)) => Some(format!("{a}.{b}")),
        _ => None,
    };
    (kv.get("tool").cloned(), version)
}

impl VolumeSet {
    /// Opens one or several volume files as one set.
    pub fn open<P: AsRef<Path>>(paths: &[P]) -> Result<Self> {
        if paths.is_empty() {
            return Err(Error::InvalidArgument("no volume given".into()));
        }
        let mut volumes = Vec::new();
        for p in paths {
            let p = p.as_ref();
            let f = std::fs::File::open(p)
                .map_err(|e| Error::io(format!("opening {}", p.display()), e))?;
            volumes.push(Self::open_volume(Arc::new(f), p)?);
        }
        Self::from_volumes(volumes)
    }

    /// Opens a volume held in memory (tests, small volumes).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        let v = Self::open_volume(Arc::new(bytes), Path::new("<memory>"))?;
        Self::from_volumes(vec![v])
    }

    fn open_volume(src: Arc<dyn ReadAt>, path: &Path) -> Result<Volume> {
        let archive = ZipArchive::parse(src.as_ref()).map_err(|e| match e {
            Error::Zip(m) => Error::Zip(format!("{}: {m}", path.display())),
            other => other,
        })?;
        let mut urn = archive.comment().trim().to_string();
        if !urn.starts_with("aff4:") {
            if let Ok(d) = archive.read_member(src.as_ref(), "container.description", 4096) {
                urn = String::from_utf8_lossy(&d).trim().to_string();
            }
        }
        if !urn.starts_with("aff4:") {
            return Err(Error::Zip(format!(
                "{}: no volume URN (ZIP comment or container.description)",
                path.display()
            )));
        }
        let (tool, version) = match archive.read_member(src.as_ref(), "version.txt", 4096) {
            Ok(v) => parse_version(&String::from_utf8_lossy(&v)),
            Err(_) => (None, None),
        };
        Ok(Volume {
            urn,
            path: path.to_path_buf(),
            tool,
            version,
            src,
            archive,
        })
    }

    fn from_volumes(volumes: Vec<Volume>) -> Result<Self> {
        let mut graph = Graph::new();
        let mut members = HashMap::new();
        for (vi, v) in volumes.iter().enumerate() {
            for (ei, e) in v.archive.entries().iter().enumerate() {
                members.insert(urn::urn_for_member_name(&e.name, &v.urn), (vi, ei));
            }
            match v.archive.read_member(
                v.src.as_ref(),
                "information.turtle",
                crate::rdf::MAX_TURTLE as u64,
            ) {
                Ok(t) => {
                    let text = String::from_utf8_lossy(&t);
                    let g = crate::rdf::parse_turtle(&text, Some(&v.urn)).map_err(|e| {
                        Error::Rdf(format!("{}: information.turtle: {e}", v.path.display()))
                    })?;
                    graph.extend(&g);
                }
                Err(Error::MissingMember(_)) => {
                    return Err(Error::MissingMember(format!(
                        "{}: information.turtle",
                        v.path.display()
                    )))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(VolumeSet {
            res: Arc::new(Resolver {
                volumes,
                members,
                graph,
            }),
        })
    }

    /// The merged metadata of every volume.
    pub fn graph(&self) -> &Graph {
        &self.res.graph
    }

    /// The opened volumes.
    pub fn volumes(&self) -> &[Volume] {
        &self.res.volumes
    }

    /// Reads a whole member by URN (or by member name relative to the first volume).
    pub fn member(&self, name_or_urn: &str) -> Result<Vec<u8>> {
        let urn = if name_or_urn.starts_with("aff4:") {
            name_or_urn.to_string()
        } else {
            urn::urn_for_member_name(name_or_urn, &self.res.volumes[0].urn)
        };
        self.res.read_member_by_urn(&urn, MEMBER_LIMIT)
    }

    /// The memory/disk image: an aff4:Image that is not a logical file (the first by URN).
    pub fn primary_image(&self) -> Option<String> {
        let g = self.graph();
        let mut imgs: Vec<&str> = g
            .subjects_of_type(lx::IMAGE)
            .into_iter()
            .filter(|s| !g.has_type(s, lx::FILE_IMAGE) && data_stream(g, s).is_some())
            .collect();
        if imgs.is_empty() {
            // c-aff4 disk images: an ImageStream typed aff4:Image; linpmem: a Map typed Image.
            imgs = g
                .subjects_of_type(lx::IMAGE)
                .into_iter()
                .filter(|s| !self.is_logical(s))
                .collect();
        }
        imgs.first().map(|s| s.to_string())
    }

    fn is_logical(&self, s: &str) -> bool {
        let g = self.graph();
        g.has_type(s, lx::FILE_IMAGE)
            || g.object(s, lx::ORIGINAL_FILE_NAME).is_some()
            || g.object(s, lx::ORIGINAL_FILENAME_CAFF4).is_some()
    }

    /// The Map behind an image (following aff4:dataStream), or the image itself if it is
    /// a Map. An image backed directly by an ImageStream gets a one-range map.
    pub fn image_map(&self, image: &str) -> Result<Map> {
        let g = self.graph();
        let target = data_stream(g, image).unwrap_or_else(|| image.to_string());
        if g.has_type(&target, lx::MAP) {
            return Map::load(&self.res, &target);
        }
        let size = self.open_stream(&target)?.size();
        Ok(Map::single(&target, size))
    }

    /// Opens any object as a `Read + Seek` stream.
    pub fn open_stream(&self, urn: &str) -> Result<Box<dyn Stream>> {
        open_stream(&self.res, urn, &mut Vec::new())
    }

    /// Every object described in the metadata or stored as a member.
    pub fn objects(&self) -> Vec<ObjectInfo> {
        let g = self.graph();
        let mut out = Vec::new();
        for s in g.subjects() {
            let types: Vec<String> = g.types(s).into_iter().map(String::from).collect();
            if types.is_empty() || g.has_type(s, lx::ZIP_VOLUME) {
                continue;
            }
            let kind = if self.is_logical(s) {
                ObjectKind::LogicalFile
            } else if g.has_type(s, lx::IMAGE_STREAM) {
                ObjectKind::ImageStream
            } else if g.has_type(s, lx::MAP) {
                ObjectKind::Map
            } else if g.has_type(s, lx::IMAGE) {
                ObjectKind::Image
            } else {
                ObjectKind::Other
            };
            let stored: u64 = self
                .res
                .members
                .iter()
                .filter(|(u, _)| {
                    u.as_str() == s || u.strip_prefix(s).is_some_and(|r| r.starts_with('/'))
                })
                .filter_map(|(u, _)| self.res.member_by_urn(u).map(|(_, e)| e.compressed_size))
                .sum();
            let hashes = g
                .objects(s, lx::HASH)
                .into_iter()
                .filter_map(|t| {
                    let dt = t.datatype()?;
                    let name = HashAlgo::from_datatype(dt).map_or_else(
                        || dt.rsplit(['#', '/']).next().unwrap_or(dt).to_string(),
                        |a| a.name().to_string(),
                    );
                    Some((name, t.as_str()?.to_string()))
                })
                .collect();
            out.push(ObjectInfo {
                urn: s.to_string(),
                kind,
                types,
                size: g.object(s, lx::SIZE).and_then(Term::as_u64),
                stored_size: (stored > 0).then_some(stored),
                compression: g
                    .object(s, lx::COMPRESSION_METHOD)
                    .and_then(Term::as_iri)
                    .and_then(Compression::from_iri),
                hashes,
            });
        }
        out
    }
}

/// The data stream of an image: its aff4:dataStream, preferring an aff4:Map (a striped
/// image names one map per volume; any of them maps the whole image).
fn data_stream(g: &Graph, image: &str) -> Option<String> {
    let all: Vec<&str> = g
        .objects(image, lx::DATA_STREAM)
        .into_iter()
        .filter_map(Term::as_iri)
        .collect();
    all.iter()
        .find(|d| g.has_type(d, lx::MAP))
        .or(all.first())
        .map(|d| d.to_string())
}

/// Reads an ImageStream's parameters from the graph, bounding them.
pub(crate) fn image_stream_info(g: &Graph, urn: &str) -> Result<ImageStreamInfo> {
    // Standard names first, then the pre-standard (Evimetry 1.x / Rekall) spellings.
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| g.object(urn, &format!("{}{n}", lx::AFF4)))
    };
    let int = |names: &[&str], default: u64| get(names).and_then(Term::as_u64).unwrap_or(default);
    let chunk_size = int(&["chunkSize", "chunk_size"], 32768);
    let chunks_in_segment = int(&["chunksInSegment", "chunks_in_segment"], 1024);
    if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
        return Err(Error::corrupt(
            urn,
            format!("aff4:chunkSize {chunk_size} is out of range (1..={MAX_CHUNK_SIZE})"),
        ));
    }
    if chunks_in_segment == 0 || chunks_in_segment > MAX_CHUNKS_IN_SEGMENT {
        return Err(Error::corrupt(
            urn,
            format!("aff4:chunksInSegment {chunks_in_segment} is out of range"),
        ));
    }
    let compression = match get(&["compressionMethod", "CompressionMethod", "compression"]) {
        Some(Term::Iri(i)) => Compression::from_iri(i).ok_or_else(|| Error::Unsupported {
            urn: urn.to_string(),
            what: format!("compression method {i}"),
        })?,
        Some(other) => {
            let s = other.as_str().unwrap_or_default();
            Compression::from_iri(s)
                .or_else(|| Compression::from_name(s))
                .unwrap_or(Compression::Deflate)
        }
        None => Compression::Stored,
    };
    let size = g
        .object(urn, lx::SIZE)
        .and_then(Term::as_u64)
        .ok_or_else(|| Error::corrupt(urn, "ImageStream has no aff4:size"))?;
    Ok(ImageStreamInfo {
        urn: urn.to_string(),
        chunk_size,
        chunks_in_segment,
        size,
        compression,
    })
}

/// Opens `urn`; `chain` holds the maps being opened (cycle detection).
pub(crate) fn open_stream(
    res: &Arc<Resolver>,
    urn: &str,
    chain: &mut Vec<String>,
) -> Result<Box<dyn Stream>> {
    let g = &res.graph;
    if let Some(s) = Symbolic::from_iri(urn) {
        return Ok(Box::new(SymbolicStream {
            urn: urn.to_string(),
            sym: s,
            pos: 0,
        }));
    }
    if g.has_type(urn, lx::MAP) {
        if chain.iter().any(|c| c == urn) {
            chain.push(urn.to_string());
            return Err(Error::MapCycle(chain.join(" -> ")));
        }
        chain.push(urn.to_string());
        let map = Map::load(res, urn)?;
        let r = MapReader::new(map, res.clone(), chain)?;
        chain.pop();
        return Ok(Box::new(r));
    }
    if g.has_type(urn, lx::IMAGE_STREAM) || g.has_type(urn, "http://aff4.org/Schema#stream") {
        let info = image_stream_info(g, urn)?;
        return Ok(Box::new(ImageStreamReader::new(info, res.clone())));
    }
    if res.member_by_urn(urn).is_some() {
        return Ok(Box::new(MemberStream::new(res.clone(), urn)?));
    }
    if g.has_type(urn, lx::IMAGE) || g.has_type(urn, lx::FILE_IMAGE) {
        if let Some(ds) = data_stream(g, urn) {
            if ds != urn {
                return open_stream(res, &ds, chain);
            }
        }
    }
    Err(Error::NotFound(urn.to_string()))
}

/// A ZIP member as a stream (stored: positional reads; deflated: inflated on open).
struct MemberStream {
    urn: String,
    res: Arc<Resolver>,
    size: u64,
    pos: u64,
    inflated: Option<Vec<u8>>,
}

impl MemberStream {
    fn new(res: Arc<Resolver>, urn: &str) -> Result<Self> {
        let (_, e) = res
            .member_by_urn(urn)
            .ok_or_else(|| Error::MissingMember(urn.to_string()))?;
        let (size, deflated) = (e.size, e.method == Method::Deflated);
        let inflated = if deflated {
            Some(res.read_member_by_urn(urn, MEMBER_LIMIT)?)
        } else {
            None
        };
        Ok(MemberStream {
            urn: urn.to_string(),
            res,
            size,
            pos: 0,
            inflated,
        })
    }
}

impl Read for MemberStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.size.saturating_sub(self.pos)) as usize;
        if n == 0 {
            return Ok(0);
        }
        match &self.inflated {
            Some(d) => buf[..n].copy_from_slice(&d[self.pos as usize..self.pos as usize + n]),
            None => self
                .res
                .read_member_range(&self.urn, self.pos, &mut buf[..n])
                .map_err(std::io::Error::other)?,
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for MemberStream {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.pos = seek_to(self.pos, self.size, pos)?;
        Ok(self.pos)
    }
}

impl Stream for MemberStream {
    fn size(&self) -> u64 {
        self.size
    }
    fn urn(&self) -> &str {
        &self.urn
    }
}

/// A symbolic stream (unbounded).
struct SymbolicStream {
    urn: String,
    sym: Symbolic,
    pos: u64,
}

impl Read for SymbolicStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.sym.fill(self.pos, buf);
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }
}

impl Seek for SymbolicStream {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.pos = seek_to(self.pos, u64::MAX, pos)?;
        Ok(self.pos)
    }
}

impl Stream for SymbolicStream {
    fn size(&self) -> u64 {
        u64::MAX
    }
    fn urn(&self) -> &str {
        &self.urn
    }
}
