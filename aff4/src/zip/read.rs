//! Reading the central directory of a ZIP/ZIP64 volume (AFF4-FORMAT.md §1.1–1.2).
//!
//! Every number read from the file is checked against the file size before it is used
//! as an offset or an allocation size; malformed input gives [`Error::Zip`] naming the
//! record (and member) that is wrong.

use super::format::*;
use crate::io::{RangeReader, ReadAt};
use crate::{Error, Result};
use std::collections::HashMap;
use std::io::Read;

/// How far back from the end the EOCD can start: 64 KiB of comment plus the record.
const EOCD_SCAN: u64 = 0xFFFF + EOCD_LEN;

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

/// Where the central directory is, from the end records.
#[derive(Debug, Clone, Copy)]
struct Directory {
    entries: u64,
    size: u64,
    offset: u64,
    /// File offset of the first end record (ZIP64 record or EOCD): the CD ends here.
    end: u64,
}

fn read_vec(src: &dyn ReadAt, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
    let len = usize::try_from(len).map_err(|_| zip_err(format!("{what}: {len} bytes")))?;
    let mut v = vec![0u8; len];
    src.read_exact_at(&mut v, offset)
        .map_err(|e| zip_err(format!("reading {what} at offset {offset}: {e}")))?;
    Ok(v)
}

impl ZipArchive {
    /// Parses the last end-of-central-directory record of `src` and its directory.
    ///
    /// # Errors
    /// [`Error::Zip`] when the end records, the directory or a local header is missing,
    /// truncated, inconsistent or points outside the file; [`Error::Io`] on read errors.
    pub fn parse(src: &dyn ReadAt) -> Result<Self> {
        let file_len = src
            .size()
            .map_err(|e| Error::io("reading volume size", e))?;
        let (eocd_pos, comment, plain) = find_eocd(src, file_len)?;
        let dir = match find_zip64_record(src, eocd_pos)? {
            Some(z64) => z64,
            None => plain,
        };
        let base = global_offset(&dir)?;
        let cd = read_vec(src, dir.end - dir.size, dir.size, "central directory")?;
        let mut archive = ZipArchive {
            comment,
            entries: Vec::new(),
            by_name: HashMap::new(),
        };
        let mut at = 0usize;
        for index in 0..dir.entries {
            let (rec, next) = parse_cd_entry(&cd, at, index)?;
            at = next;
            let name = String::from_utf8_lossy(rec.name_bytes).into_owned();
            let data_offset = data_offset(src, file_len, base, &rec, &name)?;
            archive.insert(Entry {
                name,
                method: rec.method,
                compressed_size: rec.compressed_size,
                size: rec.size,
                crc32: rec.crc32,
                data_offset,
            });
        }
        Ok(archive)
    }

    /// Adds `e`; a later entry of the same name replaces the earlier one in place.
    fn insert(&mut self, e: Entry) {
        match self
            .by_name
            .get(&e.name)
            .and_then(|&i| self.entries.get_mut(i))
        {
            Some(slot) => *slot = e,
            None => {
                self.by_name.insert(e.name.clone(), self.entries.len());
                self.entries.push(e);
            }
        }
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
    ///
    /// # Errors
    /// [`Error::MissingMember`] if there is no such member; [`Error::Zip`] if it is
    /// larger than `limit` (stored or inflated), does not inflate, or inflates to
    /// another length than the directory says.
    pub fn read_member(&self, src: &dyn ReadAt, name: &str, limit: u64) -> Result<Vec<u8>> {
        let e = self
            .entry(name)
            .ok_or_else(|| Error::MissingMember(name.to_string()))?;
        if e.size > limit || (e.method == Method::Stored && e.compressed_size > limit) {
            return Err(zip_err(format!(
                "member {name:?}: {} bytes exceed the limit of {limit}",
                e.size.max(e.compressed_size)
            )));
        }
        match e.method {
            Method::Stored => read_vec(src, e.data_offset, e.compressed_size, name),
            Method::Deflated => inflate_member(src, e, limit),
        }
    }
}

impl ZipArchive {
    /// Reads the first `len` bytes of member `name` (at most its size), inflating only
    /// as far as needed; the CRC-32 is not checked (the member is not read whole).
    ///
    /// # Errors
    /// [`Error::MissingMember`]; [`Error::Zip`] when the member holds fewer than `len`
    /// bytes or does not inflate.
    pub fn read_member_prefix(&self, src: &dyn ReadAt, name: &str, len: u64) -> Result<Vec<u8>> {
        let e = self
            .entry(name)
            .ok_or_else(|| Error::MissingMember(name.to_string()))?;
        if len > e.size || (e.method == Method::Stored && len > e.compressed_size) {
            return Err(zip_err(format!(
                "member {name:?}: {} bytes, {len} wanted",
                e.size
            )));
        }
        match e.method {
            Method::Stored => read_vec(src, e.data_offset, len, name),
            Method::Deflated => {
                let raw = RangeReader::new(src, e.data_offset, e.compressed_size);
                let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0).min(1 << 24));
                flate2::read::DeflateDecoder::new(raw)
                    .take(len)
                    .read_to_end(&mut out)
                    .map_err(|err| zip_err(format!("member {name:?} does not inflate: {err}")))?;
                if out.len() as u64 != len {
                    return Err(zip_err(format!(
                        "member {name:?} inflates to {} bytes, {len} wanted",
                        out.len()
                    )));
                }
                Ok(out)
            }
        }
    }
}

