//! The verifier's I/O: list a store, read manifests and checkpoints, hash
//! data objects (streaming, in parallel), optionally decrypt them, and hand
//! everything to [`logseal_core::verify`], which decides.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use logseal_core::Hash;
use logseal_core::checkpoint::LogVerifier;
use logseal_core::layout;
use logseal_core::verify::state::{AuditorState, TrustedStreamState};
use logseal_core::verify::stream::{AuditStats, StreamAudit};
use logseal_core::verify::{Category, Finding};
use sha2::{Digest, Sha256};

use crate::deep::check_file;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::KeyProvider;
use crate::keys::pme::PmeKeys;
use crate::object::{ObjectStore, ObjectVersion};

/// The largest manifest or checkpoint the verifier reads (real ones are a
/// few kilobytes; a signed note is at most 1 MB).
pub const MAX_SMALL_OBJECT: u64 = 1 << 20;

/// SHA-256 of everything `reader` yields, in 1 MiB reads; and the length.
pub fn sha256_reader(reader: &mut dyn Read) -> std::io::Result<(Hash, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((Hash(hasher.finalize().into()), total))
}

/// SHA-256 of a local file, streaming.
pub fn sha256_file(path: &std::path::Path) -> Result<Hash> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path.display(), &e))?;
    Ok(sha256_reader(&mut file).map_err(|e| Error::io(path.display(), &e))?.0)
}

/// What to verify and how.
#[derive(Debug, Clone)]
pub struct AuditRequest {
    /// Only this stream (all streams when `None`).
    pub stream: Option<String>,
    /// Decrypt and recompute everything (needs keys).
    pub deep: bool,
    /// Ignore saved state: re-read and re-hash everything.
    pub full: bool,
    /// Hashing threads.
    pub threads: usize,
    /// The current time (seconds), for staleness.
    pub now_secs: u64,
}

/// Progress as it happens, for a progress bar.
pub trait Progress: Sync {
    /// `bytes` more bytes were hashed or decrypted, of about `total`.
    fn advance(&self, bytes: u64, total: u64);
}

/// No progress display.
#[derive(Debug)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _: u64, _: u64) {}
}

/// One stream's result.
#[derive(Debug, serde::Serialize)]
pub struct StreamReport {
    /// The stream.
    pub stream: String,
    /// What was checked.
    pub stats: AuditStats,
    /// Records decrypted and recomputed (deep).
    pub deep_records: u64,
    /// Whether the run continued from saved state.
    pub incremental: bool,
}

/// The whole result.
#[derive(Debug, serde::Serialize)]
pub struct AuditReport {
    /// Per stream.
    pub streams: Vec<StreamReport>,
    /// Every problem found.
    pub findings: Vec<Finding>,
    /// The state to save (every stream's newest verified checkpoint).
    #[serde(skip)]
    pub new_state: AuditorState,
}

/// Every stream in the store.
pub fn list_streams(store: &dyn ObjectStore) -> Result<Vec<String>> {
    let mut streams: Vec<String> = store
        .list(layout::FORMAT_PREFIX, None)?
        .iter()
        .filter_map(|m| layout::stream_of(&m.key).map(str::to_owned))
        .collect();
    streams.dedup();
    Ok(streams)
}

