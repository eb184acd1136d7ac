//! Evimetry-style block hashes and the block/map hash (AFF4-FORMAT.md §6.2).
//!
//! TODO(owner: codec/hash helper): functions computing block-hash members per bevy, the
//! BlockHashes digests, map point/idx hashes and blockMapHash, laid out so that pyaff4's
//! `block_hasher.Validator` accepts them.
