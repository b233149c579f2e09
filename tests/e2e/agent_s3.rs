//! The agent on S3 (SeaweedFS from `infra/dev/services`): the crash test
//! on the suite's instance (`LOGSEAL_TEST_SERVICES`, else one of its own),
//! and store outages under load on an instance of the test's own, since it
//! freezes SeaweedFS and then kills it and starts it again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use logseal_store::object::ObjectStore;
use logseal_store::object::s3::{S3Location, S3Options, S3Store};

use crate::agent::{
    AckedBatch, Agent, Answers, Load, assert_sealed_exactly_once, killed_under_load, lines_in, verify_now_with,
};
use crate::common::Env;
use crate::s3::services::Services;

/// A store under a fresh prefix of a services instance's bucket, and the
/// environment `logseal` needs to reach it.
struct S3Target {
    /// `s3://bucket/prefix`.
    url: String,
    endpoint: String,
    region: String,
    access_key: String,
    secret_key: String,
    /// The AWS variables for `logseal` (credentials; endpoint and region
    /// too, though the agent takes them from its `[store]` section).
    vars: Vec<(String, String)>,
}

impl S3Target {
    /// A fresh prefix in the bucket of the instance whose exports `var` reads.
    fn new(var: impl Fn(&str) -> String) -> S3Target {
        let vars = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL_S3"]
            .into_iter()
            .map(|name| (name.to_owned(), var(name)))
            .collect();
        S3Target {
            url: format!("{}/e2e-agent-{:016x}", var("LOGSEAL_STORE"), rand::random::<u64>()),
            endpoint: var("AWS_ENDPOINT_URL_S3"),
            region: var("AWS_REGION"),
            access_key: var("AWS_ACCESS_KEY_ID"),
            secret_key: var("AWS_SECRET_ACCESS_KEY"),
            vars,
        }
    }

    /// Points `env`'s data directory at this store: `[store] kind = "s3"`
    /// with every S3 key, Object Lock included (the bucket has it).
    fn configure(&self, env: &Env) {
        let config = env.data.join("logseal.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        let local = "[store]\nkind = \"local\"\npath = \"store\"\n";
        assert!(text.contains(local), "logseal init wrote another [store] section:\n{text}");
        let s3 = format!(
            concat!(
                "[store]\nkind = \"s3\"\nurl = \"{}\"\nendpoint = \"{}\"\nregion = \"{}\"\npath_style = true\n",
                "object_lock = {{ mode = \"governance\", retain_days = 1 }}\n"
            ),
            self.url, self.endpoint, self.region
        );
        std::fs::write(&config, text.replace(local, &s3)).unwrap();
    }

    /// The store, for reading back what the agent sealed.
    fn open(&self) -> S3Store {
        let options = S3Options {
            endpoint: Some(self.endpoint.clone()),
            region: Some(self.region.clone()),
            path_style: Some(true),
            ..S3Options::default()
        };
        let credentials = aws_sdk_s3::config::Credentials::new(
            self.access_key.clone(),
            self.secret_key.clone(),
            None,
            None,
            "logseal-tests",
        );
        S3Store::open_with(S3Location::parse(&self.url).unwrap(), options, |loader| {
            loader.credentials_provider(credentials)
        })
        .unwrap()
    }

    /// `verify --deep` of this store with `env`'s keys; asserts it is intact.
    fn verify_deep(&self, env: &Env) -> serde_json::Value {
        verify_now_with(env, &["--store", &self.url], &self.vars)
    }
}

/// The crash test of `tests/e2e/agent.rs` with the agent sealing into S3:
/// killed with SIGKILL 8 times under HTTP load, every acknowledged record
/// is in the store exactly once, in order, and `verify --deep` is clean.
#[test]
fn agent_on_s3_killed_under_load_loses_no_acknowledged_record() {
    let services = Services::get();
    let env = Env::new();
    let s3 = S3Target::new(|name| services.var(name).to_owned());
    s3.configure(&env);
    let tls = env.data.join("tls");
    let acked = killed_under_load(8, Agent::start_with(&env, "", &s3.vars), || {
        Agent::spawn_with(&env.data, tls.clone(), &s3.vars)
    });
    s3.verify_deep(&env);
    assert_sealed_exactly_once(&lines_in(&env, &s3.open()), &acked);
    assert!(!env.store().join("v1").exists(), "nothing went to the local store");
}

/// Stops and starts the SeaweedFS of a test's own services instance;
/// kills what it started when dropped (declare it after the services, so
/// that it is dropped first).
struct Weed {
    dir: PathBuf,
    /// SeaweedFS as started again by the test.
    restarted: Option<Child>,
}

/// The start time of `pid` (field 22 of `/proc/PID/stat`), as
/// `infra/dev/services` records it; `None` once it is gone or a zombie.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    (!matches!(fields[0], "Z" | "X")).then(|| fields[19].to_owned())
}

