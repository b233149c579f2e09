//! The crate's one error type, with a kind callers branch on.

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The disk is full (backpressure, not a crash).
    DiskFull,
    /// Any other I/O failure.
    Io,
    /// Data on disk that is damaged beyond a torn tail.
    Corrupt,
    /// Configuration that cannot work.
    Config,
    /// TLS setup (certificates, keys).
    Tls,
    /// The store or keys failed.
    Store,
    /// The agent is shutting down.
    ShuttingDown,
}

/// An error of logseal-ingest.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// A new error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into() }
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// An I/O error on `what`; a full disk gets its own kind and says so.
    pub fn io(what: impl std::fmt::Display, err: &std::io::Error) -> Error {
        if err.raw_os_error() == Some(28) {
            return Error::new(ErrorKind::DiskFull, format!("{what}: disk full ({err}); free space on the WAL disk"));
        }
        Error::new(ErrorKind::Io, format!("{what}: {err}"))
    }
}

impl From<logseal_store::Error> for Error {
    fn from(err: logseal_store::Error) -> Error {
        Error::new(ErrorKind::Store, err.to_string())
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
