//! On-disk ZIP records: signatures, fixed sizes and bounds-checked little-endian fields
//! (APPNOTE.TXT §4.3; AFF4-FORMAT.md §1).

use super::read::Method;
use crate::{Error, Result};

/// Local file header signature `PK\x03\x04`.
pub(crate) const LOCAL_SIG: u32 = 0x0403_4b50;
/// Central directory file header signature `PK\x01\x02`.
pub(crate) const CD_SIG: u32 = 0x0201_4b50;
/// End of central directory signature `PK\x05\x06`.
pub(crate) const EOCD_SIG: u32 = 0x0605_4b50;
/// ZIP64 end of central directory record signature `PK\x06\x06`.
pub(crate) const Z64_EOCD_SIG: u32 = 0x0606_4b50;
/// ZIP64 end of central directory locator signature `PK\x06\x07`.
pub(crate) const Z64_LOCATOR_SIG: u32 = 0x0706_4b50;
/// Data descriptor signature `PK\x07\x08`.
pub(crate) const DESCRIPTOR_SIG: u32 = 0x0807_4b50;

/// Fixed part of a local file header.
pub(crate) const LOCAL_LEN: u64 = 30;
/// Fixed part of a central directory file header.
pub(crate) const CD_LEN: usize = 46;
/// Fixed part of the EOCD (without the comment).
pub(crate) const EOCD_LEN: u64 = 22;
/// The ZIP64 locator.
pub(crate) const LOCATOR_LEN: u64 = 20;
/// A ZIP64 EOCD record without extensible data.
pub(crate) const Z64_EOCD_LEN: u64 = 56;
/// The value a 32-bit field holds when the real one is in the ZIP64 extra.
pub(crate) const SATURATED32: u32 = 0xFFFF_FFFF;
/// Header id of the ZIP64 extended-information extra field.
pub(crate) const ZIP64_EXTRA_ID: u16 = 0x0001;

/// Method 0.
pub(crate) const METHOD_STORED: u16 = 0;
/// Method 8.
pub(crate) const METHOD_DEFLATED: u16 = 8;

/// A [`Error::Zip`] with `msg`.
pub(crate) fn zip_err(msg: impl Into<String>) -> Error {
    Error::Zip(msg.into())
}

/// A record read from the file that may be shorter than its fields claim; every access
/// is bounds-checked and names the record in its error.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a, 'w> {
    bytes: &'a [u8],
    what: &'w str,
}

impl<'a, 'w> Fields<'a, 'w> {
    /// Wraps `bytes`, the record called `what` in error messages.
    pub(crate) fn new(bytes: &'a [u8], what: &'w str) -> Self {
        Fields { bytes, what }
    }

    /// `len` bytes at `at`.
    pub(crate) fn bytes(&self, at: usize, len: usize) -> Result<&'a [u8]> {
        at.checked_add(len)
            .and_then(|end| self.bytes.get(at..end))
            .ok_or_else(|| {
                zip_err(format!(
                    "{} truncated: needs bytes {at}..{} but has {}",
                    self.what,
                    at.saturating_add(len),
                    self.bytes.len()
                ))
            })
    }

    fn array<const N: usize>(&self, at: usize) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(at, N)?);
        Ok(a)
    }

    /// The little-endian u16 at `at`.
    pub(crate) fn u16(&self, at: usize) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(at)?))
    }

    /// The little-endian u32 at `at`.
    pub(crate) fn u32(&self, at: usize) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(at)?))
    }

    /// The little-endian u64 at `at`.
    pub(crate) fn u64(&self, at: usize) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(at)?))
    }
}

/// One central-directory entry before its local header is checked.
pub(crate) struct CdRecord<'a> {
    pub(crate) name_bytes: &'a [u8],
    pub(crate) method: Method,
    pub(crate) crc32: u32,
    pub(crate) compressed_size: u64,
    pub(crate) size: u64,
    pub(crate) local_offset: u64,
}

/// Parses the CD entry at `at`; returns it and the offset of the next one.
pub(crate) fn parse_cd_entry(cd: &[u8], at: usize, index: u64) -> Result<(CdRecord<'_>, usize)> {
    let what = format!("central directory entry {index}");
    let f = Fields::new(cd, &what);
    if f.u32(at)? != CD_SIG {
        return Err(zip_err(format!(
            "{what}: bad signature at directory offset {at}"
        )));
    }
    let name_len = usize::from(f.u16(at + 28)?);
    let extra_len = usize::from(f.u16(at + 30)?);
    let comment_len = usize::from(f.u16(at + 32)?);
    let name_bytes = f.bytes(at + CD_LEN, name_len)?;
    let method = match f.u16(at + 10)? {
        METHOD_STORED => Method::Stored,
        METHOD_DEFLATED => Method::Deflated,
        m => {
            let name = String::from_utf8_lossy(name_bytes);
            return Err(zip_err(format!(
                "member {name:?}: unsupported compression method {m}"
            )));
        }
    };
    let mut rec = CdRecord {
        name_bytes,
        method,
        crc32: f.u32(at + 16)?,
        compressed_size: u64::from(f.u32(at + 20)?),
        size: u64::from(f.u32(at + 24)?),
        local_offset: u64::from(f.u32(at + 42)?),
    };
    let extra = f.bytes(at + CD_LEN + name_len, extra_len)?;
    apply_zip64_extra(extra, &mut rec, &what)?;
    let next = at + CD_LEN + name_len + extra_len + comment_len;
    Ok((rec, next))
}

/// Replaces the 32-bit values that are 0xFFFFFFFF by the u64 values of the ZIP64 extra
/// field (id 1), in the order usize, csize, local offset; other extra ids are skipped.
fn apply_zip64_extra(extra: &[u8], rec: &mut CdRecord<'_>, what: &str) -> Result<()> {
    let what = format!("{what} extra field");
    let f = Fields::new(extra, &what);
    let mut at = 0usize;
    while at + 4 <= extra.len() {
        let id = f.u16(at)?;
        let len = usize::from(f.u16(at + 2)?);
        let body = Fields::new(f.bytes(at + 4, len)?, &what);
        if id == ZIP64_EXTRA_ID {
            let mut o = 0usize;
            for v in [
                &mut rec.size,
                &mut rec.compressed_size,
                &mut rec.local_offset,
            ] {
                if *v == u64::from(SATURATED32) {
                    *v = body.u64(o)?;
                    o += 8;
                }
            }
            return Ok(());
        }
        at += 4 + len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_little_endian_and_bounds_checked() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        let f = Fields::new(&b, "test record");
        assert_eq!(f.u16(0).unwrap(), 0x0201);
        assert_eq!(f.u32(1).unwrap(), 0x0504_0302);
        assert_eq!(f.u64(1).unwrap(), 0x0908_0706_0504_0302);
        let e = f.u64(2).unwrap_err().to_string();
        assert!(e.contains("test record truncated"), "{e}");
        assert!(f.bytes(usize::MAX, 2).is_err());
    }
}
