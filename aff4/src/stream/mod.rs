//! aff4:ImageStream: chunked, compressed storage in "bevy" members (AFF4-FORMAT.md §3).

mod read;
mod write;

pub use read::*;
pub use write::*;
