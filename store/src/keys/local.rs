//! The local key provider: 256-bit master keys in files under a key
//! directory, created by `logseal init` with mode 0600.
//!
//! Wrapped keys are `base64(nonce ‖ AES-256-GCM(key) ‖ tag)` with the
//! master key identifier followed by the context as associated data —
//! simple enough for a Python KMS client to reproduce (see
//! `tests/interop/local_kms.py`), which is how pyarrow reads our files.

use std::fs;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use logseal_core::checkpoint::{LogSigner, LogVerifier};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::{KeyDomain, KeyProvider};
use crate::error::{Error, ErrorKind, Result};

/// Master key identifier of the `base` domain.
pub const BASE_KEY_ID: &str = "logseal-base";
/// Master key identifier of the `pii` domain.
pub const PII_KEY_ID: &str = "logseal-pii";
/// Identifier of the blind-index key.
pub const INDEX_KEY_ID: &str = "logseal-index";

/// Key files in a directory: `base.key`, `pii.key`, `index.key`, each 64
/// hex digits. A reader may hold only some of them (an analyst without
/// `pii.key`); a missing file is an error only when that key is used.
#[derive(Debug, Clone)]
pub struct LocalKeys {
    dir: PathBuf,
}

fn file_name(key_id: &str) -> Option<&'static str> {
    match key_id {
        BASE_KEY_ID => Some("base.key"),
        PII_KEY_ID => Some("pii.key"),
        INDEX_KEY_ID => Some("index.key"),
        _ => None,
    }
}

impl LocalKeys {
    /// Uses the key files in `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> LocalKeys {
        LocalKeys { dir: dir.into() }
    }

    /// Creates `dir` (mode 0700) and three new random keys (mode 0600).
    /// Refuses to replace an existing key file.
    pub fn create(dir: impl Into<PathBuf>) -> Result<LocalKeys> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating key directory {}", dir.display()), &e))?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(format!("restricting key directory {}", dir.display()), &e))?;
        let rng = SystemRandom::new();
        for id in [BASE_KEY_ID, PII_KEY_ID, INDEX_KEY_ID] {
            let mut key = Zeroizing::new([0u8; 32]);
            rng.fill(key.as_mut()).map_err(|_| Error::new(ErrorKind::Io, "the OS random generator failed"))?;
            let path = dir.join(file_name(id).expect("known id"));
            write_secret_file(&path, format!("{}\n", hex::encode(key.as_ref())).as_bytes())?;
        }
        Ok(LocalKeys { dir })
    }

    /// The key directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn load(&self, key_id: &str) -> Result<Zeroizing<[u8; 32]>> {
        let name = file_name(key_id).ok_or_else(|| {
            Error::new(ErrorKind::BadKey, format!("unknown local master key {key_id:?} (this store's keys are {BASE_KEY_ID}, {PII_KEY_ID}, {INDEX_KEY_ID})"))
        })?;
        load_key_file(&self.dir.join(name))
    }

    fn cipher(&self, master_key_id: &str) -> Result<LessSafeKey> {
        let key = self.load(master_key_id)?;
        let unbound = UnboundKey::new(&AES_256_GCM, key.as_ref()).expect("32-byte key");
        Ok(LessSafeKey::new(unbound))
    }
}

/// Writes a new file readable by its owner only; never replaces one.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("creating key file {}", path.display()), &e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(format!("writing key file {}", path.display()), &e))
}

/// Reads a secret file, refusing one that others can read.
pub fn read_secret_file(path: &Path) -> Result<Zeroizing<String>> {
    let meta = fs::metadata(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            " (is this the right --data-dir? restore the key from your backup; without it the data it protects cannot be read)"
        } else {
            ""
        };
        Error::io(format!("key file {}{hint}", path.display()), &e)
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::new(
            ErrorKind::Unauthorized,
            format!(
                "key file {} is readable by others (mode {mode:o}); run: chmod 600 {}",
                path.display(),
                path.display()
            ),
        ));
    }
    let text = fs::read_to_string(path).map_err(|e| Error::io(format!("reading key file {}", path.display()), &e))?;
    Ok(Zeroizing::new(text))
}

/// Creates the checkpoint signing key of deployment `name` in `path`
/// (mode 0600, never replacing a file).
pub fn create_signing_key(path: &Path, name: &str) -> Result<LogSigner> {
    let mut seed = Zeroizing::new([0u8; 32]);
    SystemRandom::new().fill(seed.as_mut()).map_err(|_| Error::new(ErrorKind::Io, "the OS random generator failed"))?;
    let signer = LogSigner::from_seed(name, *seed)?;
    write_secret_file(path, format!("{}\n", signer.to_skey()?).as_bytes())?;
    Ok(signer)
}

/// Loads the checkpoint signing key from `path`.
pub fn load_signing_key(path: &Path) -> Result<LogSigner> {
    let text = read_secret_file(path)?;
    LogSigner::from_skey(text.trim())
        .map_err(|e| Error::new(ErrorKind::BadKey, format!("signing key file {}: {e}", path.display())))
}

