//! The crate's one error type.

/// An error of a query.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store or the keys failed.
    #[error(transparent)]
    Store(#[from] logseal_store::Error),
    /// The access trail's write-ahead log or TLS setup failed.
    #[error(transparent)]
    Ingest(#[from] logseal_ingest::Error),
    /// A sealed file could not be read.
    #[error("reading {key}: {message}")]
    File {
        /// The data object.
        key: String,
        /// What went wrong.
        message: String,
    },
    /// The query server could not be reached, or answered wrongly.
    #[error("{0}")]
    Client(String),
    /// The query cannot be run as asked.
    #[error("{0}")]
    InvalidQuery(String),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
