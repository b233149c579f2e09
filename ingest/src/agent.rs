//! The agent runtime: shards, listeners, the operations endpoint, and a
//! graceful stop (stop accepting, seal and store everything pending,
//! write final checkpoints, exit).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use logseal_core::Micros;
use logseal_core::checkpoint::LogSigner;
use logseal_core::parse::JsonMapping;
use logseal_store::keys::KeyProvider;
use logseal_store::object::ObjectStore;
use logseal_store::sealer::{SealerOptions, StreamSealer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::config::AgentConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::parse_pool::ParsePool;
use crate::shard::{SealPolicy, Shard, ShardOptions};
use crate::tls::{self, ClientAuth};
use crate::wal::WalOptions;

/// What the agent seals with.
pub struct AgentParts {
    /// Where sealed files go.
    pub store: Arc<dyn ObjectStore>,
    /// The key provider.
    pub keys: Arc<dyn KeyProvider>,
    /// The checkpoint signing key.
    pub signer: Arc<LogSigner>,
    /// How files are written.
    pub sealer: SealerOptions,
    /// Relative paths of the config are relative to this directory.
    pub base_dir: PathBuf,
    /// The clock.
    pub clock: fn() -> Micros,
}

/// Fires once when the agent starts stopping.
#[derive(Clone)]
pub struct Stopping(watch::Receiver<bool>);

impl Stopping {
    /// Waits until the agent stops.
    pub async fn wait(&mut self) {
        while !*self.0.borrow() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }
}

/// What listeners share.
pub struct AgentContext {
    shards: Vec<Shard>,
    next: AtomicUsize,
    stopping: AtomicBool,
    connections: AtomicUsize,
    /// JSON-lines field mapping.
    pub json_mapping: JsonMapping,
    /// The clock.
    pub clock: fn() -> Micros,
    /// Decodes and parses request bodies, one at a time per core.
    pub parsers: ParsePool,
}

/// Counts a connection as open while it lives.
pub struct ConnectionGuard(Arc<AgentContext>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let open = self.0.connections.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
        metrics::gauge!("logseal_connections").set(open as f64);
    }
}

impl AgentContext {
    /// Registers an open connection; the agent waits for open connections
    /// to hand in what they read before it closes the streams.
    pub fn connection(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!("logseal_connections").set(self.connections.load(Ordering::Relaxed) as f64);
        ConnectionGuard(Arc::clone(self))
    }

    /// A shard that takes input now (round robin), or `None` when every
    /// shard is applying backpressure.
    pub fn pick_shard(&self) -> Option<&Shard> {
        let n = self.shards.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n).map(|i| &self.shards[(start + i) % n]).find(|s| !s.status().under_pressure())
    }

    /// Whether some shard takes input now. Unlike [`Self::pick_shard`] it
    /// does not move the round robin on: a connection that checked before
    /// each batch and picked once per batch would otherwise always land on
    /// the same shard of two.
    pub fn accepting(&self) -> bool {
        self.shards.iter().any(|s| !s.status().under_pressure())
    }

    /// Any shard, even one applying backpressure (stream listeners wait).
    pub fn any_shard(&self) -> &Shard {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        &self.shards[start % self.shards.len()]
    }

    /// Whether the agent is stopping.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Whether every shard takes input.
    pub fn ready(&self) -> bool {
        !self.stopping() && self.shards.iter().all(|s| !s.status().under_pressure())
    }

    /// The shards.
    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }
}

/// Where the listeners are, once bound.
#[derive(Debug, Clone, Default)]
pub struct Bound {
    /// HTTPS.
    pub http: Option<std::net::SocketAddr>,
    /// Syslog over TLS.
    pub syslog: Option<std::net::SocketAddr>,
    /// RELP over TLS.
    pub relp: Option<std::net::SocketAddr>,
    /// Operations (plain HTTP).
    pub ops: Option<std::net::SocketAddr>,
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_owned() } else { base.join(p) }
}

async fn bind(what: &str, addr: std::net::SocketAddr) -> Result<TcpListener> {
    let fail = |e: std::io::Error| {
        Error::new(
            ErrorKind::Config,
            format!("cannot listen for {what} on {addr}: {e} (is another process using the port?)"),
        )
    };
    let socket =
        if addr.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() }.map_err(fail)?;
    socket.set_reuseaddr(true).map_err(fail)?;
    socket.bind(addr).map_err(fail)?;
    // A deep accept queue: bursts of connections (thousands of senders
    // reconnecting at once) must not see dropped SYNs and 1 s retries.
    socket.listen(4096).map_err(fail)
}

