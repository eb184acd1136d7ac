//! `pmem_aff4._native`: the Python face of the `aff4` format library.
//!
//! The Python package (`pmem_aff4/__init__.py`) re-exports these classes; its
//! docstrings are the user documentation. Rules kept here:
//! - every library error becomes a typed Python exception ([`to_py_err`]), never a panic;
//! - reads release the GIL ([`Python::detach`]) and are safe from several threads: an
//!   [`Reader`] keeps a small pool of independent stream handles, so threads decode
//!   chunks in parallel instead of queueing on one cursor.

use aff4::map::{Map, RangeKind};
use aff4::symbolic::Symbolic;
use aff4::volume::{stream_error, Stream, VolumeSet};
use aff4::Error;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

pyo3::create_exception!(
    _native,
    Aff4Error,
    PyException,
    "Base of every pmem_aff4 error."
);
pyo3::create_exception!(
    _native,
    Aff4IOError,
    Aff4Error,
    "Reading a volume file failed (the OS error is in the message)."
);
pyo3::create_exception!(
    _native,
    ZipError,
    Aff4Error,
    "The ZIP/ZIP64 container structure is missing or corrupt."
);
pyo3::create_exception!(
    _native,
    MissingMemberError,
    Aff4Error,
    "A ZIP member the metadata refers to is not in the volume."
);
pyo3::create_exception!(
    _native,
    RdfError,
    Aff4Error,
    "information.turtle could not be parsed."
);
pyo3::create_exception!(
    _native,
    CorruptError,
    Aff4Error,
    "An AFF4 object's data or metadata is inconsistent or out of bounds."
);
pyo3::create_exception!(
    _native,
    UnsupportedError,
    Aff4Error,
    "The volume uses a feature this library does not implement."
);
pyo3::create_exception!(
    _native,
    NotFoundError,
    Aff4Error,
    "No AFF4 object with that URN or name in the volume(s)."
);
pyo3::create_exception!(
    _native,
    MapCycleError,
    Aff4Error,
    "aff4:Map objects refer to each other in a cycle."
);
pyo3::create_exception!(
    _native,
    InvalidArgumentError,
    Aff4Error,
    "An invalid argument (e.g. no volume given)."
);

/// The typed Python exception for a library error.
fn to_py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Io { .. } => Aff4IOError::new_err(msg),
        Error::Zip(_) => ZipError::new_err(msg),
        Error::MissingMember(_) => MissingMemberError::new_err(msg),
        Error::Rdf(_) => RdfError::new_err(msg),
        Error::Corrupt { .. } => CorruptError::new_err(msg),
        Error::Unsupported { .. } => UnsupportedError::new_err(msg),
        Error::NotFound(_) => NotFoundError::new_err(msg),
        Error::MapCycle(_) => MapCycleError::new_err(msg),
        Error::InvalidArgument(_) => InvalidArgumentError::new_err(msg),
        _ => Aff4Error::new_err(msg),
    }
}

/// Stream handles kept per reader: enough for a thread pool on a laptop.
const POOL_KEEP: usize = 16;

/// Positional reads of one stream from any thread: each read borrows a handle from the
/// pool (opening another when all are busy) and gives it back.
struct Reader {
    set: VolumeSet,
    urn: String,
    size: u64,
    pool: Mutex<Vec<Box<dyn Stream>>>,
}

impl Reader {
    fn open(set: &VolumeSet, urn: &str) -> Result<Self, Error> {
        let first = set.open_stream(urn)?;
        Ok(Reader {
            set: set.clone(),
            urn: urn.to_string(),
            size: first.size(),
            pool: Mutex::new(vec![first]),
        })
    }

    fn take(&self) -> Result<Box<dyn Stream>, Error> {
        let pooled = self.pool.lock().map(|mut p| p.pop()).unwrap_or(None);
        match pooled {
            Some(s) => Ok(s),
            None => self.set.open_stream(&self.urn),
        }
    }

    fn give_back(&self, s: Box<dyn Stream>) {
        if let Ok(mut p) = self.pool.lock() {
            if p.len() < POOL_KEEP {
                p.push(s);
            }
        }
    }

    /// How many bytes a read of `len` at `offset` returns (short at the end).
    fn clamp(&self, offset: u64, len: u64) -> u64 {
        len.min(self.size.saturating_sub(offset))
    }

