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
    pub const ALL: [HashAlgo; 5] = [HashAlgo::Md5, HashAlgo::Sha1, HashAlgo::Sha256, HashAlgo::Sha512, HashAlgo::Blake2b];

    /// From a literal's datatype IRI (`aff4:SHA256`, both `Blake2b`/`blake2b` spellings).
    pub fn from_datatype(iri: &str) -> Option<Self> {
        let _ = iri;
        todo!()
    }
    /// The datatype IRI we write.
    pub fn datatype(self) -> &'static str {
        todo!()
    }
    /// Lowercase name as in block-hash member names (`md5`, `sha1`, ...).
    pub fn name(self) -> &'static str {
        todo!()
    }
    /// From a lowercase name.
    pub fn from_name(name: &str) -> Option<Self> {
        let _ = name;
        todo!()
    }
    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        todo!()
    }
    /// A fresh hasher.
    pub fn hasher(self) -> Hasher {
        todo!()
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
pub struct Hasher {
    _private: (),
}

impl Hasher {
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        let _ = data;
        todo!()
    }
    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        todo!()
    }
    /// The algorithm.
    pub fn algo(&self) -> HashAlgo {
        todo!()
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
        MultiHasher { hashers: algos.iter().map(|a| a.hasher()).collect() }
    }
    /// Feeds bytes to every hasher.
    pub fn update(&mut self, data: &[u8]) {
        for h in &mut self.hashers {
            h.update(data);
        }
    }
    /// `(algorithm, lowercase hex digest)` for each.
    pub fn finish(self) -> Vec<(HashAlgo, String)> {
        self.hashers.into_iter().map(|h| (h.algo(), to_hex(&h.finish()))).collect()
    }
}

/// Lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    let _ = bytes;
    todo!()
}
