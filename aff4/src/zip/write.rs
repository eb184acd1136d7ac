//! Writing a ZIP64 volume to a plain `Write` sink (no seeking); the profile of
//! AFF4-FORMAT.md §9 item 1.

use super::format::*;
use crate::{Error, Result};
use std::io::Write;

/// "Version needed": 4.5, ZIP64.
const VERSION_ZIP64: u16 = 45;
/// "Version made by": Unix, 4.5 (so the external attributes are Unix modes).
const MADE_BY_UNIX: u16 = 0x0300 | VERSION_ZIP64;
/// General purpose flag bit 11: the name is UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
/// General purpose flag bit 3: sizes and CRC follow the data in a descriptor.
const FLAG_DESCRIPTOR: u16 = 1 << 3;
/// DOS time 12:00:00 and date 2026-01-01: a valid fixed stamp (member times carry no
/// evidence; the acquisition time is in the RDF).
const DOS_TIME: u16 = 12 << 11;
const DOS_DATE: u16 = ((2026 - 1980) << 9) | (1 << 5) | 1;
/// External attributes: regular file, mode 0644.
const EXTERNAL_ATTRS: u32 = 0o100_644 << 16;

/// What the central directory needs to know about a written member.
struct CdEntry {
    name: String,
    method: u16,
    flags: u16,
    crc: u32,
    csize: u64,
    usize: u64,
    lho: u64,
}

impl CdEntry {
    /// Whether any value needs the ZIP64 extra.
    fn needs_zip64(&self) -> bool {
        let max = u64::from(SATURATED32);
        self.csize >= max || self.usize >= max || self.lho >= max
    }

