//! The data directory and its configuration file, `logseal.toml`.
//!
//! A data directory holds the config, the key files (`keys/`), the public
//! key (`checkpoint.vkey`) and, with the local store, the objects
//! (`store/`). Every config key is documented here; an unknown key is an
//! error naming it and the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use logseal_core::checkpoint::{LogSigner, LogVerifier};
use logseal_core::parse::JsonMapping;
use logseal_store::aws::AwsTarget;
use logseal_store::keys::KeyProvider;
use logseal_store::keys::kms::{KmsKeyIds, KmsKeys};
use logseal_store::keys::kms_signer::KmsSigner;
use logseal_store::keys::local::{LocalKeys, load_signing_key, load_verifier};
use logseal_store::object::ObjectStore;
use logseal_store::object::local::LocalStore;
use logseal_store::object::s3::{LockMode, ObjectLock, S3Location, S3Options, S3Store};
use logseal_store::sealed::write::WriteOptions;
use logseal_store::sealer::SealerOptions;
use serde::{Deserialize, Serialize};

/// The config file's name inside a data directory.
pub const CONFIG_FILE: &str = "logseal.toml";
/// The only config version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// `logseal.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Config format version; always 1.
    pub version: u32,
    /// The deployment name: first part of every checkpoint origin and the
    /// name of the signing key, e.g. `logs.example.com/prod`.
    pub deployment: String,
    /// Where sealed objects go.
    #[serde(default)]
    pub store: StoreConfig,
    /// A second store that receives a copy of every checkpoint (another
    /// bucket, ideally in another account); `verify` cross-checks the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<StoreConfig>,
    /// Where keys come from.
    #[serde(default)]
    pub keys: KeysConfig,
    /// How files are sealed.
    #[serde(default)]
    pub sealing: SealingConfig,
    /// Defaults of `logseal import`.
    #[serde(default)]
    pub import: ImportConfig,
    /// The agent (`logseal agent`, `logseal up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<logseal_ingest::config::AgentConfig>,
    /// The query server (`logseal serve`, `logseal up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serve: Option<logseal_query::server::ServeConfig>,
}

/// Opens the checkpoint mirror `spec` names: like [`open_store`], but a
/// local directory is made if missing and need not hold checkpoints yet.
pub fn open_mirror(spec: &str, config: &StoreConfig) -> Result<Arc<dyn ObjectStore>> {
    if spec.starts_with("s3://") {
        return open_store(spec, config);
    }
    Ok(Arc::new(LocalStore::create(spec)?))
}

/// Opens the store `spec` names: `s3://bucket/prefix` (with the S3
/// settings of `config`) or a local store directory.
pub fn open_store(spec: &str, config: &StoreConfig) -> Result<Arc<dyn ObjectStore>> {
    if spec.starts_with("s3://") {
        let options = S3Options {
            endpoint: config.endpoint.clone(),
            region: config.region.clone(),
            path_style: config.path_style,
            object_lock: config.object_lock.map(|l| ObjectLock {
                mode: match l.mode {
                    LockModeConfig::Compliance => LockMode::Compliance,
                    LockModeConfig::Governance => LockMode::Governance,
                },
                retain_days: l.retain_days,
            }),
            ..S3Options::default()
        };
        return Ok(Arc::new(S3Store::open(S3Location::parse(spec)?, options)?));
    }
    let root = Path::new(spec);
    if !root.join(logseal_core::layout::FORMAT_PREFIX).is_dir() {
        bail!(
            "{} is not a logseal store (it has no {} directory)",
            root.display(),
            logseal_core::layout::FORMAT_PREFIX
        );
    }
    Ok(Arc::new(LocalStore::open(root)?))
}

/// Where KMS is, from `[keys]`.
pub fn kms_target(keys: &KeysConfig) -> AwsTarget {
    AwsTarget { endpoint: keys.endpoint.clone(), region: keys.region.clone(), max_attempts: 4 }
}

/// `[store]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `local` (a directory) or `s3`.
    #[serde(default = "default_store_kind")]
    pub kind: StoreKind,
    /// The local store's directory, relative to the data directory.
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
    /// S3: `s3://bucket/prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// S3: an endpoint other than AWS's (else `AWS_ENDPOINT_URL_S3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// S3: the region (else the AWS provider chain, e.g. `AWS_REGION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// S3: path-style addressing; default on when an endpoint is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    /// S3: Object Lock retention of every object written, e.g.
    /// `{ mode = "compliance", retain_days = 3650 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLockConfig>,
}

