//! `logseal agent` and `logseal up`: the agent on a data directory's
//! `[agent]` configuration; `up` creates a development setup first (data
//! directory, local keys, a development CA with server and client
//! certificates) and prints commands that send a line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use logseal_ingest::agent::{AgentParts, Bound};
use logseal_ingest::config::{AgentConfig, FormatName, HttpConfig, OpsConfig, SealConfig, SyslogConfig, TlsConfig};
use logseal_ingest::tls::DevPki;
use logseal_store::keys::KeyProvider;
use logseal_store::object::ObjectStore;

use super::now_micros;
use crate::config::{CONFIG_FILE, Config, DataDir};

/// Checks a config file as the agent would use it, TLS files included.
pub fn check_config(path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config = Config::parse(&text, path)?;
    let agent = config
        .agent
        .as_ref()
        .with_context(|| format!("{}: no [agent] section (see docs/CONFIG.md)", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let file = |p: &Path| if p.is_absolute() { p.to_owned() } else { base.join(p) };
    logseal_ingest::tls::server_config(
        &file(&agent.tls.cert),
        &file(&agent.tls.key),
        &file(&agent.tls.client_ca),
        logseal_ingest::tls::ClientAuth::Required,
        &[],
    )?;
    Ok(())
}

/// The line `logseal agent` prints on stdout once every listener is bound
/// (for operators and scripts: ports chosen by the system show here).
pub fn print_listening(bound: &Bound) {
    print_listening_with(bound, None);
}

/// [`print_listening`] plus the query server's address.
fn print_listening_with(bound: &Bound, serve: Option<SocketAddr>) {
    let mut parts = Vec::new();
    for (name, addr) in
        [("https", bound.http), ("syslog", bound.syslog), ("relp", bound.relp), ("ops", bound.ops), ("serve", serve)]
    {
        if let Some(addr) = addr {
            parts.push(format!("{name}={addr}"));
        }
    }
    println!("listening {}", parts.join(" "));
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

/// The agent's configuration and parts from `dir`.
fn agent_of(dir: &DataDir) -> Result<(AgentConfig, AgentParts)> {
    let agent = dir.config.agent.clone().with_context(|| {
        format!(
            "{}: no [agent] section; see docs/CONFIG.md, or run `logseal up` for a development setup",
            dir.root.join(CONFIG_FILE).display()
        )
    })?;
    let store: Arc<dyn ObjectStore> = dir.store()?;
    let keys: Arc<dyn KeyProvider> = dir.keys()?;
    // Fail at start, not at the first sealed file, when a key is unusable.
    keys.index_key().context("the index key")?;
    let parts = AgentParts {
        store,
        keys,
        signer: dir.signer()?,
        sealer: dir.sealer_options()?,
        base_dir: dir.root.clone(),
        clock: now_micros,
    };
    Ok((agent, parts))
}

/// Runs the agent of `dir` until SIGINT or SIGTERM.
pub fn run(dir: &DataDir, on_ready: impl FnOnce(&Bound)) -> Result<()> {
    let (agent, parts) = agent_of(dir)?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async {
        // The handlers are installed now, before any listener is ready: a
        // SIGTERM right after "listening" must stop the agent cleanly, not
        // kill it with the default action.
        let shutdown = shutdown_signal().context("installing the SIGTERM/SIGINT handlers")?;
        logseal_ingest::agent::run(agent, parts, shutdown, on_ready).await.map_err(anyhow::Error::from)
    })?;
    Ok(())
}

/// Runs the agent and, when `dir` has a `[serve]` section, the query
/// server in one process until SIGINT or SIGTERM; `on_ready` gets the
/// agent's listeners and the query server's address.
fn run_with_server(dir: &DataDir, on_ready: impl FnOnce(&Bound, Option<SocketAddr>)) -> Result<()> {
    let (agent, parts) = agent_of(dir)?;
    // Opened before the runtime: S3 and KMS clients block while opening.
    let serve = match &dir.config.serve {
        Some(config) => Some((config.clone(), super::serve::parts(dir)?)),
        None => None,
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async {
        let shutdown = shutdown_signal().context("installing the SIGTERM/SIGINT handlers")?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
        let signal = Arc::clone(&stop_tx);
        tokio::spawn(async move {
            shutdown.await;
            let _ = signal.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let server = match serve {
            Some((config, parts)) => Some(super::serve::bind(config, parts).await?),
            None => None,
        };
        let serve_addr = server.as_ref().map(|s| s.local_addr()).transpose()?;
        let serving = server.map(|s| tokio::spawn(s.run(stopped(stop_rx.clone()))));
        let agent_result =
            logseal_ingest::agent::run(agent, parts, stopped(stop_rx), |bound| on_ready(bound, serve_addr))
                .await
                .map_err(anyhow::Error::from);
        // The agent stopped (signal or failure): stop the server too.
        let _ = stop_tx.send(true);
        if let Some(serving) = serving {
            serving.await.context("the query server task")?.context("the query server")?;
        }
        agent_result
    })
}

/// Resolves on the first SIGTERM or SIGINT; the handlers are installed
/// when this is called (inside the runtime), not when it is first polled.
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

/// The `[agent]` section `up` writes: loopback listeners, the development
/// PKI, small files sealed often.
fn dev_agent(any_port: bool) -> AgentConfig {
    let port = |p: u16| if any_port { 0 } else { p };
    AgentConfig {
        id: "up".into(),
        shards: Some(1),
        wal_dir: "wal".into(),
        wal_budget_bytes: 256 << 20,
        group_commit_ms: 2,
        seal: SealConfig { max_records: 10_000, max_bytes: 64 << 20, max_age_secs: 10 },
        tls: TlsConfig {
            cert: "tls/server.pem".into(),
            key: "tls/server-key.pem".into(),
            client_ca: "tls/ca.pem".into(),
        },
        http: Some(HttpConfig {
            listen: ([127, 0, 0, 1], port(8443)).into(),
            allow: Vec::new(),
            tokens: Vec::new(),
            format: FormatName::Combined,
            max_body_bytes: 16 << 20,
        }),
        syslog: Some(SyslogConfig {
            listen: ([127, 0, 0, 1], port(6514)).into(),
            allow: Vec::new(),
            format: FormatName::Combined,
            max_frame_bytes: 256 << 10,
            idle_timeout_secs: 300,
        }),
        relp: None,
        ops: Some(OpsConfig { listen: ([127, 0, 0, 1], port(9464)).into() }),
        json_mapping: Default::default(),
    }
}

/// `logseal up`: initializes `dir` on first start, then runs the agent.
pub fn up(dir: &Path, any_port: bool) -> Result<()> {
    if !dir.join(CONFIG_FILE).exists() {
        let made = super::init::run(dir, super::init::InitOptions::default())?;
        DevPki::create(&dir.join("tls"))?;
        let path = dir.join(CONFIG_FILE);
        let mut config = DataDir::open(dir)?.config;
        config.agent = Some(dev_agent(any_port));
        config.serve = Some(super::serve::dev_setup(dir, any_port)?);
        let text = format!(
            "# logseal data directory made by `logseal up` (development: loopback only,\n# development certificates in tls/). Every key: docs/CONFIG.md.\n{}",
            toml::to_string(&config).context("serializing config")?
        );
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "logseal: initialized {} (public key {}: {})",
            dir.display(),
            made.public_key_path.display(),
            made.vkey
        );
    }
    let data = DataDir::open(dir)?;
    if data.config.agent.is_none() {
        bail!(
            "{} has no [agent] section: add one (docs/CONFIG.md) or use a new directory for `logseal up`",
            dir.join(CONFIG_FILE).display()
        );
    }
    let tls = dir.join("tls");
    run_with_server(&data, |bound, serve| {
        let clients = serve.map(|addr| super::serve::write_client_configs(dir, addr));
        print_listening_with(bound, serve);
        print_instructions(&tls, bound);
        match clients {
            Some(Ok(written)) => print_search_instructions(&written),
            Some(Err(e)) => eprintln!("logseal: warning: writing the client configurations failed: {e:#}"),
            None => {}
        }
    })
}

fn print_search_instructions(client_configs: &[PathBuf]) {
    let Some(investigator) = client_configs.iter().find(|p| p.ends_with("investigator.toml")) else { return };
    println!(
        "Search the sealed logs as the development investigator (client configurations for every role in {}):",
        shell_path(&std::path::absolute(investigator.parent().unwrap_or(Path::new("."))).unwrap_or_default())
    );
    println!(
        "logseal search --client-config {} --since 1h --url-contains /hello --reason 'trying logseal' --ticket DEV-1",
        shell_path(&std::path::absolute(investigator).unwrap_or_else(|_| investigator.clone()))
    );
    println!();
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

fn shell_path(p: &Path) -> String {
    let text = p.display().to_string();
    if text.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b)) {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

fn print_instructions(tls: &Path, bound: &Bound) {
    let pki = DevPki::at(tls);
    let abs = |p: &PathBuf| shell_path(&std::path::absolute(p).unwrap_or_else(|_| p.clone()));
    println!("logseal is running. Stop it with Ctrl-C: everything received is sealed before it exits.");
    if let Some(http) = bound.http {
        println!();
        println!("Send a line over HTTPS (client certificate from the development CA):");
        println!(
            "curl --cacert {} --cert {} --key {} -H 'Content-Type: text/plain' --data-binary '127.0.0.1 - - [{}] \"GET /hello HTTP/1.1\" 200 5 \"-\" \"curl\"' https://localhost:{}/v1/logs",
            abs(&pki.ca),
            abs(&pki.client_cert),
            abs(&pki.client_key),
            // Now, so that the search printed below (`--since 1h`) finds it.
            logseal_core::timefmt::format_clf_time(logseal_core::EventTime {
                utc_micros: now_micros(),
                offset_secs: 0
            }),
            http.port()
        );
    }
    if let Some(syslog) = bound.syslog {
        println!();
        println!(
            "Or forward an access log with rsyslog (syslog over TLS, octet-counted; put this in an rsyslog config):"
        );
        println!(
            "global(defaultNetstreamDriverCAFile=\"{}\" defaultNetstreamDriverCertFile=\"{}\" defaultNetstreamDriverKeyFile=\"{}\")",
            abs(&pki.ca),
            abs(&pki.client_cert),
            abs(&pki.client_key)
        );
        println!("module(load=\"imfile\")");
        println!("input(type=\"imfile\" file=\"/var/log/nginx/access.log\" tag=\"nginx\" ruleset=\"logseal\")");
        println!(
            "ruleset(name=\"logseal\") {{ action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{}\" protocol=\"tcp\" StreamDriver=\"gtls\" StreamDriverMode=\"1\" StreamDriverAuthMode=\"x509/name\" StreamDriverPermittedPeers=\"localhost\" TCP_Framing=\"octet-counted\" template=\"RSYSLOG_SyslogProtocol23Format\") }}",
            syslog.port()
        );
    }
    if let Some(ops) = bound.ops {
        println!();
        println!("Metrics: http://{ops}/metrics   health: http://{ops}/healthz");
    }
    println!();
    use std::io::Write;
    let _ = std::io::stdout().flush();
}
