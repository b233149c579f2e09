//! The derived `base` columns of a sealed file (`ip_tag`, `client_prefix`,
//! `user_tag`) against deep verification: a file whose rows are intact but
//! one of these columns was altered — another value, null where the field
//! it derives from is set, or set where that field is null — is a
//! `record-mismatch` naming the column and the row. (The commitments do
//! not cover these columns, so only recomputing them finds this.)
//!
//! Each case re-encrypts the file with the keys (what only a holder of
//! the keys could do), stores it under another data key and points a copy
//! of the manifest at it, so that everything but the column agrees.

use std::sync::Arc;

use arrow_array::builder::{FixedSizeBinaryBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use logseal_core::Hash;
use logseal_core::checkpoint::LogSigner;
use logseal_core::manifest::Manifest;
use logseal_core::parse::{JsonMapping, parse_line};
use logseal_core::verify::{Category, Finding};
use logseal_core::{LineFormat, Record};
use logseal_store::deep::check_file;
use logseal_store::keys::local::LocalKeys;
use logseal_store::keys::pme::PmeKeys;
use logseal_store::keys::{KeyDomain, KeyProvider};
use logseal_store::object::ObjectStore;
use logseal_store::object::local::LocalStore;
use logseal_store::sealed::schema::columns_of;
use logseal_store::sealed::write::WriteOptions;
use logseal_store::sealer::{SealerOptions, StreamSealer};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::properties::WriterProperties;

const NOW: i64 = 1_764_000_000_000_000;

struct Sealed {
    _dir: tempfile::TempDir,
    store: Arc<LocalStore>,
    keys: Arc<LocalKeys>,
    manifest: Manifest,
    batch: RecordBatch,
}

/// One sealed file of 12 rows: IPv4, IPv6 and IPv4-mapped clients, with
/// and without a user, and unparsed lines (no client, no user).
fn sealed() -> Sealed {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::create(dir.path().join("store")).unwrap());
    let keys = Arc::new(LocalKeys::create(dir.path().join("keys")).unwrap());
    let signer = Arc::new(LogSigner::from_seed("logseal.test/dc", [5; 32]).unwrap());
    let options = SealerOptions {
        deployment: "logseal.test/dc".into(),
        heartbeat_secs: 60,
        write: WriteOptions::default(),
        writer: "test".into(),
        mirror: None,
    };
    let ips = ["198.51.100.7", "2001:db8:1:2::9", "::ffff:203.0.113.5"];
    let users = ["-", "alice", "bob@example.com"];
    let records: Vec<Record> = (0..12u64)
        .map(|i| {
            let line = if i % 4 == 3 {
                format!("not a log line {i}")
            } else {
                format!(
                    "{} - {} [10/Oct/2025:13:55:{:02} +0000] \"GET /x/{i} HTTP/1.1\" 200 {i} \"-\" \"ua\"",
                    ips[i as usize % 3],
                    users[i as usize % 3],
                    i
                )
            };
            let parsed =
                parse_line(LineFormat::Combined, line.as_bytes(), &JsonMapping::default()).map_err(|e| e.to_string());
            Record::from_parse(i, NOW + i as i64, "file:x", LineFormat::Combined, line.into_bytes(), parsed)
        })
        .collect();
    let mut sealer = StreamSealer::open(store.clone(), keys.clone(), signer, "web", options, NOW).unwrap();
    sealer.seal(records, NOW).unwrap();
    let manifest = Manifest::from_canonical_json(&store.get("v1/web/manifests/000000000000.json").unwrap()).unwrap();
    let pme = PmeKeys::new(keys.clone() as Arc<dyn KeyProvider>);
    let file = std::fs::File::open(store.root().join(&manifest.data.key)).unwrap();
    let options = ArrowReaderOptions::new().with_file_decryption_properties(pme.decryption().unwrap());
    let mut reader = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options).unwrap().build().unwrap();
    let batch = reader.next().unwrap().unwrap();
    assert!(reader.next().is_none());
    Sealed { _dir: dir, store, keys, manifest, batch }
}

/// Re-encrypts `batch` as a data file, stores it under a new data key and
/// deep-checks it against a copy of the manifest pointing there.
fn deep_check(s: &Sealed, batch: &RecordBatch, nonce: u32) -> Vec<Finding> {
    let pme = PmeKeys::new(s.keys.clone() as Arc<dyn KeyProvider>);
    let encryption = pme.encryption(&columns_of(KeyDomain::Base), &columns_of(KeyDomain::Pii)).unwrap();
    let props = WriterProperties::builder().with_file_encryption_properties(encryption).build();
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).unwrap();
    writer.write(batch).unwrap();
    let bytes = writer.into_inner().unwrap();
    let mut manifest = s.manifest.clone();
    manifest.data.key = format!("v1/web/data/000000000000-{nonce:08x}.parquet");
    manifest.data.size = bytes.len() as u64;
    manifest.data.sha256 = Hash::of(&bytes);
    s.store.put_new(&manifest.data.key, &bytes).unwrap();
    check_file(&*s.store, &pme, &*s.keys, &manifest).unwrap()
}

