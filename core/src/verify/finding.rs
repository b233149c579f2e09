//! Findings: what a verifier reports, each naming what, where and why.

use serde::Serialize;

/// The kind of problem, stable across releases (used in JSON and counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Category {
    /// A data object's bytes do not hash to its manifest's SHA-256.
    ObjectHashMismatch,
    /// A data object's size differs from its manifest.
    ObjectSizeMismatch,
    /// A manifest names a data object that does not exist.
    MissingObject,
    /// A manifest index is missing from the sequence.
    MissingManifest,
    /// A manifest that does not parse, is not canonical, has an unknown
    /// version, or contradicts its own key.
    InvalidManifest,
    /// Sequence numbers do not continue from one file to the next.
    SeqGap,
    /// A file's `chain_in` is not the previous file's `chain_out`.
    ChainBreak,
    /// The manifests do not hash to a signed checkpoint's root.
    ManifestLogMismatch,
    /// An object under the stream that no manifest references.
    UnreferencedObject,
    /// A checkpoint covers more files than exist.
    TailTruncated,
    /// Manifests exist beyond the newest checkpoint.
    UnsignedManifests,
    /// A checkpoint that does not parse or whose signature fails.
    InvalidCheckpoint,
    /// A checkpoint number is missing from the sequence.
    MissingCheckpoint,
    /// Checkpoints that go backwards in size or time.
    CheckpointInconsistent,
    /// More time between two checkpoints than the first promised.
    HeartbeatGap,
    /// The newest checkpoint is older than it promised the next would be.
    Stale,
    /// The store does not extend the auditor's saved checkpoint.
    StateMismatch,
    /// Decrypted records do not match the signed manifest.
    RecordMismatch,
    /// A file could not be decrypted or decoded.
    Unreadable,
    /// A delete marker under the stream (versioned stores): an object was
    /// deleted; its versions may still be there behind the marker.
    DeleteMarker,
    /// A key with more than one version (versioned stores): an object was
    /// written again, though logseal never overwrites.
    SecondVersion,
    /// A checkpoint of the store that the checkpoint mirror lacks.
    MirrorMissing,
    /// The checkpoint mirror holds a checkpoint the store lacks, or another
    /// one under the same key: one of the two was changed.
    MirrorDisagrees,
}

impl Category {
    /// The stable name, e.g. `object-hash-mismatch`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::ObjectHashMismatch => "object-hash-mismatch",
            Category::ObjectSizeMismatch => "object-size-mismatch",
            Category::MissingObject => "missing-object",
            Category::MissingManifest => "missing-manifest",
            Category::InvalidManifest => "invalid-manifest",
            Category::SeqGap => "seq-gap",
            Category::ChainBreak => "chain-break",
            Category::ManifestLogMismatch => "manifest-log-mismatch",
            Category::UnreferencedObject => "unreferenced-object",
            Category::TailTruncated => "tail-truncated",
            Category::UnsignedManifests => "unsigned-manifests",
            Category::InvalidCheckpoint => "invalid-checkpoint",
            Category::MissingCheckpoint => "missing-checkpoint",
            Category::CheckpointInconsistent => "checkpoint-inconsistent",
            Category::HeartbeatGap => "heartbeat-gap",
            Category::Stale => "stale",
            Category::StateMismatch => "state-mismatch",
            Category::RecordMismatch => "record-mismatch",
            Category::Unreadable => "unreadable",
            Category::DeleteMarker => "delete-marker",
            Category::SecondVersion => "second-version",
            Category::MirrorMissing => "mirror-missing",
            Category::MirrorDisagrees => "mirror-disagrees",
        }
    }
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of problem.
    pub category: Category,
    /// The stream.
    pub stream: String,
    /// The object concerned, if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The file index concerned, if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_index: Option<u64>,
    /// The sequence range concerned, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq_first: Option<u64>,
    /// The sequence range concerned, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq_last: Option<u64>,
    /// What is wrong, in words.
    pub message: String,
}

impl Finding {
    /// A finding about `stream`.
    pub fn new(category: Category, stream: &str, message: impl Into<String>) -> Finding {
        Finding {
            category,
            stream: stream.to_owned(),
            object: None,
            file_index: None,
            seq_first: None,
            seq_last: None,
            message: message.into(),
        }
    }

    /// Names the object.
    #[must_use]
    pub fn object(mut self, key: &str) -> Finding {
        self.object = Some(key.to_owned());
        self
    }

    /// Names the file index.
    #[must_use]
    pub fn file(mut self, index: u64) -> Finding {
        self.file_index = Some(index);
        self
    }

    /// Names the sequence range.
    #[must_use]
    pub fn seqs(mut self, first: u64, last: u64) -> Finding {
        self.seq_first = Some(first);
        self.seq_last = Some(last);
        self
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] stream {}", self.category.as_str(), self.stream)?;
        if let Some(k) = self.file_index {
            write!(f, " file {k}")?;
        }
        if let (Some(a), Some(b)) = (self.seq_first, self.seq_last) {
            write!(f, " seq {a}..={b}")?;
        }
        if let Some(o) = &self.object {
            write!(f, " ({o})")?;
        }
        write!(f, ": {}", self.message)
    }
}
