//! KMS requests per 1,000 sealed files, counted (not estimated).
//!
//!     cargo bench -p logseal-store --bench kms_calls [-- --files N --records M --no-kms-signer --spacing-secs S]
//!
//! Seals N files (default 1,000) of M records (default 100) into S3
//! (SeaweedFS) with the master keys in KMS (moto), through the real
//! `StreamSealer`, then reads every file back twice, each time as a fresh
//! process would (new `KmsKeys`, caches empty): once reading all rows of
//! every data object, once with deep verification (`audit --deep`, what
//! `logseal verify --deep` runs). It prints the KMS requests of each
//! phase per 1,000 files, split by what they were for, next to the
//! reference of S3 SSE-KMS with a data key per object (one
//! `GenerateDataKey` per object written, one `Decrypt` per object read).
//!
//! The count is `KmsKeys::kms_calls()` (every request the provider sends:
//! `Encrypt`, `Decrypt`, `GenerateDataKey`), attributed to a purpose by a
//! wrapping provider that holds a lock across each call, so concurrent
//! calls cannot be misattributed; the sum is checked against the total.
//! With the checkpoint key in KMS too (the default here), its `Sign` and
//! `GetPublicKey` requests are counted by a wrapping `RemoteSigner`.
//!
//! `--spacing-secs S` waits S seconds (real time: the key-encryption-key
//! cache of `parquet-key-management` expires by the clock) before each
//! file after the first, to show the per-KEK-lifetime cost, e.g. `--files
//! 3 --spacing-secs 310` spans two 600-second KEK lifetimes.
//!
//! Services: the instance named by `LOGSEAL_TEST_SERVICES` (a directory of
//! `infra/dev/services`), else one started for this run in a temporary
//! directory and stopped at the end.

#[path = "../tests/support/services.rs"]
mod services;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use logseal_core::checkpoint::{LogSigner, RemoteSigner};
use logseal_core::layout::{self, KeyKind};
use logseal_core::parse::{JsonMapping, parse_line};
use logseal_core::{LineFormat, Record};
use logseal_store::audit::{AuditRequest, NoProgress, audit};
use logseal_store::aws::AwsTarget;
use logseal_store::keys::kms::{KmsKeyIds, KmsKeys};
use logseal_store::keys::kms_signer::KmsSigner;
use logseal_store::keys::pme::PmeKeys;
use logseal_store::keys::{KeyDomain, KeyProvider};
use logseal_store::object::ObjectStore;
use logseal_store::object::s3::{S3Location, S3Options, S3Store};
use logseal_store::sealed::read::SealedFileReader;
use logseal_store::sealed::write::WriteOptions;
use logseal_store::sealer::{SealerOptions, StreamSealer};
use services::Services;
use zeroize::Zeroizing;

const DEPLOYMENT: &str = "logseal.bench/kms-calls";
const STREAM: &str = "web";
/// 2026-03-01T00:00:00Z, in microseconds.
const T0: i64 = 1_772_323_200_000_000;
/// The PKMT default the sealer and readers use (`parquet-key-management`
/// 0.8 `EncryptionConfigurationBuilder::new` / `DecryptionConfiguration`;
/// `store/src/keys/pme.rs` does not change it).
const KEK_CACHE_LIFETIME: Duration = Duration::from_secs(600);

struct Args {
    files: u64,
    records: u64,
    kms_signer: bool,
    spacing: Duration,
}

fn args() -> Args {
    let mut args = Args { files: 1000, records: 100, kms_signer: true, spacing: Duration::ZERO };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> u64 {
            it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match arg.as_str() {
            "--files" => args.files = number("--files"),
            "--records" => args.records = number("--records"),
            "--no-kms-signer" => args.kms_signer = false,
            "--spacing-secs" => args.spacing = Duration::from_secs(number("--spacing-secs")),
            "--bench" => {} // what `cargo bench` passes to a harness-less bench
            other => panic!("unknown argument {other:?} (--files N, --records M, --no-kms-signer, --spacing-secs S)"),
        }
    }
    assert!(args.files > 0 && args.records > 0, "--files and --records must be at least 1");
    args
}

