//! The crate's one error type, with a kind callers branch on.

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bytes that do not have the expected shape.
    Malformed,
    /// A well-formed object of a version this build does not know.
    UnsupportedVersion,
    /// A signature that does not verify, or a key that does not match.
    BadSignature,
    /// A key (signing or verifying) that cannot be used.
    BadKey,
    /// A proof that does not verify.
    BadProof,
    /// An argument out of range (names, sizes).
    InvalidInput,
}

/// An error of logseal-core.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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

    /// The message, lowercase, naming the thing.
    pub fn message(&self) -> &str {
        &self.message
    }
}
