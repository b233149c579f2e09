//! The CLI on S3 (SeaweedFS from `infra/dev/services`, the instance named
//! by `LOGSEAL_TEST_SERVICES` as `scripts/test.sh` starts it, else one of
//! its own): `import --store s3://…`, then `verify` with the public key
//! only and `verify --deep`, each test under its own prefix.

use std::path::Path;
use std::process::Output;

use crate::common::{Env, T0, categories, logseal, ok};

#[path = "../../store/tests/support/services.rs"]
pub(crate) mod services;

use services::Services;

/// What these tests do with the services (also used by `interop_kms`).
pub(crate) trait CliServices {
    fn logseal(&self, args: &[&str], now: i64) -> Output;
    fn fresh_store(&self) -> String;
    fn init_with_kms(&self, data: &str, deployment: &str, extra: &[&str]);
}

impl CliServices for Services {
    /// `logseal` with the services' AWS variables.
    fn logseal(&self, args: &[&str], now: i64) -> Output {
        let mut cmd = logseal();
        for name in
            ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KMS"]
        {
            cmd.env(name, self.var(name));
        }
        cmd.env_remove("AWS_PROFILE").env_remove("AWS_SESSION_TOKEN");
        cmd.args(args).env("LOGSEAL_FAKE_NOW", now.to_string()).output().expect("run logseal")
    }

    /// A fresh store URL under the services' bucket.
    fn fresh_store(&self) -> String {
        format!("{}/e2e-{:016x}", self.var("LOGSEAL_STORE"), rand::random::<u64>())
    }

    /// `logseal init` of data directory `data` with the services' KMS keys
    /// for both domains, plus `extra` arguments.
    fn init_with_kms(&self, data: &str, deployment: &str, extra: &[&str]) {
        let kms =
            ["--kms-base-key", self.var("LOGSEAL_KMS_BASE_KEY"), "--kms-pii-key", self.var("LOGSEAL_KMS_PII_KEY")];
        let args = [&["init", "--data-dir", data, "--deployment", deployment][..], &kms, extra].concat();
        ok(&self.logseal(&args, T0));
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

#[test]
fn a_delete_marker_and_a_second_version_on_s3_are_reported() {
    let services = Services::get();
    let env = Env::new();
    let store = services.fresh_store();
    let file = env.log_file("a.log", 900, 3);
    ok(&services.logseal(
        &["import", "--data-dir", env.dir(), "--store", &store, "--stream", "web", file.to_str().unwrap()],
        T0,
    ));
    let verify = |now| {
        report(&services.logseal(
            &[
                "verify",
                "--data-dir",
                env.dir(),
                "--store",
                &store,
                "--json",
                "--pubkey",
                env.data.join("checkpoint.vkey").to_str().unwrap(),
            ],
            now,
        ))
    };
    let (code, clean) = verify(T0 + 5);
    assert_eq!((code, categories(&clean)), (0, vec![]), "{clean:#}");

    let (client, runtime) = services.raw_s3();
    let (bucket, prefix) = store.strip_prefix("s3://").unwrap().split_once('/').unwrap();
    let listed =
        runtime.block_on(client.list_objects_v2().bucket(bucket).prefix(format!("{prefix}/v1/web/")).send()).unwrap();
    let keys: Vec<String> = listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
    let data_key = keys.iter().find(|k| k.contains("/data/")).expect("a data object").clone();
    let manifest_key = keys.iter().rev().find(|k| k.contains("/manifests/")).expect("a manifest").clone();

    // A plain DELETE on a versioned bucket leaves a delete marker (Object
    // Lock protects versions, not against markers).
    runtime.block_on(client.delete_object().bucket(bucket).key(&data_key).send()).unwrap();
    // A plain PUT (no If-None-Match) adds a second version (of another
    // file's manifest, so that the deleted data object is still named).
    runtime.block_on(client.put_object().bucket(bucket).key(&manifest_key).body(b"{}".to_vec().into()).send()).unwrap();

    let (code, tampered) = verify(T0 + 6);
    assert_eq!(code, 1, "{tampered:#}");
    let found = categories(&tampered);
    for expected in ["delete-marker", "second-version", "missing-object", "invalid-manifest"] {
        assert!(found.iter().any(|c| c == expected), "{expected} not in {found:?}: {tampered:#}");
    }
    let objects: Vec<&str> =
        tampered["findings"].as_array().unwrap().iter().filter_map(|f| f["object"].as_str()).collect();
    let rel = |k: &str| k.strip_prefix(&format!("{prefix}/")).unwrap().to_owned();
    assert!(
        objects.contains(&rel(&data_key).as_str()) && objects.contains(&rel(&manifest_key).as_str()),
        "{objects:?}"
    );
}

#[test]
fn kms_keys_seal_import_into_s3_and_verify_deep_and_kms_down_is_a_clear_error() {
    let services = Services::get();
    let env = Env::new(); // only for its log generator and temp dir
    let data = env.tmp.path().join("kms-data");
    let data = data.to_str().unwrap();
    services.init_with_kms(data, "logseal.test/kms", &[]);
    let config = std::fs::read_to_string(Path::new(data).join("logseal.toml")).unwrap();
    assert!(config.contains("kind = \"aws-kms\"") && config.contains("index_key_wrapped"), "{config}");
    assert!(!Path::new(data).join("keys/base.key").exists(), "no local data keys with KMS");

    let store = services.fresh_store();
    let file = env.log_file("k.log", 900, 4);
    ok(&services.logseal(&["import", "--data-dir", data, "--store", &store, file.to_str().unwrap()], T0));
    let (code, deep) =
        report(&services.logseal(&["verify", "--data-dir", data, "--store", &store, "--deep", "--json"], T0 + 5));
    assert_eq!((code, deep["result"].as_str()), (0, Some("intact")), "{deep:#}");
    assert_eq!(records(&deep), 900, "{deep:#}");

    // KMS unreachable: verify --deep cannot run (exit 2) and says why.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut cmd = logseal();
    for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL_S3"] {
        cmd.env(name, services.var(name));
    }
    let out = cmd
        .env("AWS_ENDPOINT_URL_KMS", format!("http://{closed}"))
        .env("LOGSEAL_FAKE_NOW", (T0 + 6).to_string())
        .args(["verify", "--data-dir", data, "--store", &store, "--deep"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "verify --deep without KMS must not pass");
    assert!(stderr.contains("kms:") && stderr.contains(&closed.to_string()), "{stderr}");
}
