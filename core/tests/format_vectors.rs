//! The cross-implementation check of the sealed format v1: every value in
//! `docs/vectors/format-v1.json` was computed independently in Python by
//! `docs/vectors/generate.py` from `docs/FORMAT.md`; this test recomputes
//! each with the Rust implementation and compares. A disagreement is a bug
//! in one of the two implementations or in the specification, never a
//! reason to edit the vector file by hand.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};
use logseal_core::blind::IpTagger;
use logseal_core::canonical;
use logseal_core::checkpoint::{CheckpointBody, Heartbeat, LogSigner, LogVerifier};
use logseal_core::commit::{Committer, FileDigest, SaltKey, chain_genesis, chain_next, commitment, leaf_hash};
use logseal_core::derived::ip_prefix;
use logseal_core::manifest::Manifest;
use logseal_core::merkle::{MerkleTree, RootBuilder, verify_consistency, verify_inclusion};
use logseal_core::proof::{ProofBundle, RecordJson};
use logseal_core::render::{render_line, reproduces_raw};
use logseal_core::timefmt::format_rfc3339_utc;
use logseal_core::{ErrorKind, Hash, Record};
use serde_json::Value;

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors/format-v1.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).expect("vector file is JSON");
    assert_eq!(v["format"], "logseal-test-vectors");
    assert_eq!(v["version"], 1);
    v
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("expected an integer, got {v}"))
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(s(v)).expect("vector hex")
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(s(v)).expect("vector base64")
}

fn key32(v: &Value) -> [u8; 32] {
    bytes(v).try_into().expect("32 bytes")
}

fn hash(v: &Value) -> Hash {
    Hash::from_hex(s(v)).expect("64 hex digits")
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().expect("array").iter().map(hash).collect()
}

fn record(v: &Value) -> Record {
    let json: RecordJson = serde_json::from_value(v.clone()).expect("record in bundle JSON form");
    json.to_record().expect("valid record")
}

fn error_kind(name: &str) -> ErrorKind {
    match name {
        "malformed" => ErrorKind::Malformed,
        "bad_proof" => ErrorKind::BadProof,
        "unsupported_version" => ErrorKind::UnsupportedVersion,
        other => panic!("unknown error kind {other}"),
    }
}

#[test]
fn canonical_encoding() {
    let v = vectors();
    for case in v["canonical"].as_array().unwrap() {
        let r = record(&case["record"]);
        assert_eq!(hex::encode(canonical::encode(&r)), s(&case["canonical_hex"]), "{}", case["name"]);
    }
}

#[test]
fn salts_commitments_leaves_and_chain() {
    let v = vectors();
    for case in v["commitment"].as_array().unwrap() {
        let committer = Committer::new(&SaltKey::from_bytes(key32(&case["salt_key"])));
        let salt = committer.salt(u(&case["seq"]));
        assert_eq!(hex::encode(salt), s(&case["salt"]));
        let c = commitment(&salt, &bytes(&case["canonical_hex"]));
        assert_eq!(hex::encode(c), s(&case["commitment"]));
        let leaf = leaf_hash(&c);
        assert_eq!(leaf, hash(&case["leaf"]));
        let genesis = chain_genesis(s(&case["origin"]));
        assert_eq!(genesis, hash(&case["genesis"]));
        assert_eq!(chain_next(&genesis, &leaf), hash(&case["chain_next"]));
    }
}

#[test]
fn ip_tags() {
    let v = vectors();
    let tagger = IpTagger::new(&key32(&v["ip_tag"]["index_key"]));
    for case in v["ip_tag"]["cases"].as_array().unwrap() {
        let ip = s(&case["ip"]).parse().expect("address");
        assert_eq!(hex::encode(tagger.tag(ip)), s(&case["tag"]), "{}", case["note"]);
    }
}

#[test]
fn user_tags() {
    let v = vectors();
    let tagger = IpTagger::new(&key32(&v["user_tag"]["index_key"]));
    let cases = v["user_tag"]["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        assert_eq!(hex::encode(tagger.user_tag(s(&case["user_id"]))), s(&case["tag"]), "{}", case["note"]);
    }
    // The user id made of the bytes of 1.2.3.4 does not tag like that address.
    let spelled = cases.iter().find(|c| c["user_id"] == "\u{1}\u{2}\u{3}\u{4}").expect("the case");
    assert_ne!(s(&spelled["tag"]), hex::encode(tagger.tag("1.2.3.4".parse().unwrap())));
}

