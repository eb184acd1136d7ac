//! The AFF4 Standard v1.0 container format, as the real producers write it.
//!
//! This crate knows the format and nothing about platforms. It reads what Evimetry
//! (the AFF4 reference images), pyaff4 and c-aff4 write, and writes volumes that all
//! of them (and the crates.io `aff4` reader) open. See `../shared/AFF4-FORMAT.md` for
//! the facts behind every choice.
//!
//! Layers, bottom up:
//! - [`io`]: positional reads ([`io::ReadAt`]) over files and byte buffers.
//! - [`zip`]: the ZIP/ZIP64 volume container (reader and streaming writer).
//! - [`urn`]: URN ↔ ZIP member-name escaping.
//! - [`rdf`], [`lexicon`]: the RDF model of `information.turtle`.
//! - [`codec`], [`hash`], [`symbolic`]: chunk compression, digests, symbolic streams.
//! - [`stream`], [`map`]: aff4:ImageStream and aff4:Map readers and writers.
//! - [`volume`]: opening a volume (or a striped set) and resolving objects by URN.
//! - [`writer`]: writing whole volumes (memory images, disk images, logical files).
//! - [`logical`]: AFF4-L logical files; [`verify`]: recomputing every stored hash.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod blockhash;
pub mod codec;
pub mod error;
pub mod hash;
pub mod hash_thread;
pub mod io;
pub mod journal;
pub mod lexicon;
pub mod logical;
pub mod map;
pub mod rdf;
pub mod recover;
pub mod stream;
pub mod symbolic;
pub mod urn;
pub mod verify;
pub mod volume;
pub mod writer;
pub mod zip;

pub use error::{Error, Result};
