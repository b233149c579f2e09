//! One stream of the agent, on two threads of its own:
//!
//! - the **WAL thread** takes submitted records, assigns sequence numbers,
//!   appends them to the write-ahead log and `fdatasync`s a whole group at
//!   once (group commit), and only then acknowledges each submission;
//! - the **sealer thread** pushes the durable records into the stream's
//!   open file, seals it when it is full or old enough, stores it (retrying
//!   through store outages), writes heartbeat checkpoints while idle, and
//!   releases the WAL segments a stored file covers.
//!
//! Both are plain threads: fsync, hashing, Parquet encoding and AES stay
//! off the async runtime.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use logseal_core::{Micros, Record};
use logseal_store::sealer::{OpenFile, StreamSealer};
use serde::Serialize;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, ErrorKind, Result};
use crate::wal::{Wal, WalOptions};

/// When a file is sealed.
#[derive(Debug, Clone)]
pub struct SealPolicy {
    /// Records per file.
    pub max_records: usize,
    /// Bytes of raw lines per file.
    pub max_bytes: usize,
    /// Age of the oldest record in the open file.
    pub max_age: Duration,
}

/// How a shard runs.
#[derive(Debug, Clone)]
pub struct ShardOptions {
    /// The stream this shard writes.
    pub stream: String,
    /// Its WAL directory.
    pub wal_dir: PathBuf,
    /// WAL sizes.
    pub wal: WalOptions,
    /// How long the first submission of a group waits for others to share
    /// its fsync.
    pub group_commit: Duration,
    /// The most bytes of lines in one group.
    pub max_group_bytes: usize,
    /// Above this many WAL bytes, no new submission is taken.
    pub wal_budget_bytes: u64,
    /// When files are sealed.
    pub seal: SealPolicy,
    /// Submissions waiting for the WAL thread.
    pub queue: usize,
}

/// The acknowledgement of a durable submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// The stream.
    pub stream: String,
    /// The first sequence number given.
    pub first_seq: u64,
    /// The last one.
    pub last_seq: u64,
    /// Records accepted.
    pub accepted: u64,
}

/// How long the WAL thread waits for the sealer thread to take durable
/// records before the shard reports backpressure. Longer than sealing a
/// large file takes, so that only a store that hangs, or keeps failing
/// inside the S3 client's own retries, turns new input away (HTTP 503)
/// rather than leaving it waiting for the store.
pub const SEALER_STALL: Duration = Duration::from_secs(5);

/// What a shard is doing, for backpressure decisions and metrics.
#[derive(Debug, Default)]
pub struct ShardStatus {
    /// The WAL is over its budget: stop reading, answer 503.
    pub wal_full: AtomicBool,
    /// Storing sealed files keeps failing.
    pub store_failing: AtomicBool,
    /// Since when (milliseconds on [`monotonic_ms`], 0: not waiting) the
    /// WAL thread has been waiting for the sealer thread to take durable
    /// records; longer than [`SEALER_STALL`] means a store call hangs or
    /// is still being retried.
    pub handoff_waiting_since_ms: AtomicU64,
    /// The WAL cannot be written (disk full).
    pub wal_failing: AtomicBool,
    /// Bytes in the WAL.
    pub wal_bytes: AtomicU64,
    /// Records made durable.
    pub records_durable: AtomicU64,
    /// Files sealed and stored.
    pub files_sealed: AtomicU64,
    /// Failed store attempts.
    pub store_failures: AtomicU64,
    /// Microseconds spent applying backpressure (WAL over budget, store failing).
    pub backpressure_micros: AtomicU64,
}

impl ShardStatus {
    /// Whether new input should wait.
    pub fn under_pressure(&self) -> bool {
        self.wal_full.load(Ordering::Relaxed)
            || self.store_failing.load(Ordering::Relaxed)
            || self.sealer_stalled()
            || self.wal_failing.load(Ordering::Relaxed)
    }

    /// Whether the sealer thread has taken no records for [`SEALER_STALL`].
    pub fn sealer_stalled(&self) -> bool {
        let since = self.handoff_waiting_since_ms.load(Ordering::Relaxed);
        since != 0 && monotonic_ms().saturating_sub(since) >= SEALER_STALL.as_millis() as u64
    }
}

