//! logseal-ingest: the agent — TLS listeners (HTTPS, syslog over TLS,
//! RELP), framing, the write-ahead log, batching, backpressure and the
//! agent runtime. This crate never decrypts anything.
#![forbid(unsafe_code)]

pub mod error;
pub mod shard;
pub mod wal;

pub use error::{Error, ErrorKind, Result};
