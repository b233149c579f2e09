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
    let report = audit(&*f.store, &f.signer.verifier(), keys, None, &request, &NoProgress).unwrap();
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
