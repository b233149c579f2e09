//! `logseal init`: a new data directory with config, local keys and the
//! checkpoint signing key pair.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use logseal_store::keys::local::{LocalKeys, create_signing_key};
use logseal_store::object::local::LocalStore;

use logseal_store::keys::kms::{KmsKeyIds, KmsKeys};

use crate::config::{CONFIG_FILE, Config, KeysKind, kms_target};

/// What `init` made.
#[derive(Debug)]
pub struct Initialized {
    /// The public key file.
    pub public_key_path: std::path::PathBuf,
    /// The public key line.
    pub vkey: String,
}

/// A random deployment name for a new local data directory.
fn default_deployment() -> String {
    let mut bytes = [0u8; 4];
    let _ = getrandom_fill(&mut bytes);
    format!("logseal.local/{:02x}{:02x}{:02x}{:02x}", bytes[0], bytes[1], bytes[2], bytes[3])
}

fn getrandom_fill(bytes: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    fs::File::open("/dev/urandom")?.read_exact(bytes)
}

/// Creates the data directory `dir`. Refuses to touch an existing store or
/// a non-empty directory.
pub fn run(dir: &Path, deployment: Option<&str>, kms: Option<(String, String)>) -> Result<Initialized> {
    if dir.join(CONFIG_FILE).exists() {
        bail!("{} is already a logseal data directory; refusing to overwrite it", dir.display());
    }
    if dir.exists() {
        let mut entries = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        if entries.next().is_some() {
            bail!("{} exists and is not empty; choose a new directory for the data", dir.display());
        }
    }
    let mut config = Config::new(&deployment.map_or_else(default_deployment, str::to_owned));
    config.validate()?;
    if let Some((base, pii)) = kms {
        // The blind-index key is made by KMS now and kept wrapped in the
        // config; KMS also shows here that the keys exist and may be used.
        let ids = KmsKeyIds { base: base.clone(), pii: pii.clone(), index_key_wrapped: String::new() };
        let index = KmsKeys::open(ids, &kms_target(&config.keys), |l| l)?
            .new_index_key()
            .context("making the blind-index key with KMS (kms:GenerateDataKey on the pii key)")?;
        config.keys.kind = KeysKind::AwsKms;
        config.keys.base_key = Some(base);
        config.keys.pii_key = Some(pii);
        config.keys.index_key_wrapped = Some(index);
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if config.keys.kind == KeysKind::Local {
        LocalKeys::create(dir.join(&config.keys.path))?;
    } else {
        // The checkpoint signing key still lives here.
        let keys_dir = dir.join(&config.keys.path);
        std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o700)
            .create(&keys_dir)
            .with_context(|| format!("creating {}", keys_dir.display()))?;
    }
    let signer = create_signing_key(&dir.join(&config.keys.signing_key), &config.deployment)?;
    LocalStore::create(dir.join(&config.store.path))?;
    let vkey = signer.verifier().to_vkey();
    let public_key_path = dir.join(&config.keys.public_key);
    fs::write(&public_key_path, format!("{vkey}\n"))
        .with_context(|| format!("writing {}", public_key_path.display()))?;
    let text = format!(
        "# logseal data directory configuration. Every key is documented in\n# docs/CONFIG.md; unknown keys are an error.\n{}",
        toml::to_string(&config).context("serializing config")?
    );
    // Written last: its presence marks a complete data directory.
    fs::write(dir.join(CONFIG_FILE), text).with_context(|| format!("writing {}", dir.join(CONFIG_FILE).display()))?;
    Ok(Initialized { public_key_path, vkey })
}
