//! Runs every RFC 6962 proof vector of transparency-dev/merkle (vendored
//! under `tests/vectors/merkle`, Apache-2.0): each happy path must verify,
//! each must-fail vector must fail.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use logseal_core::merkle::{verify_consistency, verify_inclusion};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionVector {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyVector {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

fn b64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).expect("vector base64")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("vector dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn vectors(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/merkle").join(kind);
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    files.sort();
    files
}

#[test]
fn every_inclusion_vector() {
    let files = vectors("inclusion");
    assert!(files.len() > 50, "vectors missing: found {}", files.len());
    let (mut pass, mut fail) = (0, 0);
    for file in files {
        let v: InclusionVector = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let proof: Vec<Vec<u8>> = v.proof.unwrap_or_default().iter().map(|p| b64(p)).collect();
        let result = verify_inclusion(v.leaf_idx, v.tree_size, &b64(&v.leaf_hash), &proof, &b64(&v.root));
        assert_eq!(result.is_err(), v.want_err, "{}: {} gave {result:?}", file.display(), v.desc);
        if v.want_err { fail += 1 } else { pass += 1 }
    }
    assert!(pass > 0 && fail > 0);
}

#[test]
fn every_consistency_vector() {
    let files = vectors("consistency");
    assert!(files.len() > 50, "vectors missing: found {}", files.len());
    let (mut pass, mut fail) = (0, 0);
    for file in files {
        let v: ConsistencyVector = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let proof: Vec<Vec<u8>> = v.proof.unwrap_or_default().iter().map(|p| b64(p)).collect();
        let result = verify_consistency(v.size1, v.size2, &b64(&v.root1), &b64(&v.root2), &proof);
        assert_eq!(result.is_err(), v.want_err, "{}: {} gave {result:?}", file.display(), v.desc);
        if v.want_err { fail += 1 } else { pass += 1 }
    }
    assert!(pass > 0 && fail > 0);
}
