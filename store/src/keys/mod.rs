//! The key-provider boundary: master keys that wrap and unwrap data keys,
//! per key domain, and the blind-index key.
//!
//! Implementations: [`local::LocalKeys`] (key files made by `logseal init`)
//! and [`kms::KmsKeys`] (AWS KMS); [`kms_signer`] holds the checkpoint key
//! in KMS. [`pme`] adapts any provider to the Parquet key
//! management tools (PKMT1 key material, double wrapping).

pub mod kms;
pub mod kms_signer;
pub mod local;
pub mod pme;
pub mod public_key;

use zeroize::Zeroizing;

use crate::error::Result;

/// The two key domains of a sealed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyDomain {
    /// Footer and the columns that are not personal data.
    Base,
    /// Personal data: client_ip, url_query, referer, user_agent, user_id,
    /// raw, parse_error (its message quotes the line); and each file's
    /// salt key.
    Pii,
}

impl KeyDomain {
    /// `base` or `pii`.
    pub fn name(self) -> &'static str {
        match self {
            KeyDomain::Base => "base",
            KeyDomain::Pii => "pii",
        }
    }
}

/// Master keys, behind whatever holds them.
pub trait KeyProvider: Send + Sync {
    /// The provider's kind (`local`, `aws-kms`), recorded in manifests.
    fn kind(&self) -> &'static str;

    /// The identifier of the master key of `domain` (stored in files).
    fn master_key_id(&self, domain: KeyDomain) -> String;

    /// Encrypts `key` under the master key `master_key_id`, bound to
    /// `context` (which must be given again to unwrap). Returns text.
    fn wrap(&self, master_key_id: &str, key: &[u8], context: &[u8]) -> Result<String>;

    /// The inverse of [`KeyProvider::wrap`].
    fn unwrap(&self, master_key_id: &str, wrapped: &str, context: &[u8]) -> Result<Zeroizing<Vec<u8>>>;

    /// The identifier of the blind-index key.
    fn index_key_id(&self) -> String;

    /// The blind-index key (`ip_tag = HMAC(index_key, ip)`).
    fn index_key(&self) -> Result<Zeroizing<[u8; 32]>>;
}
