//! Opening volumes (one file, or several forming a striped set) and resolving AFF4
//! objects by URN.
//!
//! A [`VolumeSet`] is one resolver over every opened file: the metadata graphs are
//! merged, and every ZIP member of every volume is indexed by the URN it stores
//! (AFF4-FORMAT.md §2), so escapes in either case and AFF4-L's leading `/` all resolve.
//! [`VolumeSet::open_stream`] dispatches on the object's type (§5.5):
//!
//! | type | opened as |
//! | --- | --- |
//! | symbolic IRI (`aff4:Zero`, `aff4:SymbolicStreamXX`, ...) | an unbounded pattern stream |
//! | `aff4:Map` (legacy `aff4:map`) | [`MapReader`] |
//! | `aff4:ImageStream` (legacy `aff4:stream`, Rekall `aff4:image`) | [`ImageStreamReader`] |
//! | `aff4:Image` and its subclasses with `aff4:dataStream` | that data stream |
//! | anything stored as a ZIP member (untyped, `ZipSegment`, c-aff4 logical files) | the member |

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
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest member we read whole (turtle, map, idx, index, small files, deflated members).
pub const MEMBER_LIMIT: u64 = 1 << 30;

/// Types whose bytes are those of their `aff4:dataStream` (c-aff4 `VolumeGroup`).
const IMAGE_TYPES: [&str; 6] = [
    lx::IMAGE,
    lx::DISK_IMAGE,
    lx::MEMORY_IMAGE,
    lx::CONTIGUOUS_IMAGE,
    "http://aff4.org/Schema#VolumeImage",
    "http://aff4.org/Schema#DiscontiguousImage",
];

/// Pre-standard map type (Evimetry 1.x after namespace rewriting, and Rekall 2015).
const LEGACY_MAP: &str = "http://aff4.org/Schema#map";
/// Pre-standard ImageStream types: Evimetry 1.x `aff4:stream`, Rekall `aff4:image`.
const LEGACY_STREAMS: [&str; 2] = [
    "http://aff4.org/Schema#stream",
    "http://aff4.org/Schema#image",
];

/// Members every volume has that are not AFF4 objects (nor are the recovery journal's,
/// [`crate::journal`]).
const VOLUME_FILES: [&str; 3] = ["information.turtle", "version.txt", "container.description"];

/// A readable, seekable AFF4 stream.
pub trait Stream: Read + Seek + Send {
    /// Logical size in bytes (`u64::MAX` for unbounded symbolic streams).
    fn size(&self) -> u64;
    /// The URN.
    fn urn(&self) -> &str;
}

/// Recovers the typed [`Error`] a [`Stream`] wrapped in the `std::io::Error` its
/// `Read` impl must return; other I/O errors become [`Error::Io`] with `context`.
pub fn stream_error(e: std::io::Error, context: &str) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(typed) = inner.downcast::<Error>() {
                return *typed;
            }
        }
        return Error::Io {
            context: context.to_string(),
            source: std::io::Error::other("unrecoverable stream error"),
        };
    }
    Error::io(context, e)
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

/// Which producer dialect a volume is written in (decides legacy layouts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `version.txt` present: AFF4 Standard v1.0/v1.1.
    Standard,
    /// No `version.txt`, turtle in the `http://afflib.org/2009/aff4#` namespace
    /// (Evimetry 1.x/2.x pre-standard).
    LegacyEvimetry,
    /// No `version.txt`, standard namespace: Rekall-era pmem ("scudette" vocabulary,
    /// swapped map fields).
    LegacyRekall,
}

/// The fixed part of [`VolumeSet::work_limit`]: 512 MiB.
pub const WORK_LIMIT_BASE: u64 = 512 << 20;
/// Bytes of work allowed per byte of container in [`VolumeSet::work_limit`].
pub const WORK_LIMIT_RATIO: u64 = 64;

/// One opened volume file.
pub struct Volume {
    /// The volume URN (from the ZIP comment, or `container.description`).
    pub urn: String,
    /// Where it was opened from.
    pub path: PathBuf,
    /// `tool` from version.txt, when present.
    pub tool: Option<String>,
    /// `major.minor` from version.txt, when present.
    pub version: Option<String>,
    /// The producer dialect.
    pub dialect: Dialect,
    src: Arc<dyn ReadAt>,
    archive: ZipArchive,
}

