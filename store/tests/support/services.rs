//! The local S3 and KMS servers for tests (`infra/dev/services`): the
//! instance named by `LOGSEAL_TEST_SERVICES` (its directory, as
//! `scripts/test.sh` starts one for the whole suite), else one started for
//! this test in a temporary directory and stopped when dropped. Shared by
//! the store's and the CLI's tests (`#[path]`-included).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running S3/KMS pair and the variables that point at it.
pub struct Services {
    vars: HashMap<String, String>,
    /// The instance's directory (PID files, logs, `env`).
    dir: PathBuf,
    /// Set when this test started the services (and must stop them).
    own_dir: Option<tempfile::TempDir>,
}

fn script() -> PathBuf {
    // Both including crates sit one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/dev/services")
}

impl Services {
    /// The suite's instance, or a new one.
    pub fn get() -> Services {
        if let Ok(dir) = std::env::var("LOGSEAL_TEST_SERVICES") {
            let env = std::fs::read_to_string(Path::new(&dir).join("env"))
                .unwrap_or_else(|e| panic!("LOGSEAL_TEST_SERVICES={dir}: no env file ({e})"));
            return Services { vars: exports(&env), dir: dir.into(), own_dir: None };
        }
        Services::own()
    }

    /// An instance of this test's own, stopped when dropped: for tests that
    /// stop or freeze the servers.
    pub fn own() -> Services {
        let dir = tempfile::tempdir().unwrap();
        let out =
            Command::new(script()).args(["start", "--dir"]).arg(dir.path()).output().expect("run infra/dev/services");
        assert!(out.status.success(), "infra/dev/services start failed:\n{}", String::from_utf8_lossy(&out.stderr));
        watch_for_exit(dir.path());
        Services {
            vars: exports(&String::from_utf8(out.stdout).unwrap()),
            dir: dir.path().to_owned(),
            own_dir: Some(dir),
        }
    }

    /// The instance's directory.
    #[allow(dead_code, reason = "not every including test binary uses it")]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this test started the instance (and may stop its servers).
    #[allow(dead_code, reason = "not every including test binary uses it")]
    pub fn is_own(&self) -> bool {
        self.own_dir.is_some()
    }

    /// One of the exported variables.
    pub fn var(&self, name: &str) -> &str {
        self.vars.get(name).unwrap_or_else(|| panic!("{name} not among the services' variables"))
    }

    /// The services' credentials.
    pub fn credentials(&self) -> aws_sdk_s3::config::Credentials {
        aws_sdk_s3::config::Credentials::new(
            self.var("AWS_ACCESS_KEY_ID"),
            self.var("AWS_SECRET_ACCESS_KEY"),
            None,
            None,
            "logseal-tests",
        )
    }

    /// A raw S3 client, for what logseal never does (delete, overwrite,
    /// change retention, send a wrong checksum).
    #[allow(dead_code, reason = "not every including test binary uses it")]
    pub fn raw_s3(&self) -> (aws_sdk_s3::Client, tokio::runtime::Runtime) {
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let http =
            aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
        let sdk = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(http)
                .endpoint_url(self.var("AWS_ENDPOINT_URL_S3"))
                .region(aws_config::Region::new(self.var("AWS_REGION").to_owned()))
                .credentials_provider(self.credentials())
                .load(),
        );
        let config = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build();
        (aws_sdk_s3::Client::from_conf(config), runtime)
    }
}

/// The variables of `export NAME=value` lines.
fn exports(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches(|c| c == '\'' || c == '"').to_owned()))
        .collect()
}

/// Stops the services in `dir` once this test process has exited, also
/// when nothing drops them: an instance held in a `static` (a fixture
/// shared by a test binary's tests) or a process that aborted. A detached
/// shell polls this process's PID.
fn watch_for_exit(dir: &Path) {
    let watcher = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; kill -CONT $(cat \"$1/weed.pid\" 2>/dev/null) 2>/dev/null; exec \"$2\" stop --dir \"$1\"",
        pid = std::process::id()
    );
    let _ = Command::new("sh")
        .args(["-c", &watcher, "services-watcher"])
        .arg(dir)
        .arg(script())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

impl Drop for Services {
    fn drop(&mut self) {
        if let Some(dir) = &self.own_dir {
            // A test may have frozen SeaweedFS, which then ignores SIGTERM.
            if let Ok(pid) = std::fs::read_to_string(dir.path().join("weed.pid")) {
                let _ = Command::new("kill").args(["-CONT", pid.trim()]).status();
            }
            let _ = Command::new(script()).args(["stop", "--dir"]).arg(dir.path()).status();
        }
    }
}
