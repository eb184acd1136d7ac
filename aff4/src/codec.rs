//! Chunk compression: the codecs of `aff4:compressionMethod` (AFF4-FORMAT.md §3.2–3.3).

use crate::{Error, Result};
use std::cell::RefCell;

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
        match self.encode_chunk_in(chunk, out) {
            Some(n) => {
                out.truncate(n);
                true
            }
            None => {
                out.clear();
                out.extend_from_slice(chunk);
                false
            }
        }
    }

    /// Like [`Compression::encode_chunk`], for a caller that reuses `out` for chunk after
    /// chunk: the encoding is written at the start of `out` and its length returned, or
    /// `None` when the standard's rule says to store the chunk raw (the caller stores
    /// `chunk` itself; nothing is copied). `out` is grown once to the codec's worst case
    /// and never shrunk, so a reused buffer is not zero-filled again for every chunk (a
    /// memset as long as the chunk, per chunk, with [`Compression::encode_chunk`]).
    pub fn encode_chunk_in(self, chunk: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        let worst = match self {
            Compression::Stored => return None,
            Compression::Snappy => snap::raw::max_compress_len(chunk.len()),
            Compression::Lz4 => lz4_flex::block::get_maximum_output_size(chunk.len()),
            // Deflate gives up once the output would not be shorter than the chunk.
            Compression::Zlib | Compression::Deflate => chunk.len(),
        };
        if out.len() < worst {
            out.resize(worst, 0);
        }
        let n = match self {
            Compression::Stored => None,
            Compression::Snappy => snappy_into(chunk, out),
            Compression::Lz4 => lz4_flex::block::compress_into(chunk, out).ok(),
            Compression::Zlib => deflate_into(chunk, true, out),
            Compression::Deflate => deflate_into(chunk, false, out),
        }?;
        (n + 16 < chunk.len()).then_some(n)
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
            Compression::Zlib => {
                inflate_into(stored, true, chunk_size, out).map_err(|e| bad(&e))?
            }
            Compression::Deflate => {
                // c-aff4 writes zlib-wrapped data under the rfc1951 URI: try raw, then zlib.
                if let Err(raw) = inflate_into(stored, false, chunk_size, out) {
                    inflate_into(stored, true, chunk_size, out)
                        .map_err(|z| bad(&format!("raw deflate: {raw}; zlib: {z}")))?;
                }
            }
        }
        Ok(())
    }
}

/// Per-thread (de)compressor state for zlib and raw deflate, reused across chunks so a
/// chunk costs no allocation (creating a zlib stream allocates its window and tables).
struct FlateState {
    zlib_enc: flate2::Compress,
    raw_enc: flate2::Compress,
    zlib_dec: flate2::Decompress,
    raw_dec: flate2::Decompress,
}

impl FlateState {
    fn new() -> Self {
        let level = flate2::Compression::fast();
        FlateState {
            zlib_enc: flate2::Compress::new(level, true),
            raw_enc: flate2::Compress::new(level, false),
            zlib_dec: flate2::Decompress::new(true),
            raw_dec: flate2::Decompress::new(false),
        }
    }
}

thread_local! {
    static FLATE: RefCell<FlateState> = RefCell::new(FlateState::new());
    // snap's encoder allocates its 32 KiB hash table on first use: keep one per thread.
    static SNAPPY: RefCell<snap::raw::Encoder> = RefCell::new(snap::raw::Encoder::new());
}

/// Snappy-compresses `chunk` into the start of `out` (at least
/// `max_compress_len` long); the encoded length, or `None` if the encoder fails.
fn snappy_into(chunk: &[u8], out: &mut [u8]) -> Option<usize> {
    SNAPPY.with(|cell| {
        let mut enc = cell.try_borrow_mut().ok()?;
        enc.compress(chunk, out).ok()
    })
}

