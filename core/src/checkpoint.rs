//! Checkpoints of a stream's manifest log: C2SP `tlog-checkpoint` bodies
//! signed as C2SP `signed-note`s, each with a signed timestamp.
//!
//! A checkpoint carries two signature lines from the same Ed25519 log key:
//! - a plain Ed25519 note signature (type 0x01), which standard checkpoint
//!   tooling verifies;
//! - a timestamped C2SP `cosignature/v1` (type 0x04, key ID over
//!   `0x04 ‖ pubkey`), whose signed message is `cosignature/v1\ntime <t>\n`
//!   followed by the note body: the signed time of the checkpoint.
//!
//! The two messages are domain-separated (an origin line can never be
//! `cosignature/v1`: origins are validated), so one key serves both and an
//! auditor needs a single `vkey`. The body has one logseal extension line
//! saying when the next checkpoint is due (see [`Heartbeat`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, Signer, Verifier, VerifierList};
use tlog_tiles::Checkpoint as TlogCheckpoint;

use crate::error::{Error, ErrorKind};
use crate::hash::Hash;

const ALG_ED25519: u8 = 0x01;
const ALG_COSIGNATURE_V1: u8 = 0x04;
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

/// The log's signing key: signs checkpoints. Only the sealer holds one.
pub struct LogSigner {
    name: String,
    key: SigningKey,
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
    key: VerifyingKey,
}

fn key_id(name: &str, alg: u8, key: &VerifyingKey) -> u32 {
    signed_note::key_id(name, &[&[alg][..], key.as_bytes()].concat())
}

impl LogSigner {
    /// A key named `name` (the deployment name) from 32 secret random bytes
    /// (the caller draws them from the OS: this crate does no I/O).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<LogSigner, Error> {
        validate_name("deployment name", name)?;
        Ok(LogSigner { name: name.to_owned(), key: SigningKey::from_bytes(&seed) })
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
        let signer = LogSigner { name: name.to_owned(), key: SigningKey::from_bytes(&seed) };
        if format!("{:08x}", key_id(name, ALG_ED25519, &signer.key.verifying_key())) != id {
            return Err(bad("key ID does not match the key"));
        }
        validate_name("key name", name)?;
        Ok(signer)
    }

    /// The private key in C2SP signer-key form. Secret.
    pub fn to_skey(&self) -> String {
        let bytes = [&[ALG_ED25519][..], self.key.as_bytes()].concat();
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            key_id(&self.name, ALG_ED25519, &self.key.verifying_key()),
            BASE64.encode(bytes)
        )
    }

    /// The public half.
    pub fn verifier(&self) -> LogVerifier {
        LogVerifier { name: self.name.clone(), key: self.key.verifying_key() }
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Signs `body` at time `timestamp` (seconds since the epoch): the
    /// bytes of a signed note with both signature lines.
    pub fn sign(&self, body: &CheckpointBody, timestamp: u64) -> Result<Vec<u8>, Error> {
        if timestamp > i64::MAX as u64 {
            return Err(Error::new(ErrorKind::InvalidInput, "timestamp beyond 2^63-1"));
        }
        let text = TlogCheckpoint::new(&body.origin, body.size, body.root.to_tlog(), &body.heartbeat.to_extension())
            .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("checkpoint for {}: {e}", body.origin)))?
            .to_bytes();
        let mut note =
            Note::new(&text, &[]).map_err(|e| Error::new(ErrorKind::InvalidInput, format!("checkpoint note: {e}")))?;
        let plain = PlainSigner(self);
        let cosig = CosignatureSigner { log: self, timestamp };
        note.add_sigs(&[&plain, &cosig])
            .map_err(|e| Error::new(ErrorKind::BadKey, format!("signing checkpoint: {e}")))?;
        Ok(note.to_bytes())
    }
}

struct PlainSigner<'a>(&'a LogSigner);

impl Signer for PlainSigner<'_> {
    fn name(&self) -> &str {
        &self.0.name
    }
    fn key_id(&self) -> u32 {
        key_id(&self.0.name, ALG_ED25519, &self.0.key.verifying_key())
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.0.key.sign(msg).to_vec())
    }
}

fn cosignature_message(timestamp: u64, body: &[u8]) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(body);
    msg
}

