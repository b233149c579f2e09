//! `logseal serve`: the HTTPS query server for staff.
//!
//! Staff authenticate with client certificates from the configured CA; the
//! principal is the certificate's identity. Every request — allowed,
//! denied, malformed or unauthenticated — is first appended to the
//! `_access` trail ([`crate::access`]) and made durable; only then is it
//! answered. Allowed searches stream JSON lines as the scan finds them and
//! end with a `{"summary": …}` line ([`crate::protocol::Summary`]); after
//! the last row a second access record (rows, files read, digest of the
//! rows sent) is made durable before the summary goes out.
//!
//! Endpoints: `POST /v1/search`, `POST /v1/stats`, `POST /v1/audit` (JSON
//! [`ApiRequest`] bodies), `GET /healthz`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use bytes::Bytes;
use http_body_util::{BodyExt, Channel, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use logseal_core::Micros;
use logseal_core::blind::IpTagger;
use logseal_core::checkpoint::LogSigner;
use logseal_core::timefmt::format_rfc3339_utc;
use logseal_ingest::config::TlsConfig;
use logseal_ingest::tls::{self, ClientAuth};
use logseal_store::audit::list_streams;
use logseal_store::keys::pme::PmeKeys;
use logseal_store::keys::{KeyDomain, KeyProvider};
use logseal_store::object::ObjectStore;
use logseal_store::sealer::SealerOptions;
use parquet::encryption::decrypt::FileDecryptionProperties;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use zeroize::Zeroizing;

use crate::access::{ACCESS_STREAM, AccessTrail, TrailOptions};
use crate::engine::{self, SearchStats};
use crate::mask;
use crate::policy::{AccessPolicy, AccessRequest, Action, DEFAULT_POLICIES, Decision};
use crate::protocol::{ApiRequest, FULL_COLUMNS, Summary, View, masked_columns};
use crate::query::Query;
use crate::stats::Aggregator;
use crate::{Error, Result};

/// The largest request body accepted.
const MAX_BODY: usize = 64 << 10;

/// The `[serve]` section of a data directory's configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Where to listen (HTTPS).
    pub listen: SocketAddr,
    /// Server certificate and key, and the CA staff certificates come from.
    pub tls: TlsConfig,
    /// Cedar policies; absent: the built-in default (`logseal policy show default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<PathBuf>,
    /// Cedar entities: staff, their grants and roles.
    pub entities: PathBuf,
    /// Whether this server holds the `pii` key. Without it, it serves
    /// masked views (analysts) and the audit trail (auditors) and refuses
    /// requests that need personal columns.
    #[serde(default = "yes")]
    pub pii: bool,
    /// Scan threads per request (default: the machine's cores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// Requests scanning at once; more wait their turn (after their
    /// access record is written).
    #[serde(default = "default_concurrent_scans")]
    pub concurrent_scans: usize,
    /// The access trail's write-ahead log.
    #[serde(default = "default_access_wal")]
    pub access_wal_dir: PathBuf,
    /// Seal the access trail at the latest this many seconds after a
    /// request (until then it is durable in the WAL, not yet in the store).
    #[serde(default = "default_access_seal_secs")]
    pub access_seal_secs: u64,
}

fn yes() -> bool {
    true
}

fn default_access_wal() -> PathBuf {
    "access-wal".into()
}

fn default_access_seal_secs() -> u64 {
    10
}

fn default_concurrent_scans() -> usize {
    4
}

/// What the server works with besides its configuration.
pub struct ServerParts {
    /// The archive.
    pub store: Arc<dyn ObjectStore>,
    /// Master keys and the index key.
    pub keys: Arc<dyn KeyProvider>,
    /// Signs the access trail's checkpoints.
    pub signer: Arc<LogSigner>,
    /// How the access trail is sealed.
    pub sealer: SealerOptions,
    /// Relative paths in the configuration are resolved against this.
    pub base_dir: PathBuf,
    /// The clock.
    pub clock: fn() -> Micros,
}

