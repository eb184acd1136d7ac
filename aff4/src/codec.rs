//! Chunk compression: the codecs of `aff4:compressionMethod` (AFF4-FORMAT.md §3.2–3.3).

use crate::{Error, Result};
use std::io::Read;

/// A chunk codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Stored (`aff4:NullCompressor`).
    Stored,
    /// Raw Snappy block (`http://code.google.com/p/snappy/`).
    Snappy,
    /// LZ4 raw block (`https://code.google.com/p/lz4/`).
    Lz4,
    /// zlib (RFC 1950).
    Zlib,
    /// Raw deflate (RFC 1951). pyaff4 0.34 cannot read it.
    Deflate,
}

impl Compression {
    /// Recognises every URI real producers write (see AFF4-FORMAT.md §3.3).
    pub fn from_iri(iri: &str) -> Option<Self> {
        Some(match iri {
            "http://code.google.com/p/snappy/"
            | "https://github.com/google/snappy"
            | "https://code.google.com/p/snappy/" => Compression::Snappy,
            "https://code.google.com/p/lz4/" | "http://code.google.com/p/lz4/" => Compression::Lz4,
            "https://www.ietf.org/rfc/rfc1950.txt" | "http://www.ietf.org/rfc/rfc1950.txt" => {
                Compression::Zlib
            }
            "https://tools.ietf.org/html/rfc1951"
            | "http://tools.ietf.org/html/rfc1951"
            | "https://www.ietf.org/rfc/rfc1951.txt"
            | "http://www.ietf.org/rfc/rfc1951.txt" => Compression::Deflate,
            "http://aff4.org/Schema#NullCompressor"
            | "http://aff4.org/Schema#compression/stored"
            | "http://afflib.org/2009/aff4#nullCompressor"
            | "http://aff4.org/Schema#nullCompressor" => Compression::Stored,
            _ => return None,
        })
    }

    /// The URI we write.
    pub fn iri(self) -> &'static str {
        match self {
            Compression::Stored => "http://aff4.org/Schema#NullCompressor",
            Compression::Snappy => "http://code.google.com/p/snappy/",
            Compression::Lz4 => "https://code.google.com/p/lz4/",
            Compression::Zlib => "https://www.ietf.org/rfc/rfc1950.txt",
            Compression::Deflate => "https://tools.ietf.org/html/rfc1951",
        }
    }

    /// Short name used on the command line and in reports (`snappy`, `lz4`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Compression::Stored => "none",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zlib => "zlib",
            Compression::Deflate => "deflate",
        }
    }

    /// Parses a short name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "none" | "stored" => Compression::Stored,
            "snappy" => Compression::Snappy,
            "lz4" => Compression::Lz4,
            "zlib" => Compression::Zlib,
            "deflate" => Compression::Deflate,
            _ => return None,
        })
    }

    /// Encodes one full (padded) chunk into `out` (cleared first) by the standard's rule:
    /// compressed if shorter than `chunk.len() - 16`, else the raw chunk. Returns whether
    /// the stored bytes are compressed.
    pub fn encode_chunk(self, chunk: &[u8], out: &mut Vec<u8>) -> bool {
        out.clear();
        let ok = match self {
            Compression::Stored => false,
            Compression::Snappy => {
                out.resize(snap::raw::max_compress_len(chunk.len()), 0);
                match snap::raw::Encoder::new().compress(chunk, out) {
                    Ok(n) => {
                        out.truncate(n);
                        true
                    }
                    Err(_) => false,
                }
            }
            Compression::Lz4 => {
                out.resize(lz4_flex::block::get_maximum_output_size(chunk.len()), 0);
                match lz4_flex::block::compress_into(chunk, out) {
                    Ok(n) => {
                        out.truncate(n);
                        true
                    }
                    Err(_) => false,
                }
            }
            Compression::Zlib => {
                let mut e = flate2::write::ZlibEncoder::new(
                    std::mem::take(out),
                    flate2::Compression::fast(),
                );
                let r = std::io::Write::write_all(&mut e, chunk).and_then(|()| e.finish());
                match r {
                    Ok(v) => {
                        *out = v;
                        true
                    }
                    Err(_) => false,
                }
            }
            Compression::Deflate => {
                let mut e = flate2::write::DeflateEncoder::new(
                    std::mem::take(out),
                    flate2::Compression::fast(),
                );
                let r = std::io::Write::write_all(&mut e, chunk).and_then(|()| e.finish());
                match r {
                    Ok(v) => {
                        *out = v;
                        true
                    }
                    Err(_) => false,
                }
            }
        };
        if ok && out.len() + 16 < chunk.len() {
            return true;
        }
        out.clear();
        out.extend_from_slice(chunk);
        false
    }

    /// Decodes one stored chunk into `out` (cleared first). A chunk whose stored length
    /// equals `chunk_size` is raw. Output never exceeds `chunk_size`; anything that would
    /// is an error naming `urn`.
    pub fn decode_chunk(
        self,
        stored: &[u8],
        chunk_size: usize,
        out: &mut Vec<u8>,
        urn: &str,
    ) -> Result<()> {
        out.clear();
        if stored.len() == chunk_size || self == Compression::Stored {
            if stored.len() > chunk_size {
                return Err(Error::corrupt(
                    urn,
                    format!(
                        "stored chunk of {} bytes exceeds chunk size {chunk_size}",
                        stored.len()
                    ),
                ));
            }
            out.extend_from_slice(stored);
            return Ok(());
        }
        let bad = |what: &str| {
            Error::corrupt(
                urn,
                format!("{} chunk does not decode: {what}", self.name()),
            )
        };
        match self {
            Compression::Stored => {}
            Compression::Snappy => {
                let n = snap::raw::decompress_len(stored).map_err(|e| bad(&e.to_string()))?;
                if n > chunk_size {
                    return Err(bad(&format!(
                        "declares {n} bytes, more than the chunk size {chunk_size}"
                    )));
                }
                out.resize(n, 0);
                snap::raw::Decoder::new()
                    .decompress(stored, out)
                    .map_err(|e| bad(&e.to_string()))?;
            }
            Compression::Lz4 => {
                out.resize(chunk_size, 0);
                match lz4_flex::block::decompress_into(stored, out) {
                    Ok(n) => out.truncate(n),
                    Err(first) => {
                        // pyaff4's writer prefixes the block with its u32 length.
                        let retry = stored
                            .get(4..)
                            .and_then(|rest| lz4_flex::block::decompress_into(rest, out).ok());
                        match retry {
                            Some(n) => out.truncate(n),
                            None => return Err(bad(&first.to_string())),
                        }
                    }
                }
            }
            Compression::Zlib => inflate(flate2::read::ZlibDecoder::new(stored), chunk_size, out)
                .map_err(|e| bad(&e))?,
            Compression::Deflate => {
                // c-aff4 writes zlib-wrapped data under the rfc1951 URI: try raw, then zlib.
                if inflate(flate2::read::DeflateDecoder::new(stored), chunk_size, out).is_err() {
                    inflate(flate2::read::ZlibDecoder::new(stored), chunk_size, out)
                        .map_err(|e| bad(&e))?;
                }
            }
        }
        Ok(())
    }
}

