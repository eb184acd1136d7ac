//! Writing a ZIP64 volume to a plain `Write` sink (no seeking).

use crate::{Error, Result};
use std::io::Write;

const VERSION_ZIP64: u16 = 45;
const FLAG_UTF8: u16 = 1 << 11;
const FLAG_DESCRIPTOR: u16 = 1 << 3;
/// DOS date/time of 2026-01-01 00:00 (a valid stamp; member times carry no evidence).
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = ((2026 - 1980) << 9) | (1 << 5) | 1;

struct CdEntry {
    name: String,
    method: u16,
    flags: u16,
    crc: u32,
    csize: u64,
    usize: u64,
    lho: u64,
}

/// An append-only ZIP64 writer. Members are written one after another; `finish` writes
/// the central directory, the ZIP64 end records and the EOCD with the comment.
pub struct ZipWriter<W: Write> {
    inner: W,
    pos: u64,
    entries: Vec<CdEntry>,
}

fn io_err(what: &str, e: std::io::Error) -> Error {
    Error::io(format!("writing {what}"), e)
}

impl<W: Write> ZipWriter<W> {
    /// Starts a volume at offset 0 of `inner`.
    pub fn new(inner: W) -> Self {
        Self::new_at(inner, 0)
    }

    /// Starts a volume in a sink that already holds `offset` bytes (e.g. appending).
    pub fn new_at(inner: W, offset: u64) -> Self {
        ZipWriter {
            inner,
            pos: offset,
            entries: Vec::new(),
        }
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn put(&mut self, b: &[u8], what: &str) -> Result<()> {
        self.inner.write_all(b).map_err(|e| io_err(what, e))?;
        self.pos += b.len() as u64;
        Ok(())
    }

    fn local_header(
        &mut self,
        name: &str,
        method: u16,
        flags: u16,
        crc: u32,
        csize: u64,
        usize: u64,
    ) -> Result<()> {
        let big = csize >= 0xFFFF_FFFF || usize >= 0xFFFF_FFFF || flags & FLAG_DESCRIPTOR != 0;
        let mut h = Vec::with_capacity(30 + name.len() + 20);
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&VERSION_ZIP64.to_le_bytes());
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&method.to_le_bytes());
        h.extend_from_slice(&DOS_TIME.to_le_bytes());
        h.extend_from_slice(&DOS_DATE.to_le_bytes());
        h.extend_from_slice(&crc.to_le_bytes());
        if big {
            h.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
            h.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        } else {
            h.extend_from_slice(&(csize as u32).to_le_bytes());
            h.extend_from_slice(&(usize as u32).to_le_bytes());
        }
        let name_len = u16::try_from(name.len())
            .map_err(|_| Error::InvalidArgument(format!("member name too long: {name}")))?;
        h.extend_from_slice(&name_len.to_le_bytes());
        h.extend_from_slice(&(if big { 20u16 } else { 0 }).to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        if big {
            h.extend_from_slice(&1u16.to_le_bytes());
            h.extend_from_slice(&16u16.to_le_bytes());
            let (u, c) = if flags & FLAG_DESCRIPTOR != 0 {
                (0, 0)
            } else {
                (usize, csize)
            };
            h.extend_from_slice(&u.to_le_bytes());
            h.extend_from_slice(&c.to_le_bytes());
        }
        self.put(&h, name)
    }

    fn add(&mut self, name: &str, method: u16, data: &[u8], crc: u32, usize: u64) -> Result<()> {
        let lho = self.pos;
        self.local_header(name, method, FLAG_UTF8, crc, data.len() as u64, usize)?;
        self.put(data, name)?;
        self.entries.push(CdEntry {
            name: name.to_string(),
            method,
            flags: FLAG_UTF8,
            crc,
            csize: data.len() as u64,
            usize,
            lho,
        });
        Ok(())
    }

    /// Adds a stored member whose bytes are all known.
    pub fn add_stored(&mut self, name: &str, data: &[u8]) -> Result<()> {
        self.add(name, 0, data, crc32fast::hash(data), data.len() as u64)
    }

