//! The AWS KMS key provider: one KMS key per domain wraps key-encryption
//! keys and salt keys (KMS `Encrypt` / `Decrypt`), each call bound to an
//! encryption context that names the domain and, for a salt key, the
//! stream and file.
//!
//! KMS is called per key-encryption key, not per file: the Parquet key
//! tools wrap each file's data keys with cached key-encryption keys
//! (double wrapping, [`super::pme`]), and unwrapped keys are cached here,
//! so a reader asks KMS once per distinct wrapped key.
//!
//! Salt keys (one per file) are wrapped twice as well: locally, with
//! AES-256-GCM under a per-stream salt-key-encryption key that KMS makes
//! (`GenerateDataKey`) and that is renewed every [`SALT_KEK_LIFETIME`];
//! its KMS encryption context names the domain and the stream. So sealing
//! and deep verification also ask KMS per key-encryption key, not per file.
//!
//! The blind-index key is a 32-byte data key made once by KMS
//! (`GenerateDataKey` under the `pii` key, [`KmsKeys::new_index_key`]) and
//! kept wrapped in the configuration; it is unwrapped on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_kms::Client;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::{KeyDomain, KeyProvider};
use crate::aws::{self, AwsTarget, IoRuntime};
use crate::error::{Error, ErrorKind, Result};

/// The KMS keys of a deployment.
#[derive(Debug, Clone)]
pub struct KmsKeyIds {
    /// Key id or ARN of the `base` domain's key (symmetric).
    pub base: String,
    /// Key id or ARN of the `pii` domain's key (symmetric).
    pub pii: String,
    /// The blind-index key, wrapped under the `pii` key (base64), as
    /// [`KmsKeys::new_index_key`] made it.
    pub index_key_wrapped: String,
}

/// What an unwrapped key is cached under: master key, wrapped key, context.
type UnwrapKey = (String, String, Vec<u8>);

/// Master keys in AWS KMS.
pub struct KmsKeys {
    client: Client,
    runtime: Arc<IoRuntime>,
    ids: KmsKeyIds,
    endpoint: String,
    unwrapped: Mutex<HashMap<UnwrapKey, Zeroizing<Vec<u8>>>>,
    index_key: OnceLock<Zeroizing<[u8; 32]>>,
    /// The current salt-key-encryption key per (master key, scope).
    salt_keks: Mutex<HashMap<(String, Vec<u8>), SaltKek>>,
    calls: std::sync::atomic::AtomicU64,
}

/// A salt-key-encryption key: made by KMS, used for a while.
struct SaltKek {
    made: Instant,
    key: Zeroizing<Vec<u8>>,
    /// Its KMS ciphertext, base64.
    wrapped: String,
}

/// How long a salt-key-encryption key wraps new salt keys (as long as
/// Parquet's key tools keep a KEK).
pub const SALT_KEK_LIFETIME: Duration = Duration::from_secs(600);

/// The prefix of a salt key wrapped under a salt-key-encryption key.
const DOUBLE_WRAPPED: &str = "dw1.";

impl std::fmt::Debug for KmsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KmsKeys(base {}, pii {}, at {})", self.ids.base, self.ids.pii, self.endpoint)
    }
}

const INDEX_KEY_PURPOSE: &str = "index-key";

