//! The tamper matrix: one test per row of DESIGN.md §4. Each seals a real
//! store with `logseal import`, checks that it verifies clean, applies the
//! attack to the files on disk, and checks that `logseal verify` reports
//! the problem by category with exit code 1.

use std::fs;

use crate::common::{Env, T0, categories, ok, run};

/// A store with 2000 records in 5 files of stream `web`, verified clean.
fn sealed() -> Env {
    let env = Env::new();
    let log = env.log_file("a.log", 2000, 1);
    env.import("web", &log, T0);
    let (code, report) = env.verify(&[], T0 + 10);
    assert_eq!((code, categories(&report)), (0, vec![]), "untouched store must verify clean: {report:#}");
    let (code, report) = env.verify(&["--deep"], T0 + 10);
    assert_eq!((code, categories(&report)), (0, vec![]), "untouched store must verify clean deep: {report:#}");
    assert_eq!(env.objects("web", "data").len(), 5);
    env
}

fn assert_found(env: &Env, extra: &[&str], now: i64, category: &str) -> serde_json::Value {
    let (code, report) = env.verify(extra, now);
    assert_eq!(code, 1, "verify must exit 1: {report:#}");
    assert!(categories(&report).contains(&category.to_owned()), "expected {category}: {report:#}");
    report
}

