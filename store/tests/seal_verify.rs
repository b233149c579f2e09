//! Seal records into a real local store, then verify it: clean when
//! untouched, findings when tampered with.

use std::sync::Arc;

use logseal_core::checkpoint::LogSigner;
use logseal_core::parse::{JsonMapping, parse_line};
use logseal_core::verify::Category;
use logseal_core::{LineFormat, Record};
use logseal_store::audit::{AuditRequest, NoProgress, audit};
use logseal_store::keys::KeyProvider;
use logseal_store::keys::local::LocalKeys;
use logseal_store::object::ObjectStore;
use logseal_store::object::local::LocalStore;
use logseal_store::sealed::write::WriteOptions;
use logseal_store::sealer::{SealerOptions, StreamSealer};

const NOW: i64 = 1_764_000_000_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<LocalStore>,
    keys: Arc<LocalKeys>,
    signer: Arc<LogSigner>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::create(dir.path().join("store")).unwrap());
    let keys = Arc::new(LocalKeys::create(dir.path().join("keys")).unwrap());
    let signer = Arc::new(LogSigner::from_seed("logseal.test/d1", [7; 32]).unwrap());
    Fixture { _dir: dir, store, keys, signer }
}

fn options() -> SealerOptions {
    SealerOptions {
        deployment: "logseal.test/d1".into(),
        heartbeat_secs: 60,
        write: WriteOptions { row_group_rows: 64, ..WriteOptions::default() },
        writer: "logseal test".into(),
        mirror: None,
    }
}

fn lines(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| match i % 5 {
            4 => format!("garbage line {i}").into_bytes(),
            _ => format!(
                "192.0.2.{} - - [10/Oct/2025:13:55:{:02} -0700] \"GET /p/{i}?q={i} HTTP/1.1\" 200 {} \"-\" \"curl/8.{i}\"",
                i % 250,
                i % 60,
                i * 3
            )
            .into_bytes(),
        })
        .collect()
}

fn records(first_seq: u64, lines: &[Vec<u8>]) -> Vec<Record> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let parsed = parse_line(LineFormat::Combined, line, &JsonMapping::default()).map_err(|e| e.to_string());
            Record::from_parse(
                first_seq + i as u64,
                NOW + i as i64,
                "file:test.log",
                LineFormat::Combined,
                line.clone(),
                parsed,
            )
        })
        .collect()
}

fn seal_files(f: &Fixture, files: usize, per_file: usize) {
    let mut sealer =
        StreamSealer::open(f.store.clone(), f.keys.clone(), f.signer.clone(), "web", options(), NOW).unwrap();
    let all = lines(files * per_file);
    for chunk in all.chunks(per_file) {
        let recs = records(sealer.next_seq(), chunk);
        sealer.seal(recs, NOW).unwrap();
    }
    sealer.pause(NOW).unwrap();
}

fn run(f: &Fixture, deep: bool) -> Vec<(Category, Option<u64>)> {
    let request = AuditRequest { stream: None, deep, full: false, threads: 2, now_secs: (NOW / 1_000_000) as u64 };
    let keys: Option<Arc<dyn KeyProvider>> = deep.then(|| f.keys.clone() as Arc<dyn KeyProvider>);
    let report = audit(&*f.store, None, &f.signer.verifier(), keys, None, &request, &NoProgress).unwrap();
    report.findings.iter().map(|x| (x.category, x.file_index)).collect()
}

#[test]
fn sealed_store_verifies_clean_structurally_and_deep() {
    let f = fixture();
    seal_files(&f, 3, 200);
    assert_eq!(run(&f, false), vec![]);
    assert_eq!(run(&f, true), vec![]);
}

#[test]
fn state_is_recovered_across_restarts() {
    let f = fixture();
    seal_files(&f, 2, 50);
    seal_files(&f, 2, 50);
    let sealer = StreamSealer::open(f.store.clone(), f.keys.clone(), f.signer.clone(), "web", options(), NOW).unwrap();
    assert_eq!(sealer.next_seq(), 200);
    assert_eq!(sealer.file_count(), 4);
    assert_eq!(run(&f, true), vec![]);
}

#[test]
fn a_changed_byte_in_a_data_file_is_found() {
    let f = fixture();
    seal_files(&f, 2, 100);
    let data: Vec<_> = f.store.list("v1/web/data/", None).unwrap();
    let path = f.store.root().join(&data[1].key);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(run(&f, false), vec![(Category::ObjectHashMismatch, Some(1))]);
}

