//! Evidence bundles: `logseal prove` output verifies offline with only the
//! public key; any changed byte, and any extra, missing or altered proof
//! term, makes it fail.

use logseal_core::checkpoint::LogVerifier;
use logseal_core::proof::ProofBundle;

use crate::common::{Env, T0, ok, run};

fn proven(env: &Env, seq: u64) -> Vec<u8> {
    let out = run(&["prove", "--data-dir", env.dir(), "--stream", "web", "--seq", &seq.to_string()], T0 + 5);
    ok(&out);
    out.stdout
}

fn verifier(env: &Env) -> LogVerifier {
    LogVerifier::from_vkey(&std::fs::read_to_string(env.data.join("checkpoint.vkey")).unwrap()).unwrap()
}

fn sealed() -> Env {
    let env = Env::new();
    let log = env.log_file("a.log", 1500, 11);
    env.import("web", &log, T0);
    env
}

#[test]
fn a_bundle_verifies_offline_and_shows_the_line() {
    let env = sealed();
    let bundle = proven(&env, 777);
    let path = env.tmp.path().join("proof.json");
    std::fs::write(&path, &bundle).unwrap();
    // Another directory, only the public key: nothing else is needed.
    let auditor = tempfile::tempdir().unwrap();
    let vkey = auditor.path().join("log.vkey");
    std::fs::copy(env.data.join("checkpoint.vkey"), &vkey).unwrap();
    let out = run(&["verify-proof", path.to_str().unwrap(), "--pubkey", vkey.to_str().unwrap()], T0);
    let text = ok(&out);
    assert!(text.starts_with("valid: record seq 777 of logseal.test/e2e/web (file 1)"), "{text}");
    // The disclosed line is the original line 777 of the file.
    let line = std::fs::read(env.tmp.path().join("a.log")).unwrap().split(|b| *b == b'\n').nth(777).unwrap().to_vec();
    let parsed = ProofBundle::from_bytes(&bundle).unwrap().verify(&verifier(&env)).unwrap();
    assert_eq!(parsed.record.raw, line);
}

#[test]
fn malformed_lines_are_provable_too() {
    let env = Env::new();
    let path = env.tmp.path().join("bad.log");
    std::fs::write(&path, b"ok? no\n\xff\xfe invalid utf-8 \x00 nul\r\n").unwrap();
    env.import("web", &path, T0);
    for seq in [0, 1] {
        let bundle = ProofBundle::from_bytes(&proven(&env, seq)).unwrap();
        let proven = bundle.verify(&verifier(&env)).unwrap();
        assert!(proven.record.parse_error.is_some());
    }
    let proven = ProofBundle::from_bytes(&proven(&env, 1)).unwrap().verify(&verifier(&env)).unwrap();
    assert_eq!(proven.record.raw, b"\xff\xfe invalid utf-8 \x00 nul\r");
}

#[test]
fn every_changed_byte_fails() {
    let env = sealed();
    let bundle = proven(&env, 401);
    let verifier = verifier(&env);
    assert!(ProofBundle::from_bytes(&bundle).unwrap().verify(&verifier).is_ok());
    for i in 0..bundle.len() {
        for flip in [0x01u8, 0x20] {
            let mut bad = bundle.clone();
            bad[i] ^= flip;
            let result = ProofBundle::from_bytes(&bad).and_then(|b| b.verify(&verifier));
            assert!(result.is_err(), "byte {i} ^ {flip:#x} ({:?}) still verifies", bundle[i] as char);
        }
    }
}

#[test]
fn extra_missing_or_altered_terms_fail() {
    let env = sealed();
    let verifier = verifier(&env);
    let good = ProofBundle::from_bytes(&proven(&env, 1234)).unwrap();
    assert!(!good.record_proof.is_empty() && !good.manifest_proof.is_empty());
    let mut variants: Vec<(&str, ProofBundle)> = Vec::new();
    let mut b = good.clone();
    b.record_proof.push(b.record_proof[0]);
    variants.push(("extra record term", b));
    let mut b = good.clone();
    b.record_proof.pop();
    variants.push(("missing record term", b));
    let mut b = good.clone();
    b.record_proof[0].0[3] ^= 1;
    variants.push(("altered record term", b));
    let mut b = good.clone();
    b.manifest_proof.insert(0, b.manifest_proof[0]);
    variants.push(("extra manifest term", b));
    let mut b = good.clone();
    b.manifest_proof.remove(0);
    variants.push(("missing manifest term", b));
    let mut b = good.clone();
    b.salt.0[0] ^= 1;
    variants.push(("other salt", b));
    let mut b = good.clone();
    b.record_index += 1;
    variants.push(("other index", b));
    let mut b = good.clone();
    b.record.seq += 1;
    b.record_index += 1;
    variants.push(("other record", b));
    for (what, bundle) in variants {
        // Re-encoded canonically, so only the cryptographic checks can refuse it.
        let bytes = bundle.to_bytes();
        let result = ProofBundle::from_bytes(&bytes).and_then(|b| b.verify(&verifier));
        assert!(result.is_err(), "{what} still verifies");
    }
}

#[test]
fn a_bundle_against_another_key_or_garbage_is_invalid() {
    let env = sealed();
    let other = Env::new();
    let path = env.tmp.path().join("proof.json");
    std::fs::write(&path, proven(&env, 3)).unwrap();
    let out = run(
        &["verify-proof", path.to_str().unwrap(), "--pubkey", other.data.join("checkpoint.vkey").to_str().unwrap()],
        T0,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("INVALID"), "{out:?}");
    std::fs::write(&path, b"{\"not\": \"a bundle\"}\n").unwrap();
    let out = run(
        &["verify-proof", path.to_str().unwrap(), "--pubkey", env.data.join("checkpoint.vkey").to_str().unwrap()],
        T0,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = run(
        &["verify-proof", "/nonexistent/proof.json", "--pubkey", env.data.join("checkpoint.vkey").to_str().unwrap()],
        T0,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn proving_a_seq_that_does_not_exist_is_a_clear_error() {
    let env = sealed();
    let out = run(&["prove", "--data-dir", env.dir(), "--stream", "web", "--seq", "99999"], T0);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no sealed file of stream \"web\" holds seq 99999"),
        "{out:?}"
    );
}
