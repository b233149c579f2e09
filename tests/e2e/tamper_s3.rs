//! The tamper matrix (DESIGN.md §4, `tamper.rs` for the local store) on
//! S3: SeaweedFS with versioning and Object Lock. Each test seals 2000
//! records in 5 files under its own prefix, checks that the store verifies
//! clean (structural and deep), then attacks it the way S3 allows — a PUT
//! without `If-None-Match` adds a version that becomes current, a DELETE
//! adds a delete marker — and checks that `verify` reports the attack's own
//! category and, on a versioned bucket, the trace it leaves
//! (`second-version`, `delete-marker`).

use std::path::PathBuf;

use crate::common::{Env, T0, categories, json_report};
use crate::s3::CliServices;
use crate::s3::services::Services;

/// A sealed store on S3 and a raw client to attack it with.
struct Sealed {
    services: Services,
    env: Env,
    store: String,
    bucket: String,
    prefix: String,
    client: aws_sdk_s3::Client,
    runtime: tokio::runtime::Runtime,
}

impl Sealed {
    fn new() -> Sealed {
        let services = Services::get();
        let env = Env::new();
        let store = services.fresh_store();
        let (bucket, prefix) = store.strip_prefix("s3://").unwrap().split_once('/').unwrap();
        let (bucket, prefix) = (bucket.to_owned(), prefix.to_owned());
        let (client, runtime) = services.raw_s3();
        let sealed = Sealed { services, env, store, bucket, prefix, client, runtime };
        let log = sealed.env.log_file("a.log", 2000, 1);
        sealed.import("web", &log, T0);
        for extra in [&[][..], &["--deep"][..]] {
            let (code, report) = sealed.verify(extra, T0 + 10);
            assert_eq!((code, categories(&report)), (0, vec![]), "untouched store must verify clean: {report:#}");
        }
        assert_eq!(sealed.keys("web", "data").len(), 5);
        sealed
    }