    /// The central directory header: when ZIP64 is needed at all, all three 32-bit
    /// fields are 0xFFFFFFFF and the extra holds all three u64 values, because c-aff4
    /// only reads the extra when the offset is saturated (AFF4-FORMAT.md §1.2).
    fn header(&self) -> Vec<u8> {
        let big = self.needs_zip64();
        let small = |v: u64| if big { SATURATED32 } else { v as u32 };
        let mut h = Vec::with_capacity(CD_LEN + self.name.len() + 28);
        put32(&mut h, CD_SIG);
        put16(&mut h, MADE_BY_UNIX);
        put16(&mut h, VERSION_ZIP64);
        put16(&mut h, self.flags);
        put16(&mut h, self.method);
        put16(&mut h, DOS_TIME);
        put16(&mut h, DOS_DATE);
        put32(&mut h, self.crc);
        put32(&mut h, small(self.csize));
        put32(&mut h, small(self.usize));
        put16(&mut h, self.name.len() as u16); // checked when the local header was written
        put16(&mut h, if big { 28 } else { 0 });
        put16(&mut h, 0); // comment length
        put16(&mut h, 0); // disk number
        put16(&mut h, 0); // internal attributes
        put32(&mut h, EXTERNAL_ATTRS);
        put32(&mut h, small(self.lho));
        h.extend_from_slice(self.name.as_bytes());
        if big {
            put16(&mut h, ZIP64_EXTRA_ID);
            put16(&mut h, 24);
            put64(&mut h, self.usize);
            put64(&mut h, self.csize);
            put64(&mut h, self.lho);
        }
        h
    }
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn io_err(what: &str, e: std::io::Error) -> Error {
    Error::io(format!("writing {what}"), e)
}

/// The local header of a member. With known sizes below 4 GiB it carries them; with
/// larger known sizes, or a descriptor to follow (`sizes == None`), the 32-bit sizes are
/// 0xFFFFFFFF and a ZIP64 extra holds the real sizes, or zeros as Evimetry writes.
fn local_header(name: &str, method: u16, crc: u32, sizes: Option<(u64, u64)>) -> Result<Vec<u8>> {
    let name_len = u16::try_from(name.len()).map_err(|_| {
        Error::InvalidArgument(format!("member name of {} bytes is too long", name.len()))
    })?;
    let max = u64::from(SATURATED32);
    let big = sizes.map_or(true, |(c, u)| c >= max || u >= max);
    let flags = FLAG_UTF8 | if sizes.is_none() { FLAG_DESCRIPTOR } else { 0 };
    let (csize, usize) = sizes.unwrap_or((0, 0));
    let mut h = Vec::with_capacity(LOCAL_LEN as usize + name.len() + 20);
    put32(&mut h, LOCAL_SIG);
    put16(&mut h, VERSION_ZIP64);
    put16(&mut h, flags);
    put16(&mut h, method);
    put16(&mut h, DOS_TIME);
    put16(&mut h, DOS_DATE);
    put32(&mut h, crc);
    put32(&mut h, if big { SATURATED32 } else { csize as u32 });
    put32(&mut h, if big { SATURATED32 } else { usize as u32 });
    put16(&mut h, name_len);
    put16(&mut h, if big { 20 } else { 0 });
    h.extend_from_slice(name.as_bytes());
    if big {
        put16(&mut h, ZIP64_EXTRA_ID);
        put16(&mut h, 16);
        put64(&mut h, usize);
        put64(&mut h, csize);
    }
    Ok(h)
}

/// ZIP64 EOCD record, ZIP64 locator and EOCD for `n` entries whose directory of
/// `cd_size` bytes starts at `cd_start` (AFF4-FORMAT.md §9 item 1).
fn end_records(n: u64, cd_start: u64, cd_size: u64, comment: &[u8]) -> Vec<u8> {
    let z64_pos = cd_start + cd_size;
    let n16 = n.min(0xFFFF) as u16;
    let mut r = Vec::with_capacity((Z64_EOCD_LEN + LOCATOR_LEN + EOCD_LEN) as usize + 64);
    put32(&mut r, Z64_EOCD_SIG);
    put64(&mut r, Z64_EOCD_LEN - 12); // size of the rest of the record: 44
    put16(&mut r, MADE_BY_UNIX);
    put16(&mut r, VERSION_ZIP64);
    put32(&mut r, 0); // this disk
    put32(&mut r, 0); // disk with the CD
    put64(&mut r, n);
    put64(&mut r, n);
    put64(&mut r, cd_size);
    put64(&mut r, cd_start);
    put32(&mut r, Z64_LOCATOR_SIG);
    put32(&mut r, 0); // disk with the ZIP64 record
    put64(&mut r, z64_pos);
    put32(&mut r, 1); // total disks
    put32(&mut r, EOCD_SIG);
    put16(&mut r, 0);
    put16(&mut r, 0);
    put16(&mut r, n16);
    put16(&mut r, n16);
    put32(&mut r, SATURATED32);
    put32(&mut r, SATURATED32);
    put16(&mut r, comment.len() as u16); // checked by the caller
    r.extend_from_slice(comment);
    r
}

/// An append-only ZIP64 writer. Members are written one after another; `finish` writes
/// the central directory, the ZIP64 end records and the EOCD with the comment.
pub struct ZipWriter<W: Write> {
    inner: W,
    pos: u64,
    entries: Vec<CdEntry>,
}

impl<W: Write> ZipWriter<W> {
    /// Starts a volume at offset 0 of `inner`.
    pub fn new(inner: W) -> Self {
        Self::new_at(inner, 0)
    }

    /// Starts a volume in a sink that already holds `offset` bytes (appending after
    /// other data, or writing past a sparse hole). Offsets in the volume are absolute,
    /// so readers find the members without a global offset.
    pub fn new_at(inner: W, offset: u64) -> Self {
        ZipWriter {
            inner,
            pos: offset,
            entries: Vec::new(),
        }
    }

    /// Bytes written so far (including the `offset` given to [`ZipWriter::new_at`]).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The number of members written so far (duplicates counted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no member was written yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Flushes the sink (so a journal record reaches the file before more data).
    ///
    /// # Errors
    /// [`Error::Io`] on write errors.
    pub fn flush(&mut self) -> Result<()> {
        self.inner.flush().map_err(|e| io_err("volume", e))
    }