/// What a KMS request was for.
fn purpose_of(context: &[u8]) -> &'static str {
    if context.is_empty() {
        "KEK (Parquet double wrapping)"
    } else if context.starts_with(b"\nlogseal/salt-key/") {
        "salt keys (stream SKEK)"
    } else if context == b"index-key" {
        "index key"
    } else {
        "other"
    }
}

/// `KmsKeys` whose requests are attributed to a purpose.
struct Counted {
    kms: Arc<KmsKeys>,
    by_purpose: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counted {
    fn new(kms: KmsKeys) -> Arc<Counted> {
        Arc::new(Counted { kms: Arc::new(kms), by_purpose: Mutex::new(BTreeMap::new()) })
    }

    /// Runs `call` with the lock held and adds its KMS requests to `purpose`.
    fn attribute<T>(&self, purpose: &'static str, call: impl FnOnce(&KmsKeys) -> T) -> T {
        let mut by_purpose = self.by_purpose.lock().unwrap();
        let before = self.kms.kms_calls();
        let out = call(&self.kms);
        let requests = self.kms.kms_calls() - before;
        if requests > 0 {
            *by_purpose.entry(purpose).or_default() += requests;
        }
        out
    }

    /// The requests so far by purpose (checked against the provider's total).
    fn take(&self) -> BTreeMap<&'static str, u64> {
        std::mem::take(&mut *self.by_purpose.lock().unwrap())
    }
}

impl KeyProvider for Counted {
    fn kind(&self) -> &'static str {
        self.kms.kind()
    }
    fn master_key_id(&self, domain: KeyDomain) -> String {
        self.kms.master_key_id(domain)
    }
    fn wrap(&self, master_key_id: &str, key: &[u8], context: &[u8]) -> logseal_store::Result<String> {
        self.attribute(purpose_of(context), |kms| kms.wrap(master_key_id, key, context))
    }
    fn unwrap(&self, master_key_id: &str, wrapped: &str, context: &[u8]) -> logseal_store::Result<Zeroizing<Vec<u8>>> {
        self.attribute(purpose_of(context), |kms| kms.unwrap(master_key_id, wrapped, context))
    }
    fn index_key_id(&self) -> String {
        self.kms.index_key_id()
    }
    fn index_key(&self) -> logseal_store::Result<Zeroizing<[u8; 32]>> {
        self.attribute("index key", KmsKeys::index_key)
    }
}

/// A KMS checkpoint signer whose `Sign` requests are counted.
struct CountedSigner {
    kms: KmsSigner,
    signs: AtomicU64,
}

impl RemoteSigner for CountedSigner {
    fn sign_p256_sha256(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        self.signs.fetch_add(1, Ordering::Relaxed);
        self.kms.sign_p256_sha256(msg)
    }
}

fn target(services: &Services) -> AwsTarget {
    AwsTarget {
        endpoint: Some(services.var("AWS_ENDPOINT_URL_KMS").to_owned()),
        region: Some(services.var("AWS_REGION").to_owned()),
        max_attempts: 3,
    }
}

fn kms_keys(services: &Services, index_key_wrapped: &str) -> KmsKeys {
    let ids = KmsKeyIds {
        base: services.var("LOGSEAL_KMS_BASE_KEY").to_owned(),
        pii: services.var("LOGSEAL_KMS_PII_KEY").to_owned(),
        index_key_wrapped: index_key_wrapped.to_owned(),
    };
    KmsKeys::open(ids, &target(services), |l| l.credentials_provider(services.credentials())).unwrap()
}

fn s3_store(services: &Services) -> (S3Store, String) {
    let base = S3Location::parse(services.var("LOGSEAL_STORE")).unwrap();
    let prefix =
        format!("{}/bench-kms-calls-{:016x}", base.prefix, rand::random::<u64>()).trim_start_matches('/').to_owned();
    let options = S3Options {
        endpoint: Some(services.var("AWS_ENDPOINT_URL_S3").to_owned()),
        region: Some(services.var("AWS_REGION").to_owned()),
        path_style: Some(true),
        ..S3Options::default()
    };
    let location = S3Location { bucket: base.bucket.clone(), prefix: prefix.clone() };
    let store = S3Store::open_with(location, options, |l| l.credentials_provider(services.credentials())).unwrap();
    (store, format!("s3://{}/{prefix}", base.bucket))
}

