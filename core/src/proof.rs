//! Evidence bundles: one record, proven to a signed checkpoint, verifiable
//! offline with nothing but the log's public key.
//!
//! A bundle holds the record, its salt (not the file's salt key: no other
//! record is exposed), the Merkle path from the record's leaf to its file's
//! root, the manifest that signs that root, the manifest's inclusion path
//! in the manifest log, and a signed checkpoint of the log. It is canonical
//! JSON followed by one newline; any other byte sequence is refused, so
//! changing any byte of a bundle makes it fail.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::canonical;
use crate::checkpoint::{LogVerifier, VerifiedCheckpoint};
use crate::commit::{Salt, commitment, leaf_hash};
use crate::error::{Error, ErrorKind};
use crate::hash::Hash;
use crate::manifest::Manifest;
use crate::merkle::verify_inclusion;
use crate::record::{EventTime, LineFormat, Record};

/// The bundle's `format` value.
pub const PROOF_FORMAT: &str = "logseal-proof";
/// The only bundle version this build writes and reads.
pub const PROOF_VERSION: u32 = 1;

/// An event time in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeJson {
    /// Microseconds since the epoch, UTC.
    pub utc_micros: i64,
    /// Offset the line was written in, seconds east of UTC.
    pub offset_secs: i32,
}

/// A record in a bundle: every field of [`Record`], `raw` in base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RecordJson {
    pub seq: u64,
    pub received_at: i64,
    pub source: String,
    pub format: Option<String>,
    pub time: Option<TimeJson>,
    pub client_ip: Option<String>,
    pub method: Option<String>,
    pub url: Option<String>,
    pub url_path: Option<String>,
    pub protocol: Option<String>,
    pub status: Option<u16>,
    pub bytes_sent: Option<u64>,
    pub duration_us: Option<u64>,
    pub referer: Option<String>,
    pub user_agent: Option<String>,
    pub user_id: Option<String>,
    pub request_id: Option<String>,
    pub host: Option<String>,
    /// The line's original bytes, base64.
    pub raw: String,
    pub parse_error: Option<String>,
}

impl RecordJson {
    /// From a record.
    pub fn from_record(r: &Record) -> RecordJson {
        RecordJson {
            seq: r.seq,
            received_at: r.received_at,
            source: r.source.clone(),
            format: r.format.map(|f| f.name().to_owned()),
            time: r.time.map(|t| TimeJson { utc_micros: t.utc_micros, offset_secs: t.offset_secs }),
            client_ip: r.client_ip.map(|ip| ip.to_string()),
            method: r.method.clone(),
            url: r.url.clone(),
            url_path: r.url_path.clone(),
            protocol: r.protocol.clone(),
            status: r.status,
            bytes_sent: r.bytes_sent,
            duration_us: r.duration_us,
            referer: r.referer.clone(),
            user_agent: r.user_agent.clone(),
            user_id: r.user_id.clone(),
            request_id: r.request_id.clone(),
            host: r.host.clone(),
            raw: BASE64.encode(&r.raw),
            parse_error: r.parse_error.clone(),
        }
    }

    /// Back to a record.
    pub fn to_record(&self) -> Result<Record, Error> {
        let bad = |what: &str| Error::new(ErrorKind::Malformed, format!("proof record: {what}"));
        Ok(Record {
            seq: self.seq,
            received_at: self.received_at,
            source: self.source.clone(),
            format: match &self.format {
                Some(name) => Some(LineFormat::from_name(name).ok_or_else(|| bad("unknown format"))?),
                None => None,
            },
            time: self.time.as_ref().map(|t| EventTime { utc_micros: t.utc_micros, offset_secs: t.offset_secs }),
            client_ip: match &self.client_ip {
                Some(ip) => Some(ip.parse::<IpAddr>().map_err(|_| bad("client_ip is not an address"))?),
                None => None,
            },
            method: self.method.clone(),
            url: self.url.clone(),
            url_path: self.url_path.clone(),
            protocol: self.protocol.clone(),
            status: self.status,
            bytes_sent: self.bytes_sent,
            duration_us: self.duration_us,
            referer: self.referer.clone(),
            user_agent: self.user_agent.clone(),
            user_id: self.user_id.clone(),
            request_id: self.request_id.clone(),
            host: self.host.clone(),
            raw: BASE64.decode(&self.raw).map_err(|_| bad("raw is not base64"))?,
            parse_error: self.parse_error.clone(),
        })
    }
}