#[test]
fn a_manifest_left_unsigned_by_a_crash_is_adopted_after_deep_verification() {
    let f = fixture();
    seal_files(&f, 3, 50);
    // A crash after manifest 2 was stored but before its checkpoint: the
    // checkpoints covering file 2 are missing.
    let checkpoints = f.store.list("v1/web/checkpoints/", None).unwrap();
    for c in &checkpoints[checkpoints.len() - 2..] {
        std::fs::remove_file(f.store.root().join(&c.key)).unwrap();
    }
    assert_eq!(run(&f, false), vec![(Category::UnsignedManifests, Some(2))]);
    let sealer = StreamSealer::open(f.store.clone(), f.keys.clone(), f.signer.clone(), "web", options(), NOW).unwrap();
    assert_eq!(sealer.next_seq(), 150);
    assert_eq!(run(&f, true), vec![]);
}

#[test]
fn an_unsigned_manifest_whose_file_does_not_verify_is_refused() {
    let f = fixture();
    seal_files(&f, 2, 50);
    let checkpoints = f.store.list("v1/web/checkpoints/", None).unwrap();
    for c in &checkpoints[checkpoints.len() - 2..] {
        std::fs::remove_file(f.store.root().join(&c.key)).unwrap();
    }
    // Someone replaces the unsigned file 1 with file 0's bytes and fixes
    // the manifest's hash and size to match.
    let data = f.store.list("v1/web/data/", None).unwrap();
    let forged = std::fs::read(f.store.root().join(&data[0].key)).unwrap();
    std::fs::write(f.store.root().join(&data[1].key), &forged).unwrap();
    let manifest_path = f.store.root().join("v1/web/manifests/000000000001.json");
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["data"]["sha256"] = logseal_core::Hash::of(&forged).to_hex().into();
    manifest["data"]["size"] = forged.len().into();
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let err = StreamSealer::open(f.store.clone(), f.keys.clone(), f.signer.clone(), "web", options(), NOW).unwrap_err();
    assert!(err.to_string().contains("refusing to sign over it"), "{err}");
}

#[test]
fn an_orphan_data_object_from_a_crash_does_not_block_sealing() {
    let f = fixture();
    seal_files(&f, 1, 50);
    // A crash after the data object of file 1 was stored, before its
    // manifest: a whole sealed file of ours (objects are created atomically).
    let ours = f.store.get(&f.store.list("v1/web/data/", None).unwrap()[0].key).unwrap();
    f.store.put_new("v1/web/data/000000000001-00000000.parquet", &ours).unwrap();
    // And something planted by someone else at the same index.
    f.store.put_new("v1/web/data/000000000001-0badc0de.parquet", b"planted").unwrap();
    assert_eq!(run(&f, false), vec![(Category::UnreferencedObject, None), (Category::UnreferencedObject, None)]);
    // The next file accounts for our orphan under a signature; the planted
    // object stays a finding.
    seal_files(&f, 1, 50);
    let found = audit(
        &*f.store,
        None,
        &f.signer.verifier(),
        None,
        None,
        &AuditRequest { stream: None, deep: false, full: false, threads: 2, now_secs: (NOW / 1_000_000) as u64 },
        &NoProgress,
    )
    .unwrap()
    .findings;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].object.as_deref(), Some("v1/web/data/000000000001-0badc0de.parquet"));
    let manifest = f.store.get("v1/web/manifests/000000000001.json").unwrap();
    let manifest = logseal_core::manifest::Manifest::from_canonical_json(&manifest).unwrap();
    assert_eq!(manifest.orphans, vec!["v1/web/data/000000000001-00000000.parquet".to_owned()]);
}

#[test]
fn an_empty_stream_with_saved_state_verifies_clean() {
    use logseal_core::verify::state::AuditorState;
    let f = fixture();
    let mut sealer =
        StreamSealer::open(f.store.clone(), f.keys.clone(), f.signer.clone(), "web", options(), NOW).unwrap();
    sealer.pause(NOW).unwrap();
    let request =
        AuditRequest { stream: None, deep: false, full: false, threads: 2, now_secs: (NOW / 1_000_000) as u64 };
    let verifier = f.signer.verifier();
    let first = audit(&*f.store, None, &verifier, None, None, &request, &NoProgress).unwrap();
    assert!(first.findings.is_empty(), "{:?}", first.findings);
    let saved = first.new_state.to_bytes();
    for full in [false, true] {
        let prior = Some(AuditorState::load(&saved, &verifier).unwrap());
        let again =
            audit(&*f.store, None, &verifier, None, prior, &AuditRequest { full, ..request.clone() }, &NoProgress)
                .unwrap();
        assert!(again.findings.is_empty(), "full={full}: {:?}", again.findings);
    }
}