/// A key provider that refuses the `pii` master key locally (a server
/// configured without it: no key service round trip per file, and a clear
/// message).
struct WithoutPii(Arc<dyn KeyProvider>);

impl WithoutPii {
    fn refuse(&self, master_key_id: &str) -> logseal_store::Result<()> {
        if master_key_id == self.0.master_key_id(KeyDomain::Pii) {
            return Err(logseal_store::Error::new(
                logseal_store::ErrorKind::Unauthorized,
                "this server is configured without the pii key ([serve] pii = false)",
            ));
        }
        Ok(())
    }
}

impl KeyProvider for WithoutPii {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }
    fn master_key_id(&self, domain: KeyDomain) -> String {
        self.0.master_key_id(domain)
    }
    fn wrap(&self, master_key_id: &str, key: &[u8], context: &[u8]) -> logseal_store::Result<String> {
        self.refuse(master_key_id)?;
        self.0.wrap(master_key_id, key, context)
    }
    fn unwrap(&self, master_key_id: &str, wrapped: &str, context: &[u8]) -> logseal_store::Result<Zeroizing<Vec<u8>>> {
        self.refuse(master_key_id)?;
        self.0.unwrap(master_key_id, wrapped, context)
    }
    fn index_key_id(&self) -> String {
        self.0.index_key_id()
    }
    fn index_key(&self) -> logseal_store::Result<Zeroizing<[u8; 32]>> {
        self.0.index_key()
    }
}

struct State {
    store: Arc<dyn ObjectStore>,
    decryption: Arc<FileDecryptionProperties>,
    pii: bool,
    policy: AccessPolicy,
    /// `None` on a server without the pii key that cannot read the
    /// blind-index key (it must not: the key reverses IPv4 pseudonyms).
    tagger: Option<IpTagger>,
    trail: AccessTrail,
    threads: usize,
    scans: tokio::sync::Semaphore,
    clock: fn() -> Micros,
}

/// A bound, ready server.
pub struct Server {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<State>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Server({:?})", self.listener.local_addr().ok())
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_owned() } else { base.join(p) }
}

fn read_text(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::InvalidQuery(format!("reading the {what} {}: {e}", path.display())))
}

