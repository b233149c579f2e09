//! The agent's configuration: the `[agent]` section of `logseal.toml`.
//! Every key is documented in `docs/CONFIG.md`; unknown keys are errors.

use std::net::SocketAddr;
use std::path::PathBuf;

use logseal_core::LineFormat;
use logseal_core::parse::JsonMapping;
use serde::{Deserialize, Serialize};

/// `[agent]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// This agent's name: its streams are `<id>-<shard>`.
    #[serde(default = "default_id")]
    pub id: String,
    /// Streams sealed in parallel (default: one per CPU).
    #[serde(default)]
    pub shards: Option<usize>,
    /// The write-ahead log's directory (relative to the data directory).
    #[serde(default = "default_wal_dir")]
    pub wal_dir: PathBuf,
    /// Above this many WAL bytes per shard, input waits (backpressure).
    #[serde(default = "default_wal_budget_bytes")]
    pub wal_budget_bytes: u64,
    /// Group-commit interval: how long a write waits for others to share its fsync.
    #[serde(default = "default_group_commit_ms")]
    pub group_commit_ms: u64,
    /// When files are sealed.
    #[serde(default)]
    pub seal: SealConfig,
    /// The server certificate and the CA that signs client certificates.
    pub tls: TlsConfig,
    /// HTTPS `POST /v1/logs`.
    #[serde(default)]
    pub http: Option<HttpConfig>,
    /// Syslog over TLS (RFC 5425).
    #[serde(default)]
    pub syslog: Option<SyslogConfig>,
    /// RELP over TLS.
    #[serde(default)]
    pub relp: Option<RelpConfig>,
    /// Plain-HTTP operations endpoint: `/metrics`, `/healthz`, `/readyz`.
    #[serde(default)]
    pub ops: Option<OpsConfig>,
    /// JSON-lines field mapping for NDJSON input.
    #[serde(default)]
    pub json_mapping: JsonMapping,
}

fn default_id() -> String {
    "agent".into()
}
fn default_wal_dir() -> PathBuf {
    "wal".into()
}
fn default_wal_budget_bytes() -> u64 {
    1 << 30
}
fn default_group_commit_ms() -> u64 {
    2
}

/// `[agent.seal]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealConfig {
    /// Records per file.
    #[serde(default = "default_max_records")]
    pub max_records: usize,
    /// Bytes of lines per file.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// Seconds before an open file is sealed anyway.
    #[serde(default = "default_max_age_secs")]
    pub max_age_secs: u64,
}

fn default_max_records() -> usize {
    1_000_000
}
fn default_max_bytes() -> usize {
    512 << 20
}
fn default_max_age_secs() -> u64 {
    300
}

impl Default for SealConfig {
    fn default() -> Self {
        SealConfig {
            max_records: default_max_records(),
            max_bytes: default_max_bytes(),
            max_age_secs: default_max_age_secs(),
        }
    }
}

/// `[agent.tls]`: PEM files, relative to the data directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server certificate chain.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// The CA that client certificates must chain to.
    pub client_ca: PathBuf,
}

/// How lines of a listener are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatName {
    /// nginx/Apache combined.
    Combined,
    /// Apache common.
    Common,
    /// JSON lines.
    Json,
}

impl From<FormatName> for LineFormat {
    fn from(f: FormatName) -> LineFormat {
        match f {
            FormatName::Combined => LineFormat::Combined,
            FormatName::Common => LineFormat::Common,
            FormatName::Json => LineFormat::Json,
        }
    }
}

fn default_format() -> FormatName {
    FormatName::Combined
}

/// A bearer token for HTTP clients that cannot present a certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The identity records get as `source`.
    pub name: String,
    /// SHA-256 of the token, hex (the token itself is never stored).
    pub sha256: String,
}

/// `[agent.http]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Client identities allowed (certificate names); empty = any certificate from the CA.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Bearer tokens.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// Format of `text/plain` bodies.
    #[serde(default = "default_format")]
    pub format: FormatName,
    /// The largest request body, compressed or not.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
}

fn default_max_body_bytes() -> usize {
    16 << 20
}

/// `[agent.syslog]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Client identities allowed; empty = any certificate from the CA.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Format of the message bodies.
    #[serde(default = "default_format")]
    pub format: FormatName,
    /// The largest frame; a larger one closes that connection.
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: usize,
    /// Seconds a connection may stay silent.
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
}

fn default_max_frame_bytes() -> usize {
    256 << 10
}
fn default_idle_timeout_secs() -> u64 {
    300
}

/// `[agent.relp]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelpConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Client identities allowed; empty = any certificate from the CA.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Format of the message bodies.
    #[serde(default = "default_format")]
    pub format: FormatName,
    /// The largest frame.
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: usize,
    /// Seconds a connection may stay silent.
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
}

/// `[agent.ops]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    /// Address of the plain-HTTP `/metrics`, `/healthz`, `/readyz` endpoint.
    pub listen: SocketAddr,
}

impl AgentConfig {
    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), String> {
        logseal_core::checkpoint::validate_stream_name(&format!("{}-0", self.id))
            .map_err(|e| format!("agent.id: {e}"))?;
        if self.shards == Some(0) {
            return Err("agent.shards must be at least 1".into());
        }
        if self.http.is_none() && self.syslog.is_none() && self.relp.is_none() {
            return Err("the agent has no listener: configure [agent.http], [agent.syslog] or [agent.relp]".into());
        }
        if let Some(http) = &self.http {
            for t in &http.tokens {
                if t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!(
                        "agent.http.tokens: token {:?} needs sha256 = 64 hex digits (sha256sum of the token)",
                        t.name
                    ));
                }
            }
        }
        if self.seal.max_records == 0 || self.seal.max_age_secs == 0 {
            return Err("agent.seal.max_records and agent.seal.max_age_secs must be at least 1".into());
        }
        Ok(())
    }
}
