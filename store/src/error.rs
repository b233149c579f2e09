//! The crate's one error type, with a kind callers branch on.

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An object, key or file that does not exist.
    NotFound,
    /// An object that exists already (objects are never overwritten).
    AlreadyExists,
    /// Permission denied, or a key file readable by others.
    Unauthorized,
    /// A key that cannot be used (wrong length, does not decrypt).
    BadKey,
    /// Bytes that do not have the expected shape.
    Malformed,
    /// An object or stream whose integrity checks failed.
    Integrity,
    /// Configuration or arguments that cannot work.
    InvalidInput,
    /// Any other I/O failure (disk full, network).
    Io,
}

/// An error of logseal-store.
#[derive(Debug, thiserror::Error)]
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

    /// An I/O error on `what`, with its kind derived from the OS error.
    pub fn io(what: impl std::fmt::Display, err: &std::io::Error) -> Error {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
            std::io::ErrorKind::PermissionDenied => ErrorKind::Unauthorized,
            _ => ErrorKind::Io,
        };
        let hint = match err.raw_os_error() {
            Some(28) => " (disk full: free space or move the store)",
            _ => "",
        };
        Error::new(kind, format!("{what}: {err}{hint}"))
    }

    /// Prefixes the message with context.
    #[must_use]
    pub fn context(self, what: impl std::fmt::Display) -> Error {
        Error { kind: self.kind, message: format!("{what}: {}", self.message) }
    }
}

impl From<logseal_core::Error> for Error {
    fn from(err: logseal_core::Error) -> Error {
        let kind = match err.kind() {
            logseal_core::ErrorKind::BadKey => ErrorKind::BadKey,
            logseal_core::ErrorKind::InvalidInput => ErrorKind::InvalidInput,
            logseal_core::ErrorKind::BadSignature | logseal_core::ErrorKind::BadProof => ErrorKind::Integrity,
            _ => ErrorKind::Malformed,
        };
        Error::new(kind, err.message())
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
