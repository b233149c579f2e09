//! Verification logic over bytes: storage hands in listings, manifests,
//! checkpoints, object digests and decrypted rows; findings come out.
//!
//! [`stream::StreamAudit`] checks a stream's structure with only the
//! public key (every row of DESIGN.md §4); [`deep::DeepFile`] checks one
//! decrypted file against its manifest; [`state::AuditorState`] is what an
//! auditor keeps between runs. Every problem is reported, not just the
//! first.

pub mod deep;
pub mod finding;
pub mod state;
pub mod stream;

pub use finding::{Category, Finding};