impl Server {
    /// Loads the policy, opens the access trail and binds the listener.
    pub async fn bind(config: ServeConfig, parts: ServerParts) -> Result<Server> {
        let base = &parts.base_dir;
        let policies = match &config.policies {
            Some(p) => read_text(&resolve(base, p), "policy file")?,
            None => DEFAULT_POLICIES.to_owned(),
        };
        let entities = read_text(&resolve(base, &config.entities), "entities file")?;
        let policy = AccessPolicy::load(&policies, &entities)?;
        let tls_config = tls::server_config(
            &resolve(base, &config.tls.cert),
            &resolve(base, &config.tls.key),
            &resolve(base, &config.tls.client_ca),
            // Optional: a request without a certificate gets a 401 that
            // says what is missing, and is recorded; a certificate that is
            // presented must still chain to the CA.
            ClientAuth::Optional,
            &[b"h2", b"http/1.1"],
        )?;
        let keys: Arc<dyn KeyProvider> =
            if config.pii { Arc::clone(&parts.keys) } else { Arc::new(WithoutPii(Arc::clone(&parts.keys))) };
        // Key calls may go to KMS, whose client blocks on its own runtime:
        // not on this runtime's threads.
        let pii = config.pii;
        let key_setup = tokio::task::spawn_blocking(move || -> Result<_> {
            let tagger = match keys.index_key() {
                Ok(key) => Some(IpTagger::new(&key)),
                Err(e) if !pii => {
                    tracing::info!(error = %e, "no blind-index key: IP look-ups are refused, masked views use the stored pseudonyms");
                    None
                }
                Err(e) => return Err(e.into()),
            };
            Ok((tagger, PmeKeys::new(keys).decryption()?))
        });
        let (tagger, decryption) =
            key_setup.await.map_err(|_| Error::InvalidQuery("loading the keys panicked".into()))??;
        let trail_options = TrailOptions {
            wal_dir: resolve(base, &config.access_wal_dir),
            seal_after: Duration::from_secs(config.access_seal_secs.max(1)),
            sealer: parts.sealer.clone(),
        };
        let (store, signer, clock) = (Arc::clone(&parts.store), Arc::clone(&parts.signer), parts.clock);
        let runtime = tokio::runtime::Handle::current();
        let trail_keys = Arc::clone(&parts.keys);
        let trail = tokio::task::spawn_blocking(move || {
            AccessTrail::open(store, trail_keys, signer, trail_options, runtime, clock)
        })
        .await
        .map_err(|_| Error::InvalidQuery("opening the access trail panicked".into()))??;
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            Error::InvalidQuery(format!(
                "listening on {} for [serve]: {e} (another logseal serve running? set [serve] listen)",
                config.listen
            ))
        })?;
        let threads = config.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
        let state = State {
            store: parts.store,
            decryption,
            pii: config.pii,
            policy,
            tagger,
            trail,
            threads: threads.max(1),
            scans: tokio::sync::Semaphore::new(config.concurrent_scans.max(1)),
            clock,
        };
        Ok(Server { listener, acceptor: TlsAcceptor::from(tls_config), state: Arc::new(state) })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener.local_addr().map_err(|e| Error::InvalidQuery(format!("the listener's address: {e}")))
    }

    /// Serves until `shutdown` completes; then finishes requests in
    /// flight, seals the access trail and returns.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
        let Server { listener, acceptor, state } = self;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut connections = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a query connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            connections.spawn(connection(tcp, peer, acceptor.clone(), Arc::clone(&state), stop_rx.clone()));
            while connections.try_join_next().is_some() {}
        }
        drop(listener);
        let _ = stop_tx.send(true);
        while connections.join_next().await.is_some() {}
        tokio::task::spawn_blocking(move || state.trail.shutdown())
            .await
            .map_err(|_| Error::InvalidQuery("sealing the access trail panicked".into()))?
    }
}

async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    state: Arc<State>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::info!(%peer, error = %e, "query server: TLS handshake failed; connection closed");
            return;
        }
        Err(_) => {
            tracing::info!(%peer, "query server: no TLS handshake within 10 s; connection closed");
            return;
        }
    };
    let identity = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(tls::identity);
    let service = hyper::service::service_fn(move |req| {
        let (state, identity) = (Arc::clone(&state), identity.clone());
        async move { Ok::<_, Infallible>(handle(req, state, identity, peer).await) }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(tls), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        r = connection.as_mut() => r,
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "query connection ended with an error");
    }
}

type Body = http_body_util::Either<Full<Bytes>, Channel<Bytes, Infallible>>;