/// Compresses `chunk` into the start of `out` (at least `chunk.len()` long; zlib header
/// when `zlib`), giving up (`None`) once the output would no longer be shorter than the
/// chunk: then it would be stored raw anyway.
fn deflate_into(chunk: &[u8], zlib: bool, out: &mut [u8]) -> Option<usize> {
    let out = out.get_mut(..chunk.len())?;
    FLATE.with(|cell| {
        let Ok(mut state) = cell.try_borrow_mut() else {
            return None;
        };
        let enc = if zlib {
            &mut state.zlib_enc
        } else {
            &mut state.raw_enc
        };
        enc.reset();
        let status = enc
            .compress(chunk, out, flate2::FlushCompress::Finish)
            .ok()?;
        let n = usize::try_from(enc.total_out()).ok()?;
        (status == flate2::Status::StreamEnd).then_some(n)
    })
}

/// Inflates `stored` into `out` (zlib header when `zlib`). The whole stream must end
/// within `limit` output bytes.
fn inflate_into(
    stored: &[u8],
    zlib: bool,
    limit: usize,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    // One byte of slack tells "exactly limit bytes" from "more than limit bytes".
    out.resize(limit.saturating_add(1), 0);
    let result = FLATE.with(|cell| {
        let mut state = cell
            .try_borrow_mut()
            .map_err(|_| "inflater busy".to_string())?;
        let dec = if zlib {
            &mut state.zlib_dec
        } else {
            &mut state.raw_dec
        };
        dec.reset(zlib);
        let status = dec
            .decompress(stored, out, flate2::FlushDecompress::Finish)
            .map_err(|e| e.to_string())?;
        let n = usize::try_from(dec.total_out()).map_err(|e| e.to_string())?;
        if n > limit {
            return Err(format!("inflates to more than the chunk size {limit}"));
        }
        if status != flate2::Status::StreamEnd {
            return Err("stream is truncated".to_string());
        }
        Ok(n)
    });
    match result {
        Ok(n) => {
            out.truncate(n);
            Ok(())
        }
        Err(e) => {
            out.clear();
            Err(e)
        }
    }
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

    /// `len` incompressible bytes from a xorshift32 generator seeded with `seed`.
    fn xorshift_noise(seed: u32, len: usize) -> Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn incompressible_chunks_are_stored_raw() {
        let data = xorshift_noise(0x1234_5678, 32768);
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

    #[test]
    fn every_uri_real_producers_write_is_recognised() {
        let want = [
            ("http://code.google.com/p/snappy/", Compression::Snappy),
            ("https://github.com/google/snappy", Compression::Snappy),
            ("https://code.google.com/p/lz4/", Compression::Lz4),
            ("https://www.ietf.org/rfc/rfc1950.txt", Compression::Zlib),
            ("https://tools.ietf.org/html/rfc1951", Compression::Deflate),
            ("http://tools.ietf.org/html/rfc1951", Compression::Deflate),
            ("https://www.ietf.org/rfc/rfc1951.txt", Compression::Deflate),
            ("http://www.ietf.org/rfc/rfc1951.txt", Compression::Deflate),
            ("http://aff4.org/Schema#NullCompressor", Compression::Stored),
            (
                "http://aff4.org/Schema#compression/stored",
                Compression::Stored,
            ),
            (
                "http://afflib.org/2009/aff4#nullCompressor",
                Compression::Stored,
            ),
        ];
        for (iri, c) in want {
            assert_eq!(Compression::from_iri(iri), Some(c), "{iri}");
        }
        assert_eq!(Compression::from_iri("http://example.com/zstd"), None);
        assert_eq!(
            Compression::Snappy.iri(),
            "http://code.google.com/p/snappy/"
        );
        assert_eq!(
            Compression::Stored.iri(),
            "http://aff4.org/Schema#NullCompressor"
        );
        assert_eq!(Compression::from_name("SNAPPY"), Some(Compression::Snappy));
        assert_eq!(Compression::from_name("stored"), Some(Compression::Stored));
        assert_eq!(Compression::from_name("zstd"), None);
    }

    #[test]
    fn compressed_only_when_sixteen_bytes_shorter() {
        // A chunk of zeros compresses far below the threshold; the rule itself is
        // checked on the stored length.
        let zeros = vec![0u8; 32768];
        let mut enc = Vec::new();
        for c in [
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zlib,
            Compression::Deflate,
        ] {
            assert!(c.encode_chunk(&zeros, &mut enc));
            assert!(enc.len() + 16 < zeros.len());
        }
        // Stored never compresses.
        assert!(!Compression::Stored.encode_chunk(&zeros, &mut enc));
        assert_eq!(enc, zeros);
        // A tiny chunk cannot get 16 bytes shorter: stored raw.
        assert!(!Compression::Zlib.encode_chunk(&[7u8; 10], &mut enc));
        assert_eq!(enc, vec![7u8; 10]);
    }

    #[test]
    fn out_buffers_are_reused_across_calls() {
        let data = sample();
        let mut enc = Vec::with_capacity(64 * 1024);
        let mut dec = Vec::with_capacity(64 * 1024);
        for c in [
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zlib,
            Compression::Deflate,
        ] {
            for _ in 0..3 {
                let (pe, pd) = (enc.as_ptr(), dec.as_ptr());
                c.encode_chunk(&data, &mut enc);
                c.decode_chunk(&enc, data.len(), &mut dec, "t").unwrap();
                assert_eq!(dec, data);
                assert_eq!((pe, pd), (enc.as_ptr(), dec.as_ptr()), "{c:?} reallocated");
            }
        }
    }

    /// The reusing encoder writes the same bytes as `encode_chunk`, keeps its buffer's
    /// length (no zero-fill per chunk) and says "store raw" without copying.
    #[test]
    fn encode_in_place_matches_and_keeps_the_buffer() {
        let text = sample();
        let noise = xorshift_noise(0x9e37_79b9, 32768);
        for c in [
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zlib,
            Compression::Deflate,
        ] {
            let mut reused = Vec::new();
            let mut once = Vec::new();
            for data in [&text, &noise, &text] {
                let n = c.encode_chunk_in(data, &mut reused);
                let compressed = c.encode_chunk(data, &mut once);
                assert_eq!(n.is_some(), compressed, "{c:?}");
                match n {
                    Some(n) => assert_eq!(&reused[..n], &once[..], "{c:?}"),
                    None => assert_eq!(&once[..], &data[..], "{c:?}"),
                }
                assert!(reused.len() >= data.len(), "{c:?} shrank its buffer");
            }
        }
        assert_eq!(
            Compression::Stored.encode_chunk_in(&text, &mut Vec::new()),
            None
        );
    }

    #[test]
    fn errors_name_the_codec_and_the_object() {
        let mut dec = Vec::new();
        for c in [
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zlib,
            Compression::Deflate,
        ] {
            let e = c
                .decode_chunk(&[0xff; 40], 32768, &mut dec, "aff4://s/00000003")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(c.name()) && e.contains("aff4://s/00000003"),
                "{e}"
            );
        }
        // Truncated zlib stream.
        let data = sample();
        let mut enc = Vec::new();
        Compression::Zlib.encode_chunk(&data, &mut enc);
        assert!(Compression::Zlib
            .decode_chunk(&enc[..enc.len() / 2], 32768, &mut dec, "t")
            .is_err());
        // Raw chunk longer than the chunk size.
        assert!(Compression::Stored
            .decode_chunk(&[0; 40], 32, &mut dec, "t")
            .is_err());
        // Exactly chunk-size output is fine; one more byte is not.
        let exact = vec![3u8; 4096];
        Compression::Deflate.encode_chunk(&exact, &mut enc);
        Compression::Deflate
            .decode_chunk(&enc, 4096, &mut dec, "t")
            .unwrap();
        assert_eq!(dec, exact);
        assert!(Compression::Deflate
            .decode_chunk(&enc, 4095, &mut dec, "t")
            .is_err());
        let mut big = vec![0u8; 40000];
        let n = Compression::Lz4.encode_chunk(&vec![1u8; 40000], &mut big);
        assert!(n);
        assert!(Compression::Lz4
            .decode_chunk(&big, 32768, &mut dec, "t")
            .is_err());
    }
}