/// Runs the agent until `shutdown` completes, then stops gracefully.
/// `on_ready` is called once every listener is bound.
pub async fn run(
    config: AgentConfig,
    parts: AgentParts,
    shutdown: impl std::future::Future<Output = ()>,
    on_ready: impl FnOnce(&Bound),
) -> Result<()> {
    config.validate().map_err(|e| Error::new(ErrorKind::Config, e))?;
    let metrics = crate::ops::install_metrics();
    let shard_count = config.shards.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let runtime = tokio::runtime::Handle::current();
    let mut shards = Vec::with_capacity(shard_count);
    for i in 0..shard_count {
        let stream = format!("{}-{i}", config.id);
        let (store, keys, signer, options, clock) =
            (parts.store.clone(), parts.keys.clone(), parts.signer.clone(), parts.sealer.clone(), parts.clock);
        let stream_for_open = stream.clone();
        let sealer = tokio::task::spawn_blocking(move || {
            StreamSealer::open(store, keys, signer, &stream_for_open, options, clock())
        })
        .await
        .map_err(|_| Error::new(ErrorKind::Store, "opening a stream panicked"))??;
        let options = ShardOptions {
            wal_dir: resolve(&parts.base_dir, &config.wal_dir).join(&stream),
            stream,
            wal: WalOptions::default(),
            group_commit: Duration::from_millis(config.group_commit_ms),
            max_group_bytes: 1 << 20,
            wal_budget_bytes: config.wal_budget_bytes,
            seal: SealPolicy {
                max_records: config.seal.max_records,
                max_bytes: config.seal.max_bytes,
                max_age: Duration::from_secs(config.seal.max_age_secs),
            },
            queue: 1024,
        };
        let runtime = runtime.clone();
        let clock = parts.clock;
        shards.push(
            tokio::task::spawn_blocking(move || Shard::start(runtime, sealer, options, clock))
                .await
                .map_err(|_| Error::new(ErrorKind::Io, "starting a shard panicked"))??,
        );
    }
    let ctx = Arc::new(AgentContext {
        shards,
        next: AtomicUsize::new(0),
        stopping: AtomicBool::new(false),
        connections: AtomicUsize::new(0),
        json_mapping: config.json_mapping.clone(),
        clock: parts.clock,
        parsers: ParsePool::new(std::thread::available_parallelism().map_or(2, usize::from))
            .map_err(|e| Error::io("starting the parser threads", &e))?,
    });

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopping = Stopping(stop_rx);
    let tls_files = |auth, alpn: &[&[u8]]| {
        tls::server_config(
            &resolve(&parts.base_dir, &config.tls.cert),
            &resolve(&parts.base_dir, &config.tls.key),
            &resolve(&parts.base_dir, &config.tls.client_ca),
            auth,
            alpn,
        )
    };
    let mut bound = Bound::default();
    let mut tasks = Vec::new();
    if let Some(http) = &config.http {
        let auth = if http.tokens.is_empty() { ClientAuth::Required } else { ClientAuth::Optional };
        let acceptor = TlsAcceptor::from(tls_files(auth, &[b"h2", b"http/1.1"])?);
        let listener = bind("HTTPS", http.listen).await?;
        bound.http = listener.local_addr().ok();
        tasks.push(tokio::spawn(crate::http::serve(
            listener,
            acceptor,
            Arc::new(http.clone()),
            Arc::clone(&ctx),
            stopping.clone(),
        )));
    }
    if let Some(syslog) = &config.syslog {
        // Syslog senders never read: TLS 1.3 session tickets would sit unread
        // in their socket, and closing a socket with unread data sends a
        // reset instead of a FIN, which can discard the last frames before
        // the agent has read them. No tickets, no reset.
        let mut no_tickets = (*tls_files(ClientAuth::Required, &[])?).clone();
        no_tickets.send_tls13_tickets = 0;
        let acceptor = TlsAcceptor::from(Arc::new(no_tickets));
        let listener = bind("syslog over TLS", syslog.listen).await?;
        bound.syslog = listener.local_addr().ok();
        let settings = Arc::new(crate::syslog::StreamListener {
            allow: syslog.allow.clone(),
            format: syslog.format.into(),
            max_frame_bytes: syslog.max_frame_bytes,
            idle_timeout: Duration::from_secs(syslog.idle_timeout_secs),
        });
        let ctx_for = Arc::clone(&ctx);
        tasks.push(tokio::spawn(crate::syslog::accept_loop(
            listener,
            acceptor,
            "syslog",
            Arc::clone(&ctx),
            stopping.clone(),
            move |tls, peer, identity, stop| {
                crate::syslog::connection(tls, peer, identity, Arc::clone(&settings), Arc::clone(&ctx_for), stop)
            },
        )));
    }
    if let Some(relp) = &config.relp {
        let acceptor = TlsAcceptor::from(tls_files(ClientAuth::Required, &[])?);
        let listener = bind("RELP over TLS", relp.listen).await?;
        bound.relp = listener.local_addr().ok();
        let settings = Arc::new(crate::syslog::StreamListener {
            allow: relp.allow.clone(),
            format: relp.format.into(),
            max_frame_bytes: relp.max_frame_bytes,
            idle_timeout: Duration::from_secs(relp.idle_timeout_secs),
        });
        let ctx_for = Arc::clone(&ctx);
        tasks.push(tokio::spawn(crate::syslog::accept_loop(
            listener,
            acceptor,
            "RELP",
            Arc::clone(&ctx),
            stopping.clone(),
            move |tls, peer, identity, stop| {
                crate::relp::connection(tls, peer, identity, Arc::clone(&settings), Arc::clone(&ctx_for), stop)
            },
        )));
    }
    if let Some(ops) = &config.ops {
        let listener = bind("the operations endpoint", ops.listen).await?;
        bound.ops = listener.local_addr().ok();
        tasks.push(tokio::spawn(crate::ops::serve(listener, metrics, Arc::clone(&ctx), stopping.clone())));
    }
    tracing::info!(?bound, shards = shard_count, "agent ready");
    on_ready(&bound);

    shutdown.await;
    tracing::info!("stopping: no new input; sealing everything pending");
    ctx.stopping.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    // Connections hand in what they have read (syslog has no
    // acknowledgement: what was read must be sealed).
    for _ in 0..300 {
        if ctx.connections.load(Ordering::Relaxed) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Requests already submitted are made durable and acknowledged by the
    // shards' WAL threads before they stop; then everything is sealed.
    tokio::task::spawn_blocking(move || {
        for shard in ctx.shards() {
            if let Err(e) = shard.shutdown() {
                tracing::error!(stream = %shard.stream(), error = %e, "stopping the stream failed; its records stay in the WAL for the next start");
            }
        }
    })
    .await
    .map_err(|_| Error::new(ErrorKind::Io, "stopping panicked"))?;
    tracing::info!("stopped");
    Ok(())
}
