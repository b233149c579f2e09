//! A shard against a real local store: every acknowledged record is sealed
//! exactly once, in order, across restarts; the WAL is released.

use std::sync::Arc;
use std::time::Duration;

use logseal_core::checkpoint::LogSigner;
use logseal_core::{LineFormat, Record};
use logseal_ingest::shard::{SealPolicy, Shard, ShardOptions};
use logseal_ingest::wal::WalOptions;
use logseal_store::audit::{AuditRequest, NoProgress, audit};
use logseal_store::keys::KeyProvider;
use logseal_store::keys::local::LocalKeys;
use logseal_store::object::ObjectStore;
use logseal_store::object::local::LocalStore;
use logseal_store::sealed::write::WriteOptions;
use logseal_store::sealer::{SealerOptions, StreamSealer};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64
}

struct Env {
    dir: tempfile::TempDir,
    store: Arc<LocalStore>,
    keys: Arc<LocalKeys>,
    signer: Arc<LogSigner>,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::create(dir.path().join("store")).unwrap());
    let keys = Arc::new(LocalKeys::create(dir.path().join("keys")).unwrap());
    let signer = Arc::new(LogSigner::from_seed("logseal.test/agent", [5; 32]).unwrap());
    Env { dir, store, keys, signer }
}

fn start(env: &Env, runtime: &tokio::runtime::Runtime, max_records: usize) -> Shard {
    let options = SealerOptions {
        deployment: "logseal.test/agent".into(),
        heartbeat_secs: 60,
        write: WriteOptions::default(),
        writer: "test".into(),
        mirror: None,
    };
    let sealer =
        StreamSealer::open(env.store.clone(), env.keys.clone(), env.signer.clone(), "s0", options, now()).unwrap();
    let options = ShardOptions {
        stream: "s0".into(),
        wal_dir: env.dir.path().join("wal/s0"),
        wal: WalOptions { segment_bytes: 4096, ..WalOptions::default() },
        group_commit: Duration::from_millis(2),
        max_group_bytes: 1 << 20,
        wal_budget_bytes: 1 << 30,
        seal: SealPolicy { max_records, max_bytes: 1 << 30, max_age: Duration::from_secs(3600) },
        queue: 64,
    };
    Shard::start(runtime.handle().clone(), sealer, options, now).unwrap()
}

fn line(i: usize) -> Record {
    let raw = format!("192.0.2.{} - - [10/Oct/2025:13:55:36 +0000] \"GET /{i} HTTP/1.1\" 200 {i} \"-\" \"t\"", i % 200);
    let parsed = logseal_core::parse::parse_line(LineFormat::Combined, raw.as_bytes(), &Default::default())
        .map_err(|e| e.to_string());
    Record::from_parse(0, now(), "test-client", LineFormat::Combined, raw.into_bytes(), parsed)
}

fn verify(env: &Env) -> Vec<String> {
    let request =
        AuditRequest { stream: None, deep: true, full: false, threads: 2, now_secs: (now() / 1_000_000) as u64 };
    let keys: Arc<dyn KeyProvider> = env.keys.clone();
    audit(&*env.store, None, &env.signer.verifier(), Some(keys), None, &request, &NoProgress)
        .unwrap()
        .findings
        .iter()
        .map(|f| f.to_string())
        .collect()
}

#[test]
fn concurrent_submissions_are_sealed_exactly_once_in_order() {
    let env = env();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let shard = Arc::new(start(&env, &runtime, 500));
    let receipts = runtime.block_on(async {
        let mut tasks = Vec::new();
        for client in 0..8 {
            let shard = Arc::clone(&shard);
            tasks.push(tokio::spawn(async move {
                let mut receipts = Vec::new();
                for batch in 0..20 {
                    let records = (0..17).map(|i| line(client * 1000 + batch * 17 + i)).collect();
                    receipts.push(shard.submit(records).await.unwrap());
                }
                receipts
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    shard.shutdown().unwrap();
    let mut seqs: Vec<u64> = receipts.iter().flat_map(|r| r.first_seq..=r.last_seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..8 * 20 * 17).collect::<Vec<u64>>(), "every acknowledged seq exactly once");
    assert_eq!(verify(&env), Vec::<String>::new());
    let files = env.store.list("v1/s0/data/", None).unwrap().len();
    assert!(files >= 5, "{files} files");
    let wal_left: Vec<_> = std::fs::read_dir(env.dir.path().join("wal/s0")).unwrap().collect();
    assert_eq!(wal_left.len(), 1, "only the current segment remains after everything was sealed");
}

#[test]
fn records_in_the_wal_are_sealed_after_a_restart() {
    let env = env();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Durable in the WAL, not sealed: a "crash" that skips the shutdown.
    let shard = start(&env, &runtime, 1_000_000);
    let receipt = runtime.block_on(shard.submit((0..300).map(line).collect())).unwrap();
    assert_eq!((receipt.first_seq, receipt.last_seq), (0, 299));
    std::mem::forget(shard);
    // A second shard on the same WAL (the first one's threads idle forever).
    let shard = start(&env, &runtime, 1_000_000);
    let receipt = runtime.block_on(shard.submit((300..310).map(line).collect())).unwrap();
    assert_eq!((receipt.first_seq, receipt.last_seq), (300, 309));
    shard.shutdown().unwrap();
    assert_eq!(verify(&env), Vec::<String>::new());
    let manifests = env.store.list("v1/s0/manifests/", None).unwrap();
    let last =
        logseal_core::manifest::Manifest::from_canonical_json(&env.store.get(&manifests.last().unwrap().key).unwrap())
            .unwrap();
    assert_eq!(last.seq_last, 309);
}
