//! Writing whole volumes: memory images (AFF4-FORMAT.md §9), AFF4-L logical files.
//!
//! Where the hashes live, and why:
//! - The whole-image linear hashes (SHA-256 by default; what an examiner compares with
//!   `sha256sum` of a raw export, holes hashed as zeros and symbolic ranges as their
//!   pattern) are `aff4:hash` values on the **aff4:Map** `<vol>/PhysicalMemory`: the Map
//!   *is* the virtual image's byte sequence. They are not put on the aff4:Image because
//!   pyaff4 0.34's validator crashes on an Image that carries linear hashes without
//!   block-map hashes (AFF4-FORMAT.md §6.3), and no `aff4:dependentStream` is written for
//!   the same reason.
//! - Logical files carry MD5, SHA-1 and SHA-256 of their bytes on their aff4:FileImage,
//!   as pyaff4's LinearHasher expects.

use crate::hash::{HashAlgo, MultiHasher};
use crate::lexicon as lx;
use crate::map::MapWriter;
use crate::rdf::{Graph, Term};
use crate::stream::ImageStreamWriter;
pub use crate::stream::StreamOptions;
use crate::symbolic::Symbolic;
use crate::zip::ZipWriter;
use crate::{urn, Error, Result};
use std::io::{Read, Write};
use std::time::SystemTime;

/// Files up to this size become deflated ZIP members (aff4:ZipSegment); larger ones
/// ImageStreams.
pub const SMALL_FILE: u64 = 4 << 20;

/// Optional facts about a logical file.
#[derive(Debug, Clone, Default)]
pub struct LogicalFileMeta {
    /// Modification time.
    pub last_written: Option<SystemTime>,
    /// Access time.
    pub last_accessed: Option<SystemTime>,
}

/// What a finished memory image holds.
#[derive(Debug, Clone)]
pub struct ImageSummary {
    /// The image URN.
    pub image_urn: String,
    /// The map URN.
    pub map_urn: String,
    /// Size of the address space.
    pub size: u64,
    /// Linear hashes of the whole virtual image.
    pub hashes: Vec<(HashAlgo, String)>,
    /// Bytes stored in the ImageStream.
    pub stored_bytes: u64,
    /// Data chunks stored.
    pub chunks: u64,
}

/// Writes an AFF4 volume to a `Write` sink.
pub struct VolumeWriter<W: Write> {
    zip: ZipWriter<W>,
    volume_urn: String,
    graph: Graph,
}

/// A fresh `aff4://<uuid4>` URN (lowercase).
pub fn new_urn() -> String {
    format!("aff4://{}", uuid::Uuid::new_v4())
}

