//! `logseal serve`: the query server on a data directory's `[serve]`
//! section; and what `logseal up` adds for it in a development setup
//! (staff certificates for an investigator, an analyst and an auditor,
//! their grants, and a client configuration per identity).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use logseal_ingest::config::TlsConfig;
use logseal_ingest::tls::DevPki;
use logseal_query::client::ClientConfig;
use logseal_query::server::{ServeConfig, Server, ServerParts};
use serde_json::json;

use super::now_micros;
use crate::config::{CONFIG_FILE, DataDir};

/// The roles `logseal up` makes a development identity for.
pub const DEV_ROLES: [&str; 3] = ["investigator", "analyst", "auditor"];

/// The identity (certificate name) of a development role.
pub fn dev_identity(role: &str) -> String {
    format!("{role}.logseal.local")
}

/// What the server needs from a data directory.
pub fn parts(dir: &DataDir) -> Result<ServerParts> {
    Ok(ServerParts {
        store: dir.store()?,
        keys: dir.keys()?,
        signer: dir.signer()?,
        sealer: dir.sealer_options()?,
        base_dir: dir.root.clone(),
        clock: now_micros,
    })
}

/// The `[serve]` section of `dir`, or an error saying how to get one.
pub fn config_of(dir: &DataDir) -> Result<ServeConfig> {
    dir.config.serve.clone().with_context(|| {
        format!(
            "{}: no [serve] section; see docs/CONFIG.md, or run `logseal up` for a development setup",
            dir.root.join(CONFIG_FILE).display()
        )
    })
}

/// Binds a server (inside a runtime). `parts` are opened before: opening
/// S3 or KMS clients blocks, which must not happen on the runtime's threads.
pub async fn bind(config: ServeConfig, parts: ServerParts) -> Result<Server> {
    Server::bind(config, parts).await.context("starting the query server")
}

/// Runs the query server of `dir` until SIGINT or SIGTERM.
pub fn run(dir: &DataDir) -> Result<()> {
    let (config, parts) = (config_of(dir)?, parts(dir)?);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async {
        let shutdown = super::agent::shutdown_signal().context("installing the SIGTERM/SIGINT handlers")?;
        let server = bind(config, parts).await?;
        println!("listening serve={}", server.local_addr()?);
        use std::io::Write;
        let _ = std::io::stdout().flush();
        server.run(shutdown).await.context("the query server")
    })
}

/// The `[serve]` section `up` writes, after creating the staff
/// certificates (in `clients/`) and their grants (`policy/entities.json`,
/// valid one year).
pub fn dev_setup(dir: &Path, any_port: bool) -> Result<ServeConfig> {
    let pki = DevPki::at(&dir.join("tls"));
    let clients = dir.join("clients");
    std::fs::create_dir_all(&clients).with_context(|| format!("creating {}", clients.display()))?;
    let expires = logseal_core::timefmt::format_rfc3339_utc(now_micros() + 365 * 86_400 * 1_000_000);
    let expires = format!("{}Z", &expires[..19]);
    let mut entities = Vec::new();
    for role in DEV_ROLES {
        let identity = dev_identity(role);
        let (cert, key) = pki.issue_client(&identity)?;
        std::fs::write(clients.join(format!("{role}.pem")), cert).context("writing a client certificate")?;
        logseal_store::keys::local::write_secret_file(&clients.join(format!("{role}-key.pem")), key.as_bytes())?;
        let grant = format!("g-{role}");
        entities.push(json!({"uid": {"type": "Role", "id": role}, "attrs": {}, "parents": []}));
        entities.push(json!({
            "uid": {"type": "Grant", "id": grant},
            "attrs": {"expires": {"__extn": {"fn": "datetime", "arg": expires}}, "ticket": "DEV-1"},
            "parents": [{"type": "Role", "id": role}],
        }));
        entities.push(
            json!({"uid": {"type": "Staff", "id": identity}, "attrs": {}, "parents": [{"type": "Grant", "id": grant}]}),
        );
    }
    let policy_dir = dir.join("policy");
    std::fs::create_dir_all(&policy_dir).with_context(|| format!("creating {}", policy_dir.display()))?;
    let entities_path = policy_dir.join("entities.json");
    std::fs::write(&entities_path, serde_json::to_string_pretty(&entities)? + "\n")
        .with_context(|| format!("writing {}", entities_path.display()))?;
    Ok(ServeConfig {
        listen: ([127, 0, 0, 1], if any_port { 0 } else { 8444 }).into(),
        tls: TlsConfig {
            cert: "tls/server.pem".into(),
            key: "tls/server-key.pem".into(),
            client_ca: "tls/ca.pem".into(),
        },
        policies: None,
        entities: "policy/entities.json".into(),
        pii: true,
        threads: None,
        concurrent_scans: 4,
        access_wal_dir: "access-wal".into(),
        access_seal_secs: 10,
    })
}

/// Writes `clients/<role>.toml` for every development identity that has
/// its certificate in `dir/clients`, pointing at `addr`.
pub fn write_client_configs(dir: &Path, addr: SocketAddr) -> Result<Vec<PathBuf>> {
    let clients = dir.join("clients");
    let mut written = Vec::new();
    for role in DEV_ROLES {
        if !clients.join(format!("{role}.pem")).exists() {
            continue;
        }
        let config = ClientConfig {
            server: addr.to_string(),
            server_name: "localhost".into(),
            ca: "../tls/ca.pem".into(),
            cert: format!("{role}.pem").into(),
            key: format!("{role}-key.pem").into(),
            role: None,
        };
        let path = clients.join(format!("{role}.toml"));
        let text = format!(
            "# logseal client configuration for {} (role {role}), written by `logseal up`.\n# Use: logseal search --client-config {} …  (or LOGSEAL_CLIENT_CONFIG)\n{}",
            dev_identity(role),
            path.display(),
            toml::to_string(&config).context("serializing a client configuration")?
        );
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