    /// Fills `buf` (already clamped to the stream) from `offset`.
    fn read_into(&self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        if buf.is_empty() {
            return Ok(());
        }
        let mut s = self.take()?;
        let ctx = || format!("reading {} at {offset:#x}", self.urn);
        s.seek(SeekFrom::Start(offset))
            .map_err(|e| stream_error(e, &ctx()))?;
        s.read_exact(buf).map_err(|e| stream_error(e, &ctx()))?;
        // A handle is returned only after a clean read.
        self.give_back(s);
        Ok(())
    }

    /// `read(offset, length)` for Python: a bytes object filled with the GIL released.
    fn read_py<'py>(
        &self,
        py: Python<'py>,
        offset: u64,
        length: u64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let n = usize::try_from(self.clamp(offset, length))
            .map_err(|_| PyValueError::new_err("read length does not fit in memory"))?;
        PyBytes::new_with(py, n, |buf| {
            py.detach(|| self.read_into(offset, buf)).map_err(to_py_err)
        })
    }
}

/// The kind name of a map range: data, zero, unreadable, unknown, pattern or hole.
fn kind_name(k: &RangeKind) -> &'static str {
    match k {
        RangeKind::Hole => "hole",
        RangeKind::Data { .. } => "data",
        RangeKind::Symbolic(Symbolic::Zero, _) => "zero",
        RangeKind::Symbolic(Symbolic::UnreadableData, _) => "unreadable",
        RangeKind::Symbolic(Symbolic::UnknownData, _) => "unknown",
        RangeKind::Symbolic(_, _) => "pattern",
    }
}

/// One range of an image's address space.
#[pyclass(frozen, get_all, module = "pmem_aff4")]
#[derive(Clone)]
struct Range {
    /// First address.
    start: u64,
    /// Length in bytes.
    length: u64,
    /// "data", "zero", "unreadable", "unknown", "pattern" (another symbolic stream) or "hole".
    kind: String,
    /// The stream (or symbolic stream IRI) the bytes come from; None for a hole.
    target: Option<String>,
    /// Offset in the target.
    target_offset: Option<u64>,
}

#[pymethods]
impl Range {
    /// One past the last address.
    #[getter]
    fn end(&self) -> u64 {
        self.start + self.length
    }

    fn __repr__(&self) -> String {
        format!(
            "Range(start={:#x}, length={:#x}, kind={:?})",
            self.start, self.length, self.kind
        )
    }
}

fn ranges_of(map: &Map) -> Vec<Range> {
    map.ranges()
        .into_iter()
        .map(|r| {
            let (target, target_offset) = match &r.kind {
                RangeKind::Data {
                    target,
                    target_offset,
                } => (Some(target.clone()), Some(*target_offset)),
                RangeKind::Symbolic(s, off) => (Some(s.iri()), Some(*off)),
                RangeKind::Hole => (None, None),
            };
            Range {
                start: r.start,
                length: r.length,
                kind: kind_name(&r.kind).to_string(),
                target,
                target_offset,
            }
        })
        .collect()
}

/// Stored hashes of `urn` as {algorithm: hex}.
fn hashes_of(set: &VolumeSet, urn: &str) -> Vec<(String, String)> {
    set.objects()
        .into_iter()
        .find(|o| o.urn == urn)
        .map(|o| o.hashes)
        .unwrap_or_default()
}

/// A stream (image, map, ImageStream, logical file, ZIP member) open for positional reads.
#[pyclass(frozen, module = "pmem_aff4")]
struct AffStream {
    reader: Arc<Reader>,
}

#[pymethods]
impl AffStream {
    /// The stream's URN.
    #[getter]
    fn urn(&self) -> &str {
        &self.reader.urn
    }

    /// Size in bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.reader.size
    }

    /// `length` bytes at `offset` (fewer at the end of the stream). Releases the GIL.
    fn read<'py>(
        &self,
        py: Python<'py>,
        offset: u64,
        length: u64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.reader.read_py(py, offset, length)
    }

    /// The whole stream (refused above `limit` bytes, default 1 GiB).
    #[pyo3(signature = (limit = 1 << 30))]
    fn read_all<'py>(&self, py: Python<'py>, limit: u64) -> PyResult<Bound<'py, PyBytes>> {
        if self.reader.size > limit {
            return Err(PyValueError::new_err(format!(
                "{} is {} bytes, above the limit of {limit}: read it in pieces",
                self.reader.urn, self.reader.size
            )));
        }
        self.reader.read_py(py, 0, self.reader.size)
    }

    fn __len__(&self) -> usize {
        usize::try_from(self.reader.size).unwrap_or(usize::MAX)
    }

    fn __repr__(&self) -> String {
        format!("Stream({:?}, size={})", self.reader.urn, self.reader.size)
    }
}