/// Loads a public key from `path`: a C2SP vkey line, or a PEM file as
/// [`super::public_key`] describes.
pub fn load_verifier(path: &Path) -> Result<LogVerifier> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(format!("public key file {}", path.display()), &e))?;
    super::public_key::parse(&text).map_err(|e| e.context(format!("public key file {}", path.display())))
}

fn load_key_file(path: &Path) -> Result<Zeroizing<[u8; 32]>> {
    let text = read_secret_file(path)?;
    let mut key = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), key.as_mut()).map_err(|_| {
        Error::new(
            ErrorKind::BadKey,
            format!("key file {} does not hold a key (expected 64 hex digits)", path.display()),
        )
    })?;
    Ok(key)
}

fn aad(master_key_id: &str, context: &[u8]) -> Vec<u8> {
    [master_key_id.as_bytes(), context].concat()
}

impl KeyProvider for LocalKeys {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn master_key_id(&self, domain: KeyDomain) -> String {
        match domain {
            KeyDomain::Base => BASE_KEY_ID.to_owned(),
            KeyDomain::Pii => PII_KEY_ID.to_owned(),
        }
    }

    fn wrap(&self, master_key_id: &str, key: &[u8], context: &[u8]) -> Result<String> {
        let cipher = self.cipher(master_key_id)?;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| Error::new(ErrorKind::Io, "the OS random generator failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(key);
        let tag = cipher
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(master_key_id, context)),
                &mut out[NONCE_LEN..],
            )
            .map_err(|_| Error::new(ErrorKind::BadKey, "AES-GCM wrap failed"))?;
        out.extend_from_slice(tag.as_ref());
        Ok(BASE64.encode(out))
    }

    fn unwrap(&self, master_key_id: &str, wrapped: &str, context: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let cipher = self.cipher(master_key_id)?;
        let bad = || {
            Error::new(
                ErrorKind::BadKey,
                format!(
                    "wrapped key does not decrypt with master key {master_key_id} from {} (wrong key file, or the wrapped key was altered)",
                    self.dir.display()
                ),
            )
        };
        let mut bytes = BASE64.decode(wrapped).map_err(|_| bad())?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(bad());
        }
        let nonce = Nonce::try_assume_unique_for_key(&bytes[..NONCE_LEN]).map_err(|_| bad())?;
        let plain = cipher
            .open_in_place(nonce, Aad::from(aad(master_key_id, context)), &mut bytes[NONCE_LEN..])
            .map_err(|_| bad())?;
        Ok(Zeroizing::new(plain.to_vec()))
    }

    fn index_key_id(&self) -> String {
        INDEX_KEY_ID.to_owned()
    }

    fn index_key(&self) -> Result<Zeroizing<[u8; 32]>> {
        self.load(INDEX_KEY_ID)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_and_context_binding() {
        let dir = tempfile::tempdir().unwrap();
        let keys = LocalKeys::create(dir.path().join("keys")).unwrap();
        let wrapped = keys.wrap(PII_KEY_ID, b"0123456789abcdef", b"ctx").unwrap();
        assert_eq!(keys.unwrap(PII_KEY_ID, &wrapped, b"ctx").unwrap().as_slice(), b"0123456789abcdef");
        assert_eq!(keys.unwrap(PII_KEY_ID, &wrapped, b"other").unwrap_err().kind(), ErrorKind::BadKey);
        assert_eq!(keys.unwrap(BASE_KEY_ID, &wrapped, b"ctx").unwrap_err().kind(), ErrorKind::BadKey);
        let mode = fs::metadata(dir.path().join("keys/pii.key")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn missing_unreadable_and_wrong_key_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let keys = LocalKeys::create(dir.path().join("keys")).unwrap();
        let pii = dir.path().join("keys/pii.key");

        fs::set_permissions(&pii, fs::Permissions::from_mode(0o644)).unwrap();
        let err = keys.wrap(PII_KEY_ID, b"k", b"").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert!(err.to_string().contains("pii.key") && err.to_string().contains("chmod 600"), "{err}");

        fs::remove_file(&pii).unwrap();
        let err = keys.wrap(PII_KEY_ID, b"k", b"").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("pii.key"), "{err}");

        write_secret_file(&pii, b"not hex\n").unwrap();
        let err = keys.wrap(PII_KEY_ID, b"k", b"").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadKey);
        assert!(err.to_string().contains("pii.key") && err.to_string().contains("64 hex"), "{err}");

        // The base key still works without a usable pii key.
        assert!(keys.wrap(BASE_KEY_ID, b"k", b"").is_ok());
    }

    #[test]
    fn create_refuses_to_replace_keys() {
        let dir = tempfile::tempdir().unwrap();
        LocalKeys::create(dir.path().join("keys")).unwrap();
        assert_eq!(LocalKeys::create(dir.path().join("keys")).unwrap_err().kind(), ErrorKind::AlreadyExists);
    }
}
