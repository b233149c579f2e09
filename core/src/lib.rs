//! logseal-core: the sealed format, without I/O.
//!
//! Records and their canonical encoding, the access-log parsers and their
//! exact renderers, salted commitments, the cross-file hash chain, RFC 6962
//! Merkle trees and proofs, manifests, the per-stream manifest log and its
//! signed checkpoints, and the verification logic over bytes. Storage hands
//! bytes in; findings come out. Nothing here touches a file, a socket or a
//! clock: callers pass the time in.
#![forbid(unsafe_code)]

pub mod blind;
pub mod canonical;
pub mod checkpoint;
pub mod commit;
pub mod derived;
pub mod error;
pub mod hash;
pub mod json;
pub mod layout;
pub mod manifest;
pub mod merkle;
pub mod parse;
pub mod proof;
pub mod record;
pub mod render;
pub mod timefmt;
pub mod verify;

pub use error::{Error, ErrorKind};
pub use hash::Hash;
pub use record::{EventTime, LineFormat, Micros, ParsedFields, Record};