/// A memory or disk image: its address space as typed ranges, and positional reads.
#[pyclass(frozen, module = "pmem_aff4")]
struct Image {
    reader: Arc<Reader>,
    map: Map,
    /// Stored hashes of the image's bytes: on the image, then on its map.
    hashes: Vec<(String, String)>,
}

#[pymethods]
impl Image {
    /// The image's URN.
    #[getter]
    fn urn(&self) -> &str {
        &self.reader.urn
    }

    /// Size of the address space in bytes (one past the highest address).
    #[getter]
    fn size(&self) -> u64 {
        self.reader.size
    }

    /// The URN of the aff4:Map (or single stream) behind the image.
    #[getter]
    fn map_urn(&self) -> &str {
        self.map.urn()
    }

    /// Stored hashes of the image's bytes as {algorithm: hex}: those on the image and on
    /// its map (ours carry `aff4:hash` on the map; Evimetry's a blockMapHashSHA512 on
    /// the image). `Container.verify()` recomputes them.
    #[getter]
    fn hashes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        hash_dict(py, &self.hashes)
    }

    /// Every range from 0 to `size`, in order (holes included).
    fn ranges(&self) -> Vec<Range> {
        ranges_of(&self.map)
    }

    /// `length` bytes at `offset` (fewer at the end). Holes read as zeros, unreadable and
    /// unknown ranges as their AFF4 patterns ("UNREADABLEDATA", "UNKNOWN"): use
    /// `ranges()` to tell them apart. Releases the GIL; safe from several threads.
    fn read<'py>(
        &self,
        py: Python<'py>,
        offset: u64,
        length: u64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.reader.read_py(py, offset, length)
    }

    fn __len__(&self) -> usize {
        usize::try_from(self.reader.size).unwrap_or(usize::MAX)
    }

    fn __repr__(&self) -> String {
        format!("Image({:?}, size={:#x})", self.reader.urn, self.reader.size)
    }
}

/// One opened volume file, or several forming a striped set.
#[pyclass(frozen, module = "pmem_aff4")]
struct Container {
    set: VolumeSet,
}

impl Container {
    fn image_obj(&self, urn: &str) -> Result<Image, Error> {
        let map = self.set.image_map(urn)?;
        let mut hashes = hashes_of(&self.set, urn);
        for h in hashes_of(&self.set, map.urn()) {
            if !hashes.iter().any(|(a, _)| *a == h.0) {
                hashes.push(h);
            }
        }
        Ok(Image {
            reader: Arc::new(Reader::open(&self.set, urn)?),
            map,
            hashes,
        })
    }
}

#[pymethods]
impl Container {
    /// Opens one volume (a path) or a striped/split set (a list of paths).
    #[new]
    fn new(py: Python<'_>, paths: &Bound<'_, PyAny>) -> PyResult<Self> {
        let list: Vec<std::path::PathBuf> = match paths.extract::<std::path::PathBuf>() {
            Ok(p) => vec![p],
            Err(_) => paths.extract()?,
        };
        let set = py.detach(|| VolumeSet::open(&list)).map_err(to_py_err)?;
        Ok(Container { set })
    }

