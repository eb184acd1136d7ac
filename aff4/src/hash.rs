//! Digests used by AFF4 (`aff4:hash` datatypes and block hashes).

/// A hash algorithm AFF4 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlgo {
    /// MD5
    Md5,
    /// SHA-1
    Sha1,
    /// SHA-256
    Sha256,
    /// SHA-512
    Sha512,
    /// BLAKE2b-512
    Blake2b,
}

impl HashAlgo {
    /// All algorithms, in the order the standard sorts block hashes.
    pub const ALL: [HashAlgo; 5] = [
        HashAlgo::Md5,
        HashAlgo::Sha1,
        HashAlgo::Sha256,
        HashAlgo::Sha512,
        HashAlgo::Blake2b,
    ];

    /// From a literal's datatype IRI (`aff4:SHA256`, both `Blake2b`/`blake2b` spellings).
    pub fn from_datatype(iri: &str) -> Option<Self> {
        let local = iri.strip_prefix(crate::lexicon::AFF4)?;
        Some(match local {
            "MD5" | "md5" => HashAlgo::Md5,
            "SHA1" | "sha1" => HashAlgo::Sha1,
            "SHA256" | "sha256" => HashAlgo::Sha256,
            "SHA512" | "sha512" => HashAlgo::Sha512,
            "Blake2b" | "blake2b" | "BLAKE2b" => HashAlgo::Blake2b,
            _ => return None,
        })
    }
    /// The datatype IRI we write.
    ///
    /// BLAKE2b is written as `http://aff4.org/Schema#Blake2b`: pyaff4 0.34 knows only
    /// that spelling (its `lexicon.HASH_BLAKE2B`, the `Blake2bHash` value class and the
    /// datatype table of its RDF value registry all use the capital B), so a literal
    /// typed `aff4:blake2b` is not a hash to it. The standard's and c-aff4's lowercase
    /// `blake2b` is accepted on read (see [`HashAlgo::from_datatype`]). Block-hash member
    /// and subject names use the lowercase [`HashAlgo::name`] in both libraries.
    pub fn datatype(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "http://aff4.org/Schema#MD5",
            HashAlgo::Sha1 => "http://aff4.org/Schema#SHA1",
            HashAlgo::Sha256 => "http://aff4.org/Schema#SHA256",
            HashAlgo::Sha512 => "http://aff4.org/Schema#SHA512",
            HashAlgo::Blake2b => "http://aff4.org/Schema#Blake2b",
        }
    }
    /// Lowercase name as in block-hash member names (`md5`, `sha1`, ...).
    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "md5",
            HashAlgo::Sha1 => "sha1",
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha512 => "sha512",
            HashAlgo::Blake2b => "blake2b",
        }
    }
    /// From a lowercase name.
    pub fn from_name(name: &str) -> Option<Self> {
        HashAlgo::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }
    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgo::Md5 => 16,
            HashAlgo::Sha1 => 20,
            HashAlgo::Sha256 => 32,
            HashAlgo::Sha512 | HashAlgo::Blake2b => 64,
        }
    }
    /// A fresh hasher.
    pub fn hasher(self) -> Hasher {
        use sha2::Digest;
        Hasher(match self {
            HashAlgo::Md5 => Inner::Md5(md5::Md5::new()),
            HashAlgo::Sha1 => Inner::Sha1(sha1::Sha1::new()),
            HashAlgo::Sha256 => Inner::Sha256(sha2::Sha256::new()),
            HashAlgo::Sha512 => Inner::Sha512(sha2::Sha512::new()),
            HashAlgo::Blake2b => Inner::Blake2b(blake2::Blake2b512::new()),
        })
    }
    /// One-shot digest.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

/// An incremental hasher of one algorithm.
#[derive(Clone)]
pub struct Hasher(Inner);

#[derive(Clone)]
enum Inner {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Blake2b(blake2::Blake2b512),
}

