//! Checkpoints of a stream's manifest log: C2SP `tlog-checkpoint` bodies
//! signed as C2SP `signed-note`s, each with a signed timestamp.
//!
//! A checkpoint carries two signature lines from the same log key. With a
//! local Ed25519 key:
//! - a plain Ed25519 note signature (type 0x01), which standard checkpoint
//!   tooling verifies;
//! - a timestamped C2SP `cosignature/v1` (type 0x04, key ID over
//!   `0x04 ‖ pubkey`), whose signed message is `cosignature/v1\ntime <t>\n`
//!   followed by the note body: the signed time of the checkpoint.
//!
//! With an ECDSA P-256 key held by a KMS ([`RemoteSigner`]):
//! - a plain ECDSA signature (type 0x02 as transparency-dev/witness and
//!   Rekor make it: DER ECDSA over SHA-256 of the text, key ID the first 4
//!   bytes of SHA-256 of the DER public key);
//! - a timestamped ECDSA signature: type 0xff with the identifier
//!   `logseal/timestamped-ecdsa-p256/v1` in its key ID, over the same
//!   cosignature message, as `time (8 bytes BE) ‖ DER signature`.
//!
//! The two messages are domain-separated (an origin line can never be
//! `cosignature/v1`: origins are validated), so one key serves both and an
//! auditor needs a single `vkey`. The body has one logseal extension line
//! saying when the next checkpoint is due (see [`Heartbeat`]).

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, Signer, Verifier, VerifierList};
use tlog_tiles::Checkpoint as TlogCheckpoint;

use crate::error::{Error, ErrorKind};
use crate::hash::Hash;

const ALG_ED25519: u8 = 0x01;
const ALG_ECDSA: u8 = 0x02;
const ALG_COSIGNATURE_V1: u8 = 0x04;
/// C2SP signed-note's type byte for types it assigns no byte to; followed
/// by [`ECDSA_TIMESTAMP_TYPE`] in the key ID.
const ALG_PRIVATE: u8 = 0xff;
/// Names logseal's timestamped ECDSA signature type (the counterpart of
/// `cosignature/v1` for P-256 keys).
const ECDSA_TIMESTAMP_TYPE: &[u8] = b"logseal/timestamped-ecdsa-p256/v1";
const EXTENSION_PREFIX: &str = "logseal/v1 ";

/// What a checkpoint promises about the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// Another checkpoint will follow within this many seconds, records or
    /// not. A longer silence is a finding ("heartbeat gap").
    Every(u64),
    /// The writer stopped cleanly (an import finished, an agent shut down);
    /// no checkpoint is promised until it resumes.
    Paused,
}

impl Heartbeat {
    fn to_extension(self) -> String {
        match self {
            Heartbeat::Every(secs) => format!("{EXTENSION_PREFIX}heartbeat={secs}\n"),
            Heartbeat::Paused => format!("{EXTENSION_PREFIX}paused\n"),
        }
    }

    fn from_extension(ext: &str) -> Result<Heartbeat, Error> {
        let bad = || {
            Error::new(ErrorKind::Malformed, format!("checkpoint extension {ext:?} is not a logseal/v1 heartbeat line"))
        };
        let line = ext.strip_suffix('\n').ok_or_else(bad)?;
        let rest = line.strip_prefix(EXTENSION_PREFIX).ok_or_else(bad)?;
        if rest == "paused" {
            return Ok(Heartbeat::Paused);
        }
        let secs = rest.strip_prefix("heartbeat=").ok_or_else(bad)?;
        if secs.starts_with('0') || secs.starts_with('+') {
            return Err(bad());
        }
        secs.parse().map(Heartbeat::Every).map_err(|_| bad())
    }
}

/// The body of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointBody {
    /// `<deployment>/<stream>`.
    pub origin: String,
    /// Number of manifests in the log.
    pub size: u64,
    /// Root of the manifest log.
    pub root: Hash,
    /// When the next checkpoint is due.
    pub heartbeat: Heartbeat,
}