fn inflate(r: impl Read, limit: usize, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    out.clear();
    let mut r = r.take(limit as u64 + 1);
    r.read_to_end(out).map_err(|e| e.to_string())?;
    if out.len() > limit {
        return Err(format!("inflates to more than the chunk size {limit}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut v = Vec::new();
        while v.len() < 32768 {
            v.extend_from_slice(b"Linux version 6.1 pmem-aff4 test line\n");
        }
        v.truncate(32768);
        v
    }

    #[test]
    fn every_codec_round_trips_and_compresses_text() {
        let data = sample();
        for c in [
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zlib,
            Compression::Deflate,
        ] {
            let mut enc = Vec::new();
            assert!(
                c.encode_chunk(&data, &mut enc),
                "{c:?} should compress text"
            );
            assert!(enc.len() < data.len() - 16);
            let mut dec = Vec::new();
            c.decode_chunk(&enc, data.len(), &mut dec, "t").unwrap();
            assert_eq!(dec, data, "{c:?}");
            assert_eq!(Compression::from_iri(c.iri()), Some(c));
            assert_eq!(Compression::from_name(c.name()), Some(c));
        }
    }

    #[test]
    fn incompressible_chunks_are_stored_raw() {
        let mut x = 0x1234_5678u32;
        let data: Vec<u8> = (0..32768)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let mut enc = Vec::new();
        assert!(!Compression::Snappy.encode_chunk(&data, &mut enc));
        assert_eq!(enc, data);
        let mut dec = Vec::new();
        Compression::Snappy
            .decode_chunk(&enc, 32768, &mut dec, "t")
            .unwrap();
        assert_eq!(dec, data);
    }

    #[test]
    fn lz4_with_size_prefix_and_zlib_under_deflate_uri() {
        let data = sample();
        let mut enc = Vec::new();
        Compression::Lz4.encode_chunk(&data, &mut enc);
        let mut prefixed = (data.len() as u32).to_le_bytes().to_vec();
        prefixed.extend_from_slice(&enc);
        let mut dec = Vec::new();
        Compression::Lz4
            .decode_chunk(&prefixed, data.len(), &mut dec, "t")
            .unwrap();
        assert_eq!(dec, data);
        Compression::Zlib.encode_chunk(&data, &mut enc);
        Compression::Deflate
            .decode_chunk(&enc, data.len(), &mut dec, "t")
            .unwrap();
        assert_eq!(dec, data);
    }

    #[test]
    fn hostile_chunks_are_errors() {
        let mut dec = Vec::new();
        // Snappy header declaring 1 GiB.
        let bomb = [0x80, 0x80, 0x80, 0x80, 0x04, 0, 1, 2];
        assert!(Compression::Snappy
            .decode_chunk(&bomb, 32768, &mut dec, "t")
            .is_err());
        assert!(Compression::Lz4
            .decode_chunk(&[0xff; 40], 32768, &mut dec, "t")
            .is_err());
        assert!(Compression::Zlib
            .decode_chunk(&[1, 2, 3], 32768, &mut dec, "t")
            .is_err());
        let big = vec![0u8; 1 << 20];
        let mut enc = Vec::new();
        Compression::Zlib.encode_chunk(&big, &mut enc);
        assert!(Compression::Zlib
            .decode_chunk(&enc, 32768, &mut dec, "t")
            .is_err());
    }
}
