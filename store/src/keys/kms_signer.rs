//! The checkpoint signing key in AWS KMS: an `ECC_NIST_P256` /
//! `SIGN_VERIFY` key that signs with `Sign` (`MessageType = RAW`,
//! `ECDSA_SHA_256`), so the private key never leaves KMS. Its public key
//! (`GetPublicKey`) is all an auditor needs: verification is offline.

use std::sync::Arc;

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
use logseal_core::checkpoint::{LogSigner, RemoteSigner};

use super::kms::{connect, kms_error};
use crate::aws::{AwsTarget, IoRuntime};
use crate::error::{Error, ErrorKind, Result};

/// A KMS signing key.
pub struct KmsSigner {
    client: Client,
    runtime: Arc<IoRuntime>,
    key_id: String,
    endpoint: String,
}

impl std::fmt::Debug for KmsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KmsSigner({} at {})", self.key_id, self.endpoint)
    }
}

impl KmsSigner {
    /// Connects to KMS (no request is made yet).
    pub fn open(
        key_id: &str,
        target: &AwsTarget,
        customize: impl FnOnce(aws_config::ConfigLoader) -> aws_config::ConfigLoader,
    ) -> Result<KmsSigner> {
        let (runtime, client, endpoint) = connect("kms-sign", target, customize)?;
        Ok(KmsSigner { client, runtime: Arc::new(runtime), key_id: key_id.to_owned(), endpoint })
    }

    /// The key's public key (DER `SubjectPublicKeyInfo`), after checking
    /// that it is an ECC_NIST_P256 signing key.
    pub fn public_key(&self) -> Result<Vec<u8>> {
        let out = self
            .runtime
            .block_on(self.client.get_public_key().key_id(&self.key_id).send())
            .map_err(|e| kms_error(e, "kms:GetPublicKey", &self.key_id, &self.endpoint))?;
        let wrong = |what: String| {
            Error::new(
                ErrorKind::BadKey,
                format!(
                    "KMS key {} is {what}; checkpoints need an asymmetric key with key spec ECC_NIST_P256 and key usage SIGN_VERIFY",
                    self.key_id
                ),
            )
        };
        // KeySpec, or its deprecated name that older servers (and moto)
        // still send alone; the DER key is checked to be P-256 as well.
        #[allow(deprecated, reason = "CustomerMasterKeySpec is all some KMS implementations return")]
        let spec = out.key_spec().map(KeySpec::as_str).or(out.customer_master_key_spec().map(|s| s.as_str()));
        if spec != Some(KeySpec::EccNistP256.as_str()) {
            return Err(wrong(format!("of key spec {}", spec.unwrap_or("(not given)"))));
        }
        if out.key_usage() != Some(&KeyUsageType::SignVerify) {
            return Err(wrong(format!("for {:?}", out.key_usage().map(KeyUsageType::as_str))));
        }
        let der = out.public_key().ok_or_else(|| Error::new(ErrorKind::Io, "KMS returned no public key"))?;
        Ok(der.as_ref().to_vec())
    }

    /// The log signer for deployment `name` that signs with this key.
    pub fn log_signer(self, name: &str) -> Result<LogSigner> {
        let public_key = self.public_key()?;
        Ok(LogSigner::remote_p256(name, &public_key, Arc::new(self))?)
    }
}

impl RemoteSigner for KmsSigner {
    fn sign_p256_sha256(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, String> {
        let out = self
            .runtime
            .block_on(
                self.client
                    .sign()
                    .key_id(&self.key_id)
                    .message(Blob::new(msg))
                    .message_type(MessageType::Raw)
                    .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
                    .send(),
            )
            .map_err(|e| kms_error(e, "kms:Sign", &self.key_id, &self.endpoint).to_string())?;
        out.signature().map(|s| s.as_ref().to_vec()).ok_or_else(|| "KMS returned no signature".to_owned())
    }
}