#[test]
fn client_prefixes() {
    let v = vectors();
    let cases = v["client_prefix"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        assert_eq!(ip_prefix(s(&case["ip"]).parse().expect("address")), s(&case["prefix"]), "{}", case["note"]);
    }
}

#[test]
fn rfc6962_roots_and_proofs() {
    let v = vectors();
    let m = &v["merkle"];
    let data: Vec<Vec<u8>> = m["leaf_data_hex"].as_array().unwrap().iter().map(bytes).collect();
    // The RFC 6962 leaf hash SHA-256(0x00 ‖ data) is what `Manifest::leaf_hash` computes.
    let leaves: Vec<Hash> = data.iter().map(|d| Manifest::leaf_hash(d)).collect();
    assert_eq!(leaves, hashes(&m["leaf_hashes"]));
    let tree = MerkleTree::from_leaves(leaves.iter().copied());
    for case in m["roots"].as_array().unwrap() {
        let n = u(&case["size"]);
        let mut builder = RootBuilder::new();
        leaves.iter().take(n as usize).for_each(|l| builder.push(*l));
        assert_eq!(builder.root(), hash(&case["root"]), "streaming root of {n}");
        assert_eq!(tree.root_at(n).unwrap(), hash(&case["root"]), "tree root of {n}");
    }
    let root_at = |n: u64| tree.root_at(n).unwrap();
    for case in m["inclusion"].as_array().unwrap() {
        let (i, n) = (u(&case["index"]), u(&case["size"]));
        let expected = hashes(&case["proof"]);
        assert_eq!(tree.inclusion_proof(i, n).unwrap(), expected, "inclusion {i} in {n}");
        let leaf = leaves[i as usize];
        assert!(verify_inclusion(i, n, leaf.as_bytes(), &expected, root_at(n).as_bytes()).is_ok());
        let mut extra = expected.clone();
        extra.push(leaf);
        assert!(verify_inclusion(i, n, leaf.as_bytes(), &extra, root_at(n).as_bytes()).is_err());
    }
    for case in m["consistency"].as_array().unwrap() {
        let (old, new) = (u(&case["old"]), u(&case["new"]));
        let expected = hashes(&case["proof"]);
        assert_eq!(tree.consistency_proof(old, new).unwrap(), expected, "consistency {old} to {new}");
        assert!(
            verify_consistency(old, new, root_at(old).as_bytes(), root_at(new).as_bytes(), &expected).is_ok(),
            "consistency {old} to {new}"
        );
    }
}

#[test]
fn rendering() {
    let v = vectors();
    for case in v["render"].as_array().unwrap() {
        let r = record(&case["record"]);
        let expected = (!case["line"].is_null()).then(|| b64(&case["line"]));
        assert_eq!(render_line(&r), expected, "{}", case["why"]);
    }
}

fn rfc3339_range(v: &Value) -> Option<(String, String)> {
    (!v.is_null()).then(|| (s(&v["min"]).to_owned(), s(&v["max"]).to_owned()))
}