/// A checkpoint whose signatures verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// What it says.
    pub body: CheckpointBody,
    /// The signed time (seconds since the epoch).
    pub timestamp: u64,
}

/// Checks that a deployment or stream name is usable in origins and key names.
pub fn validate_name(what: &str, name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._/".contains(&b))
        && !name.starts_with(['/', '.', '-'])
        && !name.ends_with('/')
        && !name.contains("//")
        && !name.split('/').any(|part| part == "." || part == "..")
        && !name.starts_with("cosignature");
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{what} {name:?} is not valid: use 1-128 characters a-z A-Z 0-9 . _ - / (not starting with / . -)"),
        ))
    }
}

/// Stream names are one path segment.
pub fn validate_stream_name(name: &str) -> Result<(), Error> {
    validate_name("stream name", name)?;
    if name.contains('/') || name.starts_with('_') && name != "_access" {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("stream name {name:?} is not valid: no '/' and no leading '_' (reserved)"),
        ));
    }
    Ok(())
}

/// The checkpoint origin of a stream.
pub fn origin(deployment: &str, stream: &str) -> String {
    format!("{deployment}/{stream}")
}

/// Makes ECDSA P-256 / SHA-256 signatures with a key held elsewhere (a
/// KMS): the log's signing key when it never leaves the key service.
pub trait RemoteSigner: Send + Sync {
    /// The ASN.1 DER ECDSA signature over SHA-256(`msg`). On failure, a
    /// message naming the key service, the key and the cause.
    fn sign_p256_sha256(&self, msg: &[u8]) -> Result<Vec<u8>, String>;
}

/// The DER header of a P-256 `SubjectPublicKeyInfo` with an uncompressed
/// point: SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING
/// (65 bytes) }. DER is canonical, so every such key starts with exactly
/// these 26 bytes; matching them is a complete parse. Written by hand
/// rather than with an ASN.1 crate to keep a general DER parser out of the
/// verifier's untrusted-input surface.
const P256_SPKI_HEADER: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The DER header of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410):
/// SEQUENCE { SEQUENCE { id-Ed25519 }, BIT STRING (32 bytes) }.
const ED25519_SPKI_HEADER: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// An ECDSA P-256 public key, as its DER `SubjectPublicKeyInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct P256PublicKey {
    spki: Vec<u8>,
}

impl P256PublicKey {
    /// Checks that `der` is a P-256 public key (`SubjectPublicKeyInfo`,
    /// uncompressed point), as KMS `GetPublicKey` and PEM files hold it.
    pub fn from_spki_der(der: &[u8]) -> Result<P256PublicKey, Error> {
        let point = der.strip_prefix(&P256_SPKI_HEADER[..]).ok_or_else(|| {
            Error::new(
                ErrorKind::BadKey,
                "public key is not an ECDSA P-256 key (SubjectPublicKeyInfo, id-ecPublicKey, prime256v1)",
            )
        })?;
        if point.len() != 65 || point[0] != 0x04 {
            return Err(Error::new(ErrorKind::BadKey, "P-256 public key is not an uncompressed point of 65 bytes"));
        }
        Ok(P256PublicKey { spki: der.to_vec() })
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    fn point(&self) -> &[u8] {
        &self.spki[P256_SPKI_HEADER.len()..]
    }

    fn verify(&self, msg: &[u8], der_sig: &[u8]) -> bool {
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, self.point())
            .verify(msg, der_sig)
            .is_ok()
    }
}

/// The log's signing key: signs checkpoints. Only the sealer holds one.
pub struct LogSigner {
    name: String,
    key: SecretKey,
}

enum SecretKey {
    /// A local Ed25519 key (the key file).
    Ed25519(SigningKey),
    /// An ECDSA P-256 key in a key service.
    EcdsaP256 { public: P256PublicKey, remote: Arc<dyn RemoteSigner> },
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogSigner({})", self.name)
    }
}