/// RFC 3339 UTC timestamp.
pub fn xsd_datetime(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl<W: Write> VolumeWriter<W> {
    /// Starts a volume with a random URN: writes `container.description` and
    /// `version.txt` (AFF4 1.0, `tool`).
    pub fn new(sink: W, tool: &str) -> Result<Self> {
        let volume_urn = new_urn();
        let mut zip = ZipWriter::new(sink);
        zip.add_stored("container.description", volume_urn.as_bytes())?;
        zip.add_stored(
            "version.txt",
            format!("major=1\nminor=0\ntool={tool}\n").as_bytes(),
        )?;
        let mut graph = Graph::new();
        let v = Term::iri(volume_urn.clone());
        graph.insert(v.clone(), lx::RDF_TYPE, Term::iri(lx::ZIP_VOLUME));
        graph.insert(
            v,
            lx::CREATION_TIME,
            Term::typed(xsd_datetime(SystemTime::now()), lx::XSD_DATETIME),
        );
        Ok(VolumeWriter {
            zip,
            volume_urn,
            graph,
        })
    }

    /// The volume URN.
    pub fn volume_urn(&self) -> &str {
        &self.volume_urn
    }

    /// The metadata written at `finish`; callers add their own triples.
    pub fn graph_mut(&mut self) -> &mut Graph {
        &mut self.graph
    }

    /// Adds a plain stored member (e.g. `PhysicalMemory/information.yaml`).
    pub fn add_member(&mut self, name: &str, data: &[u8]) -> Result<()> {
        self.zip.add_stored(name, data)
    }

    /// Adds a file as an AFF4-L logical image; returns its URN.
    pub fn add_logical_file(
        &mut self,
        original_name: &str,
        data: &mut dyn Read,
        meta: &LogicalFileMeta,
    ) -> Result<String> {
        let clean: String = original_name.chars().filter(|&c| c != '\0').collect();
        let rel = clean.trim_start_matches('/');
        let urn = format!(
            "{}/{}",
            self.volume_urn,
            if rel.is_empty() { "unnamed" } else { rel }
        );
        let mut hasher = MultiHasher::new(&[HashAlgo::Md5, HashAlgo::Sha1, HashAlgo::Sha256]);
        let mut head = Vec::new();
        data.take(SMALL_FILE + 1)
            .read_to_end(&mut head)
            .map_err(|e| Error::io(format!("reading {original_name}"), e))?;
        let s = Term::iri(urn.clone());
        let size;
        if head.len() as u64 <= SMALL_FILE {
            hasher.update(&head);
            size = head.len() as u64;
            self.zip
                .add_deflated(&urn::member_name_for_urn(&urn, &self.volume_urn), &head)?;
            self.graph
                .insert(s.clone(), lx::RDF_TYPE, Term::iri(lx::ZIP_SEGMENT));
        } else {
            let opts = StreamOptions::default();
            let mut w = ImageStreamWriter::new(&urn, &self.volume_urn, opts)?;
            let mut buf = head;
            let cs = 32768usize;
            loop {
                let whole = buf.len() / cs * cs;
                hasher.update(&buf[..whole]);
                w.write(&mut self.zip, &buf[..whole])?;
                buf.drain(..whole);
                let mut more = vec![0u8; 4 << 20];
                let n = read_full(data, &mut more)
                    .map_err(|e| Error::io(format!("reading {original_name}"), e))?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&more[..n]);
            }
            hasher.update(&buf);
            w.write(&mut self.zip, &buf)?;
            let sum = w.finish(&mut self.zip, &mut self.graph, &self.volume_urn)?;
            size = sum.size;
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
        g.insert(s.clone(), lx::STORED, Term::iri(self.volume_urn.clone()));
        for (a, h) in hasher.finish() {
            g.insert(s.clone(), lx::HASH, Term::typed(h, a.datatype()));
        }
        if let Some(t) = meta.last_written {
            g.insert(
                s.clone(),
                &format!("{}lastWritten", lx::AFF4),
                Term::typed(xsd_datetime(t), lx::XSD_DATETIME),
            );
        }
        if let Some(t) = meta.last_accessed {
            g.insert(
                s.clone(),
                &format!("{}lastAccessed", lx::AFF4),
                Term::typed(xsd_datetime(t), lx::XSD_DATETIME),
            );
        }
        self.graph
            .insert(Term::iri(self.volume_urn.clone()), lx::CONTAINS, s);
        Ok(urn)
    }

    /// Starts the memory image: aff4:Image → Map `<vol>/PhysicalMemory` → ImageStream
    /// `<vol>/PhysicalMemory/data`. Image hashes default to SHA-256 when
    /// `opts.linear_hashes` is empty.
    pub fn memory_image(&mut self, opts: StreamOptions) -> Result<MemoryImageWriter<'_, W>> {
        let image_hashes = if opts.linear_hashes.is_empty() {
            vec![HashAlgo::Sha256]
        } else {
            opts.linear_hashes.clone()
        };
        let map_urn = format!("{}/PhysicalMemory", self.volume_urn);
        let data_urn = format!("{map_urn}/data");
        let chunk_size = opts.chunk_size as usize;
        let stream = ImageStreamWriter::new(
            &data_urn,
            &self.volume_urn,
            StreamOptions {
                linear_hashes: Vec::new(),
                ..opts
            },
        )?;
        Ok(MemoryImageWriter {
            vw: self,
            image_urn: new_urn(),
            map: MapWriter::new(&map_urn),
            stream,
            hasher: MultiHasher::new(&image_hashes),
            hashed_to: 0,
            chunk_size,
            scratch: Vec::new(),
            last_end: 0,
        })
    }

    /// Writes `information.turtle`, the central directory and the end records.
    pub fn finish(mut self) -> Result<W> {
        let turtle = self.graph.to_turtle();
        self.zip
            .add_stored("information.turtle", turtle.as_bytes())?;
        self.zip.finish(&self.volume_urn)
    }
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

static ZEROS: [u8; 1 << 16] = [0; 1 << 16];

/// Writes the memory image; ranges arrive in increasing physical order.
pub struct MemoryImageWriter<'a, W: Write> {
    vw: &'a mut VolumeWriter<W>,
    image_urn: String,
    map: MapWriter,
    stream: ImageStreamWriter,
    hasher: MultiHasher,
    hashed_to: u64,
    chunk_size: usize,
    scratch: Vec<u8>,
    last_end: u64,
}