/// `[store] object_lock`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectLockConfig {
    /// `compliance` or `governance`.
    pub mode: LockModeConfig,
    /// Days every object is kept from its write.
    pub retain_days: u32,
}

/// Object Lock modes in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockModeConfig {
    /// Nobody can delete or shorten before the date.
    Compliance,
    /// Principals with `s3:BypassGovernanceRetention` can.
    Governance,
}

/// Kinds of store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// A local directory.
    Local,
    /// An S3 bucket and prefix.
    S3,
}

fn default_store_kind() -> StoreKind {
    StoreKind::Local
}
fn default_store_path() -> PathBuf {
    "store".into()
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            kind: default_store_kind(),
            path: default_store_path(),
            url: None,
            endpoint: None,
            region: None,
            path_style: None,
            object_lock: None,
        }
    }
}

/// `[keys]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// `local` (key files) or `aws-kms`.
    #[serde(default = "default_keys_kind")]
    pub kind: KeysKind,
    /// AWS KMS: key id or ARN of the `base` domain's symmetric key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_key: Option<String>,
    /// AWS KMS: key id or ARN of the `pii` domain's symmetric key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii_key: Option<String>,
    /// AWS KMS: the blind-index key wrapped under the `pii` key (written by
    /// `logseal init --kms-base-key … --kms-pii-key …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_key_wrapped: Option<String>,
    /// AWS KMS: the region (else the AWS provider chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// AWS KMS: an endpoint other than AWS's (else `AWS_ENDPOINT_URL_KMS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Directory of the local key files, relative to the data directory.
    #[serde(default = "default_keys_path")]
    pub path: PathBuf,
    /// The checkpoint signing key (C2SP signer key), relative to the data
    /// directory; not used when `signing_kms_key` is set.
    #[serde(default = "default_signing_key")]
    pub signing_key: PathBuf,
    /// AWS KMS: key id or ARN of an `ECC_NIST_P256` / `SIGN_VERIFY` key that
    /// signs checkpoints inside KMS (instead of the `signing_key` file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_kms_key: Option<String>,
    /// The checkpoint public key (C2SP vkey), relative to the data directory.
    #[serde(default = "default_public_key")]
    pub public_key: PathBuf,
}

/// Kinds of key provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeysKind {
    /// Key files.
    Local,
    /// AWS KMS keys.
    AwsKms,
}

fn default_keys_kind() -> KeysKind {
    KeysKind::Local
}
fn default_keys_path() -> PathBuf {
    "keys".into()
}
fn default_signing_key() -> PathBuf {
    "keys/checkpoint.skey".into()
}
fn default_public_key() -> PathBuf {
    "checkpoint.vkey".into()
}

impl Default for KeysConfig {
    fn default() -> Self {
        KeysConfig {
            kind: default_keys_kind(),
            base_key: None,
            pii_key: None,
            index_key_wrapped: None,
            region: None,
            endpoint: None,
            path: default_keys_path(),
            signing_key: default_signing_key(),
            signing_kms_key: None,
            public_key: default_public_key(),
        }
    }
}

/// `[sealing]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealingConfig {
    /// Seconds between checkpoints while idle (the heartbeat promise).
    #[serde(default = "default_heartbeat_secs")]
    pub heartbeat_secs: u64,
    /// Records per sealed file.
    #[serde(default = "default_file_records")]
    pub file_records: usize,
    /// Rows per Parquet row group.
    #[serde(default = "default_row_group_rows")]
    pub row_group_rows: usize,
    /// zstd compression level (1-22).
    #[serde(default = "default_zstd_level")]
    pub zstd_level: i32,
}

fn default_heartbeat_secs() -> u64 {
    60
}
fn default_file_records() -> usize {
    1_000_000
}
fn default_row_group_rows() -> usize {
    1 << 20
}
fn default_zstd_level() -> i32 {
    6
}

impl Default for SealingConfig {
    fn default() -> Self {
        SealingConfig {
            heartbeat_secs: default_heartbeat_secs(),
            file_records: default_file_records(),
            row_group_rows: default_row_group_rows(),
            zstd_level: default_zstd_level(),
        }
    }
}

/// `[import]`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ImportConfig {
    /// Which JSON keys hold which field (JSON lines); defaults to nginx's
    /// variable names.
    #[serde(default)]
    pub json_mapping: JsonMapping,
}

