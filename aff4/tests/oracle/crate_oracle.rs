//! The crates.io `aff4` reader (another team's code) as an oracle.

use std::io::Read;
use std::path::Path;

/// SHA-256 of the whole virtual image as the crates.io `aff4` reader reads it.
pub fn sha256(p: &Path) -> String {
    let mut r = aff4_oracle::Aff4Reader::open(p)
        .unwrap_or_else(|e| panic!("aff4 crate cannot open {}: {e}", p.display()));
    let mut h = aff4::hash::HashAlgo::Sha256.hasher();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf).expect("aff4 crate read");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    aff4::hash::to_hex(&h.finish())
}