/// The log's public key, as the auditor holds it.
#[derive(Debug, Clone)]
pub struct LogVerifier {
    name: String,
    key: PublicKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PublicKey {
    Ed25519(VerifyingKey),
    EcdsaP256(P256PublicKey),
}

impl PublicKey {
    /// Key IDs of the plain and the timestamped signature lines.
    fn key_ids(&self, name: &str) -> (u32, u32) {
        match self {
            PublicKey::Ed25519(key) => (
                signed_note::key_id(name, &[&[ALG_ED25519][..], key.as_bytes()].concat()),
                signed_note::key_id(name, &[&[ALG_COSIGNATURE_V1][..], key.as_bytes()].concat()),
            ),
            PublicKey::EcdsaP256(key) => (
                // C2SP signed-note: for type 0x02 the key ID is the
                // truncated SHA-256 of the DER key alone.
                {
                    let h = sha256(key.spki_der());
                    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
                },
                signed_note::key_id(name, &[&[ALG_PRIVATE][..], ECDSA_TIMESTAMP_TYPE, key.spki_der()].concat()),
            ),
        }
    }

    /// Verifies a signature over `msg` (plain: the note text; timestamped:
    /// the cosignature message).
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(key) => {
                ed25519_dalek::Signature::from_slice(sig).is_ok_and(|sig| key.verify_strict(msg, &sig).is_ok())
            }
            PublicKey::EcdsaP256(key) => key.verify(msg, sig),
        }
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

fn key_id(name: &str, alg: u8, key: &VerifyingKey) -> u32 {
    signed_note::key_id(name, &[&[alg][..], key.as_bytes()].concat())
}

impl LogSigner {
    /// A key named `name` (the deployment name) from 32 secret random bytes
    /// (the caller draws them from the OS: this crate does no I/O).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<LogSigner, Error> {
        validate_name("deployment name", name)?;
        Ok(LogSigner { name: name.to_owned(), key: SecretKey::Ed25519(SigningKey::from_bytes(&seed)) })
    }

    /// A signer whose ECDSA P-256 key is held by a key service (`remote`),
    /// with `public_key` its public half (DER `SubjectPublicKeyInfo`).
    pub fn remote_p256(name: &str, public_key: &[u8], remote: Arc<dyn RemoteSigner>) -> Result<LogSigner, Error> {
        validate_name("deployment name", name)?;
        let public = P256PublicKey::from_spki_der(public_key)?;
        Ok(LogSigner { name: name.to_owned(), key: SecretKey::EcdsaP256 { public, remote } })
    }

    /// Parses a C2SP signer key (`PRIVATE+KEY+<name>+<id>+<base64>`).
    pub fn from_skey(skey: &str) -> Result<LogSigner, Error> {
        let bad = |why: &str| Error::new(ErrorKind::BadKey, format!("not a signed-note Ed25519 private key: {why}"));
        let parts: Vec<&str> = skey.trim_end().splitn(5, '+').collect();
        let [priv1, priv2, name, id, key64] = parts[..] else {
            return Err(bad("expected PRIVATE+KEY+<name>+<id>+<key>"));
        };
        if priv1 != "PRIVATE" || priv2 != "KEY" {
            return Err(bad("missing PRIVATE+KEY prefix"));
        }
        let key = BASE64.decode(key64).map_err(|_| bad("key is not base64"))?;
        let (&alg, seed) = key.split_first().ok_or_else(|| bad("empty key"))?;
        if alg != ALG_ED25519 {
            return Err(bad("algorithm is not Ed25519"));
        }
        let seed: [u8; 32] = seed.try_into().map_err(|_| bad("key is not 32 bytes"))?;
        let key = SigningKey::from_bytes(&seed);
        if format!("{:08x}", key_id(name, ALG_ED25519, &key.verifying_key())) != id {
            return Err(bad("key ID does not match the key"));
        }
        validate_name("key name", name)?;
        Ok(LogSigner { name: name.to_owned(), key: SecretKey::Ed25519(key) })
    }

