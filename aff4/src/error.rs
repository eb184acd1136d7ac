//! The one error type of the format library.

/// Everything that can go wrong reading or writing an AFF4 volume. Each variant names
/// the thing that is wrong so the CLI can print it on one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error, with what we were doing when it happened.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing (e.g. "reading member PhysicalMemory/data/00000000").
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The ZIP container structure is missing or corrupt.
    #[error("ZIP container: {0}")]
    Zip(String),
    /// A ZIP member the metadata refers to is not in the volume.
    #[error("member {0:?} is not in the volume")]
    MissingMember(String),
    /// `information.turtle` (or another RDF text) could not be parsed.
    #[error("RDF metadata: {0}")]
    Rdf(String),
    /// An AFF4 object's data or metadata is inconsistent or out of bounds.
    #[error("{urn}: {reason}")]
    Corrupt {
        /// The object (URN or member name) that is wrong.
        urn: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A feature the file uses that this library does not implement.
    #[error("{urn}: unsupported: {what}")]
    Unsupported {
        /// The object that uses it.
        urn: String,
        /// What it is.
        what: String,
    },
    /// No object with that URN (or name) exists in the opened volume(s).
    #[error("no AFF4 object {0} in the volume")]
    NotFound(String),
    /// Maps refer to each other in a cycle.
    #[error("map cycle: {0}")]
    MapCycle(String),
    /// A partial file cannot be turned back into a container ([`crate::recover`]).
    #[error("cannot recover {file}: {reason}")]
    NotRecoverable {
        /// The partial file.
        file: String,
        /// Why not, and what to do.
        reason: String,
    },
    /// Reading what the container declares would take far more work than anything a
    /// container of its size can hold ([`crate::volume::VolumeSet::work_limit`]):
    /// refused before the work starts.
    #[error(
        "{what}: {work} bytes to read, more than the {limit} allowed for {container} bytes \
         of container (512 MiB + 64 times its size): damaged or hostile, or an image of \
         mostly symbolic ranges"
    )]
    WorkLimit {
        /// What would be read (the object and the command's step).
        what: String,
        /// Bytes it would read.
        work: u64,
        /// The limit.
        limit: u64,
        /// Bytes of container (all volumes).
        container: u64,
    },
    /// A caller supplied an invalid argument (bad chunk size, ranges out of order, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// Wraps an [`std::io::Error`] with what we were doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A [`Error::Corrupt`] for `urn`.
    pub fn corrupt(urn: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            urn: urn.into(),
            reason: reason.into(),
        }
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