    fn put(&mut self, b: &[u8], what: &str) -> Result<()> {
        self.inner.write_all(b).map_err(|e| io_err(what, e))?;
        self.pos += b.len() as u64;
        Ok(())
    }

    fn add(&mut self, name: &str, method: u16, data: &[u8], crc: u32, usize: u64) -> Result<()> {
        let csize = data.len() as u64;
        let header = local_header(name, method, crc, Some((csize, usize)))?;
        let lho = self.pos;
        self.put(&header, name)?;
        self.put(data, name)?;
        let (name, flags) = (name.to_string(), FLAG_UTF8);
        self.entries.push(CdEntry {
            name,
            method,
            flags,
            crc,
            csize,
            usize,
            lho,
        });
        Ok(())
    }

    /// Adds a stored member whose bytes are all known.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a name over 65535 bytes; [`Error::Io`] on write
    /// errors.
    pub fn add_stored(&mut self, name: &str, data: &[u8]) -> Result<()> {
        self.add(
            name,
            METHOD_STORED,
            data,
            crc32fast::hash(data),
            data.len() as u64,
        )
    }

    /// Adds a deflated member whose bytes are all known.
    ///
    /// # Errors
    /// As [`ZipWriter::add_stored`].
    pub fn add_deflated(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).map_err(|err| io_err(name, err))?;
        let c = e.finish().map_err(|err| io_err(name, err))?;
        self.add(
            name,
            METHOD_DEFLATED,
            &c,
            crc32fast::hash(data),
            data.len() as u64,
        )
    }

    /// Adds a deflated member whose bytes `fill` writes (only the compressed bytes are
    /// held in memory: a long run of zeros costs little).
    ///
    /// # Errors
    /// As [`ZipWriter::add_stored`]; an error `fill` returns.
    pub fn add_deflated_with(
        &mut self,
        name: &str,
        fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        struct Counted {
            enc: flate2::write::DeflateEncoder<Vec<u8>>,
            crc: crc32fast::Hasher,
            len: u64,
        }
        impl Write for Counted {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                let n = self.enc.write(b)?;
                self.crc.update(&b[..n]);
                self.len += n as u64;
                Ok(n)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                self.enc.flush()
            }
        }
        let mut c = Counted {
            enc: flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default()),
            crc: crc32fast::Hasher::new(),
            len: 0,
        };
        fill(&mut c).map_err(|err| io_err(name, err))?;
        let data = c.enc.finish().map_err(|err| io_err(name, err))?;
        self.add(name, METHOD_DEFLATED, &data, c.crc.finalize(), c.len)
    }

    /// Starts a stored member of unknown length (written with a ZIP64 data descriptor).
    /// If the returned member is dropped without [`StreamingMember::finish`], its bytes
    /// stay in the file but no directory entry points at them.
    ///
    /// # Errors
    /// As [`ZipWriter::add_stored`].
    pub fn start_stored(&mut self, name: &str) -> Result<StreamingMember<'_, W>> {
        let header = local_header(name, METHOD_STORED, 0, None)?;
        let lho = self.pos;
        self.put(&header, name)?;
        let name = name.to_string();
        Ok(StreamingMember {
            zip: self,
            name,
            lho,
            len: 0,
            crc: crc32fast::Hasher::new(),
        })
    }

    /// Writes the central directory and end records; returns the sink.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a comment over 65535 bytes; [`Error::Io`] on write
    /// errors.
    pub fn finish(mut self, comment: &str) -> Result<W> {
        if comment.len() > 0xFFFF {
            return Err(Error::InvalidArgument(format!(
                "volume comment of {} bytes is too long",
                comment.len()
            )));
        }
        let cd_start = self.pos;
        let entries = std::mem::take(&mut self.entries);
        for e in &entries {
            self.put(&e.header(), "central directory")?;
        }
        let cd_size = self.pos - cd_start;
        let end = end_records(entries.len() as u64, cd_start, cd_size, comment.as_bytes());
        self.put(&end, "end of central directory")?;
        self.inner.flush().map_err(|e| io_err("volume", e))?;
        Ok(self.inner)
    }
}

