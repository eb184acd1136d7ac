//! Reading the central directory of a ZIP/ZIP64 volume.

use crate::io::ReadAt;
use crate::{Error, Result};
use std::collections::HashMap;
use std::io::Read;

const EOCD_SIG: u32 = 0x0605_4b50;
const Z64_LOCATOR_SIG: u32 = 0x0706_4b50;
const Z64_EOCD_SIG: u32 = 0x0606_4b50;
const CD_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const MAX_COMMENT_SCAN: u64 = 65_535 + 22;

/// How a member's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Method 0: the bytes as they are.
    Stored,
    /// Method 8: raw deflate (RFC 1951).
    Deflated,
}

/// One member of the volume, as the (last) central directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The member name (UTF-8, as stored).
    pub name: String,
    /// Storage method.
    pub method: Method,
    /// Bytes stored in the file.
    pub compressed_size: u64,
    /// Bytes after decompression.
    pub size: u64,
    /// CRC-32 from the central directory.
    pub crc32: u32,
    /// Absolute offset in the file of the member's first data byte.
    pub data_offset: u64,
}

/// The parsed central directory of a volume.
#[derive(Debug, Clone)]
pub struct ZipArchive {
    comment: String,
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
}

fn u16_at(b: &[u8], o: usize) -> Result<u16> {
    b.get(o..o + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| zerr("record truncated"))
}
fn u32_at(b: &[u8], o: usize) -> Result<u32> {
    b.get(o..o + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| zerr("record truncated"))
}
fn u64_at(b: &[u8], o: usize) -> Result<u64> {
    let s = b.get(o..o + 8).ok_or_else(|| zerr("record truncated"))?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}
fn zerr(m: impl Into<String>) -> Error {
    Error::Zip(m.into())
}
fn rd(src: &dyn ReadAt, off: u64, len: usize, what: &str) -> Result<Vec<u8>> {
    let mut v = vec![0u8; len];
    src.read_exact_at(&mut v, off)
        .map_err(|e| Error::Zip(format!("{what} at offset {off}: {e}")))?;
    Ok(v)
}

impl ZipArchive {
    /// Parses the last end-of-central-directory record of `src` and its directory.
    pub fn parse(src: &dyn ReadAt) -> Result<Self> {
        let file_len = src
            .size()
            .map_err(|e| Error::io("reading volume size", e))?;
        if file_len < 22 {
            return Err(zerr(format!(
                "file of {file_len} bytes is too short to be a ZIP volume"
            )));
        }
        let scan = MAX_COMMENT_SCAN.min(file_len);
        let tail = rd(src, file_len - scan, scan as usize, "end of file")?;
        let pos = (0..=tail.len() - 22)
            .rev()
            .find(|&i| u32_at(&tail, i).ok() == Some(EOCD_SIG) && Self::eocd_fits(&tail, i))
            .ok_or_else(|| {
                zerr("no end-of-central-directory record: not a ZIP/AFF4 volume, or truncated")
            })?;
        let eocd_pos = file_len - scan + pos as u64;
        let e = &tail[pos..];
        let mut n_entries = u64::from(u16_at(e, 10)?);
        let mut cd_size = u64::from(u32_at(e, 12)?);
        let mut cd_off = u64::from(u32_at(e, 16)?);
        let clen = usize::from(u16_at(e, 20)?);
        let raw_comment = e
            .get(22..22 + clen)
            .ok_or_else(|| zerr("EOCD comment truncated"))?;
        let mut comment = String::from_utf8_lossy(raw_comment).into_owned();
        if comment.ends_with('\0') {
            comment.pop();
        }
        // ZIP64 locator immediately before the EOCD.
        let mut cd_end = eocd_pos;
        if eocd_pos >= 20 {
            let loc = rd(src, eocd_pos - 20, 20, "ZIP64 locator")?;
            if u32_at(&loc, 0)? == Z64_LOCATOR_SIG {
                let z64_pos = eocd_pos - 20 - 56;
                let rec = if eocd_pos >= 76 {
                    rd(src, z64_pos, 56, "ZIP64 end record")?
                } else {
                    Vec::new()
                };
                let (rec, rec_pos) = if u32_at(&rec, 0).ok() == Some(Z64_EOCD_SIG) {
                    (rec, z64_pos)
                } else {
                    // Extensible data present: follow the locator's offset instead.
                    let p = u64_at(&loc, 8)?;
                    if p.checked_add(56).is_none_or(|end| end > eocd_pos) {
                        return Err(zerr("ZIP64 locator points outside the file"));
                    }
                    let r = rd(src, p, 56, "ZIP64 end record")?;
                    if u32_at(&r, 0)? != Z64_EOCD_SIG {
                        return Err(zerr("ZIP64 end record missing"));
                    }
                    (r, p)
                };
                n_entries = u64_at(&rec, 32)?;
                cd_size = u64_at(&rec, 40)?;
                cd_off = u64_at(&rec, 48)?;
                cd_end = rec_pos;
            }
        }
        // Global offset: data prepended before this zip (appended volumes).
        let cd_start = cd_end
            .checked_sub(cd_size)
            .ok_or_else(|| zerr(format!("central directory size {cd_size} exceeds the file")))?;
        let base = cd_start.checked_sub(cd_off).ok_or_else(|| {
            zerr(format!(
                "central directory offset {cd_off} exceeds the file"
            ))
        })?;
        if cd_size > file_len || n_entries > cd_size / 46 + 1 {
            return Err(zerr(format!(
                "central directory claims {n_entries} entries in {cd_size} bytes"
            )));
        }
        let cd = rd(src, cd_start, cd_size as usize, "central directory")?;
        let mut entries: Vec<Entry> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut p = 0usize;
        for i in 0..n_entries {
            if u32_at(&cd, p)? != CD_SIG {
                return Err(zerr(format!(
                    "central directory entry {i} has a bad signature"
                )));
            }
            let method = match u16_at(&cd, p + 10)? {
                0 => Method::Stored,
                8 => Method::Deflated,
                m => {
                    return Err(zerr(format!(
                        "central directory entry {i}: unsupported compression method {m}"
                    )))
                }
            };
            let crc32 = u32_at(&cd, p + 16)?;
            let mut csize = u64::from(u32_at(&cd, p + 20)?);
            let mut usize_ = u64::from(u32_at(&cd, p + 24)?);
            let nlen = usize::from(u16_at(&cd, p + 28)?);
            let xlen = usize::from(u16_at(&cd, p + 30)?);
            let clen = usize::from(u16_at(&cd, p + 32)?);
            let mut lho = u64::from(u32_at(&cd, p + 42)?);
            let name_bytes = cd
                .get(p + 46..p + 46 + nlen)
                .ok_or_else(|| zerr("central directory name truncated"))?;
            let name = String::from_utf8_lossy(name_bytes).into_owned();
            let extra = cd
                .get(p + 46 + nlen..p + 46 + nlen + xlen)
                .ok_or_else(|| zerr("central directory extra truncated"))?;
            parse_zip64_extra(extra, &mut usize_, &mut csize, &mut lho)?;
            p += 46 + nlen + xlen + clen;
            let local = base
                .checked_add(lho)
                .ok_or_else(|| zerr(format!("{name}: local header offset overflows")))?;
            if local.checked_add(30).is_none_or(|e| e > file_len) {
                return Err(zerr(format!(
                    "{name}: local header offset {lho} is past the end of the file"
                )));
            }
            let lh = rd(src, local, 30, "local header")?;
            if u32_at(&lh, 0)? != LOCAL_SIG {
                return Err(zerr(format!("{name}: no local header at offset {local}")));
            }
            let lnlen = u64::from(u16_at(&lh, 26)?);
            let lxlen = u64::from(u16_at(&lh, 28)?);
            let lname = rd(src, local + 30, lnlen as usize, "local name")?;
            if lname != name_bytes {
                return Err(zerr(format!(
                    "{name}: local header names a different member"
                )));
            }
            let data_offset = local + 30 + lnlen + lxlen;
            if data_offset.checked_add(csize).is_none_or(|e| e > file_len) {
                return Err(zerr(format!(
                    "{name}: {csize} bytes at offset {data_offset} run past the end of the file"
                )));
            }
            let entry = Entry {
                name: name.clone(),
                method,
                compressed_size: csize,
                size: usize_,
                crc32,
                data_offset,
            };
            match by_name.get(&name) {
                Some(&idx) => entries[idx] = entry,
                None => {
                    by_name.insert(name, entries.len());
                    entries.push(entry);
                }
            }
        }
        Ok(ZipArchive {
            comment,
            entries,
            by_name,
        })
    }

