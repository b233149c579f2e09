//! The CLI on S3 (SeaweedFS from `infra/dev/services`, the instance named
//! by `LOGSEAL_TEST_SERVICES` as `scripts/test.sh` starts it, else one of
//! its own): `import --store s3://…`, then `verify` with the public key
//! only and `verify --deep`, each test under its own prefix.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::{Env, T0, logseal, ok};

/// The variables of a running services instance (and its directory when
/// this test started it).
struct Services {
    vars: HashMap<String, String>,
    own: Option<tempfile::TempDir>,
}

fn services_script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/dev/services")
}

impl Services {
    fn get() -> Services {
        let parse = |text: &str| -> HashMap<String, String> {
            text.lines()
                .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.trim_matches(|c| c == '\'' || c == '"').to_owned()))
                .collect()
        };
        if let Ok(dir) = std::env::var("LOGSEAL_TEST_SERVICES") {
            let env = std::fs::read_to_string(Path::new(&dir).join("env")).expect("the services' env file");
            return Services { vars: parse(&env), own: None };
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(services_script()).args(["start", "--dir"]).arg(dir.path()).output().unwrap();
        assert!(out.status.success(), "infra/dev/services start:\n{}", String::from_utf8_lossy(&out.stderr));
        Services { vars: parse(&String::from_utf8_lossy(&out.stdout)), own: Some(dir) }
    }

    /// `logseal` with the services' AWS variables.
    fn logseal(&self, args: &[&str], now: i64) -> Output {
        let mut cmd = logseal();
        for name in
            ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KMS"]
        {
            cmd.env(name, &self.vars[name]);
        }
        cmd.env_remove("AWS_PROFILE").env_remove("AWS_SESSION_TOKEN");
        cmd.args(args).env("LOGSEAL_FAKE_NOW", now.to_string()).output().expect("run logseal")
    }

    /// A fresh store URL under the services' bucket.
    fn fresh_store(&self) -> String {
        format!("{}/e2e-{:016x}", self.vars["LOGSEAL_STORE"], rand::random::<u64>())
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        if let Some(dir) = &self.own {
            let _ = Command::new(services_script()).args(["stop", "--dir"]).arg(dir.path()).status();
        }
    }
}

fn report(out: &Output) -> (i32, serde_json::Value) {
    let code = out.status.code().unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON (exit {code}): {}", String::from_utf8_lossy(&out.stderr)));
    (code, json)
}

/// Records checked, over every stream of a report.
fn records(report: &serde_json::Value) -> u64 {
    report["streams"].as_array().unwrap().iter().map(|s| s["stats"]["records"].as_u64().unwrap()).sum()
}

#[test]
fn import_then_verify_and_verify_deep_on_s3() {
    let services = Services::get();
    let env = Env::new();
    let store = services.fresh_store();
    let first = env.log_file("a.log", 900, 1);
    let second = env.log_file("b.log", 500, 2);
    for (file, now) in [(&first, T0), (&second, T0 + 10)] {
        ok(&services.logseal(&["import", "--data-dir", env.dir(), "--store", &store, file.to_str().unwrap()], now));
    }
    assert!(!env.store().join("v1").exists(), "nothing was written to the local store");

    // The auditor: the S3 store and the public key, no data directory.
    let vkey = env.data.join("checkpoint.vkey");
    let (code, structural) = report(&services.logseal(
        &["verify", "--store", &store, "--pubkey", vkey.to_str().unwrap(), "--data-dir", "/nonexistent", "--json"],
        T0 + 20,
    ));
    assert_eq!((code, structural["result"].as_str()), (0, Some("intact")), "{structural:#}");
    assert_eq!(records(&structural), 1400, "{structural:#}");

    let (code, deep) =
        report(&services.logseal(&["verify", "--data-dir", env.dir(), "--store", &store, "--deep", "--json"], T0 + 20));
    assert_eq!((code, deep["result"].as_str()), (0, Some("intact")), "{deep:#}");
    assert_eq!(records(&deep), 1400, "{deep:#}");
}
