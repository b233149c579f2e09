//! logseal-query: reading the archive for staff. Today: the scan engine
//! ([`engine`]: which files, [`scan`]: one file, [`query`]: what matches).
//! To come: the query server, Cedar authorization, masking and the audit
//! of every access (`_access` stream). This crate may only ever write the
//! `_access` stream, never log data.
#![forbid(unsafe_code)]

pub mod access;
pub mod client;
pub mod engine;
mod error;
mod filter;
pub mod mask;
pub mod policy;
pub mod protocol;
pub mod query;
mod rows;
pub mod scan;
pub mod server;
pub mod stats;

pub use error::{Error, Result};
