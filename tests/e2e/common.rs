//! Helpers shared by the end-to-end tests: a fresh data directory, the
//! binary, generated access logs, and the verifier's JSON report.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use logseal_benches::{Format, GenConfig, generate};

/// A fixed "now" for tests (2026-03-01T00:00:00Z), in seconds.
pub const T0: i64 = 1_772_323_200;

/// A data directory in a temporary directory.
pub struct Env {
    pub tmp: tempfile::TempDir,
    pub data: PathBuf,
}

/// The binary, with no inherited logseal environment.
pub fn logseal() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logseal"));
    for name in [
        "LOGSEAL_DATA_DIR",
        "LOGSEAL_FAKE_NOW",
        "LOGSEAL_STORE",
        "LOGSEAL_MIRROR_STORE",
        "LOGSEAL_KMS_BASE_KEY",
        "LOGSEAL_KMS_PII_KEY",
        "LOGSEAL_KMS_SIGNING_KEY",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

/// The exit code and JSON output of a `--json` run.
pub fn json_report(out: &Output) -> (i32, serde_json::Value) {
    let code = out.status.code().expect("exit code");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "no JSON output (exit {code}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report)
}

/// Runs the binary with `args`, at fake time `now` (seconds).
pub fn run(args: &[&str], now: i64) -> Output {
    logseal().args(args).env("LOGSEAL_FAKE_NOW", now.to_string()).output().expect("run logseal")
}

/// Asserts success and returns stdout.
pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "logseal failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl Env {
    /// `logseal init` in a new temporary directory, with a short heartbeat
    /// (so that gaps are quick to fake) and small files.
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        ok(&run(&["init", "--data-dir", data.to_str().unwrap(), "--deployment", "logseal.test/e2e"], T0));
        let config = data.join("logseal.toml");
        let text = std::fs::read_to_string(&config).unwrap().replace("file_records = 1000000", "file_records = 400");
        std::fs::write(&config, text).unwrap();
        Env { tmp, data }
    }

    /// The data directory as a string argument.
    pub fn dir(&self) -> &str {
        self.data.to_str().unwrap()
    }

    /// The store's root.
    pub fn store(&self) -> PathBuf {
        self.data.join("store")
    }

    /// Writes `lines` generated access-log lines (seeded) to a file.
    pub fn log_file(&self, name: &str, lines: u64, seed: u64) -> PathBuf {
        let path = self.tmp.path().join(name);
        let cfg = GenConfig { format: Format::Combined, lines, seed, ..GenConfig::default() };
        let mut out = Vec::new();
        generate(&cfg, &mut out).expect("generate");
        std::fs::write(&path, out).unwrap();
        path
    }

    /// Imports `file` into `stream` at time `now`.
    pub fn import(&self, stream: &str, file: &Path, now: i64) -> String {
        ok(&run(&["import", "--data-dir", self.dir(), "--stream", stream, file.to_str().unwrap()], now))
    }

    /// `logseal verify --json` plus `extra` at time `now`: exit code and report.
    pub fn verify(&self, extra: &[&str], now: i64) -> (i32, serde_json::Value) {
        let mut args = vec!["verify", "--data-dir", self.dir(), "--json"];
        args.extend_from_slice(extra);
        json_report(&run(&args, now))
    }

    /// Objects under `v1/<stream>/<kind>/`, sorted.
    pub fn objects(&self, stream: &str, kind: &str) -> Vec<PathBuf> {
        let dir = self.store().join("v1").join(stream).join(kind);
        // Temporary files of interrupted writes (`.tmp-…`) are not objects.
        let is_object = |p: &PathBuf| !p.file_name().unwrap().to_string_lossy().starts_with(".tmp-");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.unwrap().path()).filter(is_object).collect())
            .unwrap_or_default();
        files.sort();
        files
    }
}

/// The categories of a report's findings, sorted and deduplicated.
pub fn categories(report: &serde_json::Value) -> Vec<String> {
    let mut cats: Vec<String> = report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| f["category"].as_str().unwrap().to_owned())
        .collect();
    cats.sort();
    cats.dedup();
    cats
}

/// Starts `cmd` (a `logseal agent`, `serve` or `up`) and returns it with
/// the first line it prints on stdout (its `listening …` line). Its stderr
/// is echoed with `label` in front.
pub fn spawn_listening(cmd: &mut Command, label: &'static str) -> (Child, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start logseal");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{label}: {line}");
        }
    });
    let line = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{label} printed no listening line within 60 s");
        }
    };
    (child, line)
}