#[test]
fn stream_files_and_manifests() {
    let v = vectors();
    let st = &v["stream"];
    let origin = s(&st["origin"]);
    assert_eq!(chain_genesis(origin), hash(&st["genesis"]));
    let mut chain = chain_genesis(origin);
    let mut manifest_leaves = Vec::new();
    for file in st["files"].as_array().unwrap() {
        assert_eq!(hash(&file["chain_in"]), chain, "chain_in is the previous chain_out");
        let key = SaltKey::from_bytes(key32(&file["salt_key"]));
        let committer = Committer::new(&key);
        let mut digest = FileDigest::new(&key, chain);
        let (mut raw_stored, mut parse_errors, mut event, mut received) = (0, 0, Vec::new(), Vec::new());
        let mut scratch = Vec::new();
        for case in file["records"].as_array().unwrap() {
            let r = record(&case["record"]);
            assert_eq!(hex::encode(canonical::encode(&r)), s(&case["canonical_hex"]));
            assert_eq!(hex::encode(committer.salt(r.seq)), s(&case["salt"]));
            assert_eq!(digest.push(&r), Ok(hash(&case["leaf"])), "leaf of seq {}", r.seq);
            let stored = !reproduces_raw(&r, &mut scratch);
            assert_eq!(stored, case["raw_stored"].as_bool().unwrap(), "raw stored for seq {}", r.seq);
            raw_stored += u64::from(stored);
            parse_errors += u64::from(r.parse_error.is_some());
            event.extend(r.time.map(|t| t.utc_micros));
            received.push(r.received_at);
        }
        assert_eq!(digest.merkle_root(), hash(&file["merkle_root"]));
        assert_eq!(digest.chain_out(), hash(&file["chain_out"]));
        chain = digest.chain_out();

        let mbytes = s(&file["manifest"]).as_bytes();
        let m = Manifest::from_canonical_json(mbytes).expect("manifest vector is canonical");
        assert_eq!(m.to_canonical_json(), mbytes);
        assert_eq!(Manifest::leaf_hash(mbytes), hash(&file["manifest_leaf"]));
        assert_eq!(m.file_index, u(&file["file_index"]));
        assert_eq!((m.origin.as_str(), m.stream.as_str()), (origin, s(&st["stream"])));
        assert_eq!((m.merkle_root, m.chain_in, m.chain_out), (digest.merkle_root(), hash(&file["chain_in"]), chain));
        assert_eq!((m.count, m.seq_first), (digest.count(), digest.seq_first().unwrap()));
        assert_eq!(m.seq_last, m.seq_first + m.count - 1);
        assert_eq!((m.raw_stored, m.parse_errors), (raw_stored, parse_errors));
        let range = |xs: &[i64]| {
            (!xs.is_empty())
                .then(|| (format_rfc3339_utc(*xs.iter().min().unwrap()), format_rfc3339_utc(*xs.iter().max().unwrap())))
        };
        let manifest_json: Value = serde_json::from_slice(mbytes).unwrap();
        assert_eq!(range(&event), rfc3339_range(&manifest_json["event_time"]));
        assert_eq!(range(&received), rfc3339_range(&manifest_json["received_at"]));
        manifest_leaves.push(Manifest::leaf_hash(mbytes));
    }
    let log = MerkleTree::from_leaves(manifest_leaves.iter().copied());
    assert_eq!(log.root(), hash(&st["manifest_log_root"]));
    let proof = hashes(&st["consistency_0_to_1"]);
    assert_eq!(log.consistency_proof(1, 2).unwrap(), proof);
    assert!(verify_consistency(1, 2, log.root_at(1).unwrap().as_bytes(), log.root().as_bytes(), &proof).is_ok());
}

#[test]
fn manifest_canonical_form() {
    let v = vectors();
    for case in v["manifest"]["canonical"].as_array().unwrap() {
        let b = s(&case["bytes"]).as_bytes();
        let m = Manifest::from_canonical_json(b).unwrap_or_else(|e| panic!("{}: {e}", case["why"]));
        assert_eq!(m.to_canonical_json(), b, "{}", case["why"]);
        assert_eq!(Manifest::leaf_hash(b), hash(&case["leaf"]), "{}", case["why"]);
    }
    for case in v["manifest"]["refused"].as_array().unwrap() {
        let err = Manifest::from_canonical_json(s(&case["bytes"]).as_bytes())
            .expect_err(&format!("refused: {}", case["why"]));
        assert_eq!(err.kind(), error_kind(s(&case["error_kind"])), "{}: {err}", case["why"]);
    }
}

/// The note's text (up to the blank line) and its signature lines decoded
/// as `(key ID, rest of the signature)`.
fn split_note(note: &str) -> (&str, Vec<(u32, Vec<u8>)>) {
    let (text, sigs) = note.split_once("\n\n").expect("a blank line ends the text");
    let sigs = sigs
        .lines()
        .map(|line| {
            let (_name, sig) = line.strip_prefix("\u{2014} ").unwrap().rsplit_once(' ').unwrap();
            let sig = STANDARD.decode(sig).unwrap();
            (u32::from_be_bytes(sig[..4].try_into().unwrap()), sig[4..].to_vec())
        })
        .collect();
    (text, sigs)
}

