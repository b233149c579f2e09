//! `logseal init`: a new data directory with config, keys (local files or
//! AWS KMS key ids), the checkpoint signing key (a local key pair or a KMS
//! key) and its public key, and where sealed objects go (the directory's
//! own store, or S3, plus an optional checkpoint mirror).

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use logseal_store::keys::local::{LocalKeys, create_signing_key};
use logseal_store::object::local::LocalStore;

use logseal_store::keys::kms::{KmsKeyIds, KmsKeys};
use logseal_store::keys::kms_signer::KmsSigner;
use logseal_store::object::s3::S3Location;

use crate::config::{CONFIG_FILE, Config, KeysKind, ObjectLockConfig, StoreConfig, StoreKind, kms_target};

/// What `init` is asked to make.
#[derive(Debug, Default)]
pub struct InitOptions {
    /// The deployment name (default: a random local one).
    pub deployment: Option<String>,
    /// AWS KMS keys of the base and pii domains.
    pub kms: Option<(String, String)>,
    /// The KMS key that signs checkpoints.
    pub kms_signing_key: Option<String>,
    /// `s3://bucket/prefix` for sealed objects.
    pub store: Option<String>,
    /// The checkpoint mirror: `s3://…` or a directory.
    pub mirror: Option<String>,
    /// Object Lock of every object written to S3.
    pub object_lock: Option<ObjectLockConfig>,
}

/// What `init` made.
#[derive(Debug)]
pub struct Initialized {
    /// The public key file.
    pub public_key_path: std::path::PathBuf,
    /// The public key line.
    pub vkey: String,
    /// Whether the signing key is a local file (to keep secret).
    pub local_signing_key: bool,
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
pub fn run(dir: &Path, options: InitOptions) -> Result<Initialized> {
    if dir.join(CONFIG_FILE).exists() {
        bail!("{} is already a logseal data directory; refusing to overwrite it", dir.display());
    }
    if dir.exists() {
        let mut entries = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        if entries.next().is_some() {
            bail!("{} exists and is not empty; choose a new directory for the data", dir.display());
        }
    }
    let mut config = Config::new(&options.deployment.unwrap_or_else(default_deployment));
    config.validate()?;
    if let Some(url) = options.store {
        S3Location::parse(&url).with_context(|| format!("--store {url}: only s3://bucket/prefix is accepted here"))?;
        config.store = StoreConfig {
            kind: StoreKind::S3,
            url: Some(url),
            object_lock: options.object_lock,
            ..StoreConfig::default()
        };
    } else if options.object_lock.is_some() {
        bail!("--object-lock applies to an S3 store: add --store s3://bucket/prefix");
    }
    if let Some(spec) = options.mirror {
        config.mirror = Some(if spec.starts_with("s3://") {
            S3Location::parse(&spec).with_context(|| format!("--mirror {spec}"))?;
            StoreConfig {
                kind: StoreKind::S3,
                url: Some(spec),
                object_lock: options.object_lock,
                ..StoreConfig::default()
            }
        } else {
            StoreConfig { path: spec.into(), ..StoreConfig::default() }
        });
    }
    // The signing key in KMS: its public key now, which also shows that
    // the key exists, is a P-256 signing key and may be read.
    let kms_signer = match &options.kms_signing_key {
        Some(key_id) => Some(
            KmsSigner::open(key_id, &kms_target(&config.keys), |l| l)?
                .log_signer(&config.deployment)
                .context("the checkpoint signing key in KMS (--kms-signing-key)")?,
        ),
        None => None,
    };
    config.keys.signing_kms_key = options.kms_signing_key;
    if let Some((base, pii)) = options.kms {
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
    } else if kms_signer.is_none() {
        // The checkpoint signing key still lives here.
        let keys_dir = dir.join(&config.keys.path);
        std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o700)
            .create(&keys_dir)
            .with_context(|| format!("creating {}", keys_dir.display()))?;
    }
    let local_signing_key = kms_signer.is_none();
    let signer = match kms_signer {
        Some(signer) => signer,
        None => create_signing_key(&dir.join(&config.keys.signing_key), &config.deployment)?,
    };
    if config.store.kind == StoreKind::Local {
        LocalStore::create(dir.join(&config.store.path))?;
    }
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
    Ok(Initialized { public_key_path, vkey, local_signing_key })
}
