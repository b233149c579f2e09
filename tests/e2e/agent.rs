//! The agent as a real process, with real clients: curl over HTTPS with
//! client certificates.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use logseal_store::object::ObjectStore;
use logseal_store::object::local::LocalStore;

use crate::common::Env;

/// A running `logseal agent`, stopped (and killed if need be) on drop.
pub struct Agent {
    pub child: Child,
    pub https: Option<String>,
    pub syslog: Option<String>,
    pub relp: Option<String>,
    pub ops: Option<String>,
    pub tls: PathBuf,
}

impl Agent {
    /// Writes a development PKI and an `[agent]` section with `extra` TOML
    /// lines into `env`'s data directory, then starts the agent.
    pub fn start(env: &Env, http_extra: &str) -> Agent {
        Agent::start_with(env, http_extra, &[])
    }

    /// As [`Agent::start`], with `vars` in the agent's environment (for
    /// example the credentials of an S3 store).
    pub fn start_with(env: &Env, http_extra: &str, vars: &[(String, String)]) -> Agent {
        let tls = env.data.join("tls");
        if !tls.join("ca.pem").exists() {
            logseal_ingest::tls::DevPki::create(&tls).unwrap();
        }
        let config = env.data.join("logseal.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        if !text.contains("[agent]") {
            text.push_str(&format!(
                concat!(
                    "\n[agent]\nid = \"t\"\nshards = 2\n",
                    "[agent.seal]\nmax_records = 500\nmax_age_secs = 2\n",
                    "[agent.tls]\ncert = \"tls/server.pem\"\nkey = \"tls/server-key.pem\"\nclient_ca = \"tls/ca.pem\"\n",
                    "[agent.http]\nlisten = \"127.0.0.1:0\"\n{}\n",
                    "[agent.syslog]\nlisten = \"127.0.0.1:0\"\nmax_frame_bytes = 100000\nidle_timeout_secs = 5\n",
                    "[agent.relp]\nlisten = \"127.0.0.1:0\"\n",
                    "[agent.ops]\nlisten = \"127.0.0.1:0\"\n"
                ),
                http_extra
            ));
            std::fs::write(&config, text).unwrap();
        }
        Agent::spawn_with(&env.data, tls, vars)
    }

    /// Starts `logseal agent` on an already configured data directory.
    pub fn spawn(data: &Path, tls: PathBuf) -> Agent {
        Agent::spawn_with(data, tls, &[])
    }

    /// As [`Agent::spawn`], with `vars` in the agent's environment.
    pub fn spawn_with(data: &Path, tls: PathBuf, vars: &[(String, String)]) -> Agent {
        let (child, line) = crate::common::spawn_listening(
            crate::common::logseal()
                .args(["agent", "--data-dir", data.to_str().unwrap()])
                .envs(vars.iter().map(|(k, v)| (k, v)))
                .env_remove("LOGSEAL_FAKE_NOW")
                .env("RUST_LOG", "info"),
            "agent",
        );
        assert!(line.starts_with("listening "), "{line}");
        let field =
            |name: &str| line.split_whitespace().find_map(|p| p.strip_prefix(&format!("{name}="))).map(str::to_owned);
        Agent { https: field("https"), syslog: field("syslog"), relp: field("relp"), ops: field("ops"), child, tls }
    }

    /// The HTTPS URL of `/v1/logs` (by name, to match the certificate).
    pub fn logs_url(&self) -> String {
        let port = self.https.as_ref().unwrap().rsplit(':').next().unwrap().to_owned();
        format!("https://localhost:{port}/v1/logs")
    }

