//! `logseal prove` and `logseal verify-proof`: one record as evidence.

use std::path::Path;

use anyhow::{Context, Result};
use logseal_core::checkpoint::LogVerifier;
use logseal_core::proof::{ProofBundle, ProvenRecord};

use crate::config::DataDir;

/// Builds the bundle for record `seq` of `stream`.
pub fn prove(dir: &DataDir, stream: &str, seq: u64) -> Result<Vec<u8>> {
    let store = dir.store()?;
    let bundle = logseal_store::prove::prove(&*store, dir.keys()?, &dir.verifier()?, stream, seq)
        .with_context(|| format!("proving seq {seq} of stream {stream:?}"))?;
    Ok(bundle.to_bytes())
}

/// Reads and verifies a bundle. `Ok(Err(..))` is a bundle that does not
/// verify; `Err` is one that could not be checked at all.
pub fn verify_proof(path: &Path, verifier: &LogVerifier) -> Result<Result<ProvenRecord, String>> {
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).context("reading stdin")?;
        buf
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
    };
    Ok(ProofBundle::from_bytes(&bytes).and_then(|b| b.verify(verifier)).map_err(|e| e.to_string()))
}

/// What a verified bundle shows.
pub fn describe(proven: &ProvenRecord) -> String {
    let r = &proven.record;
    let line = String::from_utf8_lossy(&r.raw);
    format!(
        "valid: record seq {} of {} (file {}) is included in the signed checkpoint of {} files at {}\nsource: {}\nline: {}\n",
        r.seq,
        proven.checkpoint.body.origin,
        proven.manifest.file_index,
        proven.checkpoint.body.size,
        logseal_core::timefmt::format_rfc3339_utc(i64::try_from(proven.checkpoint.timestamp).unwrap_or(0) * 1_000_000),
        r.source,
        line
    )
}