    /// The volumes: list of {"urn", "path", "tool", "version"}.
    #[getter]
    fn volumes<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.set
            .volumes()
            .iter()
            .map(|v| {
                let d = PyDict::new(py);
                d.set_item("urn", &v.urn)?;
                d.set_item("path", v.path.display().to_string())?;
                d.set_item("tool", &v.tool)?;
                d.set_item("version", &v.version)?;
                Ok(d)
            })
            .collect()
    }

    /// URNs of the memory/disk images (aff4:Image objects that are not logical files),
    /// the primary one first.
    fn image_urns(&self) -> Vec<String> {
        let primary = self.set.primary_image();
        let g = self.set.graph();
        let mut out: Vec<String> = primary.iter().cloned().collect();
        for s in g.subjects_of_type(aff4::lexicon::IMAGE) {
            if !self.set.is_logical(s) && primary.as_deref() != Some(s) {
                out.push(s.to_string());
            }
        }
        out
    }

    /// An image by URN; without one, the primary image (NotFoundError if there is none).
    #[pyo3(signature = (urn = None))]
    fn image(&self, py: Python<'_>, urn: Option<String>) -> PyResult<Image> {
        let urn = match urn.or_else(|| self.set.primary_image()) {
            Some(u) => u,
            None => {
                return Err(NotFoundError::new_err(
                    "the container holds no aff4:Image (memory or disk image)",
                ))
            }
        };
        py.detach(|| self.image_obj(&urn)).map_err(to_py_err)
    }

    /// Every image (see `image_urns`).
    fn images(&self, py: Python<'_>) -> PyResult<Vec<Image>> {
        self.image_urns()
            .iter()
            .map(|u| py.detach(|| self.image_obj(u)).map_err(to_py_err))
            .collect()
    }

    /// Opens any object (image, map, ImageStream, logical file, member) by URN.
    fn open(&self, py: Python<'_>, urn: &str) -> PyResult<AffStream> {
        let reader = py
            .detach(|| Reader::open(&self.set, urn))
            .map_err(to_py_err)?;
        Ok(AffStream {
            reader: Arc::new(reader),
        })
    }

    /// A whole ZIP member by URN or member name (at most 1 GiB).
    fn member<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyBytes>> {
        let data = py.detach(|| self.set.member(name)).map_err(to_py_err)?;
        Ok(PyBytes::new(py, &data))
    }

    /// Every described object and unowned member: list of dicts with "urn", "kind",
    /// "types", "size", "stored_size", "compression", "category", "hashes", "name".
    fn objects<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.set
            .objects()
            .into_iter()
            .map(|o| {
                let d = PyDict::new(py);
                d.set_item("urn", &o.urn)?;
                d.set_item("kind", format!("{:?}", o.kind))?;
                d.set_item("types", &o.types)?;
                d.set_item("size", o.size)?;
                d.set_item("stored_size", o.stored_size)?;
                d.set_item("compression", o.compression.map(|c| c.name()))?;
                d.set_item("category", &o.category)?;
                d.set_item("hashes", hash_dict(py, &o.hashes)?)?;
                d.set_item("name", &o.original_name)?;
                Ok(d)
            })
            .collect()
    }

    /// Logical files (AFF4-L and c-aff4): list of dicts with "urn", "name" (as stored:
    /// untrusted), "size", "hashes", "times", "backing". Open one with `open(urn)`.
    fn logical_files<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let files = py
            .detach(|| aff4::logical::list(&self.set))
            .map_err(to_py_err)?;
        files
            .into_iter()
            .map(|f| {
                let d = PyDict::new(py);
                d.set_item("urn", &f.urn)?;
                d.set_item("name", &f.name)?;
                d.set_item("size", f.size)?;
                d.set_item("hashes", hash_dict(py, &f.hashes)?)?;
                let times = PyDict::new(py);
                for (k, v) in &f.times {
                    times.set_item(k, v)?;
                }
                d.set_item("times", times)?;
                d.set_item("backing", format!("{:?}", f.backing))?;
                Ok(d)
            })
            .collect()
    }

    /// The merged metadata of every volume as Turtle text.
    fn turtle(&self) -> String {
        self.set.graph().to_turtle()
    }

    /// The metadata of one subject: list of (predicate IRI, value, datatype IRI or None).
    fn properties(&self, urn: &str) -> Vec<(String, String, Option<String>)> {
        use aff4::rdf::Term;
        self.set
            .graph()
            .iter()
            .filter(|t| matches!(&t.s, Term::Iri(s) if s == urn))
            .map(|t| {
                let (v, dt) = match &t.o {
                    Term::Iri(i) => (i.clone(), None),
                    Term::Blank(b) => (format!("_:{b}"), None),
                    Term::Literal(l) => (l.lexical.clone(), l.datatype.clone()),
                };
                (t.p.clone(), v, dt)
            })
            .collect()
    }

    /// Stored hashes of an object as {algorithm: hex} (the primary image's by default).
    #[pyo3(signature = (urn = None))]
    fn hashes<'py>(&self, py: Python<'py>, urn: Option<String>) -> PyResult<Bound<'py, PyDict>> {
        let urn = urn.or_else(|| self.set.primary_image()).unwrap_or_default();
        hash_dict(py, &hashes_of(&self.set, &urn))
    }

    /// The image's VMCOREINFO note (`pmem:vmcoreinfo`) as {KEY: value}; None when the
    /// container has none (imports of dumps, non-Linux hosts).
    #[pyo3(signature = (urn = None))]
    fn vmcoreinfo<'py>(
        &self,
        py: Python<'py>,
        urn: Option<String>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(urn) = urn.or_else(|| self.set.primary_image()) else {
            return Ok(None);
        };
        let Some(text) = self
            .set
            .graph()
            .object(&urn, aff4::writer::pmem::VMCOREINFO)
            .and_then(|t| t.as_str())
        else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                if !d.contains(k)? {
                    d.set_item(k, v.trim())?;
                }
            }
        }
        Ok(Some(d))
    }

    /// Recomputes every stored hash (see `pmem-aff4 --verify`). Releases the GIL.
    fn verify(&self, py: Python<'_>) -> PyResult<VerifyReport> {
        let rep = py
            .detach(|| aff4::verify::verify(&self.set))
            .map_err(to_py_err)?;
        Ok(VerifyReport {
            ok: rep.all_ok(),
            summary: rep.summary(),
            checks: rep
                .checks
                .into_iter()
                .map(|c| Check {
                    subject: c.subject,
                    kind: c.kind,
                    algorithm: c.algorithm,
                    status: c.status.name().to_string(),
                    expected: c.expected,
                    actual: c.actual,
                })
                .collect(),
        })
    }

    fn __repr__(&self) -> String {
        let paths: Vec<String> = self
            .set
            .volumes()
            .iter()
            .map(|v| v.path.display().to_string())
            .collect();
        format!("Container({paths:?})")
    }
}