    /// curl with the CA, and with `cert`/`key` as client identity if given.
    pub fn curl(&self, client: Option<(&Path, &Path)>, args: &[&str]) -> (u16, String) {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "30", "-o", "-", "-w", "\n%{http_code}", "--cacert"])
            .arg(self.tls.join("ca.pem"));
        if let Some((cert, key)) = client {
            cmd.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        let out = cmd.args(args).output().expect("run curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_owned())
    }

    /// The development client certificate.
    pub fn client(&self) -> (PathBuf, PathBuf) {
        (self.tls.join("client.pem"), self.tls.join("client-key.pem"))
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "agent exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "the agent did not stop within 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A child process killed when dropped (a failed test leaves no server running).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

const LINE: &str = r#"192.0.2.7 - - [28/Nov/2026:10:00:00 +0000] "GET /hello HTTP/1.1" 200 5 "-" "curl/8""#;

#[test]
fn curl_posts_lines_and_ndjson_and_gets_receipts() {
    let env = Env::new();
    let agent = Agent::start(&env, "");
    let (cert, key) = agent.client();
    let client = Some((cert.as_path(), key.as_path()));
    let (code, body) =
        agent.curl(client, &["-H", "Content-Type: text/plain", "--data-binary", LINE, &agent.logs_url()]);
    assert_eq!(code, 200, "{body}");
    let receipt: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(receipt["accepted"], 1);
    assert_eq!(receipt["first_seq"], receipt["last_seq"]);
    let ndjson = concat!(
        r#"{"remote_addr":"2001:db8::1","request":"GET /a?b HTTP/2.0","status":"200","http_user_agent":"x"}"#,
        "\n",
        "not json but kept\n",
        r#"{"remote_addr":"198.51.100.1","request":"POST /api HTTP/1.1","status":201}"#,
        "\n"
    );
    let (code, body) = agent.curl(
        client,
        &["--http2", "-H", "Content-Type: application/x-ndjson", "--data-binary", ndjson, &agent.logs_url()],
    );
    assert_eq!(code, 200, "{body}");
    let receipt: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(receipt["accepted"], 3);
    // gzip-compressed body.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, format!("{LINE}\n{LINE}\n").as_bytes()).unwrap();
    let path = env.tmp.path().join("body.gz");
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let data = format!("@{}", path.display());
    let (code, body) = agent.curl(
        client,
        &["-H", "Content-Type: text/plain", "-H", "Content-Encoding: gzip", "--data-binary", &data, &agent.logs_url()],
    );
    assert_eq!(
        (code, serde_json::from_str::<serde_json::Value>(&body).unwrap()["accepted"].as_u64()),
        (200, Some(2)),
        "{body}"
    );
    agent.stop();
    let report = verify_now(&env);
    let records: u64 =
        report["streams"].as_array().unwrap().iter().map(|s| s["stats"]["records"].as_u64().unwrap()).sum();
    assert_eq!(records, 6);
}

/// `verify --deep` at the real time (the agent seals with the real clock);
/// asserts it is intact.
pub fn verify_now(env: &Env) -> serde_json::Value {
    verify_now_with(env, &[], &[])
}

/// As [`verify_now`], with `extra` arguments (such as `--store URL`) and
/// `vars` in the verifier's environment.
pub fn verify_now_with(env: &Env, extra: &[&str], vars: &[(String, String)]) -> serde_json::Value {
    let out = crate::common::logseal()
        .args(["verify", "--data-dir", env.dir(), "--deep", "--json"])
        .args(extra)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("verify printed no JSON: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    report
}

#[test]
fn clients_without_a_valid_identity_are_refused() {
    let env = Env::new();
    let agent = Agent::start(&env, "allow = [\"client-1.logseal.local\"]");
    let url = agent.logs_url();
    let post = ["-H", "Content-Type: text/plain", "--data-binary", LINE];
    // No client certificate: the TLS handshake is refused.
    let (code, _) = agent.curl(None, &[&post[..], &[url.as_str()]].concat());
    assert_eq!(code, 0, "no certificate must not get an HTTP answer");
    // A certificate from another CA.
    let other = env.tmp.path().join("other");
    logseal_ingest::tls::DevPki::create(&other).unwrap();
    let pki = logseal_ingest::tls::DevPki::at(&other);
    let (code, _) = agent.curl(Some((&pki.client_cert, &pki.client_key)), &[&post[..], &[url.as_str()]].concat());
    assert_eq!(code, 0, "a certificate from another CA must be refused in the handshake");
    // A certificate from the right CA whose identity is not on the allowlist.
    let (cert, key) = logseal_ingest::tls::DevPki::at(&agent.tls).issue_client("intruder.example").unwrap();
    let (cert_path, key_path) = (env.tmp.path().join("i.pem"), env.tmp.path().join("i-key.pem"));
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let (code, body) = agent.curl(Some((&cert_path, &key_path)), &[&post[..], &[url.as_str()]].concat());
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("intruder.example"), "{body}");
    // The allowed client still works.
    let (cert, key) = agent.client();
    let (code, _) = agent.curl(Some((&cert, &key)), &[&post[..], &[url.as_str()]].concat());
    assert_eq!(code, 200);
    agent.stop();
}

#[test]
fn bad_requests_get_clear_answers_and_nothing_is_sealed_from_them() {
    let env = Env::new();
    let agent = Agent::start(&env, "max_body_bytes = 1000");
    let (cert, key) = agent.client();
    let client = Some((cert.as_path(), key.as_path()));
    let url = agent.logs_url();
    let big = "x".repeat(2000);
    let cases: Vec<(Vec<&str>, u16, &str)> = vec![
        (vec!["-H", "Content-Type: text/plain", "--data-binary", &big], 413, "larger than 1000"),
        (vec!["-H", "Content-Type: application/x-ndjson", "--data-binary", "hello\nworld"], 400, "line 1 is not JSON"),
        (vec!["-H", "Content-Type: image/png", "--data-binary", "x"], 415, "x-ndjson"),
        (
            vec!["-H", "Content-Type: text/plain", "-H", "Content-Encoding: br", "--data-binary", "x"],
            415,
            "gzip or zstd",
        ),
        (
            vec!["-H", "Content-Type: text/plain", "-H", "Content-Encoding: gzip", "--data-binary", "not gzip"],
            400,
            "gzip",
        ),
        (vec!["-X", "GET"], 405, "POST /v1/logs"),
    ];
    for (args, status, needle) in cases {
        let (code, body) = agent.curl(client, &[&args[..], &[url.as_str()]].concat());
        assert_eq!(code, status, "{args:?}: {body}");
        assert!(body.contains(needle), "{args:?}: {body}");
    }
    let (code, body) = agent.curl(client, &["--data-binary", "x", &url.replace("/v1/logs", "/other")]);
    assert_eq!(code, 404, "{body}");
    agent.stop();
    assert!(env.objects("t-0", "data").is_empty() && env.objects("t-1", "data").is_empty());
}

/// The data directory's local store (`store/`), if it exists yet.
fn local_store(env: &Env) -> Option<LocalStore> {
    LocalStore::open(env.store()).ok()
}

/// Every sealed record in `store`, by stream, in order: decrypted with
/// `env`'s keys, `raw` restored. Only data files that a manifest
/// references are read (leftovers of interrupted attempts — orphans — are
/// not records).
pub fn records_in(env: &Env, store: &dyn ObjectStore) -> std::collections::BTreeMap<String, Vec<logseal_core::Record>> {
    use logseal_core::manifest::Manifest;
    use logseal_store::keys::local::LocalKeys;
    use logseal_store::keys::pme::PmeKeys;
    use logseal_store::sealed::read::SealedFileReader;
    let pme = PmeKeys::new(std::sync::Arc::new(LocalKeys::open(env.data.join("keys"))));
    let mut out = std::collections::BTreeMap::new();
    let objects = store.list(logseal_core::layout::FORMAT_PREFIX, None).unwrap();
    for object in &objects {
        let Some(stream) = logseal_core::layout::stream_of(&object.key) else { continue };
        let records: &mut Vec<logseal_core::Record> = out.entry(stream.to_owned()).or_default();
        // Keys sort in sequence order: manifests come file by file.
        if !matches!(logseal_core::layout::classify(stream, &object.key), logseal_core::layout::KeyKind::Manifest(_)) {
            continue;
        }
        let manifest = Manifest::from_canonical_json(&store.get(&object.key).unwrap()).unwrap();
        let copy = store.local_copy(&manifest.data.key).unwrap();
        let mut reader = SealedFileReader::open(&copy.path, pme.decryption().unwrap()).unwrap();
        while let Some(batch) = reader.next_rows() {
            for mut row in batch.unwrap() {
                assert!(logseal_core::render::restore_raw(&mut row.record, row.raw_stored));
                records.push(row.record);
            }
        }
    }
    out
}

/// Each stream's records in `store` as (seq, raw line).
pub fn lines_in(env: &Env, store: &dyn ObjectStore) -> std::collections::BTreeMap<String, Vec<(u64, Vec<u8>)>> {
    records_in(env, store)
        .into_iter()
        .map(|(stream, records)| (stream, records.into_iter().map(|r| (r.seq, r.raw)).collect()))
        .collect()
}

/// Every record of every stream of the data directory's local store,
/// decrypted, `raw` restored.
pub fn stored_records(env: &Env) -> Vec<logseal_core::Record> {
    local_store(env).map(|store| records_in(env, &store).into_values().flatten().collect()).unwrap_or_default()
}

/// Reads every record of every stream of the data directory's local store
/// (decrypted, `raw` restored), by stream.
pub fn stored_lines(env: &Env) -> std::collections::BTreeMap<String, Vec<(u64, Vec<u8>)>> {
    local_store(env).map(|store| lines_in(env, &store)).unwrap_or_default()
}

#[test]
fn metrics_and_health_endpoints() {
    let env = Env::new();
    let agent = Agent::start(&env, "");
    let (cert, key) = agent.client();
    let (code, _) =
        agent.curl(Some((&cert, &key)), &["-H", "Content-Type: text/plain", "--data-binary", LINE, &agent.logs_url()]);
    assert_eq!(code, 200);
    let ops = agent.ops.clone().unwrap();
    let get = |path: &str| {
        let out = Command::new("curl")
            .args(["-sS", "-w", "\n%{http_code}", &format!("http://{ops}{path}")])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(get("/healthz").ends_with("200"));
    assert!(get("/readyz").ends_with("200"));
    let metrics = get("/metrics");
    for needle in [
        "logseal_records_in_total{source=\"client-1.logseal.local\"} 1",
        "logseal_bytes_in_total{source=\"client-1.logseal.local\"}",
        "logseal_wal_bytes{stream=\"t-0\"}",
        "logseal_ack_seconds",
        "logseal_backpressure_seconds{stream=\"t-1\"} 0",
        "logseal_store_failures{stream=\"t-0\"} 0",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from:\n{metrics}");
    }
    agent.stop();
}

/// One acknowledged request of a [`Load`]: its receipt and its lines.
#[derive(Debug, Clone)]
pub struct AckedBatch {
    pub stream: String,
    pub first_seq: u64,
    pub last_seq: u64,
    pub lines: Vec<String>,
}

/// What the clients of a [`Load`] were answered, in requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answers {
    /// 200 with a receipt.
    pub acked: u64,
    /// 503 with `Retry-After`.
    pub busy: u64,
    /// No HTTP answer: connection refused or reset, or curl's time limit.
    pub none: u64,
}

#[derive(Default)]
struct LoadState {
    acked: Mutex<Vec<AckedBatch>>,
    busy: AtomicU64,
    none: AtomicU64,
}

/// HTTP load on an agent: `clients` curl loops, each posting batches of
/// fresh lines until the load is finished. No batch is sent twice — a
/// request left without an answer may still have been taken — so no line
/// may ever be stored twice. Any answer other than 200 with a receipt or
/// 503 with `Retry-After` fails the test.
pub struct Load {
    url: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    state: Arc<LoadState>,
    clients: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    /// Starts `clients` clients posting `lines` lines a request, each
    /// request given `max_time_secs` (curl `--max-time`).
    pub fn start(agent: &Agent, clients: usize, lines: usize, max_time_secs: u64) -> Load {
        let url = Arc::new(Mutex::new(agent.logs_url()));
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(LoadState::default());
        let next_batch = Arc::new(AtomicU64::new(0));
        let (cert, key) = agent.client();
        let ca = agent.tls.join("ca.pem");
        let clients = (0..clients)
            .map(|_| {
                let (url, stop, state, next_batch) = (url.clone(), stop.clone(), state.clone(), next_batch.clone());
                let (cert, key, ca) = (cert.clone(), key.clone(), ca.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let batch = next_batch.fetch_add(1, Ordering::Relaxed);
                        let lines: Vec<String> = (0..lines)
                            .map(|i| format!("192.0.2.{} - - [28/Nov/2026:10:00:00 +0000] \"GET /b{batch}/l{i} HTTP/1.1\" 200 {i} \"-\" \"load\"", i % 250))
                            .collect();
                        let target = url.lock().unwrap().clone();
                        let out = Command::new("curl")
                            .args(["-sS", "--max-time", &max_time_secs.to_string(), "-H", "Content-Type: text/plain"])
                            .args(["--data-binary", &lines.join("\n"), "--cacert"])
                            .arg(&ca)
                            .arg("--cert")
                            .arg(&cert)
                            .arg("--key")
                            .arg(&key)
                            .args(["-w", "\n%{http_code} %header{retry-after}", &target])
                            .output()
                            .unwrap();
                        let text = String::from_utf8_lossy(&out.stdout).into_owned();
                        let (body, status) = text.rsplit_once('\n').unwrap_or(("", "000 "));
                        match status.split_once(' ').unwrap_or((status, "")) {
                            ("200", _) => {
                                let r: serde_json::Value = serde_json::from_str(body).unwrap();
                                let (first_seq, last_seq) = (r["first_seq"].as_u64().unwrap(), r["last_seq"].as_u64().unwrap());
                                let stream = r["stream"].as_str().unwrap().to_owned();
                                state.acked.lock().unwrap().push(AckedBatch { stream, first_seq, last_seq, lines });
                            }
                            ("503", retry_after) => {
                                assert_eq!(retry_after, "1", "a 503 says when to retry: {body}");
                                state.busy.fetch_add(1, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_millis(200));
                            }
                            ("000", _) => {
                                state.none.fetch_add(1, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_millis(100));
                            }
                            (other, _) => panic!("unexpected answer {other}: {body}"),
                        }
                    }
                })
            })
            .collect();
        Load { url, stop, state, clients }
    }

    /// Sends to `agent` from now on (a restarted agent listens elsewhere).
    pub fn retarget(&self, agent: &Agent) {
        *self.url.lock().unwrap() = agent.logs_url();
    }

    /// Requests acknowledged so far.
    pub fn acked(&self) -> usize {
        self.state.acked.lock().unwrap().len()
    }

    /// The answers so far.
    pub fn answers(&self) -> Answers {
        Answers {
            acked: self.acked() as u64,
            busy: self.state.busy.load(Ordering::Relaxed),
            none: self.state.none.load(Ordering::Relaxed),
        }
    }

    /// Waits until more than `n` requests are acknowledged.
    pub fn wait_for_acks(&self, n: usize, timeout: Duration) {
        self.wait_until(|a| a.acked > n as u64, "acknowledged", timeout);
    }

    /// Waits until more than `n` requests are answered 503.
    pub fn wait_for_busy(&self, n: u64, timeout: Duration) {
        self.wait_until(|a| a.busy > n, "answered 503", timeout);
    }

    fn wait_until(&self, done: impl Fn(&Answers) -> bool, what: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !done(&self.answers()) {
            // A client stops early only on an unexpected answer (its panic is above).
            assert!(!self.clients.iter().any(|c| c.is_finished()), "a client failed");
            assert!(Instant::now() < deadline, "no more requests {what} within {timeout:?} ({:?})", self.answers());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the clients (each after its current request); returns the
    /// acknowledged requests and all answers.
    pub fn finish(mut self) -> (Vec<AckedBatch>, Answers) {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients.drain(..) {
            if let Err(panic) = client.join() {
                std::panic::resume_unwind(panic);
            }
        }
        let answers = self.answers();
        let acked = self.state.acked.lock().unwrap().clone();
        (acked, answers)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients.drain(..) {
            let _ = client.join();
        }
    }
}

/// Asserts that each stream's stored sequence numbers are 0..n with no
/// gap or repeat, that no line is stored twice, and that every
/// acknowledged batch is stored exactly at its receipt's sequence numbers,
/// in order.
pub fn assert_sealed_exactly_once(
    stored: &std::collections::BTreeMap<String, Vec<(u64, Vec<u8>)>>,
    acked: &[AckedBatch],
) {
    let mut seen = std::collections::HashSet::new();
    for (stream, rows) in stored {
        for (i, (seq, raw)) in rows.iter().enumerate() {
            assert_eq!(*seq, i as u64, "stream {stream}: seqs are contiguous");
            assert!(seen.insert(raw.clone()), "a line is stored twice: {}", String::from_utf8_lossy(raw));
        }
    }
    for batch in acked {
        let rows = stored.get(&batch.stream).map_or(&[][..], Vec::as_slice);
        assert_eq!(batch.last_seq - batch.first_seq + 1, batch.lines.len() as u64);
        for (offset, line) in batch.lines.iter().enumerate() {
            let seq = batch.first_seq + offset as u64;
            let row = rows.get(seq as usize).map(|(s, raw)| (*s, raw.as_slice()));
            assert_eq!(row, Some((seq, line.as_bytes())), "stream {}: acknowledged seq {seq}", batch.stream);
        }
    }
}

/// The crash test, on any store: under HTTP load (3 clients), the agent
/// is killed with SIGKILL `rounds` times, each time at a random moment
/// after it has acknowledged something, and started again by `respawn`;
/// then it is stopped cleanly. Returns what was acknowledged.
pub fn killed_under_load(rounds: u32, first: Agent, respawn: impl Fn() -> Agent) -> Vec<AckedBatch> {
    let mut agent = first;
    let load = Load::start(&agent, 3, 50, 10);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for kill in 0..rounds {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let before = load.acked();
        load.wait_for_acks(before, Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(150 + rng % 600));
        agent.kill();
        eprintln!("kill {kill}: {:?} so far", load.answers());
        agent = respawn();
        load.retarget(&agent);
    }
    load.wait_for_acks(load.acked(), Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(500));
    let (acked, answers) = load.finish();
    eprintln!("load: {answers:?}");
    agent.stop();
    acked
}

/// Under load, the agent is killed with SIGKILL at random moments, 20
/// times; every acknowledged record ends up in the store exactly once, in
/// order, and the store verifies clean.
#[test]
fn killed_twenty_times_under_load_loses_no_acknowledged_record() {
    let env = Env::new();
    let acked = killed_under_load(20, Agent::start(&env, ""), || Agent::spawn(&env.data, env.data.join("tls")));
    assert!(acked.len() > 40, "the load produced {} acknowledged batches", acked.len());
    verify_now(&env);
    assert_sealed_exactly_once(&stored_lines(&env), &acked);
}

/// `logseal up` on a fresh directory: prints a `curl` line that, pasted
/// into a shell, sends a line and gets a receipt; Ctrl-C (SIGINT) seals it.
#[test]
fn up_prints_a_curl_command_that_works() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("logseal-data");
    let mut child = crate::common::logseal()
        .args(["up", "--any-port", "--data-dir", data.to_str().unwrap()])
        .env_remove("LOGSEAL_FAKE_NOW")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Killed (by PID) if an assertion fails before the orderly stop.
    let mut child = KillOnDrop(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    let curl = loop {
        let line = lines.next().expect("up printed a curl line").unwrap();
        printed.push(line.clone());
        if line.starts_with("curl ") {
            break line;
        }
    };
    let rsyslog_seen = loop {
        let line = lines.next().expect("more output").unwrap();
        printed.push(line.clone());
        if line.starts_with("ruleset(") {
            break line.contains("omfwd") && line.contains("octet-counted");
        }
    };
    assert!(rsyslog_seen, "{printed:#?}");
    let search = loop {
        let line = lines.next().expect("up printed a search line").unwrap();
        printed.push(line.clone());
        if line.starts_with("logseal search ") {
            break line;
        }
    };
    let out = Command::new("sh").arg("-c").arg(&curl).output().unwrap();
    let receipt: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{curl}\n{out:?}"));
    assert_eq!(receipt["accepted"], 1, "{receipt}");
    // The printed search finds the line once it is sealed (up seals every 10 s).
    let search =
        format!("{} -o ndjson", search.replacen("logseal", &format!("'{}'", env!("CARGO_BIN_EXE_logseal")), 1));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let found = loop {
        let out = Command::new("sh").arg("-c").arg(&search).env_remove("LOGSEAL_FAKE_NOW").output().unwrap();
        assert!(out.status.success(), "{search}\n{out:?}");
        let rows = String::from_utf8_lossy(&out.stdout).into_owned();
        if !rows.is_empty() || std::time::Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let row: serde_json::Value = serde_json::from_str(found.trim()).unwrap_or_else(|_| panic!("{search}\n{found}"));
    assert_eq!((row["url_path"].as_str(), row["client_ip"].as_str()), (Some("/hello"), Some("127.0.0.1")), "{row}");
    let _ = Command::new("kill").arg("-INT").arg(child.0.id().to_string()).status();
    assert!(child.0.wait().unwrap().success());
    let out =
        crate::common::logseal().args(["verify", "--deep", "--data-dir", data.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("1 records decrypted"), "{text}");
    assert!(text.contains("stream _access"), "the search was recorded and sealed: {text}");
}

/// The store fails for a while under load: the agent answers 503 with
/// `Retry-After` (backpressure), retries storing, and once the store is
/// back every acknowledged record is sealed exactly once.
#[test]
fn a_store_outage_under_load_loses_nothing() {
    let env = Env::new();
    let agent = Agent::start(&env, "");
    let (cert, key) = agent.client();
    let url = agent.logs_url();
    let ca = agent.tls.join("ca.pem");
    let stop = Arc::new(AtomicBool::new(false));
    let busy = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let loader = {
        let (stop, busy, acked) = (stop.clone(), busy.clone(), acked.clone());
        std::thread::spawn(move || {
            let mut batch = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let lines: Vec<String> = (0..100)
                    .map(|i| format!("198.51.100.{} - - [28/Nov/2026:10:00:00 +0000] \"GET /o{batch}/{i} HTTP/1.1\" 200 {i} \"-\" \"t\"", i % 250))
                    .collect();
                let body = lines.join("\n");
                // Send the same batch until it is acknowledged.
                loop {
                    let out = Command::new("curl")
                        .args([
                            "-sS",
                            "-i",
                            "--max-time",
                            "10",
                            "-H",
                            "Content-Type: text/plain",
                            "--data-binary",
                            &body,
                            "--cacert",
                        ])
                        .arg(&ca)
                        .arg("--cert")
                        .arg(&cert)
                        .arg("--key")
                        .arg(&key)
                        .arg(&url)
                        .output()
                        .unwrap();
                    let text = String::from_utf8_lossy(&out.stdout).to_string();
                    if text.starts_with("HTTP/2 200") || text.starts_with("HTTP/1.1 200") {
                        acked.lock().unwrap().extend(lines);
                        break;
                    }
                    if text.contains(" 503") {
                        assert!(text.to_lowercase().contains("retry-after: 1"), "{text}");
                        busy.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(200));
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                }
                batch += 1;
            }
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    // The outage: the store's directory is replaced by a file.
    let store = env.store();
    let away = env.tmp.path().join("store.away");
    std::fs::rename(&store, &away).unwrap();
    std::fs::write(&store, b"not a directory").unwrap();
    std::thread::sleep(Duration::from_secs(6));
    let during = acked.lock().unwrap().len();
    std::fs::remove_file(&store).unwrap();
    std::fs::rename(&away, &store).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    loader.join().unwrap();
    agent.stop();

    assert!(busy.load(Ordering::Relaxed) > 0, "the agent answered 503 during the outage");
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > during, "input resumed after the outage ({during} -> {})", acked.len());
    verify_now(&env);
    let stored: Vec<Vec<u8>> = stored_lines(&env).into_values().flatten().map(|(_, raw)| raw).collect();
    let unique: std::collections::HashSet<&Vec<u8>> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "nothing is stored twice");
    for line in &acked {
        assert!(unique.contains(&line.as_bytes().to_vec()), "acknowledged line lost: {line}");
    }
}

#[test]
fn check_config_names_problems() {
    let env = Env::new();
    let agent = Agent::start(&env, "");
    agent.stop();
    let config = env.data.join("logseal.toml");
    let run = |path: &Path| crate::common::logseal().args(["agent", "--check-config"]).arg(path).output().unwrap();
    let out = run(&config);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A misspelt key.
    let text = std::fs::read_to_string(&config).unwrap();
    let bad = env.data.join("bad.toml");
    std::fs::write(&bad, text.replace("max_age_secs", "max_age_sec")).unwrap();
    let out = run(&bad);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("max_age_sec") && err.contains("bad.toml"), "{err}");
    // A certificate that does not exist (relative paths resolve against the config's directory).
    std::fs::write(&bad, text.replace("tls/server.pem", "tls/missing.pem")).unwrap();
    let out = run(&bad);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing.pem"), "{err}");
    // A key that belongs to another certificate.
    let other = env.tmp.path().join("other-pki");
    logseal_ingest::tls::DevPki::create(&other).unwrap();
    std::fs::write(&bad, text.replace("tls/server-key.pem", other.join("server-key.pem").to_str().unwrap())).unwrap();
    let out = run(&bad);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("do not work together"), "{err}");
}

/// A tmpfs mounted for a test, unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(path: PathBuf, size: &str) -> SmallDisk {
        std::fs::create_dir_all(&path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs (needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk(path)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The WAL's disk fills up: the write is held and retried, new requests
/// get 503 (backpressure, not a crash; the log names the full disk),
/// nothing acknowledged is lost, and input is taken again once sealing
/// frees the WAL.
#[test]
fn a_full_wal_disk_is_backpressure_not_a_crash() {
    let env = Env::new();
    let disk = SmallDisk::mount(env.tmp.path().join("walfs"), "1m");
    let config = env.data.join("logseal.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        concat!(
            "\n[agent]\nid = \"t\"\nshards = 1\nwal_dir = \"{}\"\nwal_budget_bytes = 100000000\n",
            "[agent.seal]\nmax_records = 1000000\nmax_age_secs = 4\n",
            "[agent.tls]\ncert = \"tls/server.pem\"\nkey = \"tls/server-key.pem\"\nclient_ca = \"tls/ca.pem\"\n",
            "[agent.http]\nlisten = \"127.0.0.1:0\"\n"
        ),
        disk.0.display()
    ));
    std::fs::write(&config, text).unwrap();
    logseal_ingest::tls::DevPki::create(&env.data.join("tls")).unwrap();
    let agent = Agent::spawn(&env.data, env.data.join("tls"));
    let (cert, key) = agent.client();
    let (url, ca) = (agent.logs_url(), agent.tls.join("ca.pem"));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let refusals = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let loaders: Vec<_> = (0..3)
        .map(|thread| {
            let (acked, refusals, stop) = (acked.clone(), refusals.clone(), stop.clone());
            let (url, ca, cert, key) = (url.clone(), ca.clone(), cert.clone(), key.clone());
            std::thread::spawn(move || {
                let mut batch = 0;
                while !stop.load(Ordering::Relaxed) {
                    let lines: Vec<String> = (0..200)
                        .map(|i| format!("198.51.100.{} - - [28/Nov/2026:10:00:00 +0000] \"GET /d{thread}/{batch}/{i}/{} HTTP/1.1\" 200 {i} \"-\" \"t\"", i % 250, "x".repeat(100)))
                        .collect();
                    batch += 1;
                    let out = Command::new("curl")
                        .args(["-sS", "--max-time", "20", "-w", "\n%{http_code}", "-H", "Content-Type: text/plain", "--data-binary", &lines.join("\n"), "--cacert"])
                        .arg(&ca)
                        .arg("--cert")
                        .arg(&cert)
                        .arg("--key")
                        .arg(&key)
                        .arg(&url)
                        .output()
                        .unwrap();
                    let text = String::from_utf8_lossy(&out.stdout).to_string();
                    match text.rsplit_once('\n') {
                        Some((_, "200")) => acked.lock().unwrap().extend(lines),
                        Some((body, "503")) => {
                            refusals.lock().unwrap().push(body.to_owned());
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        other => panic!("unexpected answer {other:?}"),
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(10));
    stop.store(true, Ordering::Relaxed);
    for l in loaders {
        l.join().unwrap();
    }
    let refusals = refusals.lock().unwrap().clone();
    assert!(
        !refusals.is_empty() && refusals.iter().all(|r| r.contains("backpressure")),
        "refusals say why: {refusals:?}"
    );
    let acked = acked.lock().unwrap().clone();
    agent.stop();
    verify_now(&env);
    let stored: std::collections::HashSet<Vec<u8>> =
        stored_lines(&env).into_values().flatten().map(|(_, raw)| raw).collect();
    for line in &acked {
        assert!(stored.contains(line.as_bytes()), "acknowledged line lost");
    }
    // The 1 MB disk holds about 1800 of these lines: more were acknowledged,
    // so input resumed once sealing freed the WAL.
    assert!(acked.len() > 2400, "input resumed once the WAL was sealed and freed ({} lines acknowledged)", acked.len());
}

/// Clients that cannot present a certificate use a bearer token; the
/// record's source is the token's name.
#[test]
fn bearer_tokens_for_clients_without_certificates() {
    let env = Env::new();
    let digest = logseal_core::Hash::of(b"s3cret-token").to_hex();
    let agent = Agent::start(&env, &format!("tokens = [{{ name = \"vector-1\", sha256 = \"{digest}\" }}]"));
    let url = agent.logs_url();
    let post = |extra: &[&str]| {
        let args: Vec<&str> =
            [extra, &["-H", "Content-Type: text/plain", "--data-binary", LINE, url.as_str()]].concat();
        agent.curl(None, &args)
    };
    assert_eq!(post(&["-H", "Authorization: Bearer s3cret-token"]).0, 200);
    let (code, body) = post(&["-H", "Authorization: Bearer wrong"]);
    assert_eq!(code, 401, "{body}");
    let (code, body) = post(&[]);
    assert_eq!(code, 401, "{body}");
    // Certificates still work on the same listener.
    let (cert, key) = agent.client();
    assert_eq!(
        agent.curl(Some((&cert, &key)), &["-H", "Content-Type: text/plain", "--data-binary", LINE, &url]).0,
        200
    );
    agent.stop();
    let mut sources: Vec<String> = stored_records(&env).into_iter().map(|r| r.source).collect();
    sources.sort();
    assert_eq!(sources, vec!["client-1.logseal.local".to_owned(), "token:vector-1".to_owned()]);
}