impl KmsKeys {
    /// Connects to KMS (no request is made yet).
    pub fn open(
        ids: KmsKeyIds,
        target: &AwsTarget,
        customize: impl FnOnce(aws_config::ConfigLoader) -> aws_config::ConfigLoader,
    ) -> Result<KmsKeys> {
        let (runtime, client, endpoint) = connect("kms-io", target, customize)?;
        Ok(KmsKeys {
            client,
            runtime: Arc::new(runtime),
            ids,
            endpoint,
            unwrapped: Mutex::new(HashMap::new()),
            index_key: OnceLock::new(),
            salt_keks: Mutex::new(HashMap::new()),
            calls: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Makes a new blind-index key under `pii_key` and returns it wrapped
    /// (base64), for [`KmsKeyIds::index_key_wrapped`].
    pub fn new_index_key(&self) -> Result<String> {
        self.count();
        let out = self
            .runtime
            .block_on(
                self.client
                    .generate_data_key()
                    .key_id(&self.ids.pii)
                    .key_spec(DataKeySpec::Aes256)
                    .set_encryption_context(Some(context(KeyDomain::Pii, INDEX_KEY_PURPOSE.as_bytes())))
                    .send(),
            )
            .map_err(|e| self.error(e, "kms:GenerateDataKey", &self.ids.pii))?;
        let blob = out.ciphertext_blob().ok_or_else(|| Error::new(ErrorKind::Io, "KMS returned no ciphertext"))?;
        Ok(BASE64.encode(blob.as_ref()))
    }

    /// KMS requests made so far (for the KMS-calls-per-file figure).
    pub fn kms_calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn domain_of(&self, master_key_id: &str) -> Result<KeyDomain> {
        if master_key_id == self.ids.base {
            Ok(KeyDomain::Base)
        } else if master_key_id == self.ids.pii {
            Ok(KeyDomain::Pii)
        } else {
            Err(Error::new(
                ErrorKind::BadKey,
                format!(
                    "master key {master_key_id:?} is not one of this deployment's KMS keys ({}, {})",
                    self.ids.base, self.ids.pii
                ),
            ))
        }
    }

    /// `Encrypt` under the master key, bound to `ctx`.
    fn kms_encrypt(&self, master_key_id: &str, key: &[u8], ctx: &[u8]) -> Result<String> {
        let domain = self.domain_of(master_key_id)?;
        self.count();
        let out = self
            .runtime
            .block_on(
                self.client
                    .encrypt()
                    .key_id(master_key_id)
                    .plaintext(Blob::new(key))
                    .set_encryption_context(Some(context(domain, ctx)))
                    .send(),
            )
            .map_err(|e| self.error(e, "kms:Encrypt", master_key_id))?;
        let blob = out.ciphertext_blob().ok_or_else(|| Error::new(ErrorKind::Io, "KMS returned no ciphertext"))?;
        Ok(BASE64.encode(blob.as_ref()))
    }

    /// Wraps a salt key with AES-256-GCM (AAD: the master key id and
    /// `ctx`) under the current salt-key-encryption key of `scope` (made by
    /// KMS when there is none or it is older than [`SALT_KEK_LIFETIME`]).
    fn wrap_under_salt_kek(&self, master_key_id: &str, key: &[u8], ctx: &[u8], scope: &[u8]) -> Result<String> {
        let (kek, kek_wrapped) = {
            let mut keks = self.salt_keks.lock().map_err(|_| poisoned())?;
            let cache_key = (master_key_id.to_owned(), scope.to_vec());
            match keks.get(&cache_key) {
                Some(kek) if kek.made.elapsed() < SALT_KEK_LIFETIME => (kek.key.clone(), kek.wrapped.clone()),
                _ => {
                    let kek = self.new_salt_kek(master_key_id, scope)?;
                    let out = (kek.key.clone(), kek.wrapped.clone());
                    keks.insert(cache_key, kek);
                    out
                }
            }
        };
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| Error::new(ErrorKind::Io, "the system random generator failed"))?;
        let mut sealed = key.to_vec();
        gcm(&kek)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(salt_aad(master_key_id, ctx)),
                &mut sealed,
            )
            .map_err(|_| Error::new(ErrorKind::BadKey, "AES-GCM refused to wrap a salt key"))?;
        Ok(format!("{DOUBLE_WRAPPED}{kek_wrapped}.{}", BASE64.encode([&nonce[..], &sealed].concat())))
    }

    fn new_salt_kek(&self, master_key_id: &str, scope: &[u8]) -> Result<SaltKek> {
        let domain = self.domain_of(master_key_id)?;
        self.count();
        let out = self
            .runtime
            .block_on(
                self.client
                    .generate_data_key()
                    .key_id(master_key_id)
                    .key_spec(DataKeySpec::Aes256)
                    .set_encryption_context(Some(context(domain, scope)))
                    .send(),
            )
            .map_err(|e| self.error(e, "kms:GenerateDataKey", master_key_id))?;
        let (Some(key), Some(blob)) = (out.plaintext(), out.ciphertext_blob()) else {
            return Err(Error::new(ErrorKind::Io, "KMS returned no data key"));
        };
        Ok(SaltKek {
            made: Instant::now(),
            key: Zeroizing::new(key.as_ref().to_vec()),
            wrapped: BASE64.encode(blob.as_ref()),
        })
    }

    /// The inverse of [`KmsKeys::wrap_under_salt_kek`]: `rest` is
    /// `<base64 KMS ciphertext>.<base64 nonce ‖ ciphertext ‖ tag>`.
    fn unwrap_under_salt_kek(&self, master_key_id: &str, rest: &str, ctx: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let bad = |why: &str| {
            Error::new(ErrorKind::BadKey, format!("salt key wrapped under {master_key_id} does not unwrap: {why}"))
        };
        let scope = salt_kek_scope(ctx).ok_or_else(|| bad("its context is not a salt key's"))?;
        let (kek_wrapped, sealed) = rest.split_once('.').ok_or_else(|| bad("not <key>.<sealed>"))?;
        let kek = self.unwrap(master_key_id, kek_wrapped, &scope)?;
        let mut sealed = BASE64.decode(sealed).map_err(|_| bad("not base64"))?;
        if sealed.len() < NONCE_LEN {
            return Err(bad("too short"));
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN]).map_err(|_| bad("bad nonce"))?;
        let plain = gcm(&kek)?
            .open_in_place(nonce, Aad::from(salt_aad(master_key_id, ctx)), &mut sealed[NONCE_LEN..])
            .map_err(|_| bad("another file's or stream's wrapped key, or changed bytes"))?;
        Ok(Zeroizing::new(plain.to_vec()))
    }