    /// The private key in C2SP signer-key form. Secret. A key held by a
    /// key service has none.
    pub fn to_skey(&self) -> Result<String, Error> {
        match &self.key {
            SecretKey::Ed25519(key) => {
                let bytes = [&[ALG_ED25519][..], key.as_bytes()].concat();
                Ok(format!(
                    "PRIVATE+KEY+{}+{:08x}+{}",
                    self.name,
                    key_id(&self.name, ALG_ED25519, &key.verifying_key()),
                    BASE64.encode(bytes)
                ))
            }
            SecretKey::EcdsaP256 { .. } => {
                Err(Error::new(ErrorKind::BadKey, "a key held by a key service cannot be exported"))
            }
        }
    }

    /// The public half.
    pub fn verifier(&self) -> LogVerifier {
        let key = match &self.key {
            SecretKey::Ed25519(key) => PublicKey::Ed25519(key.verifying_key()),
            SecretKey::EcdsaP256 { public, .. } => PublicKey::EcdsaP256(public.clone()),
        };
        LogVerifier { name: self.name.clone(), key }
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Signs `body` at time `timestamp` (seconds since the epoch): the
    /// bytes of a signed note with both signature lines. A key service's
    /// signatures are checked against the public key before use.
    pub fn sign(&self, body: &CheckpointBody, timestamp: u64) -> Result<Vec<u8>, Error> {
        if timestamp > i64::MAX as u64 {
            return Err(Error::new(ErrorKind::InvalidInput, "timestamp beyond 2^63-1"));
        }
        let text = TlogCheckpoint::new(&body.origin, body.size, body.root.to_tlog(), &body.heartbeat.to_extension())
            .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("checkpoint for {}: {e}", body.origin)))?
            .to_bytes();
        let mut note =
            Note::new(&text, &[]).map_err(|e| Error::new(ErrorKind::InvalidInput, format!("checkpoint note: {e}")))?;
        let public = self.verifier().key;
        let (plain_id, stamped_id) = public.key_ids(&self.name);
        let plain = LineSigner { log: self, key_id: plain_id, timestamp: None, failure: Mutex::default() };
        let stamped =
            LineSigner { log: self, key_id: stamped_id, timestamp: Some(timestamp), failure: Mutex::default() };
        note.add_sigs(&[&plain, &stamped]).map_err(|e| {
            let cause = [&plain, &stamped]
                .iter()
                .find_map(|s| s.failure.lock().ok().and_then(|mut f| f.take()))
                .unwrap_or_else(|| e.to_string());
            Error::new(ErrorKind::BadKey, format!("signing checkpoint of {}: {cause}", body.origin))
        })?;
        Ok(note.to_bytes())
    }

    /// One raw signature over `msg` with the log's key.
    fn sign_raw(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        match &self.key {
            SecretKey::Ed25519(key) => Ok(key.sign(msg).to_vec()),
            SecretKey::EcdsaP256 { public, remote } => {
                let sig = remote.sign_p256_sha256(msg)?;
                if !public.verify(msg, &sig) {
                    return Err("the key service returned a signature that does not verify under the key's public key (another key, or a fault)".to_owned());
                }
                Ok(sig)
            }
        }
    }
}

/// Makes one signature line: plain (over the note text) or timestamped
/// (over the cosignature message, prefixed with the time). Keeps the cause
/// of a failure, which the note library's error type cannot carry.
struct LineSigner<'a> {
    log: &'a LogSigner,
    key_id: u32,
    timestamp: Option<u64>,
    failure: Mutex<Option<String>>,
}

