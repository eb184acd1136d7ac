//! The ZIP/ZIP64 container that holds an AFF4 volume.
//!
//! Hand-written rather than built on the `zip` crate: AFF4 interop depends on exact
//! byte layout (ZIP64 end records always present, all three u64 values in the CD extra
//! so c-aff4 parses it, EOCD comment = volume URN), and the reader must tolerate what
//! real producers write (several ZIPs appended in one file, duplicate names, data
//! descriptors, plain EOCDs) while giving positional access to stored members.

pub(crate) mod format;
mod read;
mod write;

pub use read::{Entry, Method, ZipArchive};
pub use write::{StreamingMember, ZipWriter};