/// Verifies the store.
pub fn audit(
    store: &dyn ObjectStore,
    mirror: Option<&dyn ObjectStore>,
    verifier: &LogVerifier,
    keys: Option<Arc<dyn KeyProvider>>,
    prior: Option<(AuditorState, BTreeMap<String, TrustedStreamState>)>,
    request: &AuditRequest,
    progress: &dyn Progress,
) -> Result<AuditReport> {
    if request.deep && keys.is_none() {
        return Err(Error::new(ErrorKind::InvalidInput, "deep verification needs the keys"));
    }
    let (mut new_state, trusted) = prior.unwrap_or_else(|| (AuditorState::new(verifier), BTreeMap::new()));
    // Streams in the store, and streams the auditor saw before: a stream
    // that vanished entirely is a finding too.
    let streams = match &request.stream {
        Some(s) => vec![s.clone()],
        None => {
            let mut streams = list_streams(store)?;
            streams.extend(new_state.streams.keys().cloned());
            // A stream that only the mirror still knows was removed.
            if let Some(mirror) = mirror {
                streams.extend(
                    list_streams(mirror).map_err(|e| e.context(format!("checkpoint mirror {}", mirror.describe())))?,
                );
            }
            streams.sort();
            streams.dedup();
            streams
        }
    };
    let pme = keys.clone().map(PmeKeys::new);
    let mut report = AuditReport { streams: Vec::new(), findings: Vec::new(), new_state: AuditorState::default() };
    for stream in streams {
        let listing = store.list(&layout::stream_prefix(&stream), None)?;
        if listing.is_empty() && request.stream.is_some() && !new_state.streams.contains_key(&stream) {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("stream {stream:?} has no objects in {}", store.describe()),
            ));
        }
        let prior = trusted.get(&stream).cloned();
        let incremental = prior.is_some() && !request.full;
        let mut audit =
            StreamAudit::new(&stream, verifier, listing.iter().map(|m| (m.key.clone(), m.size)), prior, request.full);
        let sizes: BTreeMap<&str, u64> = listing.iter().map(|m| (m.key.as_str(), m.size)).collect();
        // Manifests and checkpoints are small; a huge object under their
        // names is planted, and is not read into memory.
        let read_small = |key: &str| -> Result<Vec<u8>> {
            let size = sizes.get(key).copied().unwrap_or(0);
            if size > MAX_SMALL_OBJECT {
                return Err(Error::new(
                    ErrorKind::Malformed,
                    format!(
                        "object is {size} bytes, larger than any manifest or checkpoint ({MAX_SMALL_OBJECT} bytes at most)"
                    ),
                ));
            }
            store.get(key)
        };
        for (k, key) in audit.manifests_to_read() {
            match read_small(&key) {
                Ok(bytes) => audit.add_manifest(k, &bytes),
                Err(e) => audit.add_read_error(&key, &e.to_string()),
            }
        }
        let mut checkpoints_read = BTreeMap::new();
        for (n, key) in audit.checkpoints_to_read() {
            match read_small(&key) {
                Ok(bytes) => {
                    audit.add_checkpoint(n, &bytes);
                    checkpoints_read.insert(key, bytes);
                }
                Err(e) => audit.add_read_error(&key, &e.to_string()),
            }
        }
        let to_hash = audit.objects_to_hash();
        let total: u64 = to_hash.iter().map(|(_, s)| s).sum();
        for (key, result) in hash_objects(store, &to_hash, request.threads, total, progress) {
            match result {
                Ok((hash, size)) => audit.add_object_digest(&key, hash, size),
                Err(e) => audit.add_read_error(&key, &e.to_string()),
            }
        }
        let outcome = audit.finish(request.now_secs);
        let mut findings = outcome.findings;
        if let Some(versions) = store.list_versions(&layout::stream_prefix(&stream))? {
            findings.extend(version_findings(&stream, &versions));
        }
        if let Some(mirror) = mirror {
            let checkpoints = listing.iter().filter(|m| is_checkpoint(&stream, &m.key)).map(|m| m.key.as_str());
            findings.extend(mirror_findings(mirror, verifier, &stream, checkpoints, &checkpoints_read)?);
        }
        let mut deep_records = 0;
        if let (true, Some(keys), Some(pme)) = (request.deep, &keys, &pme) {
            // Files are independent: decrypt and recompute them in parallel.
            let checked = parallel(&outcome.intact_files, request.threads, |manifest| {
                let result = check_file(store, pme, &**keys, manifest);
                progress.advance(manifest.data.size, total);
                result
            });
            for (manifest, result) in outcome.intact_files.iter().zip(checked) {
                findings.extend(result?);
                deep_records += manifest.count;
            }
        }
        if findings.is_empty()
            && let Some(mut state) = outcome.state
        {
            state.verified_at =
                logseal_core::timefmt::format_rfc3339_utc(i64::try_from(request.now_secs).unwrap_or(0) * 1_000_000);
            new_state.streams.insert(stream.clone(), state);
        }
        report.findings.extend(findings);
        report.streams.push(StreamReport { stream, stats: outcome.stats, deep_records, incremental });
    }
    report.new_state = new_state;
    Ok(report)
}

fn is_checkpoint(stream: &str, key: &str) -> bool {
    matches!(layout::classify(stream, key), layout::KeyKind::Checkpoint(_))
}