    fn error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
        &self,
        err: SdkError<E, aws_sdk_kms::config::http::HttpResponse>,
        permission: &str,
        key: &str,
    ) -> Error {
        kms_error(err, permission, key, &self.endpoint)
    }
}

/// A KMS client on its own runtime (`name` names its threads), and the
/// endpoint it talks to (for messages).
pub(crate) fn connect(
    name: &str,
    target: &AwsTarget,
    customize: impl FnOnce(aws_config::ConfigLoader) -> aws_config::ConfigLoader,
) -> Result<(IoRuntime, Client, String)> {
    let (runtime, sdk) = aws::load(name, target, customize)?;
    if sdk.region().is_none() {
        return Err(Error::new(ErrorKind::InvalidInput, "no AWS region for KMS: set AWS_REGION or the keys' region"));
    }
    let endpoint = aws::custom_endpoint(&sdk, "AWS_ENDPOINT_URL_KMS").unwrap_or_else(|| "AWS".to_owned());
    Ok((runtime, Client::new(&sdk), endpoint))
}

/// An error of a KMS request as logseal reports it: the permission (the
/// API action), the key, the endpoint, KMS's code and message, and a hint.
pub(crate) fn kms_error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    err: SdkError<E, aws_sdk_kms::config::http::HttpResponse>,
    permission: &str,
    key: &str,
    endpoint: &str,
) -> Error {
    let code = err.code().unwrap_or("").to_owned();
    let detail = match err.message() {
        Some(m) => format!("{code}: {m}"),
        None if !code.is_empty() => code.clone(),
        None => aws_sdk_kms::error::DisplayErrorContext(&err).to_string(),
    };
    let (kind, hint) = match code.as_str() {
        "NotFoundException" => (ErrorKind::NotFound, " (no such KMS key: check the key id or ARN and the region)"),
        "InvalidCiphertextException" => (
            ErrorKind::BadKey,
            " (the wrapped key does not decrypt under this KMS key and encryption context: another key, another stream or file, or a changed wrapped key)",
        ),
        "AccessDeniedException" | "UnrecognizedClientException" | "InvalidSignatureException" => {
            (ErrorKind::Unauthorized, " (the credentials lack the permission named here on this key)")
        }
        "DisabledException" | "KMSInvalidStateException" => {
            (ErrorKind::BadKey, " (the KMS key is disabled or pending deletion)")
        }
        "InvalidKeyUsageException" => (ErrorKind::BadKey, " (the key's usage or spec does not allow this operation)"),
        "" => (ErrorKind::Io, " (is KMS reachable?)"),
        _ => (ErrorKind::Io, ""),
    };
    Error::new(kind, format!("{permission} on {key} at {endpoint}: {detail}{hint}"))
}

/// The encryption context of a wrap: the domain, and what is wrapped (a
/// key-encryption key when `context` is empty; else `context` says what,
/// e.g. a salt key's origin and file index).
fn context(domain: KeyDomain, context: &[u8]) -> HashMap<String, String> {
    let mut map = HashMap::from([("logseal:domain".to_owned(), domain.name().to_owned())]);
    let purpose =
        if context.is_empty() { "kek".to_owned() } else { String::from_utf8_lossy(context).trim().replace('\n', " ") };
    map.insert("logseal:purpose".to_owned(), purpose);
    map
}