/// Member lookup shared by every stream opened from a set.
pub struct Resolver {
    volumes: Vec<Volume>,
    /// Stored URN -> (volume index, entry index), sorted so prefix scans are cheap.
    members: BTreeMap<String, (usize, usize)>,
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

    /// Reads a whole member (inflating it) by URN; fails above `limit` bytes.
    pub fn read_member_by_urn(&self, urn: &str, limit: u64) -> Result<Vec<u8>> {
        let (vol, entry) = self
            .member_by_urn(urn)
            .ok_or_else(|| Error::MissingMember(urn.to_string()))?;
        vol.archive
            .read_member(vol.src.as_ref(), &entry.name, limit)
    }

    /// Reads the first `len` bytes of a member (inflating only as far as needed).
    ///
    /// # Errors
    /// [`Error::MissingMember`]; [`Error::Zip`] when the member is shorter or does not
    /// inflate.
    pub fn read_member_prefix_by_urn(&self, urn: &str, len: u64) -> Result<Vec<u8>> {
        let (vol, entry) = self
            .member_by_urn(urn)
            .ok_or_else(|| Error::MissingMember(urn.to_string()))?;
        vol.archive
            .read_member_prefix(vol.src.as_ref(), &entry.name, len)
    }

    /// Reads `buf.len()` bytes at `offset` inside a stored (method 0) member. Deflated
    /// members cannot be read positionally: use [`Resolver::read_member_by_urn`].
    pub fn read_member_range(&self, urn: &str, offset: u64, buf: &mut [u8]) -> Result<()> {
        let (vol, entry) = self
            .member_by_urn(urn)
            .ok_or_else(|| Error::MissingMember(urn.to_string()))?;
        if entry.method != Method::Stored {
            return Err(Error::Unsupported {
                urn: urn.to_string(),
                what: "positional read of a deflated member".into(),
            });
        }
        let in_bounds = offset
            .checked_add(buf.len() as u64)
            .is_some_and(|end| end <= entry.compressed_size);
        if !in_bounds {
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

    /// Whether the map `urn` stores its entries in Rekall's swapped field order: typed
    /// lowercase `aff4:map` in a Rekall-dialect volume (Evimetry 1.x also says
    /// `aff4:map` but uses the standard order, checked on REF `AFF4PreStd`).
    pub(crate) fn map_is_rekall_layout(&self, urn: &str) -> bool {
        let dialect = self
            .member_by_urn(&format!("{urn}/map"))
            .map(|(v, _)| v.dialect);
        self.graph.has_type(urn, LEGACY_MAP) && dialect == Some(Dialect::LegacyRekall)
    }
}

/// Whether `urn` is an `aff4:Map` (or a pre-standard `aff4:map`).
pub(crate) fn is_map(g: &Graph, urn: &str) -> bool {
    g.has_type(urn, lx::MAP) || g.has_type(urn, LEGACY_MAP)
}

/// Whether `urn` is an `aff4:ImageStream` (or a pre-standard stream type).
pub(crate) fn is_image_stream(g: &Graph, urn: &str) -> bool {
    g.has_type(urn, lx::IMAGE_STREAM) || LEGACY_STREAMS.iter().any(|t| g.has_type(urn, t))
}

/// Whether `urn` has one of the image types that follow `aff4:dataStream`.
pub(crate) fn is_image_type(g: &Graph, urn: &str) -> bool {
    IMAGE_TYPES.iter().any(|t| g.has_type(urn, t))
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
    /// A plain ZIP member that is not part of another object.
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
    /// Bytes stored in the volume(s): the member itself and every member under
    /// `<urn>/`, when it has any.
    pub stored_size: Option<u64>,
    /// Codec, for ImageStreams.
    pub compression: Option<Compression>,
    /// `aff4:category` IRI (e.g. `memory:physical`), when present.
    pub category: Option<String>,
    /// Stored hashes: (algorithm or datatype name, hex).
    pub hashes: Vec<(String, String)>,
    /// Original file name of a logical file (untrusted text).
    pub original_name: Option<String>,
}

/// One volume or a striped set opened as one resolver.
#[derive(Clone)]
pub struct VolumeSet {
    res: Arc<Resolver>,
}

/// `tool` and `major.minor` of a version.txt; `None` version when it does not parse
/// the way pyaff4 requires (`key=value` lines with major, minor and tool).
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

/// The volume URN: the EOCD comment, or `container.description` when the comment is
/// not an AFF4 URN.
fn volume_urn(archive: &ZipArchive, src: &dyn ReadAt, path: &Path) -> Result<String> {
    let comment = archive.comment().trim_end_matches(['\0', '\n', '\r', ' ']);
    if comment.starts_with("aff4:") {
        return Ok(comment.to_string());
    }
    if let Ok(d) = archive.read_member(src, "container.description", 4096) {
        let d = String::from_utf8_lossy(&d).trim().to_string();
        if d.starts_with("aff4:") {
            return Ok(d);
        }
    }
    Err(Error::Zip(format!(
        "{}: no volume URN (ZIP comment or container.description)",
        path.display()
    )))
}

fn read_turtle(v: &Volume) -> Result<String> {
    match v.archive.read_member(
        v.src.as_ref(),
        "information.turtle",
        crate::rdf::MAX_TURTLE as u64,
    ) {
        Ok(t) => Ok(String::from_utf8_lossy(&t).into_owned()),
        Err(Error::MissingMember(_)) => Err(Error::MissingMember(format!(
            "{}: information.turtle",
            v.path.display()
        ))),
        Err(e) => Err(e),
    }
}

impl VolumeSet {
    /// Opens one or several volume files as one set (a striped or split set is given
    /// as all of its files).
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
        let urn = volume_urn(&archive, src.as_ref(), path)?;
        let (tool, version) = match archive.read_member(src.as_ref(), "version.txt", 4096) {
            Ok(v) => parse_version(&String::from_utf8_lossy(&v)),
            Err(_) => (None, None),
        };
        Ok(Volume {
            urn,
            path: path.to_path_buf(),
            tool,
            dialect: if version.is_some() {
                Dialect::Standard
            } else {
                Dialect::LegacyRekall
            },
            version,
            src,
            archive,
        })
    }

    fn from_volumes(mut volumes: Vec<Volume>) -> Result<Self> {
        let mut graph = Graph::new();
        for v in volumes.iter_mut() {
            let text = read_turtle(v)?;
            if v.dialect != Dialect::Standard && text.contains(lx::AFF4_LEGACY) {
                v.dialect = Dialect::LegacyEvimetry;
            }
            let g = crate::rdf::parse_turtle(&text, Some(&v.urn)).map_err(|e| {
                Error::Rdf(format!("{}: information.turtle: {e}", v.path.display()))
            })?;
            graph.extend(&g);
        }
        let members = index_members(&volumes, &graph);
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

    /// The member lookup behind this set.
    pub fn resolver(&self) -> &Resolver {
        &self.res
    }

    /// Reads a whole member (at most [`MEMBER_LIMIT`] bytes) by URN, or by member name
    /// (exact, or relative to the first volume).
    pub fn member(&self, name_or_urn: &str) -> Result<Vec<u8>> {
        self.member_limited(name_or_urn, MEMBER_LIMIT)
    }

    /// Like [`VolumeSet::member`] with a caller-chosen size limit.
    pub fn member_limited(&self, name_or_urn: &str, limit: u64) -> Result<Vec<u8>> {
        if !name_or_urn.starts_with("aff4:") {
            for v in self.volumes() {
                if v.archive.entry(name_or_urn).is_some() {
                    return v.archive.read_member(v.src.as_ref(), name_or_urn, limit);
                }
            }
        }
        let urn = match self.volumes().first() {
            Some(v) if !name_or_urn.starts_with("aff4:") => {
                urn::urn_for_member_name(name_or_urn, &v.urn)
            }
            _ => name_or_urn.to_string(),
        };
        self.res.read_member_by_urn(&urn, limit)
    }

    /// Bytes of container: the sizes of all volume files.
    pub fn container_bytes(&self) -> u64 {
        self.volumes()
            .iter()
            .map(|v| v.src.size().unwrap_or(0))
            .fold(0u64, u64::saturating_add)
    }

    /// The most bytes a whole-container pass (`--verify`, an export) reads by default:
    /// [`WORK_LIMIT_BASE`] + [`WORK_LIMIT_RATIO`] × [`VolumeSet::container_bytes`].
    /// Data chunks inflate at most about 1000:1 and symbolic ranges cost nothing to
    /// store, so a small container can declare terabytes; this bounds a hostile
    /// 16 MiB container to about 1.5 GiB of reading while a real memory image (a few
    /// times its container's size, sparse images a few dozen) stays far below it.
    pub fn work_limit(&self) -> u64 {
        WORK_LIMIT_BASE.saturating_add(WORK_LIMIT_RATIO.saturating_mul(self.container_bytes()))
    }

    /// [`Error::WorkLimit`] if `work` bytes for `what` exceed `limit`.
    ///
    /// # Errors
    /// [`Error::WorkLimit`].
    pub fn check_work(&self, what: &str, work: u64, limit: Option<u64>) -> Result<()> {
        match limit {
            Some(limit) if work > limit => Err(Error::WorkLimit {
                what: what.to_string(),
                work,
                limit,
                container: self.container_bytes(),
            }),
            _ => Ok(()),
        }
    }

    /// The memory/disk image: an `aff4:Image` that is not a logical file, preferring
    /// one with an `aff4:dataStream`; the first by URN, so the choice is deterministic.
    pub fn primary_image(&self) -> Option<String> {
        let g = self.graph();
        let candidates: Vec<&str> = g
            .subjects_of_type(lx::IMAGE)
            .into_iter()
            .filter(|s| !self.is_logical(s))
            .collect();
        candidates
            .iter()
            .find(|s| data_stream(g, s).is_some())
            // c-aff4 disk images: an ImageStream typed aff4:Image; linpmem and
            // Evimetry 1.x: a Map typed Image.
            .or_else(|| candidates.first())
            .map(|s| s.to_string())
    }

    /// A logical file: AFF4-L `aff4:FileImage`, anything with an original file name,
    /// or c-aff4's `-i` files (an `aff4:Image` stored as a plain member, with no data
    /// stream and no map or ImageStream type).
    pub fn is_logical(&self, s: &str) -> bool {
        let g = self.graph();
        g.has_type(s, lx::FILE_IMAGE)
            || g.object(s, lx::ORIGINAL_FILE_NAME).is_some()
            || g.object(s, lx::ORIGINAL_FILENAME_CAFF4).is_some()
            || (is_image_type(g, s)
                && data_stream(g, s).is_none()
                && !is_map(g, s)
                && !is_image_stream(g, s)
                && self.res.member_by_urn(s).is_some())
    }

    /// The Map behind an image (following aff4:dataStream), or the image itself if it is
    /// a Map. An image backed directly by another stream gets a one-range map.
    pub fn image_map(&self, image: &str) -> Result<Map> {
        let g = self.graph();
        let target = data_stream(g, image).unwrap_or_else(|| image.to_string());
        if is_map(g, &target) {
            return Map::load(&self.res, &target);
        }
        let size = self.open_stream(&target)?.size();
        Ok(Map::single(&target, size))
    }

    /// Opens any object as a `Read + Seek` stream (see the module documentation for
    /// how each type is opened).
    pub fn open_stream(&self, urn: &str) -> Result<Box<dyn Stream>> {
        open_stream(&self.res, urn, &mut Vec::new(), 0)
    }

    /// Opens any object like [`VolumeSet::open_stream`], for a reader that reads it in
    /// order: the chunks of the ImageStreams under it are decoded in parallel ahead of
    /// the reader, with at most [`crate::stream::READ_AHEAD_WINDOW`] bytes in flight
    /// per ImageStream. Seeking still works (the read-ahead restarts there).
    pub fn open_stream_sequential(&self, urn: &str) -> Result<Box<dyn Stream>> {
        self.open_stream_read_ahead(urn, crate::stream::READ_AHEAD_WINDOW)
    }

    /// [`VolumeSet::open_stream_sequential`] with a read-ahead window of about
    /// `window` bytes per ImageStream (at least one chunk; `0`: no read-ahead).
    pub fn open_stream_read_ahead(&self, urn: &str, window: u64) -> Result<Box<dyn Stream>> {
        open_stream(&self.res, urn, &mut Vec::new(), window)
    }

    /// Every object described in the metadata (except the volumes themselves), then
    /// every ZIP member that belongs to no described object, sorted by URN.
    pub fn objects(&self) -> Vec<ObjectInfo> {
        let g = self.graph();
        let described: Vec<&str> = g
            .subjects()
            .into_iter()
            .filter(|s| !g.types(s).is_empty() && !self.is_volume(s))
            .collect();
        let mut out: Vec<ObjectInfo> = described.iter().map(|s| self.object_info(s)).collect();
        for (m, _) in self.res.members.iter() {
            let owned = described
                .iter()
                .any(|s| m == s || m.strip_prefix(s).is_some_and(|r| r.starts_with('/')));
            if !owned && !self.is_volume_file(m) {
                out.push(self.object_info(m));
            }
        }
        out.sort_by(|a, b| a.urn.cmp(&b.urn));
        out
    }

    fn is_volume(&self, s: &str) -> bool {
        self.graph().has_type(s, lx::ZIP_VOLUME)
            || self
                .graph()
                .has_type(s, "http://aff4.org/Schema#zip_volume")
            || self.volumes().iter().any(|v| v.urn == s)
    }

    fn is_volume_file(&self, member_urn: &str) -> bool {
        self.volumes().iter().any(|v| {
            VOLUME_FILES
                .iter()
                .any(|f| member_urn == format!("{}/{f}", v.urn))
                || member_urn
                    .strip_prefix(v.urn.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
                    .is_some_and(|m| m.starts_with(crate::journal::PREFIX))
        })
    }

    fn object_kind(&self, s: &str) -> ObjectKind {
        let g = self.graph();
        if self.is_logical(s) {
            ObjectKind::LogicalFile
        } else if is_image_stream(g, s) {
            ObjectKind::ImageStream
        } else if is_map(g, s) {
            ObjectKind::Map
        } else if is_image_type(g, s) {
            ObjectKind::Image
        } else if g.types(s).is_empty() || g.has_type(s, lx::ZIP_SEGMENT) {
            ObjectKind::ZipSegment
        } else {
            ObjectKind::Other
        }
    }

    /// Bytes stored for `s`: its own member plus every member under `s/`.
    fn stored_size(&self, s: &str) -> u64 {
        let own = self
            .res
            .member_by_urn(s)
            .map_or(0, |(_, e)| e.compressed_size);
        let prefix = format!("{s}/");
        let below: u64 = self
            .res
            .members
            .range(prefix.clone()..)
            .take_while(|(u, _)| u.starts_with(&prefix))
            .filter_map(|(u, _)| self.res.member_by_urn(u).map(|(_, e)| e.compressed_size))
            .sum();
        own.saturating_add(below)
    }

    fn object_info(&self, s: &str) -> ObjectInfo {
        let g = self.graph();
        let stored = self.stored_size(s);
        let size = g
            .object(s, lx::SIZE)
            .and_then(Term::as_u64)
            .or_else(|| self.res.member_by_urn(s).map(|(_, e)| e.size));
        ObjectInfo {
            urn: s.to_string(),
            kind: self.object_kind(s),
            types: g.types(s).into_iter().map(String::from).collect(),
            size,
            stored_size: (stored > 0).then_some(stored),
            compression: image_stream_compression(g, s),
            category: g
                .object(s, lx::CATEGORY)
                .and_then(|t| t.as_iri().or_else(|| t.as_str()))
                .map(String::from),
            hashes: stored_hashes(g, s),
            original_name: g
                .object(s, lx::ORIGINAL_FILE_NAME)
                .or_else(|| g.object(s, lx::ORIGINAL_FILENAME_CAFF4))
                .and_then(Term::as_str)
                .map(String::from),
        }
    }
}

/// Indexes every member of every volume by the URN it stores. When two volumes hold a
/// member for the same URN, the volume named by `aff4:stored` on the closest described
/// ancestor URN wins; otherwise the first volume.
fn index_members(volumes: &[Volume], g: &Graph) -> BTreeMap<String, (usize, usize)> {
    let mut members: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (vi, v) in volumes.iter().enumerate() {
        for (ei, e) in v.archive.entries().iter().enumerate() {
            let u = urn::urn_for_member_name(&e.name, &v.urn);
            match members.get(&u) {
                Some(&(prev, _)) if !prefers(g, volumes, &u, vi, prev) => {}
                _ => {
                    members.insert(u, (vi, ei));
                }
            }
        }
    }
    members
}

/// Whether volume `new` should replace volume `old` as the holder of `member_urn`.
fn prefers(g: &Graph, volumes: &[Volume], member_urn: &str, new: usize, old: usize) -> bool {
    let mut at = member_urn;
    loop {
        let stored = g.objects(at, lx::STORED);
        let names = |i: usize| {
            volumes
                .get(i)
                .is_some_and(|v| stored.iter().any(|t| t.as_iri() == Some(v.urn.as_str())))
        };
        if !stored.is_empty() {
            return names(new) && !names(old);
        }
        match at.rsplit_once('/') {
            Some((parent, _)) if parent.len() > "aff4://".len() => at = parent,
            _ => return false,
        }
    }
}

/// Stored `aff4:hash` values of `s` as (algorithm name or datatype local name, hex).
pub(crate) fn stored_hashes(g: &Graph, s: &str) -> Vec<(String, String)> {
    g.objects(s, lx::HASH)
        .into_iter()
        .filter_map(|t| {
            let dt = t.datatype()?;
            let name = HashAlgo::from_datatype(dt).map_or_else(
                || dt.rsplit(['#', '/']).next().unwrap_or(dt).to_string(),
                |a| a.name().to_string(),
            );
            Some((name, t.as_str()?.to_string()))
        })
        .collect()
}

fn image_stream_compression(g: &Graph, s: &str) -> Option<Compression> {
    if !is_image_stream(g, s) {
        return None;
    }
    ["compressionMethod", "CompressionMethod", "compression"]
        .iter()
        .find_map(|p| g.object(s, &format!("{}{p}", lx::AFF4)))
        .and_then(|t| t.as_iri().or_else(|| t.as_str()))
        .and_then(|i| Compression::from_iri(i).or_else(|| Compression::from_name(i)))
}

/// The data stream of an image: its aff4:dataStream, preferring a map (a striped
/// image names one map per volume; each of them maps the whole image).
pub(crate) fn data_stream(g: &Graph, image: &str) -> Option<String> {
    let all: Vec<&str> = g
        .objects(image, lx::DATA_STREAM)
        .into_iter()
        .filter_map(Term::as_iri)
        .collect();
    all.iter()
        .find(|d| is_map(g, d))
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
    let int = |names: &[&str], default: u64| -> Result<u64> {
        match get(names) {
            None => Ok(default),
            Some(t) => t.as_u64().ok_or_else(|| {
                Error::corrupt(urn, format!("aff4:{} is not an integer: {t:?}", names[0]))
            }),
        }
    };
    let chunk_size = int(&["chunkSize", "chunk_size"], 32768)?;
    let chunks_in_segment = int(
        &["chunksInSegment", "chunks_in_segment", "chunks_per_segment"],
        1024,
    )?;
    if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
        return Err(Error::corrupt(
            urn,
            format!("aff4:chunkSize {chunk_size} is out of range (1..={MAX_CHUNK_SIZE})"),
        ));
    }
    if chunks_in_segment == 0 || chunks_in_segment > MAX_CHUNKS_IN_SEGMENT {
        return Err(Error::corrupt(
            urn,
            format!(
                "aff4:chunksInSegment {chunks_in_segment} is out of range (1..={MAX_CHUNKS_IN_SEGMENT})"
            ),
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
                .ok_or_else(|| Error::Unsupported {
                    urn: urn.to_string(),
                    what: format!("compression method {s:?}"),
                })?
        }
        None => Compression::Stored,
    };
    let size = g
        .object(urn, lx::SIZE)
        .and_then(Term::as_u64)
        .ok_or_else(|| Error::corrupt(urn, "ImageStream has no (single, integer) aff4:size"))?;
    Ok(ImageStreamInfo {
        urn: urn.to_string(),
        chunk_size,
        chunks_in_segment,
        size,
        compression,
    })
}

/// Opens `urn`; `chain` holds the maps and images being opened (cycle detection);
/// ImageStreams get a read-ahead window of `read_ahead` bytes (0: none).
pub(crate) fn open_stream(
    res: &Arc<Resolver>,
    urn: &str,
    chain: &mut Vec<String>,
    read_ahead: u64,
) -> Result<Box<dyn Stream>> {
    if let Some(s) = Symbolic::from_iri(urn) {
        return Ok(Box::new(SymbolicStream {
            urn: urn.to_string(),
            sym: s,
            pos: 0,
        }));
    }
    if chain.iter().any(|c| c == urn) {
        chain.push(urn.to_string());
        return Err(Error::MapCycle(chain.join(" -> ")));
    }
    chain.push(urn.to_string());
    let opened = open_typed(res, urn, chain, read_ahead);
    chain.pop();
    opened
}

fn open_typed(
    res: &Arc<Resolver>,
    urn: &str,
    chain: &mut Vec<String>,
    read_ahead: u64,
) -> Result<Box<dyn Stream>> {
    let g = &res.graph;
    if is_map(g, urn) {
        let map = Map::load(res, urn)?;
        return Ok(Box::new(MapReader::new(
            map,
            res.clone(),
            chain,
            read_ahead,
        )?));
    }
    if is_image_stream(g, urn) {
        let info = image_stream_info(g, urn)?;
        let mut r = ImageStreamReader::new(info, res.clone())?;
        r.set_read_ahead(read_ahead);
        return Ok(Box::new(r));
    }
    if is_image_type(g, urn) || g.has_type(urn, lx::FILE_IMAGE) {
        if let Some(ds) = data_stream(g, urn) {
            let s = open_stream(res, &ds, chain, read_ahead)?;
            let declared = g.object(urn, lx::SIZE).and_then(Term::as_u64);
            if let Some(size) = declared.filter(|&d| s.size() != u64::MAX && s.size() > d) {
                return Err(Error::corrupt(
                    urn,
                    format!(
                        "its data stream {ds} holds {} bytes, more than the image's aff4:size {size}",
                        s.size()
                    ),
                ));
            }
            return Ok(s);
        }
    }
    if res.member_by_urn(urn).is_some() {
        return Ok(Box::new(MemberStream::new(res.clone(), urn)?));
    }
    Err(Error::NotFound(urn.to_string()))
}

/// A ZIP member as a stream (stored: positional reads; deflated: inflated on open,
/// at most [`MEMBER_LIMIT`] bytes).
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
        let (mut size, deflated) = (e.compressed_size, e.method == Method::Deflated);
        let inflated = if deflated {
            let data = res.read_member_by_urn(urn, MEMBER_LIMIT)?;
            size = data.len() as u64;
            Some(data)
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
        let Some(dst) = buf.get_mut(..n).filter(|d| !d.is_empty()) else {
            return Ok(0);
        };
        match &self.inflated {
            Some(d) => {
                let src = usize::try_from(self.pos)
                    .ok()
                    .and_then(|p| d.get(p..p + n))
                    .ok_or_else(|| std::io::Error::other("member shorter than its size"))?;
                dst.copy_from_slice(src);
            }
            None => self
                .res
                .read_member_range(&self.urn, self.pos, dst)
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

/// A symbolic stream (unbounded: size `u64::MAX`).
struct SymbolicStream {
    urn: String,
    sym: Symbolic,
    pos: u64,
}

impl Read for SymbolicStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(u64::MAX - self.pos) as usize;
        let dst = buf.get_mut(..n).unwrap_or_default();
        self.sym.fill(self.pos, dst);
        self.pos += n as u64;
        Ok(n)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_txt_parses_major_minor_tool() {
        let (tool, v) = parse_version("major=1\nminor=0\ntool=Evimetry 2.2.0\n");
        assert_eq!(tool.as_deref(), Some("Evimetry 2.2.0"));
        assert_eq!(v.as_deref(), Some("1.0"));
        assert_eq!(parse_version("garbage").1, None);
    }

    #[test]
    fn seeking_before_the_start_is_an_error() {
        assert!(seek_to(5, 10, SeekFrom::Current(-6)).is_err());
        assert_eq!(seek_to(5, 10, SeekFrom::End(-1)).unwrap(), 9);
        assert_eq!(seek_to(5, 10, SeekFrom::Start(20)).unwrap(), 20);
    }

    #[test]
    fn symbolic_stream_reads_its_pattern_and_is_unbounded() {
        let mut s = SymbolicStream {
            urn: "http://aff4.org/Schema#SymbolicStream61".into(),
            sym: Symbolic::Byte(0x61),
            pos: 0,
        };
        let mut b = [0u8; 4];
        s.seek(SeekFrom::Start(u64::MAX - 2)).unwrap();
        assert_eq!(s.read(&mut b).unwrap(), 2);
        assert_eq!(&b[..2], b"aa");
        assert_eq!(s.size(), u64::MAX);
    }
}