#[test]
fn a_byte_changed_in_a_data_file() {
    let env = sealed();
    let file = &env.objects("web", "data")[2];
    let mut bytes = fs::read(file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    fs::write(file, bytes).unwrap();
    let report = assert_found(&env, &[], T0 + 10, "object-hash-mismatch");
    let finding = &report["findings"][0];
    assert_eq!(
        (finding["file_index"].as_u64(), finding["seq_first"].as_u64(), finding["seq_last"].as_u64()),
        (Some(2), Some(800), Some(1199))
    );
}

#[test]
fn a_data_file_deleted() {
    let env = sealed();
    fs::remove_file(&env.objects("web", "data")[1]).unwrap();
    assert_found(&env, &[], T0 + 10, "missing-object");
}

#[test]
fn a_manifest_deleted() {
    let env = sealed();
    fs::remove_file(&env.objects("web", "manifests")[3]).unwrap();
    let report = assert_found(&env, &[], T0 + 10, "missing-manifest");
    // Its data file is now referenced by nothing.
    assert!(categories(&report).contains(&"unreferenced-object".to_owned()), "{report:#}");
}

#[test]
fn files_swapped() {
    let env = sealed();
    let manifests = env.objects("web", "manifests");
    let (a, b) = (fs::read(&manifests[1]).unwrap(), fs::read(&manifests[2]).unwrap());
    fs::write(&manifests[1], b).unwrap();
    fs::write(&manifests[2], a).unwrap();
    let report = assert_found(&env, &[], T0 + 10, "manifest-log-mismatch");
    for expected in ["chain-break", "seq-gap", "invalid-manifest"] {
        assert!(categories(&report).contains(&expected.to_owned()), "expected {expected}: {report:#}");
    }
}

#[test]
fn a_forged_file_and_manifest_inserted() {
    let env = sealed();
    // Forge file 2: other bytes, and a manifest that matches them exactly.
    let data = env.objects("web", "data");
    let manifests = env.objects("web", "manifests");
    let mut forged = fs::read(&data[2]).unwrap();
    forged[100] ^= 1;
    let sha = logseal_core::Hash::of(&forged).to_hex();
    fs::write(&data[2], &forged).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_slice(&fs::read(&manifests[2]).unwrap()).unwrap();
    manifest["data"]["sha256"] = sha.into();
    fs::write(&manifests[2], serde_json::to_vec(&manifest).unwrap()).unwrap();
    let (code, report) = env.verify(&[], T0 + 10);
    assert_eq!(code, 1);
    // The object now matches its (forged) manifest; only the signed log can tell.
    assert_eq!(categories(&report), vec!["manifest-log-mismatch".to_owned()], "{report:#}");
}

#[test]
fn an_object_with_no_manifest() {
    let env = sealed();
    let stray = env.store().join("v1/web/data/000000000002-0badc0de.parquet");
    fs::write(&stray, b"PAR1 not really").unwrap();
    fs::write(env.store().join("v1/web/notes.txt"), b"hello").unwrap();
    let report = assert_found(&env, &[], T0 + 10, "unreferenced-object");
    assert_eq!(report["findings"].as_array().unwrap().len(), 2, "{report:#}");
}

#[test]
fn the_tail_truncated() {
    let env = sealed();
    fs::remove_file(env.objects("web", "data").last().unwrap()).unwrap();
    fs::remove_file(env.objects("web", "manifests").last().unwrap()).unwrap();
    assert_found(&env, &[], T0 + 10, "tail-truncated");
}

#[test]
fn the_tail_truncated_together_with_its_checkpoints() {
    let env = sealed();
    let state = env.tmp.path().join("state.json");
    let (code, _) = env.verify(&["--state", state.to_str().unwrap()], T0 + 10);
    assert_eq!(code, 0);
    // Remove the newest file, its manifest, and every checkpoint that covers it.
    fs::remove_file(env.objects("web", "data").last().unwrap()).unwrap();
    fs::remove_file(env.objects("web", "manifests").last().unwrap()).unwrap();
    let checkpoints = env.objects("web", "checkpoints");
    for c in &checkpoints[checkpoints.len() - 2..] {
        fs::remove_file(c).unwrap();
    }
    // Without saved state: the newest remaining checkpoint promised another
    // within its heartbeat, and none came.
    assert_found(&env, &[], T0 + 3600, "stale");
    // With the auditor's saved state: a rollback, whatever the time.
    assert_found(&env, &["--state", state.to_str().unwrap()], T0 + 10, "state-mismatch");
}

#[test]
fn the_whole_log_rolled_back_forked_or_rewritten() {
    let env = sealed();
    let state = env.tmp.path().join("state.json");
    let snapshot = env.tmp.path().join("snapshot");
    copy_dir(&env.data, &snapshot);

    // The log grows; the auditor verifies and saves its state.
    let more = env.log_file("b.log", 800, 2);
    env.import("web", &more, T0 + 20);
    assert_eq!(env.verify(&["--state", state.to_str().unwrap()], T0 + 30).0, 0);
    assert!(state.exists());

    // Rollback: the store is put back to the earlier snapshot.
    let forked = env.tmp.path().join("forked");
    copy_dir(&snapshot, &forked);
    let rolled = Env { tmp: tempfile::tempdir().unwrap(), data: snapshot };
    assert_found(&rolled, &["--state", state.to_str().unwrap()], T0 + 30, "state-mismatch");
    assert_found(&rolled, &["--state", state.to_str().unwrap(), "--full"], T0 + 30, "state-mismatch");

    // Fork / rewritten history: from the snapshot, other records are sealed
    // with the same signing key; the result is self-consistent but is not
    // the log the auditor saw.
    let fork = Env { tmp: tempfile::tempdir().unwrap(), data: forked };
    let other = env.log_file("c.log", 800, 3);
    fork.import("web", &other, T0 + 20);
    let (code, report) = fork.verify(&[], T0 + 30);
    assert_eq!(code, 0, "the fork is internally consistent: {report:#}");
    assert_found(&fork, &["--state", state.to_str().unwrap()], T0 + 30, "state-mismatch");
    assert_found(&fork, &["--state", state.to_str().unwrap(), "--full"], T0 + 30, "state-mismatch");
}

#[test]
fn every_checkpoint_deleted() {
    let env = sealed();
    for c in env.objects("web", "checkpoints") {
        fs::remove_file(c).unwrap();
    }
    assert_found(&env, &[], T0 + 10, "unsigned-manifests");
}

#[test]
fn a_whole_stream_deleted() {
    let env = sealed();
    let other = env.log_file("b.log", 100, 9);
    env.import("api", &other, T0);
    let state = env.tmp.path().join("state.json");
    assert_eq!(env.verify(&["--state", state.to_str().unwrap()], T0 + 10).0, 0);
    fs::remove_dir_all(env.store().join("v1/api")).unwrap();
    // Without saved state nothing can tell that a stream existed; with it:
    assert_eq!(env.verify(&[], T0 + 10).0, 0);
    let report = assert_found(&env, &["--state", state.to_str().unwrap()], T0 + 10, "state-mismatch");
    assert_eq!(report["findings"][0]["stream"], "api", "{report:#}");
}

#[test]
fn a_checkpoint_forged_or_signed_with_another_key() {
    let env = sealed();
    let other = Env::new(); // same deployment name, another key
    let log = other.log_file("o.log", 500, 4);
    other.import("web", &log, T0);
    // Verified with the wrong public key: every checkpoint fails.
    let wrong = other.data.join("checkpoint.vkey");
    assert_found(&env, &["--pubkey", wrong.to_str().unwrap()], T0 + 10, "invalid-checkpoint");
    // One checkpoint replaced by one signed with another key.
    let theirs = other.objects("web", "checkpoints");
    let ours = env.objects("web", "checkpoints");
    fs::copy(&theirs[0], &ours[0]).unwrap();
    assert_found(&env, &[], T0 + 10, "invalid-checkpoint");
    // A checkpoint edited by hand.
    let mut text = fs::read_to_string(&ours[1]).unwrap();
    text = text.replacen("\n2\n", "\n3\n", 1);
    fs::write(&ours[1], text).unwrap();
    assert_found(&env, &[], T0 + 10, "invalid-checkpoint");
}

#[test]
fn logging_stopped() {
    let env = sealed();
    // The writer died without its final checkpoint (what a crash leaves) ...
    fs::remove_file(env.objects("web", "checkpoints").last().unwrap()).unwrap();
    // ... and only came back an hour later.
    let more = env.log_file("b.log", 100, 5);
    env.import("web", &more, T0 + 3600);
    let report = assert_found(&env, &[], T0 + 3700, "heartbeat-gap");
    assert_eq!(categories(&report), vec!["heartbeat-gap".to_owned()], "{report:#}");
}

#[test]
fn text_report_counts_categories_and_names_files() {
    let env = sealed();
    fs::remove_file(&env.objects("web", "data")[0]).unwrap();
    let out = run(&["verify", "--data-dir", env.dir()], T0 + 10);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("missing-object"), "{text}");
    assert!(text.contains("file 0 seq 0..=399"), "{text}");
    assert!(text.contains("INTEGRITY PROBLEMS"), "{text}");
    let _ = ok;
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    let status = std::process::Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(status.success());
}