/// Inflates `e` with at most `limit` output bytes (a bomb stops at the cap) and checks
/// the result has the directory's length. `e.size <= limit` was checked by the caller.
fn inflate_member(src: &dyn ReadAt, e: &Entry, limit: u64) -> Result<Vec<u8>> {
    let raw = RangeReader::new(src, e.data_offset, e.compressed_size);
    let mut out = Vec::with_capacity(usize::try_from(e.size).unwrap_or(0).min(1 << 24));
    flate2::read::DeflateDecoder::new(raw)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|err| zip_err(format!("member {:?} does not inflate: {err}", e.name)))?;
    if out.len() as u64 != e.size {
        return Err(zip_err(format!(
            "member {:?} inflates to {}{} bytes but the directory says {}",
            e.name,
            if out.len() as u64 > limit {
                "more than "
            } else {
                ""
            },
            out.len().min(usize::try_from(limit).unwrap_or(usize::MAX)),
            e.size
        )));
    }
    Ok(out)
}

/// Finds the last EOCD whose comment fits in the file; returns its offset, the comment
/// (one trailing NUL removed) and the directory as the plain EOCD describes it.
fn find_eocd(src: &dyn ReadAt, file_len: u64) -> Result<(u64, String, Directory)> {
    if file_len < EOCD_LEN {
        return Err(zip_err(format!(
            "file of {file_len} bytes is too short to be a ZIP"
        )));
    }
    let scan = EOCD_SCAN.min(file_len);
    let tail = read_vec(src, file_len - scan, scan, "end of file")?;
    let f = Fields::new(&tail, "end of central directory");
    let fits = |i: usize| {
        f.u32(i).ok() == Some(EOCD_SIG)
            && f.u16(i + 20)
                .is_ok_and(|n| i + 22 + usize::from(n) <= tail.len())
    };
    let last = tail.len().saturating_sub(EOCD_LEN as usize);
    let pos = (0..=last).rev().find(|&i| fits(i)).ok_or_else(|| {
        zip_err("no end-of-central-directory record: not a ZIP volume, or truncated")
    })?;
    let comment_len = usize::from(f.u16(pos + 20)?);
    let mut comment = String::from_utf8_lossy(f.bytes(pos + 22, comment_len)?).into_owned();
    if comment.ends_with('\0') {
        comment.pop();
    }
    let eocd_pos = file_len - scan + pos as u64;
    let dir = Directory {
        entries: u64::from(f.u16(pos + 10)?),
        size: u64::from(f.u32(pos + 12)?),
        offset: u64::from(f.u32(pos + 16)?),
        end: eocd_pos,
    };
    Ok((eocd_pos, comment, dir))
}

