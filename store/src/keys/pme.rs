//! Parquet Modular Encryption keys through any [`KeyProvider`]: the
//! `parquet-key-management` crate generates the per-file data keys, wraps
//! them with cached key-encryption keys (double wrapping) and stores the
//! standard PKMT1 key material in the file, which pyarrow and Spark read.

use std::sync::Arc;

use parquet::encryption::decrypt::FileDecryptionProperties;
use parquet::encryption::encrypt::FileEncryptionProperties;
use parquet_key_management::crypto_factory::{CryptoFactory, DecryptionConfiguration, EncryptionConfiguration};
use parquet_key_management::kms::{KmsClient, KmsClientRef, KmsConnectionConfig, KmsConnectionInfo};

use super::{KeyDomain, KeyProvider};
use crate::error::{Error, ErrorKind, Result};

/// Adapts a [`KeyProvider`] to the PKMT `KmsClient` interface. The
/// associated data is the master key identifier alone, as other PKMT
/// implementations pass nothing else.
struct ProviderKms(Arc<dyn KeyProvider>);

impl KmsClient for ProviderKms {
    fn wrap_key(
        &self,
        key_bytes: &[u8],
        master_key_identifier: &str,
    ) -> parquet_key_management::errors::Result<String> {
        self.0
            .wrap(master_key_identifier, key_bytes, b"")
            .map_err(|e| parquet_key_management::errors::Error::General(e.to_string()))
    }

    fn unwrap_key(
        &self,
        wrapped_key: &str,
        master_key_identifier: &str,
    ) -> parquet_key_management::errors::Result<Vec<u8>> {
        self.0
            .unwrap(master_key_identifier, wrapped_key, b"")
            .map(|k| k.to_vec())
            .map_err(|e| parquet_key_management::errors::Error::General(e.to_string()))
    }
}

/// Makes file encryption and decryption properties for sealed files.
pub struct PmeKeys {
    factory: CryptoFactory,
    connection: Arc<KmsConnectionConfig>,
    provider: Arc<dyn KeyProvider>,
}

impl std::fmt::Debug for PmeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PmeKeys({})", self.provider.kind())
    }
}

impl PmeKeys {
    /// Uses `provider` for every master key.
    pub fn new(provider: Arc<dyn KeyProvider>) -> PmeKeys {
        let for_factory = Arc::clone(&provider);
        let factory =
            CryptoFactory::new(move |_: &KmsConnectionInfo| -> parquet_key_management::errors::Result<KmsClientRef> {
                Ok(Arc::new(ProviderKms(Arc::clone(&for_factory))))
            });
        let connection =
            Arc::new(KmsConnectionConfig::builder().set_kms_instance_id(provider.kind().to_owned()).build());
        PmeKeys { factory, connection, provider }
    }

    /// Encryption properties for one new file: the footer and the `base`
    /// columns under the base master key, the `pii` columns under the pii
    /// master key, encrypted footer, AES_GCM_V1.
    pub fn encryption(&self, base_columns: &[&str], pii_columns: &[&str]) -> Result<Arc<FileEncryptionProperties>> {
        let base = self.provider.master_key_id(KeyDomain::Base);
        let pii = self.provider.master_key_id(KeyDomain::Pii);
        let config = EncryptionConfiguration::builder(base.clone())
            .add_column_key(base, base_columns.iter().map(|c| (*c).to_owned()).collect())
            .add_column_key(pii, pii_columns.iter().map(|c| (*c).to_owned()).collect())
            .build()
            .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("encryption configuration: {e}")))?;
        self.factory
            .file_encryption_properties(Arc::clone(&self.connection), &config)
            .map_err(|e| Error::new(ErrorKind::BadKey, format!("making file keys: {e}")))
    }

    /// Decryption properties that unwrap whatever keys a file names.
    pub fn decryption(&self) -> Result<Arc<FileDecryptionProperties>> {
        self.factory
            .file_decryption_properties(Arc::clone(&self.connection), DecryptionConfiguration::default())
            .map_err(|e| Error::new(ErrorKind::BadKey, format!("making decryption properties: {e}")))
    }
}
