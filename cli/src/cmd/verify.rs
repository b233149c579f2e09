//! `logseal verify`: the auditor's check of a whole store, as text (counts
//! per category, then every finding) or JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use logseal_core::checkpoint::LogVerifier;
use logseal_core::verify::state::AuditorState;
use logseal_store::audit::{AuditReport, AuditRequest, Progress as AuditProgress, audit};
use logseal_store::keys::KeyProvider;
use logseal_store::object::ObjectStore;

use super::now_micros;
use crate::progress::Progress;

/// What to verify.
pub struct VerifyArgs {
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// The checkpoint mirror, to cross-check.
    pub mirror: Option<Arc<dyn ObjectStore>>,
    /// The public key.
    pub verifier: LogVerifier,
    /// Keys, for `--deep`.
    pub keys: Option<Arc<dyn KeyProvider>>,
    /// Saved state.
    pub state: Option<PathBuf>,
    /// Re-read everything despite saved state.
    pub full: bool,
    /// One stream only.
    pub stream: Option<String>,
    /// Hashing threads.
    pub threads: usize,
    /// Show progress.
    pub progress: bool,
}

/// The outcome, for the exit code.
#[derive(Debug)]
pub struct Verified {
    /// The report.
    pub report: AuditReport,
    /// Whether the state file was updated.
    pub state_saved: Option<PathBuf>,
}

struct BarProgress(Progress);

impl AuditProgress for BarProgress {
    fn advance(&self, bytes: u64, _total: u64) {
        self.0.inc(bytes);
    }
}

/// Runs the verification.
pub fn run(args: VerifyArgs) -> Result<Verified> {
    let prior = match &args.state {
        Some(path) if path.exists() => {
            let bytes = std::fs::read(path).with_context(|| format!("reading state file {}", path.display()))?;
            Some(AuditorState::load(&bytes, &args.verifier).with_context(|| format!("state file {}", path.display()))?)
        }
        _ => None,
    };
    let request = AuditRequest {
        stream: args.stream.clone(),
        deep: args.keys.is_some(),
        full: args.full,
        threads: args.threads.max(1),
        now_secs: u64::try_from(now_micros() / 1_000_000).unwrap_or(0),
    };
    let progress = BarProgress(Progress::bytes(args.progress, None, "verifying"));
    let report =
        audit(&*args.store, args.mirror.as_deref(), &args.verifier, args.keys.clone(), prior, &request, &progress)?;
    progress.0.finish();
    let mut state_saved = None;
    if let Some(path) = &args.state
        && report.findings.is_empty()
    {
        save_state(path, &report.new_state)?;
        state_saved = Some(path.clone());
    }
    Ok(Verified { report, state_saved })
}

/// Writes the state file atomically (temporary file, fsync, rename).
fn save_state(path: &Path, state: &AuditorState) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(&state.to_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

fn counts(report: &AuditReport) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for f in &report.findings {
        *counts.entry(f.category.as_str()).or_default() += 1;
    }
    counts
}

/// The JSON report.
pub fn to_json(v: &Verified) -> serde_json::Value {
    serde_json::json!({
        "result": if v.report.findings.is_empty() { "intact" } else { "problems" },
        "streams": v.report.streams,
        "counts": counts(&v.report),
        "findings": v.report.findings,
        "state_saved": v.state_saved,
    })
}

/// The text report.
pub fn to_text(v: &Verified) -> String {
    use std::fmt::Write;
    let r = &v.report;
    let mut out = String::new();
    for s in &r.streams {
        let st = &s.stats;
        let _ = writeln!(
            out,
            "stream {}: {} manifests and {} records checked{}, {} checkpoint signatures verified, {} data objects hashed ({} bytes){}",
            s.stream,
            st.manifests,
            st.records,
            if s.incremental { " (new since the saved state)" } else { "" },
            st.checkpoints,
            st.objects_hashed,
            st.bytes_hashed,
            if s.deep_records > 0 {
                format!(", {} records decrypted and recomputed", s.deep_records)
            } else {
                String::new()
            }
        );
    }
    if r.findings.is_empty() {
        let _ = writeln!(out, "\nresult: intact ({} streams, no findings)", r.streams.len());
    } else {
        let _ = writeln!(out, "\nfindings by category:");
        for (category, n) in counts(r) {
            let _ = writeln!(out, "  {category:<24} {n}");
        }
        let _ = writeln!(out, "\nfindings:");
        for f in &r.findings {
            let _ = writeln!(out, "  {f}");
        }
        let _ = writeln!(
            out,
            "\nresult: INTEGRITY PROBLEMS ({} findings in {} streams)",
            r.findings.len(),
            r.streams.len()
        );
    }
    match &v.state_saved {
        Some(path) => {
            let _ = writeln!(out, "state saved to {}", path.display());
        }
        None if !r.findings.is_empty() => {
            let _ = writeln!(out, "state not updated (there were findings)");
        }
        None => {}
    }
    out
}