impl Hasher {
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match &mut self.0 {
            Inner::Md5(h) => h.update(data),
            Inner::Sha1(h) => h.update(data),
            Inner::Sha256(h) => h.update(data),
            Inner::Sha512(h) => h.update(data),
            Inner::Blake2b(h) => h.update(data),
        }
    }
    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        use sha2::Digest;
        match self.0 {
            Inner::Md5(h) => h.finalize().to_vec(),
            Inner::Sha1(h) => h.finalize().to_vec(),
            Inner::Sha256(h) => h.finalize().to_vec(),
            Inner::Sha512(h) => h.finalize().to_vec(),
            Inner::Blake2b(h) => h.finalize().to_vec(),
        }
    }
    /// Appends the digest to `out` (no allocation beyond growing `out`).
    pub fn finish_into(self, out: &mut Vec<u8>) {
        use sha2::Digest;
        match self.0 {
            Inner::Md5(h) => out.extend_from_slice(&h.finalize()),
            Inner::Sha1(h) => out.extend_from_slice(&h.finalize()),
            Inner::Sha256(h) => out.extend_from_slice(&h.finalize()),
            Inner::Sha512(h) => out.extend_from_slice(&h.finalize()),
            Inner::Blake2b(h) => out.extend_from_slice(&h.finalize()),
        }
    }
    /// The algorithm.
    pub fn algo(&self) -> HashAlgo {
        match self.0 {
            Inner::Md5(_) => HashAlgo::Md5,
            Inner::Sha1(_) => HashAlgo::Sha1,
            Inner::Sha256(_) => HashAlgo::Sha256,
            Inner::Sha512(_) => HashAlgo::Sha512,
            Inner::Blake2b(_) => HashAlgo::Blake2b,
        }
    }
}

/// Several hashers fed the same bytes.
#[derive(Clone)]
pub struct MultiHasher {
    hashers: Vec<Hasher>,
}

impl MultiHasher {
    /// Hashers for `algos`.
    pub fn new(algos: &[HashAlgo]) -> Self {
        MultiHasher {
            hashers: algos.iter().map(|a| a.hasher()).collect(),
        }
    }
    /// Feeds bytes to every hasher.
    pub fn update(&mut self, data: &[u8]) {
        for h in &mut self.hashers {
            h.update(data);
        }
    }
    /// `(algorithm, lowercase hex digest)` for each.
    pub fn finish(self) -> Vec<(HashAlgo, String)> {
        self.hashers
            .into_iter()
            .map(|h| (h.algo(), to_hex(&h.finish())))
            .collect()
    }
}

/// Lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers_for_abc() {
        let want = [
            (HashAlgo::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            (HashAlgo::Sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                HashAlgo::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
        ];
        for (a, hex) in want {
            assert_eq!(to_hex(&a.digest(b"abc")), hex, "{a:?}");
            assert_eq!(a.digest(b"abc").len(), a.digest_len());
        }
        assert_eq!(
            to_hex(&HashAlgo::Sha512.digest(b"abc")),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        // RFC 7693 appendix A.
        assert_eq!(
            to_hex(&HashAlgo::Blake2b.digest(b"abc")),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1\
             7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"
        );
        // Incremental feeding and finish_into agree with one-shot digests.
        for a in HashAlgo::ALL {
            let mut h = a.hasher();
            h.update(b"a");
            h.update(b"bc");
            let mut out = vec![9u8];
            h.finish_into(&mut out);
            assert_eq!(out[1..], a.digest(b"abc")[..], "{a:?}");
        }
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    #[test]
    fn datatypes_round_trip_and_both_blake2b_spellings() {
        for a in HashAlgo::ALL {
            assert_eq!(HashAlgo::from_datatype(a.datatype()), Some(a));
            assert_eq!(HashAlgo::from_name(a.name()), Some(a));
        }
        assert_eq!(
            HashAlgo::from_datatype("http://aff4.org/Schema#blake2b"),
            Some(HashAlgo::Blake2b)
        );
    }
}
