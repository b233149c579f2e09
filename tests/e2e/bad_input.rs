//! Bad input gets a clear error (exit 2) or a finding (exit 1), never a
//! panic, and loses nothing.

use std::fs;

use crate::common::{Env, T0, categories, run};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_clean_exit(out: &std::process::Output, code: i32, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stdout: {}\nstderr: {err}", String::from_utf8_lossy(&out.stdout));
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "expected {needle:?} in: {err}");
    }
}

fn sealed() -> Env {
    let env = Env::new();
    let log = env.log_file("a.log", 900, 21);
    env.import("web", &log, T0);
    env
}

#[test]
fn garbage_and_truncated_parquet_are_findings() {
    let env = sealed();
    let data = env.objects("web", "data");
    fs::write(&data[0], b"this is not parquet at all").unwrap();
    let bytes = fs::read(&data[1]).unwrap();
    fs::write(&data[1], &bytes[..bytes.len() / 2]).unwrap();
    for extra in [&[][..], &["--deep"][..]] {
        let (code, report) = env.verify(extra, T0 + 5);
        assert_eq!(code, 1, "{report:#}");
        assert_eq!(categories(&report), vec!["object-size-mismatch".to_owned()], "{report:#}");
        assert_eq!(report["findings"].as_array().unwrap().len(), 2);
    }
}

#[test]
fn a_manifest_with_an_unknown_version_is_a_finding() {
    let env = sealed();
    let manifest = &env.objects("web", "manifests")[1];
    let text = fs::read_to_string(manifest).unwrap().replace("\"version\":1", "\"version\":2");
    fs::write(manifest, text).unwrap();
    let (code, report) = env.verify(&[], T0 + 5);
    assert_eq!(code, 1);
    let finding =
        report["findings"].as_array().unwrap().iter().find(|f| f["category"] == "invalid-manifest").expect("finding");
    assert!(finding["message"].as_str().unwrap().contains("version 2 is not supported"), "{finding}");
}

#[test]
fn a_missing_key_file_is_named() {
    let env = sealed();
    fs::remove_file(env.data.join("keys/pii.key")).unwrap();
    let out = run(&["verify", "--data-dir", env.dir(), "--deep"], T0 + 5);
    assert_clean_exit(&out, 2, &["pii.key"]);
    // Structural verification needs no key at all.
    assert_eq!(env.verify(&[], T0 + 5).0, 0);
    // Sealing needs every key: nothing is written when one is missing.
    fs::remove_file(env.data.join("keys/index.key")).unwrap();
    let before = env.objects("web", "checkpoints").len();
    let log = env.log_file("b.log", 10, 1);
    let out = run(&["import", "--data-dir", env.dir(), "--stream", "web", log.to_str().unwrap()], T0 + 6);
    assert_clean_exit(&out, 2, &["index.key"]);
    assert_eq!(env.objects("web", "checkpoints").len(), before);
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = sealed();
    let key = env.data.join("keys/base.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&["verify", "--data-dir", env.dir(), "--deep"], T0 + 5);
    assert_clean_exit(&out, 2, &["base.key", "chmod 600"]);
}

#[test]
fn a_directory_that_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["verify", "--data-dir", dir.path().to_str().unwrap()], T0);
    assert_clean_exit(&out, 2, &["is not a logseal data directory", "logseal init"]);
    let keyed = Env::new();
    let vkey = keyed.data.join("checkpoint.vkey");
    let out = run(&["verify", "--store", dir.path().to_str().unwrap(), "--pubkey", vkey.to_str().unwrap()], T0);
    assert_clean_exit(&out, 2, &["is not a logseal store"]);
    let out = run(&["import", "--data-dir", "/nonexistent/logseal", "x.log"], T0);
    assert_clean_exit(&out, 2, &["does not exist"]);
}

#[test]
fn a_corrupt_state_file() {
    let env = sealed();
    let state = env.tmp.path().join("state.json");
    assert_eq!(env.verify(&["--state", state.to_str().unwrap()], T0 + 5).0, 0);
    let good = fs::read_to_string(&state).unwrap();
    // Not JSON.
    fs::write(&state, "{ not json").unwrap();
    let out = run(&["verify", "--data-dir", env.dir(), "--state", state.to_str().unwrap()], T0 + 5);
    assert_clean_exit(&out, 2, &["state file", "corrupt"]);
    // Valid JSON, a leaf hash altered: the saved leaves no longer match the signed checkpoint.
    let first_leaf = good.find("\"manifest_leaves\": [\n        \"").unwrap() + 30;
    let mut altered = good.clone();
    let c = if &good[first_leaf..=first_leaf] == "0" { "1" } else { "0" };
    altered.replace_range(first_leaf..=first_leaf, c);
    fs::write(&state, altered).unwrap();
    let out = run(&["verify", "--data-dir", env.dir(), "--state", state.to_str().unwrap()], T0 + 5);
    assert_clean_exit(&out, 2, &["do not hash to the saved checkpoint"]);
    // A state file for another key.
    fs::write(&state, &good).unwrap();
    let other = Env::new();
    let out = run(
        &[
            "verify",
            "--data-dir",
            env.dir(),
            "--state",
            state.to_str().unwrap(),
            "--pubkey",
            other.data.join("checkpoint.vkey").to_str().unwrap(),
        ],
        T0 + 5,
    );
    assert_clean_exit(&out, 2, &["another public key"]);
}

#[test]
fn a_misspelt_config_key_and_a_second_init() {
    let env = Env::new();
    let config = env.data.join("logseal.toml");
    let text = fs::read_to_string(&config).unwrap().replace("heartbeat_secs", "heartbeat_sec");
    fs::write(&config, text).unwrap();
    let out = run(&["verify", "--data-dir", env.dir()], T0);
    assert_clean_exit(&out, 2, &["logseal.toml", "heartbeat_sec"]);
    let out = run(&["init", "--data-dir", env.dir()], T0);
    assert_clean_exit(&out, 2, &["refusing to overwrite"]);
}

#[test]
fn a_missing_input_file_seals_nothing() {
    let env = Env::new();
    let log = env.log_file("a.log", 10, 1);
    let out =
        run(&["import", "--data-dir", env.dir(), "--stream", "web", log.to_str().unwrap(), "/nonexistent/b.log"], T0);
    assert_clean_exit(&out, 2, &["/nonexistent/b.log"]);
    assert!(env.objects("web", "data").is_empty());
}

#[test]
fn a_bad_public_key_file() {
    let env = sealed();
    let bad = env.tmp.path().join("bad.vkey");
    fs::write(&bad, "not a key\n").unwrap();
    let out = run(&["verify", "--data-dir", env.dir(), "--pubkey", bad.to_str().unwrap()], T0);
    assert_clean_exit(&out, 2, &["bad.vkey"]);
}

#[test]
fn a_huge_object_under_a_manifest_name_is_not_read() {
    let env = sealed();
    let manifest = &env.objects("web", "manifests")[0];
    let file = fs::File::options().append(true).open(manifest).unwrap();
    file.set_len(3 << 20).unwrap();
    let (code, report) = env.verify(&[], T0 + 5);
    assert_eq!(code, 1);
    let text = report.to_string();
    assert!(text.contains("larger than any manifest or checkpoint"), "{report:#}");
}
