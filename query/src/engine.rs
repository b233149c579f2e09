//! A search over a store: which files may match (manifests, by time
//! range), then those files scanned in parallel ([`crate::scan`]), batches
//! handed to the caller as they are found (not in file order).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;

use arrow_array::RecordBatch;
use logseal_core::layout::{self, KeyKind};
use logseal_core::manifest::Manifest;
use logseal_store::audit::list_streams;
use logseal_store::object::ObjectStore;
use parquet::encryption::decrypt::FileDecryptionProperties;

use crate::query::Query;
use crate::scan::{FileScanStats, SealedObject, scan_file};
use crate::{Error, Result};

/// The files a search will read.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Manifests of the files that may hold matching rows.
    pub files: Vec<Manifest>,
    /// Files considered (before pruning by time).
    pub files_total: usize,
}

/// Lists the manifests of `streams` (every stream when `None`) and keeps
/// those whose time ranges meet the query's.
pub fn plan(store: &dyn ObjectStore, streams: Option<&[String]>, query: &Query) -> Result<Plan> {
    let all;
    let streams = match streams {
        Some(s) => s,
        None => {
            all = list_streams(store)?;
            &all
        }
    };
    let mut plan = Plan { files: Vec::new(), files_total: 0 };
    for stream in streams {
        let prefix = format!("{}manifests/", layout::stream_prefix(stream));
        for meta in store.list(&prefix, None)? {
            if !matches!(layout::classify(stream, &meta.key), KeyKind::Manifest(_)) {
                continue;
            }
            plan.files_total += 1;
            let bytes = store.get(&meta.key)?;
            let manifest = Manifest::from_canonical_json(&bytes)
                .map_err(|e| Error::File { key: meta.key.clone(), message: e.to_string() })?;
            if query.may_match(&manifest) {
                plan.files.push(manifest);
            }
        }
    }
    Ok(plan)
}

/// What a search did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchStats {
    /// Files considered.
    pub files_total: usize,
    /// Files scanned after pruning.
    pub files_read: usize,
    /// Files finished so far.
    pub files_done: usize,
    /// Totals over the files scanned.
    pub scan: FileScanStats,
}

/// Runs `plan` for `query` on `threads` threads, handing batches of the
/// `columns` of matching rows to `sink` (on the calling thread) until it
/// returns false or the query's limit is reached.
pub fn search(
    store: &dyn ObjectStore,
    decryption: Arc<FileDecryptionProperties>,
    plan: &Plan,
    query: &Query,
    columns: &[&str],
    threads: usize,
    sink: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<SearchStats> {
    search_with_progress(store, decryption, plan, query, columns, threads, sink, &mut |_| {})
}

/// [`search`], calling `progress` (on the calling thread) with the totals
/// so far each time a file is done.
#[allow(clippy::too_many_arguments)]
pub fn search_with_progress(
    store: &dyn ObjectStore,
    decryption: Arc<FileDecryptionProperties>,
    plan: &Plan,
    query: &Query,
    columns: &[&str],
    threads: usize,
    sink: &mut dyn FnMut(RecordBatch) -> bool,
    progress: &mut dyn FnMut(&SearchStats),
) -> Result<SearchStats> {
    let stop = AtomicBool::new(false);
    let next = AtomicUsize::new(0);
    let mut stats = SearchStats { files_total: plan.files_total, files_read: plan.files.len(), ..Default::default() };
    let (tx, rx) = sync_channel::<Result<Message>>(threads.max(1) * 2);
    let mut failure = None;
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            let tx = tx.clone();
            let (stop, next, decryption) = (&stop, &next, &decryption);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some(manifest) = plan.files.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
                    let object = SealedObject {
                        store,
                        key: &manifest.data.key,
                        size: manifest.data.size,
                        decryption: Arc::clone(decryption),
                    };
                    let mut send = |batch: RecordBatch| {
                        !stop.load(Ordering::Relaxed) && tx.send(Ok(Message::Batch(batch))).is_ok()
                    };
                    let done = scan_file(&object, query, columns, &mut send).map(Message::Done);
                    if tx.send(done).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut rows = 0usize;
        for message in rx {
            match message {
                Ok(Message::Batch(batch)) if !stop.load(Ordering::Relaxed) => {
                    let batch = match query.limit {
                        Some(limit) if rows + batch.num_rows() >= limit => {
                            stop.store(true, Ordering::Relaxed);
                            batch.slice(0, limit - rows)
                        }
                        _ => batch,
                    };
                    rows += batch.num_rows();
                    if !sink(batch) {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                Ok(Message::Batch(_)) => {}
                Ok(Message::Done(file)) => {
                    stats.scan.add(&file);
                    stats.files_done += 1;
                    progress(&stats);
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    failure.get_or_insert(e);
                }
            }
        }
        stats.scan.rows = rows as u64;
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(stats),
    }
}

enum Message {
    Batch(RecordBatch),
    Done(FileScanStats),
}

impl FileScanStats {
    fn add(&mut self, other: &FileScanStats) {
        self.row_groups += other.row_groups;
        self.row_groups_read += other.row_groups_read;
        self.bytes_fetched += other.bytes_fetched;
        self.requests += other.requests;
    }
}