#[test]
fn checkpoints_keys_and_cosignatures() {
    let v = vectors();
    let st = &v["stream"];
    let deployment = s(&st["deployment"]);
    let signer = LogSigner::from_seed(deployment, key32(&st["signing_seed"])).unwrap();
    assert_eq!(signer.to_skey().unwrap(), s(&st["skey"]));
    assert_eq!(signer.verifier().to_vkey(), s(&st["vkey"]));
    let verifier = LogVerifier::from_vkey(s(&st["vkey"])).unwrap();
    let public = VerifyingKey::from_bytes(&key32(&st["public_key"])).unwrap();
    let plain_id = u32::from_str_radix(s(&st["key_id_ed25519"]), 16).unwrap();
    let cosig_id = u32::from_str_radix(s(&st["key_id_cosignature_v1"]), 16).unwrap();
    for cp in st["checkpoints"].as_array().unwrap() {
        let heartbeat = match cp["heartbeat"].as_u64() {
            Some(h) => Heartbeat::Every(h),
            None => Heartbeat::Paused,
        };
        let body = CheckpointBody {
            origin: s(&st["origin"]).to_owned(),
            size: u(&cp["size"]),
            root: hash(&cp["root"]),
            heartbeat,
        };
        let timestamp = u(&cp["timestamp"]);
        let note = s(&cp["note"]);
        assert_eq!(
            String::from_utf8(signer.sign(&body, timestamp).unwrap()).unwrap(),
            note,
            "checkpoint {}",
            cp["number"]
        );
        let opened = verifier.open(note.as_bytes()).unwrap();
        assert_eq!((opened.body, opened.timestamp), (body, timestamp));
        assert_eq!(logseal_core::layout::checkpoint_key(s(&st["stream"]), u(&cp["number"])), s(&cp["key"]));

        // The signed messages, checked with the bare Ed25519 key.
        let (text, sigs) = split_note(note);
        let body_bytes = format!("{text}\n");
        assert_eq!(body_bytes, s(&cp["body"]));
        assert_eq!(sigs.len(), 2);
        assert_eq!(sigs[0].0, plain_id);
        let plain = Signature::from_slice(&sigs[0].1).unwrap();
        assert!(public.verify_strict(body_bytes.as_bytes(), &plain).is_ok());
        assert_eq!(sigs[1].0, cosig_id);
        let (ts, sig) = sigs[1].1.split_at(8);
        assert_eq!(u64::from_be_bytes(ts.try_into().unwrap()), timestamp);
        let message = s(&cp["cosignature_message"]);
        assert_eq!(message, format!("cosignature/v1\ntime {timestamp}\n{body_bytes}"));
        assert!(public.verify_strict(message.as_bytes(), &Signature::from_slice(sig).unwrap()).is_ok());
    }
}

#[test]
fn evidence_bundles() {
    let v = vectors();
    let verifier = LogVerifier::from_vkey(s(&v["stream"]["vkey"])).unwrap();
    let valid = &v["proof_bundle"]["valid"];
    let b = b64(&valid["bytes"]);
    let bundle = ProofBundle::from_bytes(&b).expect("valid bundle parses");
    assert_eq!(bundle.to_bytes(), b);
    let proven = bundle.verify(&verifier).expect("valid bundle verifies");
    assert_eq!(proven.record.seq, u(&valid["seq"]));
    assert_eq!(proven.manifest.file_index, u(&valid["file_index"]));
    assert_eq!(proven.checkpoint.body.size, u(&valid["checkpoint_size"]));
    assert_eq!(proven.checkpoint.timestamp, u(&valid["timestamp"]));
    for case in v["proof_bundle"]["invalid"].as_array().unwrap() {
        let err = ProofBundle::from_bytes(&b64(&case["bytes"]))
            .and_then(|b| b.verify(&verifier))
            .expect_err(&format!("refused: {}", case["why"]));
        assert_eq!(err.kind(), error_kind(s(&case["error_kind"])), "{}: {err}", case["why"]);
    }
}