/// Milliseconds since the first call, plus one (never 0), on a clock that
/// does not jump.
pub fn monotonic_ms() -> u64 {
    static START: LazyLock<Instant> = LazyLock::new(Instant::now);
    START.elapsed().as_millis() as u64 + 1
}

struct Submission {
    records: Vec<Record>,
    reply: oneshot::Sender<Result<Receipt>>,
}

/// A running shard.
pub struct Shard {
    stream: String,
    submissions: Mutex<Option<mpsc::Sender<Submission>>>,
    status: Arc<ShardStatus>,
    wal_thread: Mutex<Option<JoinHandle<()>>>,
    seal_thread: Mutex<Option<JoinHandle<Result<()>>>>,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Shard({})", self.stream)
    }
}

impl Shard {
    /// Replays the WAL against the store and starts both threads.
    pub fn start(runtime: Handle, sealer: StreamSealer, options: ShardOptions, clock: fn() -> Micros) -> Result<Shard> {
        let start_seq = sealer.next_seq();
        let (mut wal, replay) = Wal::open(&options.wal_dir, options.wal.clone(), start_seq)?;
        if replay.torn_bytes > 0 {
            tracing::warn!(stream = %options.stream, bytes = replay.torn_bytes, "cut a torn last write from the WAL (never acknowledged)");
        }
        let pending: Vec<Record> = replay.records.into_iter().filter(|r| r.seq >= start_seq).collect();
        if let Some(first) = pending.first()
            && first.seq != start_seq
        {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "stream {}: the store continues at seq {start_seq} but the WAL at {}: records {start_seq}..{} are in neither",
                    options.stream, first.seq, first.seq
                ),
            ));
        }
        if start_seq > 0 {
            wal.release_through(start_seq - 1)?.delete()?;
        }
        wal.skip_to(start_seq)?;
        if !pending.is_empty() {
            tracing::info!(stream = %options.stream, records = pending.len(), "replaying records from the WAL");
        }
        let status = Arc::new(ShardStatus::default());
        status.wal_bytes.store(wal.bytes(), Ordering::Relaxed);
        let wal = Arc::new(Mutex::new(wal));
        let (submit_tx, submit_rx) = mpsc::channel(options.queue.max(1));
        // Few groups between durability and sealing: when sealing falls
        // behind, the WAL thread waits (backpressure) instead of piling
        // records up in memory.
        let (seal_tx, seal_rx) = sync_channel::<Vec<Record>>(4);

        let wal_thread = {
            let (wal, status, options) = (Arc::clone(&wal), Arc::clone(&status), options.clone());
            std::thread::Builder::new()
                .name(format!("wal-{}", options.stream))
                .spawn(move || wal_loop(&runtime, submit_rx, &wal, &seal_tx, &status, &options))
                .map_err(|e| Error::io("starting the WAL thread", &e))?
        };
        let seal_thread = {
            let (status, options) = (Arc::clone(&status), options.clone());
            std::thread::Builder::new()
                .name(format!("seal-{}", options.stream))
                .spawn(move || seal_loop(sealer, pending, seal_rx, &wal, &status, &options, clock))
                .map_err(|e| Error::io("starting the sealer thread", &e))?
        };
        Ok(Shard {
            stream: options.stream,
            submissions: Mutex::new(Some(submit_tx)),
            status,
            wal_thread: Mutex::new(Some(wal_thread)),
            seal_thread: Mutex::new(Some(seal_thread)),
        })
    }

    /// The shard's stream.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// What the shard is doing.
    pub fn status(&self) -> &Arc<ShardStatus> {
        &self.status
    }

    /// Submits records (their `seq` is assigned here) and waits until they
    /// are durable.
    pub async fn submit(&self, records: Vec<Record>) -> Result<Receipt> {
        let receipt = self.enqueue(records).await?;
        receipt.await.map_err(|_| Error::new(ErrorKind::ShuttingDown, "the WAL thread stopped"))?
    }

    /// Queues records (waiting while the queue is full: backpressure) and
    /// returns the receiver of their receipt, so that a connection can read
    /// on while earlier records become durable. Records queued from one
    /// task keep their order.
    pub async fn enqueue(&self, records: Vec<Record>) -> Result<oneshot::Receiver<Result<Receipt>>> {
        let (reply, receipt) = oneshot::channel();
        let submissions = self.submissions.lock().expect("submissions lock").clone();
        let submissions = submissions.ok_or_else(|| Error::new(ErrorKind::ShuttingDown, "shutting down"))?;
        submissions
            .send(Submission { records, reply })
            .await
            .map_err(|_| Error::new(ErrorKind::ShuttingDown, "shutting down"))?;
        Ok(receipt)
    }

    /// Stops taking submissions, makes everything already submitted
    /// durable (and acknowledges it), seals and stores it, writes a final
    /// checkpoint, and waits for both threads.
    pub fn shutdown(&self) -> Result<()> {
        drop(self.submissions.lock().expect("submissions lock").take());
        if let Some(t) = self.wal_thread.lock().expect("thread lock").take() {
            t.join().map_err(|_| Error::new(ErrorKind::Io, "the WAL thread panicked"))?;
        }
        let seal_thread = self.seal_thread.lock().expect("thread lock").take();
        match seal_thread {
            Some(t) => t.join().map_err(|_| Error::new(ErrorKind::Io, "the sealer thread panicked"))?,
            None => Ok(()),
        }
    }
}