impl Signer for LineSigner<'_> {
    fn name(&self) -> &str {
        &self.log.name
    }
    fn key_id(&self) -> u32 {
        self.key_id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let signed = match self.timestamp {
            None => self.log.sign_raw(msg),
            Some(t) => self.log.sign_raw(&cosignature_message(t, msg)).map(|sig| [&t.to_be_bytes()[..], &sig].concat()),
        };
        signed.map_err(|cause| {
            if let Ok(mut failure) = self.failure.lock() {
                *failure = Some(cause);
            }
            ed25519_dalek::SignatureError::new()
        })
    }
}

fn cosignature_message(timestamp: u64, body: &[u8]) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(body);
    msg
}

impl LogVerifier {
    /// Parses a C2SP verifier key: `<name>+<id>+<base64(0x01 ‖ Ed25519
    /// key)>`, or `<name>+<id>+<base64(0x02 ‖ DER P-256 key)>`.
    pub fn from_vkey(vkey: &str) -> Result<LogVerifier, Error> {
        let vkey = vkey.trim();
        let bad = |why: &str| Error::new(ErrorKind::BadKey, format!("not a signed-note public key (vkey): {why}"));
        let parts: Vec<&str> = vkey.splitn(3, '+').collect();
        let [name, id, key64] = parts[..] else {
            return Err(bad("expected <name>+<id>+<key>"));
        };
        let key = BASE64.decode(key64).map_err(|_| bad("key is not base64"))?;
        let key = match key.split_first() {
            Some((&ALG_ED25519, raw)) => {
                let raw: [u8; 32] = raw.try_into().map_err(|_| bad("Ed25519 key is not 32 bytes"))?;
                PublicKey::Ed25519(VerifyingKey::from_bytes(&raw).map_err(|_| bad("not a valid Ed25519 point"))?)
            }
            Some((&ALG_ECDSA, der)) => PublicKey::EcdsaP256(P256PublicKey::from_spki_der(der)?),
            Some(_) => return Err(bad("algorithm is neither Ed25519 (0x01) nor ECDSA P-256 (0x02)")),
            None => return Err(bad("empty key")),
        };
        if format!("{:08x}", key.key_ids(name).0) != id {
            return Err(bad("key ID does not match the key"));
        }
        validate_name("key name", name)?;
        Ok(LogVerifier { name: name.to_owned(), key })
    }

    /// The verifier of a public key given as DER `SubjectPublicKeyInfo`
    /// (e.g. from a PEM file): ECDSA P-256 or Ed25519, for deployment `name`.
    pub fn from_spki_der(name: &str, der: &[u8]) -> Result<LogVerifier, Error> {
        validate_name("deployment name", name)?;
        let key = match der.strip_prefix(&ED25519_SPKI_HEADER[..]) {
            Some(raw) => {
                let raw: [u8; 32] =
                    raw.try_into().map_err(|_| Error::new(ErrorKind::BadKey, "Ed25519 public key is not 32 bytes"))?;
                PublicKey::Ed25519(
                    VerifyingKey::from_bytes(&raw)
                        .map_err(|_| Error::new(ErrorKind::BadKey, "not a valid Ed25519 point"))?,
                )
            }
            None => PublicKey::EcdsaP256(P256PublicKey::from_spki_der(der).map_err(|_| {
                Error::new(ErrorKind::BadKey, "public key is neither ECDSA P-256 nor Ed25519 (SubjectPublicKeyInfo)")
            })?),
        };
        Ok(LogVerifier { name: name.to_owned(), key })
    }

    /// The public key as DER `SubjectPublicKeyInfo` (for PEM files).
    pub fn to_spki_der(&self) -> Vec<u8> {
        match &self.key {
            PublicKey::Ed25519(key) => [&ED25519_SPKI_HEADER[..], key.as_bytes()].concat(),
            PublicKey::EcdsaP256(key) => key.spki_der().to_vec(),
        }
    }

