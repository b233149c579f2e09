//! Property tests over real sealed stores: any record set seals and
//! verifies clean, structurally and deep; any single changed byte in any
//! stored object is detected.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use logseal_core::checkpoint::LogSigner;
use logseal_core::parse::url_path;
use logseal_core::verify::Category;
use logseal_core::{EventTime, LineFormat, Record};
use logseal_store::audit::{AuditRequest, NoProgress, audit};
use logseal_store::keys::KeyProvider;
use logseal_store::keys::local::LocalKeys;
use logseal_store::object::ObjectStore;
use logseal_store::object::local::LocalStore;
use logseal_store::sealed::write::WriteOptions;
use logseal_store::sealer::{SealerOptions, StreamSealer};
use proptest::prelude::*;

const NOW: i64 = 1_764_000_000_000_000;

fn opt<T: std::fmt::Debug + Clone>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        any::<String>(),
        Just("-".to_owned()),
        Just(String::new()),
        "[a-z]{1,8}\u{0}[\"\\\\]{0,3}é",
    ]
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|v| IpAddr::V4(Ipv4Addr::from(v))),
        any::<u128>().prop_map(|v| IpAddr::V6(Ipv6Addr::from(v))),
        any::<u32>().prop_map(|v| IpAddr::V6(Ipv4Addr::from(v).to_ipv6_mapped())),
    ]
}

prop_compose! {
    fn record()(
        received_at in 0i64..4_000_000_000_000_000,
        source in "[a-z:/._-]{1,30}",
        format in opt(prop_oneof![Just(LineFormat::Combined), Just(LineFormat::Common), Just(LineFormat::Json)]),
        time in opt((-62_000_000_000_000_000i64..250_000_000_000_000_000, -86_399i32..86_400)),
        client_ip in opt(ip()),
        method in opt(text()),
        url in opt(text()),
        protocol in opt(text()),
        status in opt(any::<u16>()),
        bytes_sent in opt(any::<u64>()),
        duration_us in opt(any::<u64>()),
        referer in opt(text()), user_agent in opt(text()), user_id in opt(text()),
        request_id in opt(text()), host in opt(text()),
        raw in prop::collection::vec(any::<u8>(), 0..300),
        parse_error in opt(text()),
    ) -> Record {
        Record {
            seq: 0, received_at, source, format,
            time: time.map(|(utc_micros, offset_secs)| EventTime { utc_micros, offset_secs }),
            client_ip, method,
            url_path: url.as_deref().map(|u| url_path(u).to_owned()),
            url, protocol, status, bytes_sent, duration_us, referer, user_agent, user_id,
            request_id, host, raw, parse_error,
        }
    }
}

/// A line the renderer can reproduce (so that `raw` is dropped from storage).
fn renderable(i: u64) -> Record {
    let line =
        format!("10.0.0.{} - - [10/Oct/2025:13:55:36 +0200] \"GET /a?b={i} HTTP/1.1\" 200 {i} \"-\" \"ua\"", i % 256);
    let parsed = logseal_core::parse::parse_line(LineFormat::Combined, line.as_bytes(), &Default::default())
        .map_err(|e| e.to_string());
    Record::from_parse(0, NOW, "file:x", LineFormat::Combined, line.into_bytes(), parsed)
}

struct Sealed {
    _dir: tempfile::TempDir,
    store: Arc<LocalStore>,
    keys: Arc<LocalKeys>,
    signer: Arc<LogSigner>,
}

fn seal(files: Vec<Vec<Record>>) -> Sealed {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::create(dir.path().join("store")).unwrap());
    let keys = Arc::new(LocalKeys::create(dir.path().join("keys")).unwrap());
    let signer = Arc::new(LogSigner::from_seed("logseal.test/p", [3; 32]).unwrap());
    let options = SealerOptions {
        deployment: "logseal.test/p".into(),
        heartbeat_secs: 60,
        write: WriteOptions::default(),
        writer: "test".into(),
        mirror: None,
    };
    let mut sealer = StreamSealer::open(store.clone(), keys.clone(), signer.clone(), "s", options, NOW).unwrap();
    for mut file in files {
        let first = sealer.next_seq();
        for (i, r) in file.iter_mut().enumerate() {
            r.seq = first + i as u64;
        }
        sealer.seal(file, NOW).unwrap();
    }
    sealer.pause(NOW).unwrap();
    Sealed { _dir: dir, store, keys, signer }
}

fn findings(s: &Sealed, deep: bool) -> Vec<Category> {
    let request = AuditRequest { stream: None, deep, full: false, threads: 2, now_secs: (NOW / 1_000_000) as u64 };
    let keys = deep.then(|| s.keys.clone() as Arc<dyn KeyProvider>);
    audit(&*s.store, None, &s.signer.verifier(), keys, None, &request, &NoProgress)
        .unwrap()
        .findings
        .into_iter()
        .map(|f| f.category)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_records_seal_and_verify_clean(
        files in prop::collection::vec(prop::collection::vec(record(), 1..20), 1..4),
        rendered in 0u64..5,
    ) {
        let mut files = files;
        files[0].extend((0..rendered).map(renderable));
        let sealed = seal(files);
        prop_assert_eq!(findings(&sealed, false), vec![]);
        prop_assert_eq!(findings(&sealed, true), vec![]);
    }
}

/// Flips one byte of one object (chosen by `pick`) and returns the key.
fn flip(sealed: &Sealed, object: usize, offset: usize) -> String {
    let objects = sealed.store.list("v1/", None).unwrap();
    let meta = &objects[object % objects.len()];
    let path = sealed.store.root().join(&meta.key);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = offset % bytes.len();
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    meta.key.clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_changed_byte_in_any_object_is_detected(object in 0usize..64, offset in any::<usize>()) {
        let sealed = seal(vec![(0..30).map(renderable).collect(), (0..10).map(renderable).collect()]);
        let key = flip(&sealed, object, offset);
        let found = findings(&sealed, false);
        prop_assert!(!found.is_empty(), "changed byte in {} went unnoticed", key);
    }
}