/// If a ZIP64 locator sits right before the EOCD, the directory from the ZIP64 EOCD
/// record: the one right before the locator, else the one at the locator's offset.
fn find_zip64_record(src: &dyn ReadAt, eocd_pos: u64) -> Result<Option<Directory>> {
    let Some(loc_pos) = eocd_pos.checked_sub(LOCATOR_LEN) else {
        return Ok(None);
    };
    let loc = read_vec(src, loc_pos, LOCATOR_LEN, "ZIP64 locator")?;
    let loc = Fields::new(&loc, "ZIP64 locator");
    if loc.u32(0)? != Z64_LOCATOR_SIG {
        return Ok(None);
    }
    if let Some(rec_pos) = loc_pos.checked_sub(Z64_EOCD_LEN) {
        if let Some(dir) = read_zip64_record(src, rec_pos)? {
            return Ok(Some(dir));
        }
    }
    let stated = loc.u64(8)?;
    let fits = stated
        .checked_add(Z64_EOCD_LEN)
        .is_some_and(|end| end <= loc_pos);
    match fits
        .then(|| read_zip64_record(src, stated))
        .transpose()?
        .flatten()
    {
        Some(dir) => Ok(Some(dir)),
        None => Err(zip_err(format!(
            "ZIP64 locator at offset {loc_pos}: no ZIP64 end record before it or at its \
             stated offset {stated}"
        ))),
    }
}

/// The ZIP64 EOCD record at `pos`, or `None` if its signature is not there.
fn read_zip64_record(src: &dyn ReadAt, pos: u64) -> Result<Option<Directory>> {
    let rec = read_vec(src, pos, Z64_EOCD_LEN, "ZIP64 end record")?;
    let f = Fields::new(&rec, "ZIP64 end record");
    if f.u32(0)? != Z64_EOCD_SIG {
        return Ok(None);
    }
    Ok(Some(Directory {
        entries: f.u64(32)?,
        size: f.u64(40)?,
        offset: f.u64(48)?,
        end: pos,
    }))
}

/// Bytes in front of this ZIP (a prefix or an earlier appended ZIP), computed as pyaff4
/// does: the directory ends where the end records start. Also bounds the directory.
fn global_offset(dir: &Directory) -> Result<u64> {
    let start = dir.end.checked_sub(dir.size).ok_or_else(|| {
        zip_err(format!(
            "central directory size {} is larger than the {} bytes before the end records",
            dir.size, dir.end
        ))
    })?;
    let base = start.checked_sub(dir.offset).ok_or_else(|| {
        zip_err(format!(
            "central directory offset {} is past its real start {start}",
            dir.offset
        ))
    })?;
    if dir
        .entries
        .checked_mul(CD_LEN as u64)
        .map_or(true, |min| min > dir.size)
    {
        return Err(zip_err(format!(
            "central directory claims {} entries but has only {} bytes",
            dir.entries, dir.size
        )));
    }
    Ok(base)
}

/// Reads the local header of `rec` and returns the absolute offset of its data, after
/// checking the header and the data lie inside the file and the names agree.
fn data_offset(
    src: &dyn ReadAt,
    file_len: u64,
    base: u64,
    rec: &CdRecord<'_>,
    name: &str,
) -> Result<u64> {
    let local = base
        .checked_add(rec.local_offset)
        .filter(|l| l.checked_add(LOCAL_LEN).is_some_and(|end| end <= file_len))
        .ok_or_else(|| {
            zip_err(format!(
                "member {name:?}: local header offset {} is past the end of the file",
                rec.local_offset
            ))
        })?;
    let header = read_vec(src, local, LOCAL_LEN, "local header")?;
    let f = Fields::new(&header, "local header");
    if f.u32(0)? != LOCAL_SIG {
        return Err(zip_err(format!(
            "member {name:?}: no local header at offset {local}"
        )));
    }
    let name_len = u64::from(f.u16(26)?);
    let extra_len = u64::from(f.u16(28)?);
    let local_name = local + LOCAL_LEN;
    if local_name + name_len > file_len {
        return Err(zip_err(format!(
            "member {name:?}: local header name runs past the end"
        )));
    }
    if read_vec(src, local_name, name_len, "local header name")? != rec.name_bytes {
        return Err(zip_err(format!(
            "member {name:?}: local header at offset {local} names a different member"
        )));
    }
    let data = local_name + name_len + extra_len;
    if data
        .checked_add(rec.compressed_size)
        .map_or(true, |end| end > file_len)
    {
        return Err(zip_err(format!(
            "member {name:?}: {} bytes at offset {data} run past the end of the file",
            rec.compressed_size
        )));
    }
    Ok(data)
}