/// A member being written; `Write` appends to it, [`StreamingMember::finish`] closes it.
pub struct StreamingMember<'a, W: Write> {
    zip: &'a mut ZipWriter<W>,
    name: String,
    lho: u64,
    len: u64,
    crc: crc32fast::Hasher,
}

impl<W: Write> StreamingMember<'_, W> {
    /// Bytes written into this member so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written into this member yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes the data descriptor and records the member in the directory.
    ///
    /// # Errors
    /// [`Error::Io`] on write errors.
    pub fn finish(self) -> Result<()> {
        let crc = self.crc.finalize();
        let mut d = Vec::with_capacity(24);
        put32(&mut d, DESCRIPTOR_SIG);
        put32(&mut d, crc);
        put64(&mut d, self.len); // compressed
        put64(&mut d, self.len); // uncompressed
        self.zip.put(&d, &self.name)?;
        self.zip.entries.push(CdEntry {
            name: self.name,
            method: METHOD_STORED,
            flags: FLAG_UTF8 | FLAG_DESCRIPTOR,
            crc,
            csize: self.len,
            usize: self.len,
            lho: self.lho,
        });
        Ok(())
    }
}

impl<W: Write> Write for StreamingMember<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.zip.inner.write(buf)?;
        let written = buf.get(..n).unwrap_or(buf);
        self.zip.pos += written.len() as u64;
        self.len += written.len() as u64;
        self.crc.update(written);
        Ok(written.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.zip.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::super::ZipArchive;
    use super::*;

    #[test]
    fn round_trip_stored_deflated_streamed() {
        let mut z = ZipWriter::new(Vec::new());
        z.add_stored("container.description", b"aff4://x").unwrap();
        z.add_deflated("information.turtle", &b"hello world ".repeat(100))
            .unwrap();
        let mut m = z.start_stored("a/00000000").unwrap();
        m.write_all(&[7u8; 5000]).unwrap();
        assert_eq!(m.len(), 5000);
        m.finish().unwrap();
        z.add_stored("dup", b"one").unwrap();
        z.add_stored("dup", b"two").unwrap();
        assert_eq!(z.len(), 5);
        let bytes = z.finish("aff4://x").unwrap();
        let a = ZipArchive::parse(&bytes).unwrap();
        assert_eq!(a.comment(), "aff4://x");
        assert_eq!(a.entries().len(), 4);
        let turtle = a
            .read_member(&bytes, "information.turtle", 1 << 20)
            .unwrap();
        assert_eq!(turtle, b"hello world ".repeat(100));
        assert_eq!(
            a.read_member(&bytes, "a/00000000", 1 << 20).unwrap(),
            vec![7u8; 5000]
        );
        assert_eq!(a.read_member(&bytes, "dup", 10).unwrap(), b"two");
        assert!(a.read_member(&bytes, "information.turtle", 10).is_err());
    }

    #[test]
    fn end_records_have_the_recommended_layout() {
        let mut z = ZipWriter::new(Vec::new());
        z.add_stored("m", b"abc").unwrap();
        let b = z.finish("aff4://v").unwrap();
        let eocd = b.len() - 22 - 8;
        assert_eq!(&b[eocd..eocd + 4], b"PK\x05\x06");
        assert_eq!(&b[eocd + 12..eocd + 20], &[0xFF; 8]);
        assert_eq!(&b[eocd + 22..], b"aff4://v");
        assert_eq!(&b[eocd - 20..eocd - 16], b"PK\x06\x07");
        assert_eq!(&b[eocd - 76..eocd - 72], b"PK\x06\x06");
        assert_eq!(b[eocd - 72], 44);
    }

    #[test]
    fn overlong_names_and_comments_are_rejected() {
        let mut z = ZipWriter::new(Vec::new());
        let long = "n".repeat(70_000);
        assert!(matches!(
            z.add_stored(&long, b""),
            Err(Error::InvalidArgument(_))
        ));
        assert!(z.start_stored(&long).is_err());
        assert!(matches!(z.finish(&long), Err(Error::InvalidArgument(_))));
    }
}