impl KeyProvider for KmsKeys {
    fn kind(&self) -> &'static str {
        "aws-kms"
    }

    fn master_key_id(&self, domain: KeyDomain) -> String {
        match domain {
            KeyDomain::Base => self.ids.base.clone(),
            KeyDomain::Pii => self.ids.pii.clone(),
        }
    }

    fn wrap(&self, master_key_id: &str, key: &[u8], ctx: &[u8]) -> Result<String> {
        match salt_kek_scope(ctx) {
            Some(scope) => self.wrap_under_salt_kek(master_key_id, key, ctx, &scope),
            None => self.kms_encrypt(master_key_id, key, ctx),
        }
    }

    fn unwrap(&self, master_key_id: &str, wrapped: &str, ctx: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if let Some(rest) = wrapped.trim().strip_prefix(DOUBLE_WRAPPED) {
            return self.unwrap_under_salt_kek(master_key_id, rest, ctx);
        }
        let domain = self.domain_of(master_key_id)?;
        let cache_key = (master_key_id.to_owned(), wrapped.to_owned(), ctx.to_vec());
        // Held across the KMS request: threads that miss the same key at
        // once (parallel readers) make one request, not one each.
        let mut unwrapped = self.unwrapped.lock().map_err(|_| poisoned())?;
        if let Some(key) = unwrapped.get(&cache_key) {
            return Ok(key.clone());
        }
        let blob = BASE64.decode(wrapped.trim()).map_err(|e| {
            Error::new(ErrorKind::BadKey, format!("wrapped key under {master_key_id} is not base64: {e}"))
        })?;
        self.count();
        let out = self
            .runtime
            .block_on(
                self.client
                    .decrypt()
                    .key_id(master_key_id)
                    .ciphertext_blob(Blob::new(blob))
                    .set_encryption_context(Some(context(domain, ctx)))
                    .send(),
            )
            .map_err(|e| self.error(e, "kms:Decrypt", master_key_id))?;
        let key = Zeroizing::new(
            out.plaintext().ok_or_else(|| Error::new(ErrorKind::Io, "KMS returned no plaintext"))?.as_ref().to_vec(),
        );
        unwrapped.insert(cache_key, key.clone());
        Ok(key)
    }

    fn index_key_id(&self) -> String {
        format!("aws-kms:{}:index", self.ids.pii)
    }

    fn index_key(&self) -> Result<Zeroizing<[u8; 32]>> {
        if let Some(key) = self.index_key.get() {
            return Ok(key.clone());
        }
        let key = self.unwrap(&self.ids.pii, &self.ids.index_key_wrapped, INDEX_KEY_PURPOSE.as_bytes())?;
        let key: [u8; 32] = key.as_slice().try_into().map_err(|_| {
            Error::new(ErrorKind::BadKey, format!("the wrapped index key unwraps to {} bytes, not 32", key.len()))
        })?;
        Ok(self.index_key.get_or_init(|| Zeroizing::new(key)).clone())
    }
}

/// The scope of a salt key's context: its stream. A salt key's context is
/// `"\nlogseal/salt-key/v1\n" ‖ origin ‖ "\n" ‖ file index`; its
/// salt-key-encryption key's is `"logseal/salt-kek/v1\n" ‖ origin` (KMS
/// purpose `logseal/salt-kek/v1 <origin>`). `None` for other contexts.
fn salt_kek_scope(ctx: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(ctx).ok()?;
    let (origin, index) = text.strip_prefix("\nlogseal/salt-key/v1\n")?.rsplit_once('\n')?;
    (!origin.is_empty() && !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("logseal/salt-kek/v1\n{origin}").into_bytes())
}

/// The AES-GCM additional data of a salt key wrapped locally.
fn salt_aad(master_key_id: &str, ctx: &[u8]) -> Vec<u8> {
    [master_key_id.as_bytes(), ctx].concat()
}

fn gcm(key: &[u8]) -> Result<LessSafeKey> {
    let unbound = UnboundKey::new(&AES_256_GCM, key)
        .map_err(|_| Error::new(ErrorKind::BadKey, "KMS returned a data key that is not 32 bytes"))?;
    Ok(LessSafeKey::new(unbound))
}

fn poisoned() -> Error {
    Error::new(ErrorKind::Io, "the KMS key cache lock is poisoned")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::kms_signer::KmsSigner;

    #[test]
    fn async_code_may_drop_the_last_handle_of_a_kms_client() {
        let target = AwsTarget {
            endpoint: Some("http://127.0.0.1:9".into()),
            region: Some("us-east-1".into()),
            max_attempts: 1,
        };
        let ids = KmsKeyIds { base: "b".into(), pii: "p".into(), index_key_wrapped: String::new() };
        let keys = KmsKeys::open(ids, &target, |l| l).unwrap();
        let signer = KmsSigner::open("s", &target, |l| l).unwrap();
        let agent = tokio::runtime::Builder::new_current_thread().build().unwrap();
        agent.block_on(async move { drop((keys, signer)) });
    }
}
