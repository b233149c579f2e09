//! What an auditor keeps between runs (`verify --state FILE`): per stream,
//! the last checkpoint it verified and the manifest-log leaves under it.
//! The next run proves the newest checkpoint consistent with it and only
//! reads what was added since.
//!
//! The file is untrusted input: on load every saved checkpoint's signature
//! is checked again and the saved leaves must hash to its root.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{LogVerifier, VerifiedCheckpoint};
use crate::error::{Error, ErrorKind};
use crate::hash::Hash;
use crate::merkle::MerkleTree;

/// The state file's version.
pub const STATE_VERSION: u32 = 1;

/// The last manifest an auditor verified in a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastManifest {
    /// Its file index.
    pub file_index: u64,
    /// Its last sequence number.
    pub seq_last: u64,
    /// Its chain head.
    pub chain_out: Hash,
}

/// A file an auditor verified: where its data object is, how big it was,
/// and the orphans its manifest accounts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedFile {
    /// The data object's key.
    pub data_key: String,
    /// Its size.
    pub size: u64,
    /// Orphans listed by its manifest.
    pub orphans: Vec<String>,
}

/// One stream's saved state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamState {
    /// The checkpoint note, as stored.
    pub checkpoint: String,
    /// Its number (object key).
    pub checkpoint_number: u64,
    /// Leaf hashes of the manifest log, as many as the checkpoint's size.
    pub manifest_leaves: Vec<Hash>,
    /// The files those manifests describe, one per leaf: later runs check
    /// from the listing alone that they are still there, unchanged in size.
    pub files: Vec<SavedFile>,
    /// The manifest at `size - 1`, if any.
    pub last_manifest: Option<LastManifest>,
    /// When it was verified (RFC 3339).
    pub verified_at: String,
}

/// A saved stream state whose checkpoint verified again on load.
#[derive(Debug, Clone)]
pub struct TrustedStreamState {
    /// What was saved.
    pub saved: StreamState,
    /// The saved checkpoint, opened.
    pub checkpoint: VerifiedCheckpoint,
}

/// The whole state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuditorState {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// The public key the state was verified with.
    pub vkey: String,
    /// Per stream.
    pub streams: BTreeMap<String, StreamState>,
}

impl AuditorState {
    /// An empty state for `verifier`.
    pub fn new(verifier: &LogVerifier) -> AuditorState {
        AuditorState { version: STATE_VERSION, vkey: verifier.to_vkey(), streams: BTreeMap::new() }
    }

    /// Parses a state file and re-checks every saved stream against
    /// `verifier`. Any problem is an error naming it: a state file is
    /// either wholly trustworthy or not used.
    pub fn load(
        bytes: &[u8],
        verifier: &LogVerifier,
    ) -> Result<(AuditorState, BTreeMap<String, TrustedStreamState>), Error> {
        let corrupt = |why: String| Error::new(ErrorKind::Malformed, format!("state file is corrupt: {why}"));
        let state: AuditorState = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        if state.version != STATE_VERSION {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!("state file version {} is not supported (this build reads {STATE_VERSION})", state.version),
            ));
        }
        if state.vkey != verifier.to_vkey() {
            return Err(Error::new(ErrorKind::BadKey, "state file was written for another public key"));
        }
        let mut trusted = BTreeMap::new();
        for (stream, saved) in &state.streams {
            let checkpoint = verifier
                .open(saved.checkpoint.as_bytes())
                .map_err(|e| corrupt(format!("stream {stream}: saved checkpoint: {e}")))?;
            if saved.manifest_leaves.len() as u64 != checkpoint.body.size
                || saved.files.len() != saved.manifest_leaves.len()
            {
                return Err(corrupt(format!("stream {stream}: leaf count differs from the checkpoint size")));
            }
            let tree = MerkleTree::from_leaves(saved.manifest_leaves.iter().copied());
            if tree.root() != checkpoint.body.root {
                return Err(corrupt(format!("stream {stream}: saved leaves do not hash to the saved checkpoint")));
            }
            if (checkpoint.body.size == 0) != saved.last_manifest.is_none() {
                return Err(corrupt(format!("stream {stream}: last manifest does not match the checkpoint size")));
            }
            trusted.insert(stream.clone(), TrustedStreamState { saved: saved.clone(), checkpoint });
        }
        Ok((state, trusted))
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("state serializes");
        bytes.push(b'\n');
        bytes
    }
}
