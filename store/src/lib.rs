//! logseal-store: where sealed logs live and how they get there.
//!
//! Encrypted Parquet files ([`sealed`]), key providers ([`keys`]), object
//! stores ([`object`]), the sealer ([`sealer`]) and the verifier's I/O
//! ([`audit`], [`deep`]). It never terminates TLS and knows nothing of
//! roles.
#![forbid(unsafe_code)]

pub mod audit;
pub mod aws;
pub mod deep;
pub mod error;
pub mod keys;
pub mod object;
pub mod prove;
pub mod sealed;
pub mod sealer;

pub use error::{Error, ErrorKind, Result};