/// NUL-separated strings of a `/proc/PID/` file.
fn proc_strings(pid: u32, file: &str) -> Vec<String> {
    let bytes = std::fs::read(format!("/proc/{pid}/{file}")).unwrap();
    bytes.split(|&b| b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

impl Weed {
    fn of(services: &Services) -> Weed {
        assert!(services.is_own(), "only a test's own SeaweedFS is stopped");
        Weed { dir: services.dir().to_owned(), restarted: None }
    }

    /// SeaweedFS's PID (`weed mini`: master, volume, filer and S3 gateway
    /// in one process).
    fn pid(&self) -> u32 {
        std::fs::read_to_string(self.dir.join("weed.pid")).unwrap().trim().parse().unwrap()
    }

    /// Kills SeaweedFS (SIGKILL: a crash) and returns how to start it
    /// again: its command line and environment.
    fn kill(&mut self) -> (Vec<String>, Vec<(String, String)>) {
        let pid = self.pid();
        let command = proc_strings(pid, "cmdline");
        let environment = proc_strings(pid, "environ")
            .into_iter()
            .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        signal(pid, "KILL");
        if let Some(mut child) = self.restarted.take() {
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while start_time(pid).is_some() {
            assert!(Instant::now() < deadline, "weed (pid {pid}) outlived SIGKILL by 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        (command, environment)
    }

    /// Starts SeaweedFS again as it ran before (same ports, same data
    /// directory) and records it where `infra/dev/services stop` finds it.
    fn restart(&mut self, (command, environment): (Vec<String>, Vec<(String, String)>)) {
        let dir = &self.dir;
        for socket in ["filer.sock", "s3.sock"] {
            let _ = std::fs::remove_file(dir.join(socket));
        }
        let log = std::fs::OpenOptions::new().append(true).create(true).open(dir.join("weed.log")).unwrap();
        let child = Command::new(&command[0])
            .args(&command[1..])
            .env_clear()
            .envs(environment)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start weed again");
        let pid = child.id();
        self.restarted = Some(child);
        std::fs::write(dir.join("weed.pid"), format!("{pid}\n")).unwrap();
        std::fs::write(dir.join("weed.start"), format!("{}\n", start_time(pid).expect("weed runs"))).unwrap();
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("weed.pid")) {
            let _ = Command::new("kill").args(["-CONT", pid.trim()]).status();
        }
        if let Some(mut child) = self.restarted.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The agent's `/metrics` lines for `names`, for the test's log.
fn metrics(agent: &Agent, names: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", &format!("http://{}/metrics", agent.ops.as_ref().unwrap())])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| names.iter().any(|n| l.starts_with(n)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The last sealed sequence number of each stream, from its last manifest
/// (a stream with nothing sealed yet is absent).
fn sealed_through(store: &dyn ObjectStore, streams: &[String]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for stream in streams {
        let prefix = format!("{}manifests/", logseal_core::layout::stream_prefix(stream));
        if let Some(last) = store.list(&prefix, None).unwrap().last() {
            let manifest =
                logseal_core::manifest::Manifest::from_canonical_json(&store.get(&last.key).unwrap()).unwrap();
            out.insert(stream.clone(), manifest.seq_last);
        }
    }
    out
}

/// Waits (without restarting anything) until every acknowledged record is
/// sealed in `store`.
fn wait_until_sealed(store: &dyn ObjectStore, acked: &[AckedBatch], timeout: Duration) {
    let mut wanted: BTreeMap<String, u64> = BTreeMap::new();
    for batch in acked {
        let last = wanted.entry(batch.stream.clone()).or_default();
        *last = (*last).max(batch.last_seq);
    }
    let streams: Vec<String> = wanted.keys().cloned().collect();
    let started = Instant::now();
    loop {
        let sealed = sealed_through(store, &streams);
        if wanted.iter().all(|(stream, last)| sealed.get(stream).is_some_and(|s| s >= last)) {
            eprintln!("backlog sealed {:?} after the load stopped", started.elapsed());
            return;
        }
        assert!(
            started.elapsed() < timeout,
            "not sealed within {timeout:?}: acknowledged {wanted:?}, sealed {sealed:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The answers between two moments.
fn since(now: Answers, before: Answers) -> Answers {
    Answers { acked: now.acked - before.acked, busy: now.busy - before.busy, none: now.none - before.none }
}

/// SeaweedFS goes away under HTTP load, twice: first frozen (SIGSTOP: its
/// ports stay open and requests hang, so the S3 client's timeouts and
/// retries are all the agent has), then killed (SIGKILL) and started
/// again on the same ports with the same data. During each outage the
/// agent turns new requests away with 503 and `Retry-After` (as it does
/// when the local store fails) instead of leaving them waiting — the test
/// waits for that before it ends the outage; any other answer but 200
/// with a receipt (or none: curl's time limit) fails it. After each
/// outage the agent acknowledges again, and once the load stops its
/// backlog is sealed, without a restart of the agent. Nothing
/// acknowledged is lost or stored twice, and `verify --deep` is clean.
#[test]
fn agent_on_s3_survives_seaweedfs_frozen_and_killed_under_load() {
    const WAIT: Duration = Duration::from_secs(300);
    /// How long an outage goes on after the agent's first 503.
    const MORE: Duration = Duration::from_secs(3);
    let services = Services::own();
    let mut weed = Weed::of(&services);
    let env = Env::new();
    let s3 = S3Target::new(|name| services.var(name).to_owned());
    s3.configure(&env);
    let agent = Agent::start_with(&env, "", &s3.vars);
    let watch = ["logseal_backpressure{", "logseal_wal_bytes", "logseal_store_failures", "logseal_files_sealed"];
    let load = Load::start(&agent, 3, 100, 10);
    load.wait_for_acks(10, WAIT);

    // Frozen: connections are accepted (by the kernel) but never answered.
    let before = load.answers();
    let weed_pid = weed.pid();
    signal(weed_pid, "STOP");
    let frozen_at = Instant::now();
    load.wait_for_busy(before.busy, WAIT);
    eprintln!("frozen: first 503 after {:?}", frozen_at.elapsed());
    std::thread::sleep(MORE);
    eprintln!("frozen {:?}: {:?}; {}", frozen_at.elapsed(), since(load.answers(), before), metrics(&agent, &watch));
    signal(weed_pid, "CONT");
    let before = load.answers();
    load.wait_for_acks(before.acked as usize, WAIT);
    eprintln!("acknowledging again {:?} after the freeze began", frozen_at.elapsed());
    std::thread::sleep(Duration::from_secs(3));

    // Killed, then started again on the same ports with the same data.
    let before = load.answers();
    let how = weed.kill();
    let killed_at = Instant::now();
    load.wait_for_busy(before.busy, WAIT);
    eprintln!("down: first 503 after {:?}", killed_at.elapsed());
    std::thread::sleep(MORE);
    eprintln!("down {:?}: {:?}; {}", killed_at.elapsed(), since(load.answers(), before), metrics(&agent, &watch));
    weed.restart(how);
    let before = load.answers();
    load.wait_for_acks(before.acked as usize, WAIT);
    eprintln!("acknowledging again {:?} after the kill", killed_at.elapsed());
    std::thread::sleep(Duration::from_secs(3));

    let (acked, answers) = load.finish();
    eprintln!("load: {answers:?}; {}", metrics(&agent, &watch));
    let store = s3.open();
    wait_until_sealed(&store, &acked, WAIT);
    agent.stop();
    s3.verify_deep(&env);
    assert_sealed_exactly_once(&lines_in(&env, &store), &acked);
}