    /// The C2SP verifier key line.
    pub fn to_vkey(&self) -> String {
        match &self.key {
            PublicKey::Ed25519(key) => signed_note::new_ed25519_verifier_key(&self.name, key),
            PublicKey::EcdsaP256(key) => {
                let bytes = [&[ALG_ECDSA][..], key.spki_der()].concat();
                format!("{}+{:08x}+{}", self.name, self.key.key_ids(&self.name).0, BASE64.encode(bytes))
            }
        }
    }

    /// The key's name (the deployment name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Verifies a checkpoint note: both signature lines must be present and
    /// valid, the body well-formed, with a logseal heartbeat line.
    /// Signatures by other keys (witnesses) are ignored.
    pub fn open(&self, note_bytes: &[u8]) -> Result<VerifiedCheckpoint, Error> {
        let note = Note::from_bytes(note_bytes)
            .map_err(|e| Error::new(ErrorKind::Malformed, format!("checkpoint is not a signed note: {e}")))?;
        let (plain_id, stamped_id) = self.key.key_ids(&self.name);
        let plain = LineVerifier { name: self.name.clone(), key: self.key.clone(), key_id: plain_id, stamped: false };
        let stamped =
            LineVerifier { name: self.name.clone(), key: self.key.clone(), key_id: stamped_id, stamped: true };
        let known = VerifierList::new(vec![Box::new(plain), Box::new(stamped)]);
        let (verified, _others) = note.verify(&known).map_err(|e| {
            Error::new(
                ErrorKind::BadSignature,
                format!("checkpoint signature: {e} (signed by another key, or altered)"),
            )
        })?;
        if !verified.iter().any(|s| s.id() == plain_id) {
            return Err(Error::new(ErrorKind::BadSignature, "checkpoint lacks the log's plain signature"));
        }
        let timestamp = verified
            .iter()
            .find(|s| s.id() == stamped_id)
            .and_then(|s| s.signature().get(..8))
            .and_then(|t| <[u8; 8]>::try_from(t).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| Error::new(ErrorKind::BadSignature, "checkpoint lacks the log's timestamped signature"))?;
        let body = TlogCheckpoint::from_bytes(note.text())
            .map_err(|_| Error::new(ErrorKind::Malformed, "checkpoint body is not a C2SP checkpoint"))?;
        let heartbeat = Heartbeat::from_extension(body.extension())?;
        Ok(VerifiedCheckpoint {
            body: CheckpointBody {
                origin: body.origin().to_owned(),
                size: body.size(),
                root: Hash::from_tlog(*body.hash()),
                heartbeat,
            },
            timestamp,
        })
    }
}

/// Checks one of the log's two signature lines.
struct LineVerifier {
    name: String,
    key: PublicKey,
    key_id: u32,
    stamped: bool,
}