fn json_reply(status: StatusCode, value: &Value) -> Response<Body> {
    let mut r = Response::new(http_body_util::Either::Left(Full::new(Bytes::from(format!("{value}\n")))));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// One request as the trail records it.
struct Exchange {
    id: String,
    principal: Option<String>,
    peer: SocketAddr,
    path: String,
    received: Micros,
}

impl Exchange {
    fn principal(&self) -> &str {
        self.principal.as_deref().unwrap_or("(no certificate)")
    }

    /// The first access record of a request.
    fn request_event(&self, status: StatusCode, extra: Value) -> Value {
        let mut event = json!({
            "type": "request",
            "request_id": self.id,
            "time_iso8601": format_rfc3339_utc(self.received),
            "peer": self.peer.ip().to_string(),
            "request_method": "POST",
            "request_uri": self.path,
            "status": status.as_u16(),
        });
        if let Some(p) = &self.principal {
            event["principal"] = p.as_str().into();
        }
        merge(&mut event, extra);
        event
    }
}

fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

/// Records `event`, then answers `reply`; a trail that cannot be written
/// turns the answer into a 503 (no request is answered unrecorded).
async fn recorded(state: &State, ex: &Exchange, event: Value, reply: Response<Body>) -> Response<Body> {
    match state.trail.append(ex.principal(), &event).await {
        Ok(_) => reply,
        Err(e) => trail_failed(ex, &e),
    }
}

fn trail_failed(ex: &Exchange, e: &Error) -> Response<Body> {
    tracing::error!(request_id = %ex.id, error = %e, "the access trail cannot be written; request refused");
    json_reply(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({"error": format!("the access trail cannot be written ({e}); no request is served unrecorded"), "request_id": ex.id}),
    )
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
    identity: Option<String>,
    peer: SocketAddr,
) -> Response<Body> {
    let path = req.uri().path().to_owned();
    if req.method() == Method::GET && path == "/healthz" {
        return json_reply(StatusCode::OK, &json!({"status": "ok"}));
    }
    let action = match path.as_str() {
        "/v1/search" => Action::Search,
        "/v1/stats" => Action::Stats,
        "/v1/audit" => Action::ReadAudit,
        _ => {
            return json_reply(
                StatusCode::NOT_FOUND,
                &json!({"error": format!("no endpoint {path}: POST /v1/search, /v1/stats or /v1/audit")}),
            );
        }
    };
    let ex = Exchange {
        id: format!("{:016x}", rand::random::<u64>()),
        principal: identity,
        peer,
        path: path.clone(),
        received: (state.clock)(),
    };
    if req.method() != Method::POST {
        let status = StatusCode::METHOD_NOT_ALLOWED;
        let event = ex.request_event(status, json!({"decision": "invalid", "error": "method not allowed"}));
        return recorded(&state, &ex, event, json_reply(status, &json!({"error": format!("{path}: use POST")}))).await;
    }
    if ex.principal.is_none() {
        let status = StatusCode::UNAUTHORIZED;
        let message = "a client certificate is required (--client-config names one; `logseal up` writes them to <data-dir>/clients/)";
        let event = ex.request_event(status, json!({"decision": "deny", "denials": [message]}));
        return recorded(&state, &ex, event, json_reply(status, &json!({"error": message, "request_id": ex.id}))).await;
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let status = StatusCode::BAD_REQUEST;
            let message = format!("reading the request body (at most {MAX_BODY} bytes): {e}");
            let event = ex.request_event(status, json!({"decision": "invalid", "error": message}));
            return recorded(&state, &ex, event, json_reply(status, &json!({"error": message, "request_id": ex.id})))
                .await;
        }
    };
    let api: ApiRequest = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => {
            let status = StatusCode::BAD_REQUEST;
            let message = format!("the request body is not a valid request: {e}");
            let event = ex.request_event(status, json!({"decision": "invalid", "error": message}));
            return recorded(&state, &ex, event, json_reply(status, &json!({"error": message, "request_id": ex.id})))
                .await;
        }
    };
    match prepare(&state, &ex, action, &api) {
        Err(e) => {
            let status = StatusCode::BAD_REQUEST;
            let event = ex.request_event(
                status,
                json!({"decision": "invalid", "error": e.to_string(), "query": api.canonical()}),
            );
            recorded(&state, &ex, event, json_reply(status, &json!({"error": e.to_string(), "request_id": ex.id})))
                .await
        }
        Ok(Prepared::Denied(decision)) => {
            let status = StatusCode::FORBIDDEN;
            let event = ex.request_event(status, decision_fields(&decision, &api, None));
            let reply = json_reply(
                status,
                &json!({"error": format!("denied: {}", decision.denials.join("; ")), "denials": decision.denials, "request_id": ex.id}),
            );
            recorded(&state, &ex, event, reply).await
        }
        Ok(Prepared::Allowed(plan)) => {
            let authorized = Instant::now();
            let event = ex.request_event(StatusCode::OK, decision_fields(&plan.decision, &api, Some(plan.view)));
            let audit_started = Instant::now();
            if let Err(e) = state.trail.append(ex.principal(), &event).await {
                return trail_failed(&ex, &e);
            }
            let audit_first = audit_started.elapsed();
            stream(state, ex, *plan, authorized, audit_first)
        }
    }
}