fn wal_loop(
    runtime: &Handle,
    mut submissions: mpsc::Receiver<Submission>,
    wal: &Mutex<Wal>,
    sealer: &SyncSender<Vec<Record>>,
    status: &ShardStatus,
    options: &ShardOptions,
) {
    loop {
        // Backpressure: while the WAL is over budget, take nothing more.
        while wal.lock().expect("WAL lock").bytes() > options.wal_budget_bytes {
            status.wal_full.store(true, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(20));
            status.backpressure_micros.fetch_add(20_000, Ordering::Relaxed);
        }
        status.wal_full.store(false, Ordering::Relaxed);
        let Some(first) = runtime.block_on(submissions.recv()) else { return };
        let mut group = vec![first];
        let mut bytes: usize = group[0].records.iter().map(|r| r.raw.len()).sum();
        let deadline = Instant::now() + options.group_commit;
        while bytes < options.max_group_bytes {
            let wait = deadline.saturating_duration_since(Instant::now());
            let next = match submissions.try_recv() {
                Ok(s) => Some(s),
                Err(_) if wait.is_zero() => None,
                Err(_) => {
                    runtime.block_on(async { tokio::time::timeout(wait, submissions.recv()).await }).ok().flatten()
                }
            };
            let Some(next) = next else { break };
            bytes += next.records.iter().map(|r| r.raw.len()).sum::<usize>();
            group.push(next);
        }
        commit_group(group, wal, sealer, status, options);
    }
}