#[test]
fn incremental_verification_hashes_only_new_files() {
    use logseal_core::verify::state::AuditorState;
    let f = fixture();
    seal_files(&f, 3, 100);
    let request =
        AuditRequest { stream: None, deep: false, full: false, threads: 2, now_secs: (NOW / 1_000_000) as u64 };
    let verifier = f.signer.verifier();
    let first = audit(&*f.store, None, &verifier, None, None, &request, &NoProgress).unwrap();
    assert!(first.findings.is_empty());
    let total = first.streams[0].stats.bytes_hashed;
    let saved = first.new_state.to_bytes();
    seal_files(&f, 1, 100);
    let load = || Some(AuditorState::load(&saved, &verifier).unwrap());
    let second = audit(&*f.store, None, &verifier, None, load(), &request, &NoProgress).unwrap();
    assert!(second.findings.is_empty(), "{:?}", second.findings);
    let stats = &second.streams[0].stats;
    assert_eq!((stats.manifests, stats.objects_hashed), (1, 1));
    assert!(stats.bytes_hashed < total / 2, "only the new file is hashed");
    let full = AuditRequest { full: true, ..request };
    let third = audit(&*f.store, None, &verifier, None, load(), &full, &NoProgress).unwrap();
    assert_eq!(third.streams[0].stats.objects_hashed, 4);
}

/// A real local store that fails chosen `put_new` calls, before or after
/// the write took effect (an outage, or a reply lost on the way back).
struct Flaky {
    inner: LocalStore,
    calls: std::sync::atomic::AtomicUsize,
    fail: Vec<(usize, bool)>,
}

impl logseal_store::object::ObjectStore for Flaky {
    fn put_new(&self, key: &str, bytes: &[u8]) -> logseal_store::Result<()> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let outage = || logseal_store::Error::new(logseal_store::ErrorKind::Io, "store unavailable (test)");
        match self.fail.iter().find(|(i, _)| *i == n) {
            Some((_, false)) => Err(outage()),
            Some((_, true)) => self.inner.put_new(key, bytes).and_then(|()| Err(outage())),
            None => self.inner.put_new(key, bytes),
        }
    }
    fn get(&self, key: &str) -> logseal_store::Result<Vec<u8>> {
        self.inner.get(key)
    }
    fn open(&self, key: &str) -> logseal_store::Result<Box<dyn std::io::Read + Send>> {
        self.inner.open(key)
    }
    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> logseal_store::Result<Vec<u8>> {
        self.inner.get_range(key, range)
    }
    fn local_copy(&self, key: &str) -> logseal_store::Result<logseal_store::object::LocalCopy> {
        self.inner.local_copy(key)
    }
    fn list(&self, prefix: &str, after: Option<&str>) -> logseal_store::Result<Vec<logseal_store::object::ObjectMeta>> {
        self.inner.list(prefix, after)
    }
    fn describe(&self) -> String {
        "flaky test store".into()
    }
}

#[test]
fn storing_a_file_survives_failures_at_every_step() {
    // put_new calls per file: 0 data, 1 manifest, 2 checkpoint.
    for step in 0..3 {
        for after_write in [false, true] {
            let f = fixture();
            let flaky = Arc::new(Flaky {
                inner: (*f.store).clone(),
                calls: Default::default(),
                fail: vec![(step, after_write), (step + 1, after_write)],
            });
            let mut sealer =
                StreamSealer::open(flaky.clone(), f.keys.clone(), f.signer.clone(), "web", options(), NOW).unwrap();
            let mut file = sealer.begin_file(10).unwrap();
            file.push(records(0, &lines(10))).unwrap();
            let prepared = sealer.prepare_file(file, NOW).unwrap();
            let mut attempts = 0;
            while sealer.store_file(&prepared, NOW).is_err() {
                attempts += 1;
                assert!(attempts < 5, "step {step} after_write {after_write}: never succeeded");
            }
            assert!(attempts >= 1);
            sealer.pause(NOW).unwrap();
            assert_eq!(run(&f, true), vec![], "step {step} after_write {after_write}");
        }
    }
}