fn decision_fields(decision: &Decision, api: &ApiRequest, view: Option<View>) -> Value {
    let mut fields = json!({
        "decision": if decision.allowed { "allow" } else { "deny" },
        "policies": decision.policies,
        "query": api.canonical(),
    });
    if let Some(reason) = &api.reason {
        fields["reason"] = reason.as_str().into();
    }
    if let Some(ticket) = &api.ticket {
        fields["ticket"] = ticket.as_str().into();
    }
    if let Some(role) = &decision.role {
        fields["role"] = role.as_str().into();
    }
    if let Some(grant) = &decision.grant {
        fields["grant"] = grant.as_str().into();
    }
    if !decision.denials.is_empty() {
        fields["denials"] = json!(decision.denials);
    }
    if let Some(view) = view {
        fields["view"] = json!(view);
    }
    fields
}

enum Prepared {
    Denied(Decision),
    Allowed(Box<Plan>),
}

/// What an allowed request runs.
struct Plan {
    action: Action,
    decision: Decision,
    view: View,
    query: Query,
    /// The streams to read; `None`: every log stream (not `_access`),
    /// listed on the scan thread (a store call must not run on the async
    /// runtime's threads: the S3 client blocks on its own runtime).
    streams: Option<Vec<String>>,
    /// Columns read from the store.
    read: Vec<&'static str>,
    aggregate: ChosenAggregate,
}

/// The aggregate of a stats request and its label.
type ChosenAggregate = Option<(crate::stats::Aggregate, String)>;

/// Decides the request: the widest view the policy allows (full, else
/// masked); for the audit trail, the trail's records.
fn prepare(state: &State, ex: &Exchange, action: Action, api: &ApiRequest) -> Result<Prepared> {
    let (from_us, to_us) = api.range()?;
    let decide = |view: View, returned: &[&str]| {
        let filter = api.filter_fields(view);
        state.policy.decide(&AccessRequest {
            principal: ex.principal(),
            action,
            role: api.role.as_deref(),
            reason: api.reason.as_deref(),
            ticket: api.ticket.as_deref(),
            from_us,
            to_us,
            now_us: (state.clock)(),
            filter_fields: &filter,
            return_fields: returned,
        })
    };
    if action == Action::ReadAudit {
        if api.aggregate.is_some() {
            return Err(Error::InvalidQuery("the audit trail takes no aggregate".into()));
        }
        let decision = decide(View::Full, &["access_record"]);
        if !decision.allowed {
            return Ok(Prepared::Denied(decision));
        }
        let mut query = api.to_query(View::Masked, state.tagger.as_ref())?;
        query.url_with_query = false;
        return Ok(Prepared::Allowed(Box::new(Plan {
            action,
            decision,
            view: View::Full,
            query,
            streams: Some(vec![ACCESS_STREAM.to_owned()]),
            read: vec!["raw"],
            aggregate: None,
        })));
    }
    let returned = |view: View| -> Result<(Vec<&'static str>, ChosenAggregate)> {
        if action == Action::Stats {
            let aggregate = api.aggregate(view)?;
            let columns = Aggregator::new(aggregate.0.clone()).columns();
            let known: Vec<&'static str> = FULL_COLUMNS
                .iter()
                .chain(masked_columns().iter())
                .copied()
                .chain(["time_offset_s"])
                .filter(|c| columns.iter().any(|x| x == c))
                .collect();
            return Ok((known, Some(aggregate)));
        }
        Ok((if view == View::Full { FULL_COLUMNS.to_vec() } else { masked_columns() }, None))
    };
    let (full_returned, full_aggregate) = returned(View::Full)?;
    let full = decide(View::Full, &full_returned);
    let (view, decision, aggregate, returned_columns) = if full.allowed {
        if !state.pii {
            let mut denied = full;
            denied.allowed = false;
            denied.denials = vec![format!(
                "this server is configured without the pii key ([serve] pii = false): role {} needs personal columns; ask a server that holds the pii key",
                denied.role.as_deref().unwrap_or("(none)")
            )];
            return Ok(Prepared::Denied(denied));
        }
        (View::Full, full, full_aggregate, full_returned)
    } else {
        let (masked_returned, masked_aggregate) = match returned(View::Masked) {
            Ok(x) => x,
            // The field cannot be shown masked: the full-view denial says why.
            Err(_) => return Ok(Prepared::Denied(full)),
        };
        let masked = decide(View::Masked, &masked_returned);
        if !masked.allowed {
            return Ok(Prepared::Denied(masked));
        }
        (View::Masked, masked, masked_aggregate, masked_returned)
    };
    let query = api.to_query(view, state.tagger.as_ref())?;
    let streams = None;
    let read: Vec<&'static str> = match (&aggregate, view) {
        // An aggregate reads only what it counts (stored, also for the
        // masked forms: ip_tag, user_tag, client_prefix, url_path).
        (Some(_), _) if returned_columns.is_empty() => vec!["seq"],
        (Some(_), _) => returned_columns,
        (None, View::Full) => FULL_COLUMNS.to_vec(),
        (None, View::Masked) => masked_columns(),
    };
    Ok(Prepared::Allowed(Box::new(Plan { action, decision, view, query, streams, read, aggregate })))
}