/// Appends and syncs a group, then answers every submission in it. A
/// write that fails (a full disk) is retried until it succeeds: syslog
/// senders cannot be asked to send again, so nothing handed to the WAL
/// thread is ever given back; meanwhile the shard reports backpressure,
/// new HTTP requests get 503 and stream connections are not read.
fn commit_group(
    group: Vec<Submission>,
    wal: &Mutex<Wal>,
    sealer: &SyncSender<Vec<Record>>,
    status: &ShardStatus,
    options: &ShardOptions,
) {
    let mut seq = wal.lock().expect("WAL lock").next_seq();
    let mut records = Vec::with_capacity(group.iter().map(|s| s.records.len()).sum());
    let mut receipts = Vec::with_capacity(group.len());
    for submission in group {
        let first = seq;
        for mut r in submission.records {
            r.seq = seq;
            seq += 1;
            records.push(r);
        }
        let receipt = (seq > first).then(|| Receipt {
            stream: options.stream.clone(),
            first_seq: first,
            last_seq: seq - 1,
            accepted: seq - first,
        });
        receipts.push((submission.reply, receipt));
    }
    let mut delay = Duration::from_millis(50);
    let mut last_report: Option<Instant> = None;
    loop {
        let mut w = wal.lock().expect("WAL lock");
        let durable = w.append(&records).and_then(|()| w.sync());
        status.wal_bytes.store(w.bytes(), Ordering::Relaxed);
        drop(w);
        match durable {
            Ok(()) => break,
            Err(e) => {
                status.wal_failing.store(true, Ordering::Relaxed);
                if last_report.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    tracing::error!(stream = %options.stream, error = %e, "cannot write the WAL; holding input and retrying");
                    last_report = Some(Instant::now());
                }
                std::thread::sleep(delay);
                status.backpressure_micros.fetch_add(delay.as_micros() as u64, Ordering::Relaxed);
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
    if last_report.is_some() {
        tracing::info!(stream = %options.stream, "the WAL is writable again");
    }
    status.wal_failing.store(false, Ordering::Relaxed);
    status.records_durable.fetch_add(records.len() as u64, Ordering::Relaxed);
    for (reply, receipt) in receipts {
        let _ = reply.send(receipt.ok_or_else(|| Error::new(ErrorKind::Io, "nothing to accept")));
    }
    if !records.is_empty() && !hand_over(sealer, records, status, options) {
        tracing::error!(stream = %options.stream, "the sealer thread stopped; records stay in the WAL for the next start");
    }
}

/// Hands durable records to the sealer thread, waiting while it is behind
/// (its queue holds a few groups). While it waits, `status` says since
/// when: a wait longer than [`SEALER_STALL`] is backpressure (503), so
/// that a store that hangs (an S3 endpoint that accepts connections but
/// does not answer, or one the S3 client is still retrying) turns new
/// requests away instead of leaving them waiting. False when the sealer
/// thread has stopped.
fn hand_over(
    sealer: &SyncSender<Vec<Record>>,
    records: Vec<Record>,
    status: &ShardStatus,
    options: &ShardOptions,
) -> bool {
    let records = match sealer.try_send(records) {
        Ok(()) => return true,
        Err(TrySendError::Full(records)) => records,
        Err(TrySendError::Disconnected(_)) => return false,
    };
    let since = Instant::now();
    status.handoff_waiting_since_ms.store(monotonic_ms(), Ordering::Relaxed);
    let taken = sealer.send(records).is_ok();
    status.handoff_waiting_since_ms.store(0, Ordering::Relaxed);
    let waited = since.elapsed();
    if waited >= SEALER_STALL {
        status.backpressure_micros.fetch_add(waited.saturating_sub(SEALER_STALL).as_micros() as u64, Ordering::Relaxed);
        tracing::warn!(
            stream = %options.stream,
            waited_ms = waited.as_millis() as u64,
            "the sealer was stuck storing (the store hung or kept failing); new input was turned away meanwhile"
        );
    }
    taken
}

struct Filling {
    file: OpenFile,
    bytes: usize,
    since: Instant,
}

fn seal_loop(
    mut sealer: StreamSealer,
    replayed: Vec<Record>,
    durable: Receiver<Vec<Record>>,
    wal: &Mutex<Wal>,
    status: &ShardStatus,
    options: &ShardOptions,
    clock: fn() -> Micros,
) -> Result<()> {
    let mut filling: Option<Filling> = None;
    for chunk in replayed.chunks(64 * 1024) {
        push(&mut sealer, &mut filling, chunk.to_vec(), options)?;
    }
    loop {
        let closed = match durable.recv_timeout(Duration::from_millis(200)) {
            Ok(records) => {
                push(&mut sealer, &mut filling, records, options)?;
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let full = filling.as_ref().is_some_and(|f| {
            f.file.len() >= options.seal.max_records as u64
                || f.bytes >= options.seal.max_bytes
                || f.since.elapsed() >= options.seal.max_age
        });
        if full || (closed && filling.is_some()) {
            let f = filling.take().expect("a file to seal");
            seal_and_store(&mut sealer, f.file, wal, status, options, clock)?;
        }
        if closed {
            retry(status, options, || sealer.pause(clock()))?;
            tracing::info!(stream = %options.stream, "sealed everything pending and stopped");
            return Ok(());
        }
        if let Err(e) = sealer.heartbeat(clock()) {
            status.store_failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(stream = %options.stream, error = %e, "heartbeat checkpoint failed; will retry");
        }
    }
}

/// Adds durable records to the open file, opening one if needed.
fn push(
    sealer: &mut StreamSealer,
    filling: &mut Option<Filling>,
    records: Vec<Record>,
    options: &ShardOptions,
) -> Result<()> {
    let f = match filling {
        Some(f) => f,
        None => filling.insert(Filling {
            file: sealer.begin_file(options.seal.max_records)?,
            bytes: 0,
            since: Instant::now(),
        }),
    };
    f.bytes += records.iter().map(|r| r.raw.len()).sum::<usize>();
    f.file.push(records)?;
    Ok(())
}

fn seal_and_store(
    sealer: &mut StreamSealer,
    file: OpenFile,
    wal: &Mutex<Wal>,
    status: &ShardStatus,
    options: &ShardOptions,
    clock: fn() -> Micros,
) -> Result<()> {
    let started = Instant::now();
    let prepared = sealer.prepare_file(file, clock())?;
    let sealed = started.elapsed();
    metrics::histogram!("logseal_seal_seconds", "stream" => options.stream.clone()).record(sealed.as_secs_f64());
    let receipt = retry(status, options, || sealer.store_file(&prepared, clock()))?;
    metrics::histogram!("logseal_store_seconds", "stream" => options.stream.clone())
        .record((started.elapsed() - sealed).as_secs_f64());
    status.files_sealed.fetch_add(1, Ordering::Relaxed);
    tracing::info!(
        stream = %options.stream,
        file = receipt.file_index,
        seq_first = receipt.seq_first,
        seq_last = receipt.seq_last,
        bytes = receipt.data_size,
        ms = started.elapsed().as_millis() as u64,
        "sealed"
    );
    // The lock is held only to take the segments off the WAL's list:
    // acknowledgements never wait for files to be deleted. A failure here
    // only delays freeing space; the next sealed file releases again.
    let released = {
        let mut wal = wal.lock().expect("WAL lock");
        let released = wal.release_through(receipt.seq_last);
        status.wal_bytes.store(wal.bytes(), Ordering::Relaxed);
        released
    };
    if let Err(e) = released.and_then(crate::wal::Released::delete) {
        tracing::warn!(stream = %options.stream, error = %e, "could not release WAL segments yet");
    }
    Ok(())
}

/// Retries a store operation with backoff until it succeeds: sealed data
/// is never given up on. While it fails, the shard reports backpressure.
fn retry<T>(
    status: &ShardStatus,
    options: &ShardOptions,
    mut attempt: impl FnMut() -> logseal_store::Result<T>,
) -> Result<T> {
    let mut delay = Duration::from_millis(100);
    loop {
        match attempt() {
            Ok(value) => {
                status.store_failing.store(false, Ordering::Relaxed);
                return Ok(value);
            }
            Err(e) => {
                status.store_failing.store(true, Ordering::Relaxed);
                status.store_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(stream = %options.stream, error = %e, retry_in_ms = delay.as_millis() as u64, "storing failed; retrying");
                std::thread::sleep(delay);
                status.backpressure_micros.fetch_add(delay.as_micros() as u64, Ordering::Relaxed);
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sealer that takes nothing for [`SEALER_STALL`] puts the shard
    /// under pressure until it takes records again.
    #[test]
    fn a_stuck_sealer_is_backpressure_until_it_takes_records() {
        let options = ShardOptions {
            stream: "s".into(),
            wal_dir: PathBuf::from("unused"),
            wal: WalOptions::default(),
            group_commit: Duration::from_millis(2),
            max_group_bytes: 1 << 20,
            wal_budget_bytes: 1 << 30,
            seal: SealPolicy { max_records: 10, max_bytes: 1 << 20, max_age: Duration::from_secs(1) },
            queue: 1,
        };
        let status = Arc::new(ShardStatus::default());
        let (tx, rx) = sync_channel::<Vec<Record>>(1);
        assert!(hand_over(&tx, Vec::new(), &status, &options), "a free slot is taken at once");
        let waiting = {
            let status = Arc::clone(&status);
            std::thread::spawn(move || hand_over(&tx, Vec::new(), &status, &options))
        };
        let deadline = Instant::now() + SEALER_STALL * 10;
        while !status.under_pressure() {
            assert!(Instant::now() < deadline, "a stuck sealer is never reported");
            std::thread::sleep(Duration::from_millis(50));
        }
        rx.recv().unwrap();
        assert!(waiting.join().unwrap(), "handed over once the sealer took the first records");
        assert!(!status.under_pressure());
    }
}