/// `n` combined-format lines, every 50th malformed, starting at `first`.
fn records(first_seq: u64, n: u64, received_at: i64) -> Vec<Record> {
    (first_seq..first_seq + n)
        .map(|i| {
            let line = if i % 50 == 49 {
                format!("malformed line {i}").into_bytes()
            } else {
                format!(
                    "198.51.{}.{} - - [01/Mar/2026:00:{:02}:{:02} +0000] \"GET /a/{}?q={i} HTTP/1.1\" {} {} \"-\" \"bench/{}\"",
                    (i / 250) % 250,
                    i % 250,
                    (i / 60) % 60,
                    i % 60,
                    i % 997,
                    [200, 200, 304, 404][(i % 4) as usize],
                    (i * 37) % 50_000,
                    i % 13
                )
                .into_bytes()
            };
            let parsed = parse_line(LineFormat::Combined, &line, &JsonMapping::default()).map_err(|e| e.to_string());
            Record::from_parse(i, received_at, "file:bench.log", LineFormat::Combined, line, parsed)
        })
        .collect()
}

/// Prints one phase's requests, by purpose and per 1,000 files.
fn print_phase(name: &str, by_purpose: &BTreeMap<&'static str, u64>, total: u64, files: u64, extra: &[(&str, u64)]) {
    let sum: u64 = by_purpose.values().sum();
    assert_eq!(sum, total, "{name}: requests by purpose {by_purpose:?} do not add up to the provider's count {total}");
    let per_1000 = |n: u64| n as f64 * 1000.0 / files as f64;
    let all = total + extra.iter().map(|(_, n)| n).sum::<u64>();
    println!("{name}: {all} KMS requests = {:.1} per 1,000 files (master keys: {total})", per_1000(all));
    for (purpose, n) in by_purpose {
        println!("    {purpose:<32} {n:>6}  ({:.1} per 1,000 files)", per_1000(*n));
    }
    for (what, n) in extra {
        println!("    {what:<32} {n:>6}  ({:.1} per 1,000 files)", per_1000(*n));
    }
}