/// An evidence bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// Always `logseal-proof`.
    pub format: String,
    /// Always [`PROOF_VERSION`].
    pub version: u32,
    /// The record.
    pub record: RecordJson,
    /// The record's salt, hex.
    pub salt: Hash,
    /// The record's leaf index in its file.
    pub record_index: u64,
    /// Merkle path from the record's leaf to the file root.
    pub record_proof: Vec<Hash>,
    /// The manifest's exact canonical bytes.
    pub manifest: String,
    /// Merkle path from the manifest's leaf to the checkpoint's root.
    pub manifest_proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

/// What a verified bundle proves.
#[derive(Debug, Clone)]
pub struct ProvenRecord {
    /// The record.
    pub record: Record,
    /// Its file's manifest.
    pub manifest: Manifest,
    /// The checkpoint it is proven to.
    pub checkpoint: VerifiedCheckpoint,
}

impl ProofBundle {
    /// The bundle's bytes: canonical JSON and a newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = crate::json::canonical_bytes(self);
        bytes.push(b'\n');
        bytes
    }

    /// Parses bundle bytes; refuses anything but the canonical form.
    pub fn from_bytes(bytes: &[u8]) -> Result<ProofBundle, Error> {
        let malformed = |why: String| Error::new(ErrorKind::Malformed, format!("not a logseal proof bundle: {why}"));
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if value.get("format").and_then(serde_json::Value::as_str) != Some(PROOF_FORMAT) {
            return Err(malformed("missing \"format\": \"logseal-proof\"".into()));
        }
        if value.get("version").and_then(serde_json::Value::as_u64) != Some(u64::from(PROOF_VERSION)) {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!("proof bundle version is not {PROOF_VERSION}"),
            ));
        }
        let bundle: ProofBundle = serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
        if bundle.to_bytes() != bytes {
            return Err(malformed("not in canonical form (the bundle was edited)".into()));
        }
        Ok(bundle)
    }

    /// Verifies every element of the bundle against `verifier`.
    pub fn verify(&self, verifier: &LogVerifier) -> Result<ProvenRecord, Error> {
        let fail = |what: String| Error::new(ErrorKind::BadProof, what);
        let record = self.record.to_record()?;
        let manifest = Manifest::from_canonical_json(self.manifest.as_bytes())?;
        let checkpoint = verifier.open(self.checkpoint.as_bytes())?;

        // Record → file root.
        if record.seq < manifest.seq_first || record.seq > manifest.seq_last {
            return Err(fail(format!(
                "record seq {} is outside the file's range {}..={}",
                record.seq, manifest.seq_first, manifest.seq_last
            )));
        }
        if self.record_index != record.seq - manifest.seq_first {
            return Err(fail("record index does not match its sequence number".into()));
        }
        let salt: Salt = self.salt.0;
        let leaf = leaf_hash(&commitment(&salt, &canonical::encode(&record)));
        verify_inclusion(
            self.record_index,
            manifest.count,
            leaf.as_bytes(),
            &self.record_proof,
            manifest.merkle_root.as_bytes(),
        )
        .map_err(|e| fail(format!("record is not in its file's Merkle tree: {e}")))?;

        // Manifest → checkpoint root.
        if manifest.origin != checkpoint.body.origin {
            return Err(fail(format!(
                "manifest is for {}, checkpoint for {}",
                manifest.origin, checkpoint.body.origin
            )));
        }
        let manifest_leaf = Manifest::leaf_hash(self.manifest.as_bytes());
        verify_inclusion(
            manifest.file_index,
            checkpoint.body.size,
            manifest_leaf.as_bytes(),
            &self.manifest_proof,
            checkpoint.body.root.as_bytes(),
        )
        .map_err(|e| fail(format!("manifest is not in the checkpoint's manifest log: {e}")))?;
        Ok(ProvenRecord { record, manifest, checkpoint })
    }
}