    /// Adds a deflated member whose bytes are all known.
    pub fn add_deflated(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).map_err(|err| io_err(name, err))?;
        let c = e.finish().map_err(|err| io_err(name, err))?;
        self.add(name, 8, &c, crc32fast::hash(data), data.len() as u64)
    }

    /// Starts a stored member of unknown length (written with a ZIP64 data descriptor).
    pub fn start_stored(&mut self, name: &str) -> Result<StreamingMember<'_, W>> {
        let lho = self.pos;
        self.local_header(name, 0, FLAG_UTF8 | FLAG_DESCRIPTOR, 0, 0, 0)?;
        Ok(StreamingMember {
            zip: self,
            name: name.to_string(),
            lho,
            len: 0,
            crc: crc32fast::Hasher::new(),
        })
    }

    /// Writes the central directory and end records; returns the sink.
    pub fn finish(mut self, comment: &str) -> Result<W> {
        let cd_start = self.pos;
        let entries = std::mem::take(&mut self.entries);
        for e in &entries {
            let big = e.csize >= 0xFFFF_FFFF || e.usize >= 0xFFFF_FFFF || e.lho >= 0xFFFF_FFFF;
            let mut h = Vec::with_capacity(46 + e.name.len() + 28);
            h.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            h.extend_from_slice(&(0x0300u16 | VERSION_ZIP64).to_le_bytes()); // made by: unix
            h.extend_from_slice(&VERSION_ZIP64.to_le_bytes());
            h.extend_from_slice(&e.flags.to_le_bytes());
            h.extend_from_slice(&e.method.to_le_bytes());
            h.extend_from_slice(&DOS_TIME.to_le_bytes());
            h.extend_from_slice(&DOS_DATE.to_le_bytes());
            h.extend_from_slice(&e.crc.to_le_bytes());
            let clamp = |v: u64| if big { 0xFFFF_FFFFu32 } else { v as u32 };
            h.extend_from_slice(&clamp(e.csize).to_le_bytes());
            h.extend_from_slice(&clamp(e.usize).to_le_bytes());
            h.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            h.extend_from_slice(&(if big { 28u16 } else { 0 }).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // comment
            h.extend_from_slice(&0u16.to_le_bytes()); // disk
            h.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
            h.extend_from_slice(&(0o100600u32 << 16).to_le_bytes()); // regular file, 0600
            h.extend_from_slice(&clamp(e.lho).to_le_bytes());
            h.extend_from_slice(e.name.as_bytes());
            if big {
                // All three values, so c-aff4 (which only parses the extra when the
                // offset is 0xFFFFFFFF) and everyone else agree.
                h.extend_from_slice(&1u16.to_le_bytes());
                h.extend_from_slice(&24u16.to_le_bytes());
                h.extend_from_slice(&e.usize.to_le_bytes());
                h.extend_from_slice(&e.csize.to_le_bytes());
                h.extend_from_slice(&e.lho.to_le_bytes());
            }
            self.put(&h, "central directory")?;
        }
        let cd_size = self.pos - cd_start;
        let z64_pos = self.pos;
        let n = entries.len() as u64;
        let mut r = Vec::with_capacity(56 + 20 + 22 + comment.len());
        r.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        r.extend_from_slice(&44u64.to_le_bytes());
        r.extend_from_slice(&(0x0300u16 | VERSION_ZIP64).to_le_bytes());
        r.extend_from_slice(&VERSION_ZIP64.to_le_bytes());
        r.extend_from_slice(&0u32.to_le_bytes());
        r.extend_from_slice(&0u32.to_le_bytes());
        r.extend_from_slice(&n.to_le_bytes());
        r.extend_from_slice(&n.to_le_bytes());
        r.extend_from_slice(&cd_size.to_le_bytes());
        r.extend_from_slice(&cd_start.to_le_bytes());
        r.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        r.extend_from_slice(&0u32.to_le_bytes());
        r.extend_from_slice(&z64_pos.to_le_bytes());
        r.extend_from_slice(&1u32.to_le_bytes());
        r.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        r.extend_from_slice(&0u16.to_le_bytes());
        r.extend_from_slice(&0u16.to_le_bytes());
        let n16 = n.min(0xFFFF) as u16;
        r.extend_from_slice(&n16.to_le_bytes());
        r.extend_from_slice(&n16.to_le_bytes());
        r.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        r.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        let clen = u16::try_from(comment.len())
            .map_err(|_| Error::InvalidArgument("volume comment too long".into()))?;
        r.extend_from_slice(&clen.to_le_bytes());
        r.extend_from_slice(comment.as_bytes());
        self.put(&r, "end of central directory")?;
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
    /// Writes the data descriptor and records the member in the directory.
    pub fn finish(self) -> Result<()> {
        let crc = self.crc.finalize();
        let mut d = Vec::with_capacity(24);
        d.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
        d.extend_from_slice(&crc.to_le_bytes());
        d.extend_from_slice(&self.len.to_le_bytes());
        d.extend_from_slice(&self.len.to_le_bytes());
        self.zip.put(&d, &self.name)?;
        self.zip.entries.push(CdEntry {
            name: self.name,
            method: 0,
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
        self.zip.inner.write_all(buf)?;
        self.zip.pos += buf.len() as u64;
        self.len += buf.len() as u64;
        self.crc.update(buf);
        Ok(buf.len())
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
        m.finish().unwrap();
        z.add_stored("dup", b"one").unwrap();
        z.add_stored("dup", b"two").unwrap();
        let bytes = z.finish("aff4://x").unwrap();
        let a = ZipArchive::parse(&bytes).unwrap();
        assert_eq!(a.comment(), "aff4://x");
        assert_eq!(
            a.read_member(&bytes, "information.turtle", 1 << 20)
                .unwrap(),
            b"hello world ".repeat(100)
        );
        assert_eq!(
            a.read_member(&bytes, "a/00000000", 1 << 20).unwrap(),
            vec![7u8; 5000]
        );
        assert_eq!(a.read_member(&bytes, "dup", 10).unwrap(), b"two");
        assert!(a.read_member(&bytes, "information.turtle", 10).is_err());
    }

    #[test]
    fn truncation_at_any_point_is_an_error_not_a_panic() {
        let mut z = ZipWriter::new(Vec::new());
        z.add_stored("m", &[1u8; 300]).unwrap();
        z.add_deflated("n", &[2u8; 300]).unwrap();
        let bytes = z.finish("aff4://t").unwrap();
        for cut in 0..bytes.len() {
            let t = bytes[..cut].to_vec();
            if let Ok(a) = ZipArchive::parse(&t) {
                for e in a.entries() {
                    let _ = a.read_member(&t, &e.name, 1 << 20);
                }
            }
        }
        // Corrupt every byte of the tail in turn.
        for i in bytes.len().saturating_sub(200)..bytes.len() {
            let mut c = bytes.clone();
            c[i] ^= 0xff;
            if let Ok(a) = ZipArchive::parse(&c) {
                for e in a.entries() {
                    let _ = a.read_member(&c, &e.name, 1 << 20);
                }
            }
        }
    }

    #[test]
    fn appended_volume_resolves_with_global_offset() {
        let mut z = ZipWriter::new(Vec::new());
        z.add_stored("old", b"old").unwrap();
        let mut bytes = z.finish("aff4://old").unwrap();
        let mut z2 = ZipWriter::new(Vec::new());
        z2.add_stored("new", b"new data").unwrap();
        bytes.extend(z2.finish("aff4://new").unwrap());
        let a = ZipArchive::parse(&bytes).unwrap();
        assert_eq!(a.comment(), "aff4://new");
        assert_eq!(a.read_member(&bytes, "new", 100).unwrap(), b"new data");
        assert!(a.entry("old").is_none());
    }
}