    fn import(&self, stream: &str, file: &std::path::Path, now: i64) {
        let args = ["import", "--data-dir", self.env.dir(), "--store", &self.store, "--stream", stream];
        let out = self.services.logseal(&[&args[..], &[file.to_str().unwrap()]].concat(), now);
        assert!(out.status.success(), "import failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn verify(&self, extra: &[&str], now: i64) -> (i32, serde_json::Value) {
        let args = ["verify", "--data-dir", self.env.dir(), "--store", &self.store, "--json"];
        json_report(&self.services.logseal(&[&args[..], extra].concat(), now))
    }

    /// The current keys of `v1/<stream>/<kind>/`, relative to the store.
    fn keys(&self, stream: &str, kind: &str) -> Vec<String> {
        let prefix = format!("{}/v1/{stream}/{kind}/", self.prefix);
        let listed =
            self.runtime.block_on(self.client.list_objects_v2().bucket(&self.bucket).prefix(&prefix).send()).unwrap();
        listed.contents().iter().filter_map(|o| o.key()).map(|k| k[self.prefix.len() + 1..].to_owned()).collect()
    }

    fn get(&self, key: &str) -> Vec<u8> {
        let full = format!("{}/{key}", self.prefix);
        let out = self.runtime.block_on(self.client.get_object().bucket(&self.bucket).key(full).send()).unwrap();
        self.runtime.block_on(out.body.collect()).unwrap().into_bytes().to_vec()
    }

    /// A PUT as an attacker makes it: a new current version.
    fn put(&self, key: &str, bytes: Vec<u8>) {
        let full = format!("{}/{key}", self.prefix);
        self.runtime
            .block_on(self.client.put_object().bucket(&self.bucket).key(full).body(bytes.into()).send())
            .unwrap();
    }

    /// A DELETE: a delete marker.
    fn delete(&self, key: &str) {
        let full = format!("{}/{key}", self.prefix);
        self.runtime.block_on(self.client.delete_object().bucket(&self.bucket).key(full).send()).unwrap();
    }

    /// Checks that `verify` exits 1 and reports every one of `expected`.
    fn assert_found(&self, extra: &[&str], now: i64, expected: &[&str]) -> serde_json::Value {
        let (code, report) = self.verify(extra, now);
        assert_eq!(code, 1, "verify must exit 1: {report:#}");
        let found = categories(&report);
        for category in expected {
            assert!(found.contains(&(*category).to_owned()), "expected {category} in {found:?}: {report:#}");
        }
        report
    }

    fn state(&self) -> PathBuf {
        self.env.tmp.path().join("state.json")
    }
}

#[test]
fn s3_a_byte_changed_in_a_data_file() {
    let s = Sealed::new();
    let key = &s.keys("web", "data")[2];
    let mut bytes = s.get(key);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    s.put(key, bytes);
    s.assert_found(&[], T0 + 10, &["object-hash-mismatch", "second-version"]);
}

#[test]
fn s3_a_data_file_or_a_manifest_deleted() {
    let s = Sealed::new();
    s.delete(&s.keys("web", "data")[1]);
    s.delete(&s.keys("web", "manifests")[3]);
    s.assert_found(&[], T0 + 10, &["missing-object", "missing-manifest", "unreferenced-object", "delete-marker"]);
}

#[test]
fn s3_files_swapped() {
    let s = Sealed::new();
    let manifests = s.keys("web", "manifests");
    let (a, b) = (s.get(&manifests[1]), s.get(&manifests[2]));
    s.put(&manifests[1], b);
    s.put(&manifests[2], a);
    s.assert_found(
        &[],
        T0 + 10,
        &["manifest-log-mismatch", "chain-break", "seq-gap", "invalid-manifest", "second-version"],
    );
}

#[test]
fn s3_a_forged_file_and_manifest_and_a_stray_object() {
    let s = Sealed::new();
    let (data, manifests) = (s.keys("web", "data"), s.keys("web", "manifests"));
    let mut forged = s.get(&data[2]);
    forged[100] ^= 1;
    let mut manifest: serde_json::Value = serde_json::from_slice(&s.get(&manifests[2])).unwrap();
    manifest["data"]["sha256"] = logseal_core::Hash::of(&forged).to_hex().into();
    s.put(&data[2], forged);
    s.put(&manifests[2], serde_json::to_vec(&manifest).unwrap());
    s.put("v1/web/data/000000000002-0badc0de.parquet", b"PAR1 not really".to_vec());
    let report = s.assert_found(&[], T0 + 10, &["manifest-log-mismatch", "second-version", "unreferenced-object"]);
    let found = categories(&report);
    assert!(!found.contains(&"object-hash-mismatch".to_owned()), "the object matches its forged manifest: {report:#}");
}

#[test]
fn s3_the_tail_truncated_with_and_without_its_checkpoints() {
    let s = Sealed::new();
    let state = s.state();
    assert_eq!(s.verify(&["--state", state.to_str().unwrap()], T0 + 10).0, 0);
    s.delete(s.keys("web", "data").last().unwrap());
    s.delete(s.keys("web", "manifests").last().unwrap());
    s.assert_found(&[], T0 + 10, &["tail-truncated", "delete-marker"]);
    let checkpoints = s.keys("web", "checkpoints");
    for key in &checkpoints[checkpoints.len() - 2..] {
        s.delete(key);
    }
    s.assert_found(&[], T0 + 3600, &["stale", "delete-marker"]);
    s.assert_found(&["--state", state.to_str().unwrap()], T0 + 10, &["state-mismatch", "delete-marker"]);
}

#[test]
fn s3_every_checkpoint_deleted_or_one_forged() {
    let s = Sealed::new();
    let other = Env::new(); // same deployment name, another key
    let log = other.log_file("o.log", 500, 4);
    other.import("web", &log, T0);
    let theirs = std::fs::read(&other.objects("web", "checkpoints")[0]).unwrap();
    let ours = s.keys("web", "checkpoints");
    s.put(&ours[0], theirs);
    let mut edited = String::from_utf8(s.get(&ours[1])).unwrap();
    edited = edited.replacen("\n2\n", "\n3\n", 1);
    s.put(&ours[1], edited.into_bytes());
    s.assert_found(&[], T0 + 10, &["invalid-checkpoint", "second-version"]);
    for key in &ours {
        s.delete(key);
    }
    s.assert_found(&[], T0 + 10, &["unsigned-manifests", "delete-marker"]);
}

#[test]
fn s3_logging_stopped() {
    let s = Sealed::new();
    // The writer died without its final checkpoint, and came back an hour
    // later. (On S3 the checkpoint's removal leaves a marker.)
    s.delete(s.keys("web", "checkpoints").last().unwrap());
    let more = s.env.log_file("b.log", 100, 5);
    s.import("web", &more, T0 + 3600);
    s.assert_found(&[], T0 + 3700, &["heartbeat-gap", "delete-marker"]);
}

#[test]
fn s3_the_log_rolled_back_and_a_stream_deleted_with_saved_state() {
    let s = Sealed::new();
    let api = s.env.log_file("api.log", 100, 9);
    s.import("api", &api, T0);
    let more = s.env.log_file("b.log", 800, 2);
    s.import("web", &more, T0 + 20);
    let state = s.state();
    assert_eq!(s.verify(&["--state", state.to_str().unwrap()], T0 + 30).0, 0);
    // Roll `web` back to its first import: the newer objects are deleted
    // (S3 keeps them behind markers; the current listing no longer has
    // them), and every object of `api` too.
    let first_import_files = 5;
    for kind in ["data", "manifests"] {
        for key in s.keys("web", kind).iter().skip(first_import_files) {
            s.delete(key);
        }
    }
    for key in s.keys("web", "checkpoints").iter().skip(first_import_files + 1) {
        s.delete(key);
    }
    for kind in ["data", "manifests", "checkpoints"] {
        for key in s.keys("api", kind) {
            s.delete(&key);
        }
    }
    let report = s.assert_found(&["--state", state.to_str().unwrap()], T0 + 30, &["state-mismatch", "delete-marker"]);
    let streams: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["category"] == "state-mismatch")
        .filter_map(|f| f["stream"].as_str())
        .collect();
    assert!(streams.contains(&"web") && streams.contains(&"api"), "{report:#}");
}