impl Config {
    /// A new config with defaults.
    pub fn new(deployment: &str) -> Config {
        Config {
            version: CONFIG_VERSION,
            deployment: deployment.to_owned(),
            store: StoreConfig::default(),
            mirror: None,
            keys: KeysConfig::default(),
            sealing: SealingConfig::default(),
            import: ImportConfig::default(),
            agent: None,
            serve: None,
        }
    }

    /// Parses and checks a config file's text.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let config: Config = toml::from_str(text).with_context(|| format!("config file {}", path.display()))?;
        if config.version != CONFIG_VERSION {
            bail!(
                "config file {}: version {} is not supported (this build reads version {CONFIG_VERSION})",
                path.display(),
                config.version
            );
        }
        config.validate().with_context(|| format!("config file {}", path.display()))?;
        Ok(config)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<()> {
        logseal_core::checkpoint::validate_name("deployment", &self.deployment)?;
        if let Some(agent) = &self.agent {
            agent.validate().map_err(|e| anyhow::anyhow!(e))?;
        }
        let s = &self.sealing;
        if s.heartbeat_secs == 0 {
            bail!("sealing.heartbeat_secs must be at least 1");
        }
        if s.file_records == 0 || s.row_group_rows == 0 {
            bail!("sealing.file_records and sealing.row_group_rows must be at least 1");
        }
        if !(1..=22).contains(&s.zstd_level) {
            bail!("sealing.zstd_level must be between 1 and 22, not {}", s.zstd_level);
        }
        Ok(())
    }
}

/// An opened data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    /// The directory.
    pub root: PathBuf,
    /// Its config.
    pub config: Config,
    /// A store to use instead of the configured one.
    store_override: Option<String>,
    /// A checkpoint mirror to use instead of the configured one.
    mirror_override: Option<String>,
}

impl DataDir {
    /// Opens `root`, which must hold a `logseal.toml`.
    pub fn open(root: &Path) -> Result<DataDir> {
        let path = root.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if root.is_dir() {
                    bail!(
                        "{} is not a logseal data directory (it has no {CONFIG_FILE}); create one with `logseal init --data-dir {}`",
                        root.display(),
                        root.display()
                    );
                }
                bail!(
                    "data directory {} does not exist; create it with `logseal init --data-dir {}`",
                    root.display(),
                    root.display()
                );
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(DataDir {
            config: Config::parse(&text, &path)?,
            root: root.to_owned(),
            store_override: None,
            mirror_override: None,
        })
    }

    fn path(&self, relative: &Path) -> PathBuf {
        self.root.join(relative)
    }

    /// Uses the store at `spec` (`s3://bucket/prefix` or a directory)
    /// instead of the configured one (`--store`, `LOGSEAL_STORE`).
    #[must_use]
    pub fn with_store(mut self, spec: Option<String>) -> DataDir {
        self.store_override = spec;
        self
    }

    /// Uses `spec` (`s3://…` or a directory) as the checkpoint mirror
    /// instead of the configured one.
    pub fn with_mirror(mut self, spec: Option<String>) -> DataDir {
        self.mirror_override = spec;
        self
    }

    /// The object store.
    pub fn store(&self) -> Result<Arc<dyn ObjectStore>> {
        if let Some(spec) = &self.store_override {
            return open_store(spec, &self.config.store);
        }
        self.open_configured("store", &self.config.store)
    }

    /// The checkpoint mirror, if there is one.
    pub fn mirror(&self) -> Result<Option<Arc<dyn ObjectStore>>> {
        let default = StoreConfig::default();
        let config = self.config.mirror.as_ref().unwrap_or(&default);
        if let Some(spec) = &self.mirror_override {
            return open_mirror(spec, config).map(Some);
        }
        match &self.config.mirror {
            Some(config) => self.open_configured("mirror", config).map(Some),
            None => Ok(None),
        }
    }

    fn open_configured(&self, section: &str, config: &StoreConfig) -> Result<Arc<dyn ObjectStore>> {
        match config.kind {
            StoreKind::Local if section == "mirror" => Ok(Arc::new(LocalStore::create(self.path(&config.path))?)),
            StoreKind::Local => Ok(Arc::new(LocalStore::open(self.path(&config.path))?)),
            StoreKind::S3 => match &config.url {
                Some(url) => open_store(url, config),
                None => bail!(
                    "{}: [{section}] kind = \"s3\" needs url = \"s3://bucket/prefix\"",
                    self.root.join(CONFIG_FILE).display()
                ),
            },
        }
    }