/// What the scan thread sends while it runs.
enum Chunk {
    /// Result rows (JSON lines), counted in the digest, and how many
    /// files the scan had finished when they were made.
    Rows(Bytes, u64),
    /// A `{"progress": …}` line.
    Progress(Bytes),
}

/// The most often a progress line is sent.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// What the scan thread reports back.
struct ScanOutcome {
    stats: Result<SearchStats>,
    files: Vec<String>,
    aggregate: Option<crate::stats::StatsResult>,
}

fn stream(state: Arc<State>, ex: Exchange, plan: Plan, authorized: Instant, audit_first: Duration) -> Response<Body> {
    let (mut body_tx, body) = Channel::<Bytes, Infallible>::new(8);
    let mut response = Response::new(http_body_util::Either::Right(body));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    if let Ok(id) = HeaderValue::from_str(&ex.id) {
        response.headers_mut().insert("logseal-request-id", id);
    }
    if let Ok(columns) = HeaderValue::from_str(&output_columns(&plan).join(",")) {
        response.headers_mut().insert("logseal-columns", columns);
    }
    tokio::spawn(async move {
        let (line_tx, mut line_rx) = tokio::sync::mpsc::channel::<Chunk>(8);
        let scan_state = Arc::clone(&state);
        let view = plan.view;
        let action = plan.action;
        let plan = Arc::new(plan);
        let scan_plan = Arc::clone(&plan);
        let permit = state.scans.acquire().await;
        let scan = tokio::task::spawn_blocking(move || run_scan(&scan_state, &scan_plan, &line_tx));
        let mut digest = Sha256::new();
        let mut first_row = None;
        let mut rows = 0u64;
        let mut client_gone = false;
        while let Some(chunk) = line_rx.recv().await {
            let (bytes, is_rows) = match chunk {
                Chunk::Rows(bytes, files_done) => {
                    digest.update(&bytes);
                    rows += memchr_count(&bytes);
                    (bytes, Some(files_done))
                }
                Chunk::Progress(bytes) => (bytes, None),
            };
            if body_tx.send_data(bytes).await.is_err() {
                client_gone = true;
                break;
            }
            if let Some(files_done) = is_rows {
                first_row.get_or_insert_with(|| (authorized.elapsed(), files_done));
            }
        }
        drop(line_rx);
        let outcome = scan.await;
        drop(permit);
        let outcome = match outcome {
            Ok(o) => o,
            Err(_) => ScanOutcome {
                stats: Err(Error::InvalidQuery("the scan panicked".into())),
                files: Vec::new(),
                aggregate: None,
            },
        };
        let mut summary = Summary {
            request_id: ex.id.clone(),
            rows,
            view: if action == Action::ReadAudit { "audit".into() } else { format!("{view:?}").to_lowercase() },
            ..Default::default()
        };
        if let Some(result) = outcome.aggregate {
            let bytes = serde_json::to_vec(&result).unwrap_or_default();
            digest.update(&bytes);
            summary.rows = result.rows;
            summary.stats = Some(result);
        }
        summary.digest = hex::encode(digest.finalize());
        let outcome_text = match (&outcome.stats, client_gone) {
            (Err(e), _) => {
                summary.error = Some(e.to_string());
                format!("error: {e}")
            }
            (Ok(_), true) => "client disconnected".to_owned(),
            (Ok(_), false) => "complete".to_owned(),
        };
        if let Ok(s) = &outcome.stats {
            summary.files_total = s.files_total as u64;
            summary.files_read = s.files_read as u64;
            summary.row_groups_read = s.scan.row_groups_read as u64;
            summary.bytes_fetched = s.scan.bytes_fetched;
        }
        let result_event = json!({
            "type": "result",
            "request_id": ex.id,
            "time_iso8601": format_rfc3339_utc((state.clock)()),
            "principal": ex.principal(),
            "role": plan.decision.role,
            "request_uri": ex.path,
            "status": 200,
            "outcome": outcome_text,
            "rows": summary.rows,
            "files_read": summary.files_read,
            "files": outcome.files,
            "digest": format!("sha256:{}", summary.digest),
        });
        let audit_started = Instant::now();
        let trail = state.trail.append(ex.principal(), &result_event).await;
        summary.audit_ms = (audit_first + audit_started.elapsed()).as_secs_f64() * 1e3;
        if let Err(e) = trail {
            tracing::error!(request_id = %ex.id, error = %e, "the access trail cannot record a result");
            summary.error.get_or_insert(format!("the access trail cannot record this result: {e}"));
        }
        summary.first_row_ms = first_row.map(|(d, _)| d.as_secs_f64() * 1e3);
        summary.files_done_at_first_row = first_row.map(|(_, files)| files);
        summary.server_ms = authorized.elapsed().as_secs_f64() * 1e3;
        if !client_gone {
            let line = format!("{}\n", json!({ "summary": summary }));
            let _ = body_tx.send_data(Bytes::from(line)).await;
        }
    });
    response
}