fn main() {
    let args = args();
    let services = Services::get();
    println!(
        "kms_calls: {} files x {} records{}, {} cores, KMS {} (moto), S3 {} (SeaweedFS)",
        args.files,
        args.records,
        if args.spacing.is_zero() { String::new() } else { format!(", {} s apart", args.spacing.as_secs()) },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        services.var("AWS_ENDPOINT_URL_KMS"),
        services.var("AWS_ENDPOINT_URL_S3"),
    );

    // `logseal init`: the blind-index key is made once by KMS (one
    // GenerateDataKey per deployment, not counted below).
    let index_key_wrapped = kms_keys(&services, "").new_index_key().unwrap();

    let (store, url) = s3_store(&services);
    let store: Arc<dyn ObjectStore> = Arc::new(store);
    println!("store: {url}");

    // --- write: one StreamSealer, as `logseal import` or one agent shard.
    let keys = Counted::new(kms_keys(&services, &index_key_wrapped));
    let (signer, counted_signer) = if args.kms_signer {
        let kms = KmsSigner::open(services.var("LOGSEAL_KMS_SIGNING_KEY"), &target(&services), |l| {
            l.credentials_provider(services.credentials())
        })
        .unwrap();
        let public_key = kms.public_key().unwrap(); // one GetPublicKey
        let counted = Arc::new(CountedSigner { kms, signs: AtomicU64::new(0) });
        let signer = LogSigner::remote_p256(DEPLOYMENT, &public_key, counted.clone()).unwrap();
        (Arc::new(signer), Some(counted))
    } else {
        (Arc::new(LogSigner::from_seed(DEPLOYMENT, [7; 32]).unwrap()), None)
    };
    let options = SealerOptions {
        deployment: DEPLOYMENT.into(),
        heartbeat_secs: 3600,
        write: WriteOptions::default(),
        writer: "logseal kms_calls bench".into(),
        mirror: None,
    };
    let started = Instant::now();
    let mut sealer =
        StreamSealer::open(Arc::clone(&store), keys.clone(), Arc::clone(&signer), STREAM, options, T0).unwrap();
    let mut now = T0;
    for i in 0..args.files {
        if i > 0 && !args.spacing.is_zero() {
            std::thread::sleep(args.spacing);
        }
        now += 1_000_000;
        let batch = records(sealer.next_seq(), args.records, now);
        sealer.seal(batch, now).unwrap();
    }
    sealer.pause(now + 1_000_000).unwrap();
    let write_secs = started.elapsed().as_secs_f64();
    let write_total = keys.kms.kms_calls();
    let write = keys.take();
    let signs = counted_signer.as_ref().map_or(0, |s| s.signs.load(Ordering::Relaxed));
    println!(
        "\nsealed {} files ({} records) in {write_secs:.1} s = {:.1} files/s (KEK cache lifetime: {} s{})",
        args.files,
        args.files * args.records,
        args.files as f64 / write_secs,
        KEK_CACHE_LIFETIME.as_secs(),
        if write_secs < KEK_CACHE_LIFETIME.as_secs_f64() { ", the run is shorter" } else { "" },
    );
    let sign_lines: Vec<(&str, u64)> = if args.kms_signer {
        vec![("checkpoint Sign (KMS signer)", signs), ("checkpoint GetPublicKey", 1)]
    } else {
        vec![]
    };
    print_phase("write", &write, write_total, args.files, &sign_lines);

    // --- read 1: every row of every data object, a fresh reader process.
    let keys = Counted::new(kms_keys(&services, &index_key_wrapped));
    let pme = PmeKeys::new(keys.clone());
    let started = Instant::now();
    let data: Vec<String> = store
        .list(&layout::stream_prefix(STREAM), None)
        .unwrap()
        .into_iter()
        .filter(|m| matches!(layout::classify(STREAM, &m.key), KeyKind::Data(_)))
        .map(|m| m.key)
        .collect();
    assert_eq!(data.len() as u64, args.files, "data objects in the store");
    let mut rows = 0u64;
    for key in &data {
        let copy = store.local_copy(key).unwrap();
        let mut reader = SealedFileReader::open(&copy.path, pme.decryption().unwrap()).unwrap();
        while let Some(batch) = reader.next_rows() {
            rows += batch.unwrap().len() as u64;
        }
    }
    assert_eq!(rows, args.files * args.records, "rows read");
    let read_secs = started.elapsed().as_secs_f64();
    let read_total = keys.kms.kms_calls();
    println!("\nread all {rows} rows of {} files in {read_secs:.1} s", data.len());
    print_phase("read (all rows)", &keys.take(), read_total, args.files, &[]);

    // --- read 2: deep verification, a fresh verifier process.
    let keys = Counted::new(kms_keys(&services, &index_key_wrapped));
    let started = Instant::now();
    let request = AuditRequest {
        stream: Some(STREAM.into()),
        deep: true,
        full: true,
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        now_secs: u64::try_from(now / 1_000_000).unwrap() + 2,
    };
    let verifier = signer.verifier();
    let report = audit(&*store, None, &verifier, Some(keys.clone()), None, &request, &NoProgress).unwrap();
    assert!(report.findings.is_empty(), "deep verification found problems: {:?}", report.findings);
    let deep_records: u64 = report.streams.iter().map(|s| s.deep_records).sum();
    assert_eq!(deep_records, args.files * args.records, "records deep-verified");
    let deep_secs = started.elapsed().as_secs_f64();
    let deep_total = keys.kms.kms_calls();
    println!("\ndeep-verified {deep_records} records of {} files in {deep_secs:.1} s (intact)", args.files);
    print_phase("read (verify --deep)", &keys.take(), deep_total, args.files, &[]);

    println!(
        "\nreference: S3 SSE-KMS with a data key per object (e.g. Vector's S3 sink): 1,000 GenerateDataKey per 1,000 \
         files written, 1,000 Decrypt per 1,000 files read"
    );
}
