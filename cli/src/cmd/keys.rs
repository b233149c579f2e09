//! `logseal keys export-public`: the checkpoint public key for auditors,
//! from KMS (`GetPublicKey`) or from the data directory, as a PEM file
//! that carries the C2SP `vkey` line, or as the `vkey` line alone.

use std::path::Path;

use anyhow::{Context, Result, bail};
use logseal_store::keys::kms_signer::KmsSigner;
use logseal_store::keys::public_key;

use crate::config::{DataDir, KeysConfig, kms_target};

/// The text to print.
pub fn export_public(data_dir: &Path, kms_key: Option<&str>, deployment: Option<&str>, vkey: bool) -> Result<String> {
    let data = match DataDir::open(data_dir) {
        Ok(data) => Some(data),
        // With a KMS key and a deployment name, no data directory is needed.
        Err(_) if kms_key.is_some() && deployment.is_some() => None,
        Err(e) => return Err(e),
    };
    let deployment = match (deployment, &data) {
        (Some(name), _) => name.to_owned(),
        (None, Some(data)) => data.config.deployment.clone(),
        (None, None) => bail!("say which deployment the key signs for: --deployment NAME"),
    };
    let (verifier, source) = match kms_key {
        Some(key_id) => {
            let keys = data.as_ref().map(|d| d.config.keys.clone()).unwrap_or_default();
            let verifier = KmsSigner::open(key_id, &kms_target(&keys), |l| l)?
                .log_signer(&deployment)
                .with_context(|| format!("reading the public key of KMS key {key_id}"))?
                .verifier();
            (verifier, format!("KMS key {key_id}"))
        }
        None => {
            let data = data.context("no data directory to read the signing key from")?;
            let signer = data.signer()?;
            if signer.name() != deployment {
                bail!("the data directory's key signs for {:?}, not {deployment:?}", signer.name());
            }
            let source = describe_signing_key(&data.config.keys);
            (signer.verifier(), source)
        }
    };
    if vkey {
        return Ok(format!("{}\n", verifier.to_vkey()));
    }
    let comment = format!(
        "logseal checkpoint public key of deployment {deployment} ({source}).\nVerify offline with: logseal verify --pubkey THIS_FILE --store URL"
    );
    Ok(public_key::to_pem(&verifier, &comment))
}

fn describe_signing_key(keys: &KeysConfig) -> String {
    match &keys.signing_kms_key {
        Some(id) => format!("KMS key {id}"),
        None => format!("local key {}", keys.signing_key.display()),
    }
}