impl<W: Write> MemoryImageWriter<'_, W> {
    /// The aff4:Image URN.
    pub fn image_urn(&self) -> &str {
        &self.image_urn
    }
    /// The Map URN.
    pub fn map_urn(&self) -> &str {
        self.map.urn()
    }
    /// The chunk size.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    fn check_order(&mut self, phys: u64, len: u64) -> Result<()> {
        if phys < self.last_end {
            return Err(Error::InvalidArgument(format!(
                "range at {phys:#x} arrives before {:#x}",
                self.last_end
            )));
        }
        self.hash_zeros_to(phys);
        self.last_end = phys + len;
        Ok(())
    }

    fn hash_zeros_to(&mut self, end: u64) {
        while self.hashed_to < end {
            let n = (end - self.hashed_to).min(ZEROS.len() as u64) as usize;
            self.hasher.update(&ZEROS[..n]);
            self.hashed_to += n as u64;
        }
    }

    /// Adds data at `phys`: `raw` the bytes read (at most one chunk; shorter at the end of
    /// a range), `stored` the encoding of the zero-padded chunk.
    pub fn add_chunk(&mut self, phys: u64, raw: &[u8], stored: &[u8]) -> Result<()> {
        self.check_order(phys, raw.len() as u64)?;
        self.hasher.update(raw);
        self.hashed_to = phys + raw.len() as u64;
        let at = if raw.len() < self.chunk_size {
            // Short piece in the middle of the stream: store it padded, map only `raw`.
            self.scratch.clear();
            self.scratch.extend_from_slice(raw);
            self.scratch.resize(self.chunk_size, 0);
            let padded = std::mem::take(&mut self.scratch);
            let r = self.stream.write_chunk(&mut self.vw.zip, &padded, stored);
            self.scratch = padded;
            r?
        } else {
            self.stream.write_chunk(&mut self.vw.zip, raw, stored)?
        };
        self.map.add(phys, raw.len() as u64, self.stream.urn(), at)
    }

    /// Adds a symbolic range (aff4:Zero for all-zero pages, aff4:UnreadableData, ...).
    pub fn add_symbolic(&mut self, phys: u64, len: u64, s: Symbolic) -> Result<()> {
        self.check_order(phys, len)?;
        if s == Symbolic::Zero {
            self.hash_zeros_to(phys + len);
        } else {
            let mut done = 0;
            while done < len {
                let n = (len - done).min(1 << 20) as usize;
                self.scratch.resize(n, 0);
                s.fill(phys + done, &mut self.scratch[..n]);
                self.hasher.update(&self.scratch[..n]);
                done += n as u64;
            }
            self.hashed_to = phys + len;
        }
        self.map.add_symbolic(phys, len, s)
    }

    /// Finishes the stream and the map and records the image's metadata. `total_size` is
    /// the size of the physical address space (end of the last RAM range or more).
    pub fn finish(mut self, total_size: u64) -> Result<ImageSummary> {
        let size = total_size.max(self.map.end());
        self.hash_zeros_to(size);
        let vol = self.vw.volume_urn.clone();
        let sum = self
            .stream
            .finish(&mut self.vw.zip, &mut self.vw.graph, &vol)?;
        let map_urn = self.map.urn().to_string();
        self.map.finish(&mut self.vw.zip, &vol)?;
        let hashes = self.hasher.finish();
        let g = &mut self.vw.graph;
        let (img, map, data) = (
            Term::iri(self.image_urn.clone()),
            Term::iri(map_urn.clone()),
            Term::iri(sum.urn.clone()),
        );
        let long = |v: u64| Term::typed(v.to_string(), lx::XSD_LONG);
        g.insert(img.clone(), lx::RDF_TYPE, Term::iri(lx::IMAGE));
        g.insert(img.clone(), lx::RDF_TYPE, Term::iri(lx::MEMORY_IMAGE));
        g.insert(img.clone(), lx::DATA_STREAM, map.clone());
        g.insert(img.clone(), lx::SIZE, long(size));
        g.insert(img.clone(), lx::STORED, Term::iri(vol.clone()));
        g.insert(map.clone(), lx::RDF_TYPE, Term::iri(lx::MAP));
        g.insert(map.clone(), lx::CATEGORY, Term::iri(lx::MEMORY_PHYSICAL));
        g.insert(map.clone(), lx::SIZE, long(size));
        g.insert(map.clone(), lx::STORED, Term::iri(vol.clone()));
        g.insert(map.clone(), lx::TARGET, img.clone());
        for (a, h) in &hashes {
            g.insert(map.clone(), lx::HASH, Term::typed(h.clone(), a.datatype()));
        }
        g.insert(data, lx::TARGET, map);
        g.insert(Term::iri(vol.clone()), lx::CONTAINS, img);
        Ok(ImageSummary {
            image_urn: self.image_urn,
            map_urn,
            size,
            hashes,
            stored_bytes: sum.stored_bytes,
            chunks: sum.chunks,
        })
    }
}