/// The columns of the rows a plan sends, in order (for table and CSV
/// output; a row leaves out its null columns).
fn output_columns(plan: &Plan) -> Vec<&'static str> {
    match (plan.action, plan.view) {
        (Action::Stats, _) => Vec::new(),
        (Action::ReadAudit, _) => AUDIT_COLUMNS.to_vec(),
        (_, View::Full) => plan.read.clone(),
        (_, View::Masked) => {
            mask::VISIBLE.iter().filter(|c| plan.read.contains(c)).chain(mask::DERIVED.iter()).copied().collect()
        }
    }
}

/// The fields of access records shown in tables.
pub const AUDIT_COLUMNS: [&str; 12] = [
    "time_iso8601",
    "type",
    "request_id",
    "principal",
    "role",
    "request_uri",
    "status",
    "decision",
    "reason",
    "ticket",
    "rows",
    "outcome",
];

fn memchr_count(chunk: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', chunk).count() as u64
}

/// Runs the plan on this (blocking) thread, sending JSON lines to `lines`.
fn run_scan(state: &State, plan: &Plan, lines: &tokio::sync::mpsc::Sender<Chunk>) -> ScanOutcome {
    let mut outcome = ScanOutcome { stats: Ok(SearchStats::default()), files: Vec::new(), aggregate: None };
    let streams = match &plan.streams {
        Some(streams) => Ok(streams.clone()),
        None => list_streams(&*state.store)
            .map(|all| all.into_iter().filter(|s| !s.starts_with('_')).collect::<Vec<_>>())
            .map_err(Error::from),
    };
    let search_plan = match streams.and_then(|streams| engine::plan(&*state.store, Some(&streams), &plan.query)) {
        Ok(p) => p,
        Err(e) => {
            outcome.stats = Err(e);
            return outcome;
        }
    };
    outcome.files = search_plan.files.iter().map(|m| m.data.key.clone()).collect();
    let mut aggregator = plan.aggregate.as_ref().map(|(a, _)| Aggregator::new(a.clone()));
    // Shared by the sink and the progress callback (both on this thread).
    let files_done = AtomicU64::new(0);
    let mut failure = None;
    let mut sink = |batch: RecordBatch| -> bool {
        let result = (|| -> Result<Option<Vec<u8>>> {
            let batch = match plan.view {
                View::Masked if plan.action != Action::ReadAudit => mask::mask(&batch, state.tagger.as_ref())
                    .map_err(|e| Error::InvalidQuery(format!("masking results: {e}")))?,
                _ => batch,
            };
            if let Some(aggregator) = aggregator.as_mut() {
                aggregator.add(&batch)?;
                return Ok(None);
            }
            let mut out = Vec::with_capacity(batch.num_rows() * 256);
            if plan.action == Action::ReadAudit {
                let raw = batch.column_by_name("raw").map(|c| c.as_binary::<i32>());
                if let Some(raw) = raw {
                    for line in raw.iter().flatten() {
                        out.extend_from_slice(line);
                        out.push(b'\n');
                    }
                }
            } else {
                crate::rows::write_ndjson(&batch, &mut out)?;
            }
            Ok(Some(out))
        })();
        match result {
            Ok(Some(out)) => {
                lines.blocking_send(Chunk::Rows(Bytes::from(out), files_done.load(Ordering::Relaxed))).is_ok()
            }
            Ok(None) => true,
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    };
    let mut last_progress = Instant::now();
    let mut progress = |stats: &SearchStats| {
        files_done.store(stats.files_done as u64, Ordering::Relaxed);
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            let line = json!({"progress": {
                "files_done": stats.files_done,
                "files_read": stats.files_read,
                "bytes_fetched": stats.scan.bytes_fetched,
            }});
            let _ = lines.try_send(Chunk::Progress(Bytes::from(format!("{line}\n"))));
        }
    };
    outcome.stats = engine::search_with_progress(
        &*state.store,
        Arc::clone(&state.decryption),
        &search_plan,
        &plan.query,
        &plan.read,
        state.threads,
        &mut sink,
        &mut progress,
    );
    if let Some(e) = failure {
        outcome.stats = Err(e);
    }
    outcome.aggregate = aggregator.map(Aggregator::finish);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_events_have_no_pseudonymised_column() {
        let ex = Exchange {
            id: "r1".into(),
            principal: Some("alice.example".into()),
            peer: "192.0.2.1:5000".parse().unwrap(),
            path: "/v1/search".into(),
            received: 1_795_860_000_000_000,
        };
        let api = ApiRequest { user: Some("bob".into()), ip: Some("203.0.113.7".into()), ..Default::default() };
        let decision = Decision {
            allowed: true,
            role: Some("investigator".into()),
            grant: Some("g".into()),
            policies: vec!["permit-search".into()],
            denials: vec![],
        };
        let event = ex.request_event(StatusCode::OK, decision_fields(&decision, &api, Some(View::Full)));
        let record = crate::access::access_record(ex.principal(), &event, 1);
        assert_eq!(record.parse_error, None);
        assert_eq!((record.client_ip, record.user_id.as_deref()), (None, None), "{event}");
        assert_eq!(record.source, "alice.example");
        assert_eq!(record.status, Some(200));
        assert_eq!(record.request_id.as_deref(), Some("r1"));
    }
}