/// What the checkpoint mirror shows against the store: checkpoints only
/// one of them holds, and checkpoints read in this run that differ from
/// the mirror's copy; and the mirror's own delete markers and overwrites.
/// `stored` are the store's checkpoint keys; `read` the bytes of those
/// read in this run (all of them, or the new ones with saved state).
fn mirror_findings<'a>(
    mirror: &dyn ObjectStore,
    verifier: &LogVerifier,
    stream: &str,
    stored: impl Iterator<Item = &'a str>,
    read: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<Finding>> {
    let prefix = layout::stream_prefix(stream);
    let in_mirror = |e: Error| e.context(format!("checkpoint mirror {}", mirror.describe()));
    let mirrored: BTreeSet<String> = mirror
        .list(&prefix, None)
        .map_err(in_mirror)?
        .into_iter()
        .map(|m| m.key)
        .filter(|k| is_checkpoint(stream, k))
        .collect();
    let stored: BTreeSet<&str> = stored.collect();
    let mut findings = Vec::new();
    for key in &stored {
        if !mirrored.contains(*key) {
            findings.push(
                Finding::new(
                    Category::MirrorMissing,
                    stream,
                    format!("{key} is not in the checkpoint mirror {}", mirror.describe()),
                )
                .object(key),
            );
        } else if let Some(bytes) = read.get(*key)
            && mirror.get(key).map_err(in_mirror)? != *bytes
        {
            findings.push(
                Finding::new(
                    Category::MirrorDisagrees,
                    stream,
                    format!("{key} differs from the checkpoint mirror's copy in {}", mirror.describe()),
                )
                .object(key),
            );
        }
    }
    for key in mirrored.iter().filter(|k| !stored.contains(k.as_str())) {
        let what = match mirror.get(key).map_err(in_mirror).map(|bytes| verifier.open(&bytes)) {
            Ok(Ok(c)) => format!(
                "a validly signed checkpoint of {} manifests, signed at {}",
                c.body.size,
                logseal_core::timefmt::format_rfc3339_utc(
                    i64::try_from(c.timestamp).unwrap_or(0).saturating_mul(1_000_000)
                )
            ),
            Ok(Err(e)) => format!("a checkpoint that does not verify ({e})"),
            Err(e) => format!("an object that could not be read ({e})"),
        };
        findings.push(
            Finding::new(
                Category::MirrorDisagrees,
                stream,
                format!("{key} is in the checkpoint mirror {} but not in the store: {what}", mirror.describe()),
            )
            .object(key),
        );
    }
    if let Some(versions) = mirror.list_versions(&prefix).map_err(in_mirror)? {
        for mut finding in version_findings(stream, &versions) {
            finding.message = format!("checkpoint mirror: {}", finding.message);
            findings.push(finding);
        }
    }
    Ok(findings)
}

/// What the versions under a stream show beyond its current objects: every
/// delete marker, and every key written more than once. logseal writes
/// each key exactly once, so either means someone else wrote or deleted.
fn version_findings(stream: &str, versions: &[ObjectVersion]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for group in versions.chunk_by(|a, b| a.key == b.key) {
        let key = &group[0].key;
        for marker in group.iter().filter(|v| v.delete_marker) {
            let hidden = if marker.latest { "the object is hidden" } else { "a later version was written over it" };
            findings.push(
                Finding::new(
                    Category::DeleteMarker,
                    stream,
                    format!(
                        "{key} was deleted (delete marker {}); {hidden}; earlier versions may remain",
                        marker.version_id
                    ),
                )
                .object(key),
            );
        }
        let data: Vec<&ObjectVersion> = group.iter().filter(|v| !v.delete_marker).collect();
        if data.len() > 1 {
            let ids: Vec<String> =
                data.iter().map(|v| format!("{}{}", v.version_id, if v.latest { " (current)" } else { "" })).collect();
            findings.push(
                Finding::new(
                    Category::SecondVersion,
                    stream,
                    format!("{key} has {} versions ({}); logseal writes every object once", data.len(), ids.join(", ")),
                )
                .object(key),
            );
        }
    }
    findings
}

/// Runs `work` on every item on `threads` threads; results in item order.
fn parallel<T: Sync, R: Send>(items: &[T], threads: usize, work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = work(item);
                    results.lock().expect("no panics while holding the lock").push((i, result));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("threads joined");
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Hashes objects on `threads` threads, streaming each.
fn hash_objects(
    store: &dyn ObjectStore,
    objects: &[(String, u64)],
    threads: usize,
    total: u64,
    progress: &dyn Progress,
) -> Vec<(String, Result<(Hash, u64)>)> {
    parallel(objects, threads, |(key, _)| {
        let result = store.open(key).and_then(|mut reader| {
            sha256_reader(&mut reader).map_err(|e| Error::io(format!("reading object {key:?}"), &e))
        });
        if let Ok((_, size)) = &result {
            progress.advance(*size, total);
        }
        (key.clone(), result)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(key: &str, id: &str, delete_marker: bool, latest: bool) -> ObjectVersion {
        ObjectVersion { key: key.into(), version_id: id.into(), delete_marker, latest, size: 1 }
    }

    #[test]
    fn delete_markers_and_second_versions_are_findings_single_versions_are_not() {
        let versions = [
            version("v1/s/data/0", "a", false, true),
            version("v1/s/data/1", "b", false, false),
            version("v1/s/data/1", "c", true, true),
            version("v1/s/manifest/0", "d", false, false),
            version("v1/s/manifest/0", "e", false, true),
        ];
        let findings = version_findings("s", &versions);
        let got: Vec<(Category, Option<&str>)> = findings.iter().map(|f| (f.category, f.object.as_deref())).collect();
        assert_eq!(
            got,
            vec![(Category::DeleteMarker, Some("v1/s/data/1")), (Category::SecondVersion, Some("v1/s/manifest/0"))]
        );
        assert!(findings[1].message.contains("e (current)"), "{}", findings[1].message);
        assert!(version_findings("s", &versions[..1]).is_empty());
    }
}
