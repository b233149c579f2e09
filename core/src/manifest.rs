//! Manifests: one per sealed file, canonical JSON, versioned. A manifest
//! is what the manifest log commits to, so it carries everything needed to
//! check its data object without a key: the object's key, size and SHA-256,
//! the file's Merkle root and sequence range, and the chain values.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::hash::Hash;

/// The only manifest version this build writes and reads.
pub const MANIFEST_VERSION: u32 = 1;
/// The value of the manifest's `format` field.
pub const MANIFEST_FORMAT: &str = "logseal-manifest";

/// Where the sealed file is and what its bytes hash to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataObject {
    /// Object key, relative to the store's root.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the object's bytes.
    pub sha256: Hash,
}

/// A closed range of instants (RFC 3339 UTC strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    /// Earliest.
    pub min: String,
    /// Latest.
    pub max: String,
}

/// Which keys protect the file. Identifiers only, never key material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyInfo {
    /// The key provider (`local`, `aws-kms`).
    pub provider: String,
    /// Master key of the `base` domain (footer and non-personal columns).
    pub base: String,
    /// Master key of the `pii` domain (personal columns, the salt key).
    pub pii: String,
    /// Identifier of the `ip_tag` index key (a name, not the key).
    pub index: String,
}

/// A manifest, format v1. Field order here is irrelevant: the canonical
/// bytes sort keys (see [`Manifest::to_canonical_json`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `logseal-manifest`.
    pub format: String,
    /// Always [`MANIFEST_VERSION`] for manifests this build reads.
    pub version: u32,
    /// The checkpoint origin of the stream (`<deployment>/<stream>`).
    pub origin: String,
    /// The stream name.
    pub stream: String,
    /// Position of this file in the stream (and leaf index in the manifest log).
    pub file_index: u64,
    /// First sequence number in the file.
    pub seq_first: u64,
    /// Last sequence number in the file.
    pub seq_last: u64,
    /// Number of records (`seq_last - seq_first + 1`).
    pub count: u64,
    /// Range of event times in the file, if any record had one.
    pub event_time: Option<TimeRange>,
    /// Range of receive times.
    pub received_at: TimeRange,
    /// The sealed data object.
    pub data: DataObject,
    /// Keys of data objects an interrupted earlier attempt at this file
    /// left behind (write-once storage cannot remove them), sorted. Listed
    /// here so that they are accounted for under a signature instead of
    /// being unreferenced forever. Usually empty.
    pub orphans: Vec<String>,
    /// RFC 6962 root over the file's record leaves.
    pub merkle_root: Hash,
    /// Chain value before the file's first record.
    pub chain_in: Hash,
    /// Chain value after the file's last record.
    pub chain_out: Hash,
    /// Key identifiers.
    pub keys: KeyInfo,
    /// The file's salt key, wrapped under the `pii` master key (base64).
    pub salt_key_wrapped: String,
    /// Records whose raw bytes are stored (the renderer does not reproduce them).
    pub raw_stored: u64,
    /// Records that did not parse (kept with their raw bytes).
    pub parse_errors: u64,
    /// When the file was sealed (RFC 3339 UTC).
    pub created_at: String,
    /// The software that sealed it, e.g. `logseal 0.1.0`.
    pub writer: String,
}

impl Manifest {
    /// The canonical bytes: JSON with object keys sorted, no insignificant
    /// whitespace, integers only (the RFC 8785 subset this schema uses).
    pub fn to_canonical_json(&self) -> Vec<u8> {
        crate::json::canonical_bytes(self)
    }

    /// Parses manifest bytes and checks they are canonical and of a known
    /// version. A non-canonical encoding is refused: a manifest has exactly
    /// one byte representation, so its leaf hash is unambiguous.
    pub fn from_canonical_json(bytes: &[u8]) -> Result<Manifest, Error> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::new(ErrorKind::Malformed, format!("manifest is not JSON: {e}")))?;
        let version = value.get("version").and_then(serde_json::Value::as_u64);
        let format = value.get("format").and_then(serde_json::Value::as_str);
        if format != Some(MANIFEST_FORMAT) {
            return Err(Error::new(ErrorKind::Malformed, "manifest lacks \"format\": \"logseal-manifest\""));
        }
        if version != Some(u64::from(MANIFEST_VERSION)) {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!(
                    "manifest version {} is not supported (this build reads version {MANIFEST_VERSION})",
                    version.map_or_else(|| "(missing)".to_owned(), |v| v.to_string())
                ),
            ));
        }
        let manifest: Manifest = serde_json::from_value(value)
            .map_err(|e| Error::new(ErrorKind::Malformed, format!("manifest fields: {e}")))?;
        if manifest.to_canonical_json() != bytes {
            return Err(Error::new(ErrorKind::Malformed, "manifest is not in canonical form"));
        }
        Ok(manifest)
    }

    /// The manifest's leaf hash in the manifest log.
    pub fn leaf_hash(canonical_bytes: &[u8]) -> Hash {
        crate::hash::sha256_concat(&[&[0x00], canonical_bytes])
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT.into(),
            version: MANIFEST_VERSION,
            origin: "logseal.test/d1/s1".into(),
            stream: "s1".into(),
            file_index: 0,
            seq_first: 0,
            seq_last: 9,
            count: 10,
            event_time: None,
            received_at: TimeRange {
                min: "2026-01-01T00:00:00.000000Z".into(),
                max: "2026-01-01T00:00:01.000000Z".into(),
            },
            data: DataObject { key: "v1/s1/data/000000000000-ab.parquet".into(), size: 123, sha256: Hash([7; 32]) },
            orphans: Vec::new(),
            merkle_root: Hash([1; 32]),
            chain_in: Hash([2; 32]),
            chain_out: Hash([3; 32]),
            keys: KeyInfo { provider: "local".into(), base: "base".into(), pii: "pii".into(), index: "index".into() },
            salt_key_wrapped: "AAAA".into(),
            raw_stored: 0,
            parse_errors: 0,
            created_at: "2026-01-01T00:00:02.000000Z".into(),
            writer: "logseal test".into(),
        }
    }

    #[test]
    fn canonical_round_trip_and_sorted_keys() {
        let m = sample();
        let bytes = m.to_canonical_json();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("{\"chain_in\":"), "{text}");
        assert!(!text.contains(": ") && !text.contains(", ") && !text.contains('\n'));
        assert_eq!(Manifest::from_canonical_json(&bytes).unwrap(), m);
    }

    #[test]
    fn non_canonical_unknown_version_and_unknown_fields_are_refused() {
        let m = sample();
        let pretty = serde_json::to_vec_pretty(&m).unwrap();
        assert_eq!(Manifest::from_canonical_json(&pretty).unwrap_err().kind(), ErrorKind::Malformed);
        let mut v = serde_json::to_value(&m).unwrap();
        v["version"] = 2.into();
        let err = Manifest::from_canonical_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsupportedVersion);
        let mut v = serde_json::to_value(&m).unwrap();
        v["extra"] = 1.into();
        let err = Manifest::from_canonical_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }
}