    /// The key provider.
    pub fn keys(&self) -> Result<Arc<dyn KeyProvider>> {
        let keys = &self.config.keys;
        match keys.kind {
            KeysKind::Local => Ok(Arc::new(LocalKeys::open(self.path(&keys.path)))),
            KeysKind::AwsKms => {
                let missing = |name: &str| {
                    anyhow::anyhow!(
                        "{}: [keys] kind = \"aws-kms\" needs {name} (logseal init --kms-base-key … --kms-pii-key … writes it)",
                        self.root.join(CONFIG_FILE).display()
                    )
                };
                let ids = KmsKeyIds {
                    base: keys.base_key.clone().ok_or_else(|| missing("base_key"))?,
                    pii: keys.pii_key.clone().ok_or_else(|| missing("pii_key"))?,
                    index_key_wrapped: keys.index_key_wrapped.clone().ok_or_else(|| missing("index_key_wrapped"))?,
                };
                Ok(Arc::new(KmsKeys::open(ids, &kms_target(keys), |l| l)?))
            }
        }
    }

    /// The checkpoint signing key: in KMS (`signing_kms_key`) or the local
    /// key file. Either must match the data directory's public key.
    pub fn signer(&self) -> Result<Arc<LogSigner>> {
        let keys = &self.config.keys;
        let signer = match &keys.signing_kms_key {
            Some(key_id) => KmsSigner::open(key_id, &kms_target(keys), |l| l)?
                .log_signer(&self.config.deployment)
                .context("the checkpoint signing key in KMS ([keys] signing_kms_key)")?,
            None => {
                let signer = load_signing_key(&self.path(&keys.signing_key))?;
                if signer.name() != self.config.deployment {
                    bail!(
                        "signing key {} is for deployment {:?}, but the config says {:?}",
                        self.path(&keys.signing_key).display(),
                        signer.name(),
                        self.config.deployment
                    );
                }
                signer
            }
        };
        // A signer whose checkpoints the stored public key would refuse
        // must not write any.
        if let Ok(stored) = self.verifier()
            && stored.to_vkey() != signer.verifier().to_vkey()
        {
            bail!(
                "the checkpoint signing key ({}) is not the key of the public key in {}; restore the right key, or replace the public key with `logseal keys export-public …` if the signing key was changed on purpose",
                keys.signing_kms_key
                    .as_deref()
                    .map_or_else(|| self.path(&keys.signing_key).display().to_string(), |k| format!("KMS key {k}")),
                self.public_key_path().display()
            );
        }
        Ok(Arc::new(signer))
    }

    /// Where the public key is.
    pub fn public_key_path(&self) -> PathBuf {
        self.path(&self.config.keys.public_key)
    }

    /// The public key stored with the data directory.
    pub fn verifier(&self) -> Result<LogVerifier> {
        Ok(load_verifier(&self.public_key_path())?)
    }

    /// Sealer options from the config (with the checkpoint mirror opened).
    pub fn sealer_options(&self) -> Result<SealerOptions> {
        let s = &self.config.sealing;
        Ok(SealerOptions {
            deployment: self.config.deployment.clone(),
            heartbeat_secs: s.heartbeat_secs,
            write: WriteOptions {
                row_group_rows: s.row_group_rows,
                zstd_level: s.zstd_level,
                ..WriteOptions::default()
            },
            writer: format!("logseal {}", env!("CARGO_PKG_VERSION")),
            mirror: self.mirror()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_key_names_the_key_and_the_file() {
        let text = "version = 1\ndeployment = \"a.example/x\"\n[sealing]\nheartbeat_sec = 5\n";
        let err = Config::parse(text, Path::new("/etc/logseal.toml")).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("/etc/logseal.toml") && msg.contains("heartbeat_sec"), "{msg}");
    }

    #[test]
    fn defaults_round_trip() {
        let config = Config::new("a.example/x");
        let text = toml::to_string(&config).unwrap();
        let back = Config::parse(&text, Path::new("x")).unwrap();
        assert_eq!(back.sealing.file_records, 1_000_000);
        assert!(Config::parse("version = 2\ndeployment = \"a\"\n", Path::new("x")).is_err());
    }
}
