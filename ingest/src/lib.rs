//! logseal-ingest: the agent — TLS listeners (HTTPS, syslog over TLS,
//! RELP), framing, the write-ahead log, batching, backpressure and the
//! agent runtime. This crate never decrypts anything.
#![forbid(unsafe_code)]

pub mod agent;
pub mod config;
pub mod error;
pub mod http;
pub mod lines;
pub mod ops;
mod parse_pool;
pub mod relp;
pub mod shard;
pub mod syslog;
pub mod syslog_msg;
pub mod tls;
pub mod wal;
mod wal_frame;

pub use error::{Error, ErrorKind, Result};