fn hash_dict<'py>(py: Python<'py>, hashes: &[(String, String)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (a, h) in hashes {
        d.set_item(a, h)?;
    }
    Ok(d)
}

/// One hash check of `Container.verify()`.
#[pyclass(frozen, get_all, module = "pmem_aff4")]
#[derive(Clone)]
struct Check {
    /// The object whose hash it is.
    subject: String,
    /// linear, block, blockHashes, mapHash, ... (see `pmem-aff4 --verify`).
    kind: String,
    /// Algorithm name ("-" when there is none).
    algorithm: String,
    /// "ok", "mismatch", "not-present" or "unverifiable".
    status: String,
    /// The stored value.
    expected: Option<String>,
    /// The recomputed value, or why it could not be computed.
    actual: Option<String>,
}

#[pymethods]
impl Check {
    fn __repr__(&self) -> String {
        format!(
            "Check({} {} {} {})",
            self.status, self.kind, self.algorithm, self.subject
        )
    }
}

/// The result of `Container.verify()`.
#[pyclass(frozen, get_all, module = "pmem_aff4")]
struct VerifyReport {
    /// True only if no check mismatched and at least one hash matched.
    ok: bool,
    /// Counts per status, one line.
    summary: String,
    /// Every check.
    checks: Vec<Check>,
}

#[pymethods]
impl VerifyReport {
    fn __bool__(&self) -> bool {
        self.ok
    }
    fn __repr__(&self) -> String {
        format!("VerifyReport(ok={}, {})", self.ok, self.summary)
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Container>()?;
    m.add_class::<Image>()?;
    m.add_class::<AffStream>()?;
    m.add_class::<Range>()?;
    m.add_class::<VerifyReport>()?;
    m.add_class::<Check>()?;
    m.add("Aff4Error", py.get_type::<Aff4Error>())?;
    m.add("Aff4IOError", py.get_type::<Aff4IOError>())?;
    m.add("ZipError", py.get_type::<ZipError>())?;
    m.add("MissingMemberError", py.get_type::<MissingMemberError>())?;
    m.add("RdfError", py.get_type::<RdfError>())?;
    m.add("CorruptError", py.get_type::<CorruptError>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("MapCycleError", py.get_type::<MapCycleError>())?;
    m.add(
        "InvalidArgumentError",
        py.get_type::<InvalidArgumentError>(),
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