impl Verifier for LineVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.key_id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if !self.stamped {
            return self.key.verify(msg, sig);
        }
        let Some((ts, sig)) = sig.split_first_chunk::<8>() else {
            return false;
        };
        let timestamp = u64::from_be_bytes(*ts);
        timestamp <= i64::MAX as u64 && self.key.verify(&cosignature_message(timestamp, msg), sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> LogSigner {
        LogSigner::from_skey(&LogSigner::from_seed("logseal.test/d1", [9; 32]).unwrap().to_skey().unwrap()).unwrap()
    }

    fn body() -> CheckpointBody {
        CheckpointBody {
            origin: "logseal.test/d1/s1".into(),
            size: 3,
            root: Hash([5; 32]),
            heartbeat: Heartbeat::Every(60),
        }
    }

    #[test]
    fn sign_then_open() {
        let s = signer();
        let note = s.sign(&body(), 1_764_000_000).unwrap();
        let text = String::from_utf8(note.clone()).unwrap();
        assert!(text.starts_with("logseal.test/d1/s1\n3\nBQUF"), "{text}");
        assert!(text.contains("logseal/v1 heartbeat=60\n\n— logseal.test/d1 "), "{text}");
        let v = LogVerifier::from_vkey(&s.verifier().to_vkey()).unwrap();
        let opened = v.open(&note).unwrap();
        assert_eq!(opened.body, body());
        assert_eq!(opened.timestamp, 1_764_000_000);
    }

    #[test]
    fn any_changed_byte_fails() {
        let s = signer();
        let note = s.sign(&body(), 1_764_000_000).unwrap();
        let v = s.verifier();
        for i in 0..note.len() {
            let mut bad = note.clone();
            bad[i] ^= 0x01;
            assert!(v.open(&bad).is_err(), "byte {i} flipped still verifies");
        }
    }

    #[test]
    fn other_key_and_missing_signature_fail() {
        let s = signer();
        let other = LogSigner::from_seed("logseal.test/d1", [8; 32]).unwrap();
        let note = other.sign(&body(), 1).unwrap();
        assert_eq!(s.verifier().open(&note).unwrap_err().kind(), ErrorKind::BadSignature);
        // Drop the timestamp line: refused.
        let note = s.sign(&body(), 1).unwrap();
        let text = String::from_utf8(note).unwrap();
        let without_cosig: String = text.lines().take(6).map(|l| format!("{l}\n")).collect();
        assert_eq!(s.verifier().open(without_cosig.as_bytes()).unwrap_err().kind(), ErrorKind::BadSignature);
    }

    #[test]
    fn paused_heartbeat_round_trips() {
        let s = signer();
        let mut b = body();
        b.heartbeat = Heartbeat::Paused;
        assert_eq!(s.verifier().open(&s.sign(&b, 5).unwrap()).unwrap().body.heartbeat, Heartbeat::Paused);
    }

    #[test]
    fn names_are_validated() {
        assert!(validate_stream_name("web-1").is_ok());
        assert!(validate_stream_name("_access").is_ok());
        for bad in ["", "a/b", "_x", "..", "a b", "a+b", "-a"] {
            assert!(validate_stream_name(bad).is_err(), "{bad}");
        }
        assert!(validate_name("deployment name", "logseal.local/ab12").is_ok());
        assert!(validate_name("deployment name", "cosignature/v1").is_err());
    }

    /// An ECDSA P-256 key in memory standing in for a KMS key.
    struct RingSigner(ring::signature::EcdsaKeyPair);

    impl RemoteSigner for RingSigner {
        fn sign_p256_sha256(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
            let rng = ring::rand::SystemRandom::new();
            self.0.sign(&rng, msg).map(|s| s.as_ref().to_vec()).map_err(|_| "ring refused".to_owned())
        }
    }

    fn ring_key() -> (Vec<u8>, Arc<RingSigner>) {
        use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let spki = [&P256_SPKI_HEADER[..], pair.public_key().as_ref()].concat();
        (spki, Arc::new(RingSigner(pair)))
    }

    fn ecdsa_signer() -> LogSigner {
        let (spki, remote) = ring_key();
        LogSigner::remote_p256("logseal.test/d1", &spki, remote).unwrap()
    }

    #[test]
    fn ecdsa_sign_then_open_via_vkey() {
        let s = ecdsa_signer();
        let note = s.sign(&body(), 1_764_000_000).unwrap();
        let vkey = s.verifier().to_vkey();
        assert!(vkey.starts_with("logseal.test/d1+"), "{vkey}");
        let v = LogVerifier::from_vkey(&vkey).unwrap();
        let opened = v.open(&note).unwrap();
        assert_eq!((opened.body, opened.timestamp), (body(), 1_764_000_000));
        // The vkey's key ID is C2SP's for type 0x02: SHA-256 of the DER key.
        let spki = v.to_spki_der();
        let id =
            format!("{:02x}{:02x}{:02x}{:02x}", sha256(&spki)[0], sha256(&spki)[1], sha256(&spki)[2], sha256(&spki)[3]);
        assert_eq!(vkey.split('+').nth(1), Some(id.as_str()));
        // The same key given as DER (a PEM file) opens it too.
        assert_eq!(
            LogVerifier::from_spki_der("logseal.test/d1", &spki).unwrap().open(&note).unwrap().timestamp,
            1_764_000_000
        );
    }

    #[test]
    fn ecdsa_any_changed_byte_or_other_key_fails() {
        let s = ecdsa_signer();
        let note = s.sign(&body(), 7).unwrap();
        let v = s.verifier();
        for i in 0..note.len() {
            let mut bad = note.clone();
            bad[i] ^= 0x01;
            assert!(v.open(&bad).is_err(), "byte {i} flipped still verifies");
        }
        assert_eq!(ecdsa_signer().verifier().open(&note).unwrap_err().kind(), ErrorKind::BadSignature);
        // An Ed25519 verifier of the same name does not accept it either.
        assert_eq!(signer().verifier().open(&note).unwrap_err().kind(), ErrorKind::BadSignature);
        // Without the timestamped line: refused.
        let text = String::from_utf8(note).unwrap();
        let without_stamp: String = text.lines().take(6).map(|l| format!("{l}\n")).collect();
        assert_eq!(v.open(without_stamp.as_bytes()).unwrap_err().kind(), ErrorKind::BadSignature);
    }

    #[test]
    fn a_remote_signature_by_another_key_or_a_failure_is_an_error() {
        let (spki, _) = ring_key();
        let (_, other) = ring_key();
        let s = LogSigner::remote_p256("logseal.test/d1", &spki, other).unwrap();
        let err = s.sign(&body(), 1).unwrap_err();
        assert!(err.message().contains("does not verify under the key's public key"), "{err}");

        struct Down;
        impl RemoteSigner for Down {
            fn sign_p256_sha256(&self, _: &[u8]) -> Result<Vec<u8>, String> {
                Err("kms:Sign on key-1 at http://127.0.0.1:1: connection refused".to_owned())
            }
        }
        let s = LogSigner::remote_p256("logseal.test/d1", &spki, Arc::new(Down)).unwrap();
        let err = s.sign(&body(), 1).unwrap_err();
        assert!(err.message().contains("kms:Sign on key-1") && err.message().contains("logseal.test/d1/s1"), "{err}");
        assert!(s.to_skey().is_err());
    }

    #[test]
    fn ed25519_keys_round_trip_through_spki() {
        let s = signer();
        let note = s.sign(&body(), 3).unwrap();
        let der = s.verifier().to_spki_der();
        assert_eq!(der.len(), 44);
        let v = LogVerifier::from_spki_der("logseal.test/d1", &der).unwrap();
        assert_eq!(v.to_vkey(), s.verifier().to_vkey());
        assert_eq!(v.open(&note).unwrap().timestamp, 3);
        assert!(LogVerifier::from_spki_der("logseal.test/d1", &der[..43]).is_err());
    }

    #[test]
    fn p256_keys_are_checked() {
        let (spki, _) = ring_key();
        assert!(P256PublicKey::from_spki_der(&spki).is_ok());
        for bad in [&spki[..90], &[&spki[..], &[0][..]].concat()[..], &spki[1..], &[]] {
            assert_eq!(P256PublicKey::from_spki_der(bad).unwrap_err().kind(), ErrorKind::BadKey);
        }
        let mut compressed = spki.clone();
        compressed[26] = 0x02;
        assert!(P256PublicKey::from_spki_der(&compressed).is_err());
        // A P-384 SPKI header is refused.
        let mut p384 = spki;
        p384[22] = 0x22;
        assert!(P256PublicKey::from_spki_der(&p384).is_err());
        assert!(LogVerifier::from_vkey("n+00000000+Ag==").is_err());
    }
}