    fn eocd_fits(tail: &[u8], i: usize) -> bool {
        u16_at(tail, i + 20).is_ok_and(|clen| i + 22 + usize::from(clen) <= tail.len())
    }

    /// The EOCD comment (the volume URN), with one trailing NUL removed.
    pub fn comment(&self) -> &str {
        &self.comment
    }

    /// The members, in directory order; when a name occurs twice only the last is kept.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Looks a member up by exact name.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.by_name.get(name).and_then(|&i| self.entries.get(i))
    }

    /// Reads (and inflates) a whole member; fails if it is larger than `limit` bytes.
    pub fn read_member(&self, src: &dyn ReadAt, name: &str, limit: u64) -> Result<Vec<u8>> {
        let e = self
            .entry(name)
            .ok_or_else(|| Error::MissingMember(name.to_string()))?;
        if e.size > limit || (e.method == Method::Stored && e.compressed_size > limit) {
            return Err(Error::corrupt(
                name,
                format!(
                    "member of {} bytes exceeds the limit of {limit}",
                    e.size.max(e.compressed_size)
                ),
            ));
        }
        let raw = rd(src, e.data_offset, e.compressed_size as usize, name)?;
        match e.method {
            Method::Stored => Ok(raw),
            Method::Deflated => {
                let mut out = Vec::with_capacity(e.size as usize);
                flate2::read::DeflateDecoder::new(raw.as_slice())
                    .take(limit + 1)
                    .read_to_end(&mut out)
                    .map_err(|err| {
                        Error::corrupt(name, format!("deflated member does not inflate: {err}"))
                    })?;
                if out.len() as u64 != e.size {
                    return Err(Error::corrupt(
                        name,
                        format!("inflates to {} bytes, directory says {}", out.len(), e.size),
                    ));
                }
                Ok(out)
            }
        }
    }
}

/// Applies a ZIP64 extended-information extra field (id 1) to the 32-bit values that
/// are 0xFFFFFFFF, in the order the format defines.
fn parse_zip64_extra(
    mut extra: &[u8],
    usize_: &mut u64,
    csize: &mut u64,
    lho: &mut u64,
) -> Result<()> {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0)?;
        let len = usize::from(u16_at(extra, 2)?);
        let body = extra
            .get(4..4 + len)
            .ok_or_else(|| zerr("extra field truncated"))?;
        if id == 1 {
            let mut o = 0;
            for v in [usize_, csize, lho] {
                if *v == 0xFFFF_FFFF {
                    *v = u64_at(body, o).map_err(|_| zerr("ZIP64 extra field too short"))?;
                    o += 8;
                }
            }
            return Ok(());
        }
        extra = &extra[4 + len..];
    }
    Ok(())
}