#[test]
fn objects_planted_at_absurd_indices_are_findings_not_hangs() {
    let env = sealed();
    let checkpoints = env.objects("web", "checkpoints");
    fs::copy(&checkpoints[0], env.store().join("v1/web/checkpoints/999999999999.ckpt")).unwrap();
    let manifests = env.objects("web", "manifests");
    fs::copy(&manifests[0], env.store().join("v1/web/manifests/999999999998.json")).unwrap();
    let (code, report) = env.verify(&[], T0 + 10);
    assert_eq!(code, 1);
    let cats = categories(&report);
    for expected in ["missing-checkpoint", "missing-manifest", "invalid-manifest"] {
        assert!(cats.contains(&expected.to_owned()), "expected {expected}: {report:#}");
    }
    assert!(report["findings"].as_array().unwrap().len() < 20, "gaps are reported as ranges: {report:#}");
}

#[test]
fn files_verified_before_are_still_checked_incrementally() {
    let env = sealed();
    let state = env.tmp.path().join("state.json");
    assert_eq!(env.verify(&["--state", state.to_str().unwrap()], T0 + 10).0, 0);
    fs::remove_file(&env.objects("web", "data")[1]).unwrap();
    fs::remove_file(&env.objects("web", "manifests")[3]).unwrap();
    let cp = &env.objects("web", "checkpoints")[2];
    fs::remove_file(cp).unwrap();
    let report = assert_found(&env, &["--state", state.to_str().unwrap()], T0 + 10, "missing-object");
    for expected in ["missing-manifest", "missing-checkpoint"] {
        assert!(categories(&report).contains(&expected.to_owned()), "expected {expected}: {report:#}");
    }
}

#[test]
fn a_clock_that_jumps_shows() {
    let env = Env::new();
    let log = env.log_file("a.log", 500, 1);
    // Sealed "tomorrow", verified today: the timestamps lie in the future.
    env.import("web", &log, T0 + 86_400);
    assert_found(&env, &[], T0, "checkpoint-inconsistent");
    // Sealed again after the clock went back an hour.
    let more = env.log_file("b.log", 100, 2);
    env.import("web", &more, T0 + 86_400 - 3600);
    let report = assert_found(&env, &[], T0 + 86_400, "checkpoint-inconsistent");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("goes backwards")),
        "{report:#}"
    );
}