/// `batch` with column `name` replaced by `f(old column)`.
fn with_column(batch: &RecordBatch, name: &str, f: impl FnOnce(&ArrayRef) -> ArrayRef) -> RecordBatch {
    let i = batch.schema().index_of(name).unwrap();
    let mut columns = batch.columns().to_vec();
    columns[i] = f(&columns[i]);
    RecordBatch::try_new(batch.schema(), columns).unwrap()
}

/// A string column with row `row` set to `value`.
fn set_string(column: &ArrayRef, row: usize, value: Option<&str>) -> ArrayRef {
    let old = column.as_string::<i32>();
    let mut b = StringBuilder::new();
    for i in 0..old.len() {
        b.append_option(if i == row { value } else { old.is_valid(i).then(|| old.value(i)) });
    }
    Arc::new(b.finish())
}

/// A tag column with row `row` set to `value`.
fn set_tag(column: &ArrayRef, row: usize, value: Option<[u8; 8]>) -> ArrayRef {
    let old = column.as_fixed_size_binary();
    let mut b = FixedSizeBinaryBuilder::new(8);
    for i in 0..old.len() {
        let v = if i == row { value.map(|v| v.to_vec()) } else { old.is_valid(i).then(|| old.value(i).to_vec()) };
        match v {
            Some(v) => b.append_value(v).unwrap(),
            None => b.append_null(),
        }
    }
    Arc::new(b.finish())
}

fn tag_at(batch: &RecordBatch, name: &str, row: usize) -> [u8; 8] {
    batch.column_by_name(name).unwrap().as_fixed_size_binary().value(row).try_into().unwrap()
}

#[test]
fn an_intact_rewrite_verifies_clean() {
    let s = sealed();
    assert_eq!(deep_check(&s, &s.batch, 1), vec![]);
}

#[test]
fn an_altered_client_prefix_user_tag_or_ip_tag_is_a_record_mismatch_naming_it() {
    let s = sealed();
    let b = &s.batch;
    let flipped = |name: &str, row: usize| {
        let mut t = tag_at(b, name, row);
        t[0] ^= 1;
        t
    };
    // Rows: 0 = IPv4 without user, 1 = IPv6 with alice, 2 = mapped with
    // bob, 3 = unparsed (no client, no user).
    let cases: Vec<(&str, usize, RecordBatch)> = vec![
        ("client_prefix", 0, with_column(b, "client_prefix", |c| set_string(c, 0, Some("198.51.101.0/24")))),
        ("client_prefix", 1, with_column(b, "client_prefix", |c| set_string(c, 1, Some("2001:db8:1:2::/64")))),
        ("client_prefix", 2, with_column(b, "client_prefix", |c| set_string(c, 2, Some("::ffff:203.0.113.0/24")))),
        ("client_prefix", 0, with_column(b, "client_prefix", |c| set_string(c, 0, None))),
        ("client_prefix", 3, with_column(b, "client_prefix", |c| set_string(c, 3, Some("198.51.100.0/24")))),
        ("user_tag", 1, with_column(b, "user_tag", |c| set_tag(c, 1, Some(flipped("user_tag", 1))))),
        ("user_tag", 2, with_column(b, "user_tag", |c| set_tag(c, 2, Some(tag_at(b, "user_tag", 1))))),
        ("user_tag", 1, with_column(b, "user_tag", |c| set_tag(c, 1, None))),
        ("user_tag", 0, with_column(b, "user_tag", |c| set_tag(c, 0, Some(tag_at(b, "user_tag", 1))))),
        ("user_tag", 3, with_column(b, "user_tag", |c| set_tag(c, 3, Some(tag_at(b, "user_tag", 2))))),
        ("ip_tag", 0, with_column(b, "ip_tag", |c| set_tag(c, 0, Some(flipped("ip_tag", 0))))),
        ("ip_tag", 1, with_column(b, "ip_tag", |c| set_tag(c, 1, None))),
        ("ip_tag", 3, with_column(b, "ip_tag", |c| set_tag(c, 3, Some(tag_at(b, "ip_tag", 0))))),
    ];
    for (n, (column, row, tampered)) in cases.into_iter().enumerate() {
        let findings = deep_check(&s, &tampered, 2 + n as u32);
        let summary: Vec<_> = findings.iter().map(|f| (f.category, f.seq_first, f.message.clone())).collect();
        let from = if column == "user_tag" { "user_id" } else { "client_ip" };
        assert_eq!(
            summary,
            vec![(Category::RecordMismatch, Some(row as u64), format!("{column} does not match {from}"))],
            "case {n}: {column} of row {row}"
        );
    }
}