struct CosignatureSigner<'a> {
    log: &'a LogSigner,
    timestamp: u64,
}

impl Signer for CosignatureSigner<'_> {
    fn name(&self) -> &str {
        &self.log.name
    }
    fn key_id(&self) -> u32 {
        key_id(&self.log.name, ALG_COSIGNATURE_V1, &self.log.key.verifying_key())
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let sig = self.log.key.sign(&cosignature_message(self.timestamp, msg));
        Ok([&self.timestamp.to_be_bytes()[..], &sig.to_bytes()].concat())
    }
}

impl LogVerifier {
    /// Parses a C2SP verifier key (`<name>+<id>+<base64(0x01 ‖ key)>`).
    pub fn from_vkey(vkey: &str) -> Result<LogVerifier, Error> {
        let vkey = vkey.trim();
        let bad =
            |why: &str| Error::new(ErrorKind::BadKey, format!("not a signed-note Ed25519 public key (vkey): {why}"));
        let parts: Vec<&str> = vkey.splitn(3, '+').collect();
        let [name, id, key64] = parts[..] else {
            return Err(bad("expected <name>+<id>+<key>"));
        };
        let key = BASE64.decode(key64).map_err(|_| bad("key is not base64"))?;
        let (&alg, raw) = key.split_first().ok_or_else(|| bad("empty key"))?;
        if alg != ALG_ED25519 {
            return Err(bad("algorithm is not Ed25519"));
        }
        let raw: [u8; 32] = raw.try_into().map_err(|_| bad("key is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|_| bad("not a valid Ed25519 point"))?;
        if format!("{:08x}", key_id(name, ALG_ED25519, &key)) != id {
            return Err(bad("key ID does not match the key"));
        }
        Ok(LogVerifier { name: name.to_owned(), key })
    }

    /// The C2SP verifier key line.
    pub fn to_vkey(&self) -> String {
        signed_note::new_ed25519_verifier_key(&self.name, &self.key)
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
        let plain = PlainVerifier { name: self.name.clone(), key: self.key };
        let cosig = CosignatureVerifier { name: self.name.clone(), key: self.key };
        let known = VerifierList::new(vec![Box::new(plain), Box::new(cosig)]);
        let (verified, _others) = note.verify(&known).map_err(|e| {
            Error::new(
                ErrorKind::BadSignature,
                format!("checkpoint signature: {e} (signed by another key, or altered)"),
            )
        })?;
        let plain_id = key_id(&self.name, ALG_ED25519, &self.key);
        let cosig_id = key_id(&self.name, ALG_COSIGNATURE_V1, &self.key);
        if !verified.iter().any(|s| s.id() == plain_id) {
            return Err(Error::new(ErrorKind::BadSignature, "checkpoint lacks the log's Ed25519 signature"));
        }
        let timestamp = verified
            .iter()
            .find(|s| s.id() == cosig_id)
            .and_then(|s| s.signature().get(..8))
            .and_then(|t| <[u8; 8]>::try_from(t).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| Error::new(ErrorKind::BadSignature, "checkpoint lacks the log's timestamped cosignature"))?;
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

struct PlainVerifier {
    name: String,
    key: VerifyingKey,
}

impl Verifier for PlainVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        key_id(&self.name, ALG_ED25519, &self.key)
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(sig).is_ok_and(|sig| self.key.verify_strict(msg, &sig).is_ok())
    }
}

struct CosignatureVerifier {
    name: String,
    key: VerifyingKey,
}

impl Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        key_id(&self.name, ALG_COSIGNATURE_V1, &self.key)
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some((ts, sig)) = sig.split_first_chunk::<8>() else {
            return false;
        };
        let timestamp = u64::from_be_bytes(*ts);
        if timestamp > i64::MAX as u64 {
            return false;
        }
        ed25519_dalek::Signature::from_slice(sig)
            .is_ok_and(|sig| self.key.verify_strict(&cosignature_message(timestamp, msg), &sig).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> LogSigner {
        LogSigner::from_skey(
            &LogSigner { name: "logseal.test/d1".into(), key: SigningKey::from_bytes(&[9; 32]) }.to_skey(),
        )
        .unwrap()
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
        let other = LogSigner { name: "logseal.test/d1".into(), key: SigningKey::from_bytes(&[8; 32]) };
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
}
