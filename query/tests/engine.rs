//! The scan engine against a real sealed store, local and on S3
//! (SeaweedFS from `infra/dev/services`): for random queries, the rows
//! found are exactly those a brute-force filter over the sealed records
//! finds; pruning skips files and row groups without changing that.

#[path = "../../store/tests/support/services.rs"]
mod services;

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use logseal_core::blind::IpTagger;
use logseal_core::checkpoint::LogSigner;
use logseal_core::parse::{JsonMapping, parse_line};
use logseal_core::{LineFormat, Record};
use logseal_query::engine::{plan, search};
use logseal_query::query::Query;
use logseal_store::keys::KeyProvider;
use logseal_store::keys::local::LocalKeys;
use logseal_store::keys::pme::PmeKeys;
use logseal_store::object::ObjectStore;
use logseal_store::object::local::LocalStore;
use logseal_store::object::s3::{S3Location, S3Options, S3Store};
use logseal_store::sealed::write::WriteOptions;
use logseal_store::sealer::{SealerOptions, StreamSealer};
use proptest::prelude::*;

/// 2025-11-24T16:00:00Z.
const T0: i64 = 1_764_000_000_000_000;
const MINUTE: i64 = 60_000_000;
const IPS: [&str; 5] = ["203.0.113.7", "198.51.100.1", "2001:db8::1", "192.0.2.44", "203.0.113.8"];
const PATHS: [&str; 4] = ["/login", "/api/v1/items", "/static/app.js", "/api/v2/login"];
const STATUSES: [u16; 5] = [200, 204, 404, 500, 503];
const METHODS: [&str; 3] = ["GET", "POST", "DELETE"];
const USERS: [&str; 3] = ["-", "alice", "bob"];

struct Sealed {
    _dir: tempfile::TempDir,
    _services: Option<services::Services>,
    store: Arc<dyn ObjectStore>,
    keys: Arc<LocalKeys>,
    records: Vec<Record>,
}

/// The fixture in a local store.
fn sealed() -> &'static Sealed {
    static SEALED: std::sync::OnceLock<Sealed> = std::sync::OnceLock::new();
    SEALED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LocalStore::create(dir.path().join("store")).unwrap());
        seal_fixture(dir, None, store)
    })
}

/// The fixture on S3, under a fresh prefix of the services' bucket.
fn sealed_on_s3() -> &'static Sealed {
    static SEALED: std::sync::OnceLock<Sealed> = std::sync::OnceLock::new();
    SEALED.get_or_init(|| {
        let services = services::Services::get();
        let base = S3Location::parse(services.var("LOGSEAL_STORE")).unwrap();
        let location =
            S3Location { bucket: base.bucket, prefix: format!("{}/q-{:016x}", base.prefix, rand::random::<u64>()) };
        let options = S3Options {
            endpoint: Some(services.var("AWS_ENDPOINT_URL_S3").to_owned()),
            region: Some(services.var("AWS_REGION").to_owned()),
            path_style: Some(true),
            ..S3Options::default()
        };
        let store = Arc::new(
            S3Store::open_with(location, options, |l| l.credentials_provider(services.credentials())).unwrap(),
        );
        seal_fixture(tempfile::tempdir().unwrap(), Some(services), store)
    })
}

/// 2 streams of 3 files: 1,200 records over 10 hours in files of 200 with
/// row groups of 50; every 37th line does not parse.
fn seal_fixture(dir: tempfile::TempDir, services: Option<services::Services>, store: Arc<dyn ObjectStore>) -> Sealed {
    {
        let keys = Arc::new(LocalKeys::create(dir.path().join("keys")).unwrap());
        let signer = Arc::new(LogSigner::from_seed("logseal.test/q", [2; 32]).unwrap());
        let options = SealerOptions {
            deployment: "logseal.test/q".into(),
            heartbeat_secs: 60,
            write: WriteOptions { row_group_rows: 50, ..WriteOptions::default() },
            writer: "test".into(),
            mirror: None,
        };
        let mut records = Vec::new();
        for stream in ["web-0", "web-1"] {
            let mut sealer =
                StreamSealer::open(store.clone(), keys.clone(), signer.clone(), stream, options.clone(), T0).unwrap();
            for file in 0..3u64 {
                let batch: Vec<Record> = (0..200u64)
                    .map(|i| {
                        let seq = file * 200 + i;
                        let n = seq as usize + if stream == "web-1" { 3 } else { 0 };
                        let at = T0 + (seq as i64) * MINUTE / 2 + if stream == "web-1" { 7 * MINUTE } else { 0 };
                        let secs = at / 1_000_000;
                        let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
                        let line = if n.is_multiple_of(37) {
                            format!("garbage line {n}")
                        } else {
                            format!(
                                "{} - {} [24/Nov/2025:{h:02}:{m:02}:{s:02} +0000] \"{} {}?q={n} HTTP/1.1\" {} {n} \"-\" \"t\"",
                                IPS[n % IPS.len()],
                                USERS[n / 3 % USERS.len()],
                                METHODS[n / 2 % METHODS.len()],
                                PATHS[n % PATHS.len()],
                                STATUSES[n % STATUSES.len()]
                            )
                        };
                        let parsed =
                            parse_line(LineFormat::Combined, line.as_bytes(), &JsonMapping::default()).map_err(|e| e.to_string());
                        Record::from_parse(seq, at + 5, stream, LineFormat::Combined, line.into_bytes(), parsed)
                    })
                    .collect();
                records.extend(batch.iter().cloned());
                sealer.seal(batch, T0).unwrap();
            }
        }
        Sealed { _dir: dir, _services: services, store, keys, records }
    }
}

fn brute_force(s: &Sealed, q: &Query, tagger: &IpTagger) -> BTreeSet<(String, u64)> {
    s.records
        .iter()
        .filter(|r| {
            let at = r.time.map_or(r.received_at, |t| t.utc_micros);
            at >= q.from_us
                && at < q.to_us
                && q.ip_tag.as_ref().is_none_or(|tag| r.client_ip.is_some_and(|ip| tagger.tag(ip) == *tag))
                && q.user_tag
                    .as_ref()
                    .is_none_or(|tag| r.user_id.as_deref().is_some_and(|u| tagger.user_tag(u) == *tag))
                && q.url_contains.as_ref().is_none_or(|n| url(r, q).is_some_and(|u| u.contains(n.as_str())))
                && q.url_regex
                    .as_ref()
                    .is_none_or(|re| url(r, q).is_some_and(|u| regex::Regex::new(re).unwrap().is_match(u)))
                && q.url_prefix.as_ref().is_none_or(|n| r.url_path.as_ref().is_some_and(|p| p.starts_with(n.as_str())))
                && q.status.as_ref().is_none_or(|range| r.status.is_some_and(|st| range.contains(&st)))
                && q.method.as_ref().is_none_or(|m| r.method.as_ref() == Some(m))
                && q.source.as_ref().is_none_or(|src| &r.source == src)
                && q.user_id.as_ref().is_none_or(|u| r.user_id.as_ref() == Some(u))
                && q.client_net.as_ref().is_none_or(|net| r.client_ip.is_some_and(|ip| net.contains(ip)))
        })
        .map(|r| (r.source.clone(), r.seq))
        .collect()
}

/// The URL the filters see: the path, or the whole URL (path?query).
fn url<'r>(r: &'r Record, q: &Query) -> Option<&'r str> {
    if q.url_with_query { r.url.as_deref() } else { r.url_path.as_deref() }
}

fn run(s: &Sealed, q: &Query, threads: usize) -> (BTreeSet<(String, u64)>, logseal_query::engine::SearchStats) {
    let decryption = PmeKeys::new(s.keys.clone() as Arc<dyn KeyProvider>).decryption().unwrap();
    let plan = plan(&*s.store, None, q).unwrap();
    let mut found = BTreeSet::new();
    let mut sink = |batch: arrow_array::RecordBatch| {
        let seqs = batch.column_by_name("seq").unwrap().as_primitive::<UInt64Type>();
        let sources = batch.column_by_name("source").unwrap().as_string::<i32>();
        for i in 0..batch.num_rows() {
            assert!(found.insert((sources.value(i).to_owned(), seqs.value(i))), "row found twice");
        }
        true
    };
    let stats = search(&*s.store, decryption, &plan, q, &["seq", "source", "client_ip"], threads, &mut sink).unwrap();
    (found, stats)
}

fn tagger(s: &Sealed) -> IpTagger {
    IpTagger::new(&s.keys.index_key().unwrap())
}

#[test]
fn an_ip_look_up_prunes_files_and_row_groups_and_finds_every_row() {
    let s = sealed();
    let t = tagger(s);
    let mut q = Query::between(T0, T0 + 20 * 60 * MINUTE).unwrap();
    q.ip_tag = Some(t.tag("2001:db8::1".parse().unwrap()));
    let (found, stats) = run(s, &q, 2);
    assert_eq!(found, brute_force(s, &q, &t));
    assert!(!found.is_empty());
    // A narrow time range reads fewer files.
    let mut narrow = q.clone();
    narrow.to_us = T0 + 30 * MINUTE;
    let (found, narrow_stats) = run(s, &narrow, 2);
    assert_eq!(found, brute_force(s, &narrow, &t));
    assert!(narrow_stats.files_read < stats.files_read, "{narrow_stats:?} vs {stats:?}");
    assert!(narrow_stats.scan.row_groups_read < narrow_stats.scan.row_groups, "{narrow_stats:?}");
    // An IP that is not there: every row group is skipped by its Bloom filter.
    let mut absent = q.clone();
    absent.ip_tag = Some(t.tag("10.9.9.9".parse().unwrap()));
    let (found, absent_stats) = run(s, &absent, 2);
    assert!(found.is_empty());
    assert!(absent_stats.scan.row_groups_read < absent_stats.scan.row_groups / 4, "{absent_stats:?}");
}

#[test]
fn a_user_look_up_by_pseudonym_finds_every_row_and_prunes_absent_users() {
    let s = sealed();
    let t = tagger(s);
    let mut q = Query::between(T0, T0 + 20 * 60 * MINUTE).unwrap();
    q.user_tag = Some(t.user_tag("alice"));
    let (found, _) = run(s, &q, 2);
    assert!(!found.is_empty());
    assert_eq!(found, brute_force(s, &q, &t));
    // With another filter on a pseudonym, both must hold.
    q.ip_tag = Some(t.tag("203.0.113.7".parse().unwrap()));
    let (both, _) = run(s, &q, 2);
    assert!(!both.is_empty() && both.len() < found.len());
    assert_eq!(both, brute_force(s, &q, &t));
    // A user that is not there: the user_tag Bloom filters skip (nearly)
    // every row group.
    let mut absent = Query::between(T0, T0 + 20 * 60 * MINUTE).unwrap();
    absent.user_tag = Some(t.user_tag("mallory"));
    let (found, stats) = run(s, &absent, 2);
    assert!(found.is_empty());
    assert!(stats.scan.row_groups_read < stats.scan.row_groups / 4, "{stats:?}");
}

#[test]
fn a_limit_stops_the_search() {
    let s = sealed();
    let mut q = Query::between(T0, T0 + 20 * 60 * MINUTE).unwrap();
    q.limit = Some(70);
    let (found, stats) = run(s, &q, 2);
    assert_eq!(found.len(), 70);
    assert_eq!(stats.scan.rows, 70);
    assert!(found.is_subset(&brute_force(s, &q, &tagger(s))));
}

#[test]
fn an_empty_time_range_and_a_bad_regex_are_refused() {
    assert!(Query::between(T0, T0).is_err());
    let s = sealed();
    let mut q = Query::between(T0, T0 + MINUTE).unwrap();
    q.url_regex = Some("(unclosed".into());
    let decryption = PmeKeys::new(s.keys.clone() as Arc<dyn KeyProvider>).decryption().unwrap();
    let plan = plan(&*s.store, None, &q).unwrap();
    let err = search(&*s.store, decryption, &plan, &q, &["seq"], 1, &mut |_| true).unwrap_err();
    assert!(err.to_string().contains("--url-regex"), "{err}");
}

#[test]
fn url_filters_see_the_query_string_only_when_asked() {
    let s = sealed();
    let t = tagger(s);
    let mut q = Query::between(T0, T0 + 20 * 60 * MINUTE).unwrap();
    q.url_contains = Some("q=17".into());
    assert!(run(s, &q, 2).0.is_empty(), "the path alone never holds the query string");
    q.url_with_query = true;
    let (found, _) = run(s, &q, 2);
    assert!(!found.is_empty());
    assert_eq!(found, brute_force(s, &q, &t));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_queries_find_exactly_what_brute_force_finds_locally_and_on_s3(
        on_s3 in proptest::bool::weighted(0.25),
        from_min in -30i64..700,
        len_min in 1i64..800,
        ip in proptest::option::of(0usize..IPS.len()),
        path in proptest::option::of(prop_oneof![Just("login"), Just("/api/"), Just(".js"), Just("nothing"), Just("q=1")]),
        regex in proptest::option::of(prop_oneof![Just("^/api/v[12]/"), Just("q=[0-9]*7$"), Just("log(in|out)")]),
        with_query in proptest::bool::ANY,
        status in proptest::option::of(prop_oneof![Just(200u16..=299), Just(400..=599), Just(500..=500)]),
        prefix in proptest::option::of(prop_oneof![Just("/api/"), Just("/login"), Just("/x")]),
        method in proptest::option::of(0usize..METHODS.len()),
        source in proptest::option::of(prop_oneof![Just("web-0"), Just("web-1")]),
        user in proptest::option::of(1usize..USERS.len()),
        user_tag in proptest::option::of(prop_oneof![Just("alice"), Just("bob"), Just("mallory"), Just("-")]),
        net in proptest::option::of(prop_oneof![Just("203.0.113.0/24"), Just("2001:db8::/32"), Just("0.0.0.0/0")]),
        threads in 1usize..4,
    ) {
        let s = if on_s3 { sealed_on_s3() } else { sealed() };
        let t = tagger(s);
        let mut q = Query::between(T0 + from_min * MINUTE, T0 + (from_min + len_min) * MINUTE).unwrap();
        q.ip_tag = ip.map(|i| t.tag(IPS[i].parse().unwrap()));
        q.url_contains = path.map(str::to_owned);
        q.url_regex = regex.map(str::to_owned);
        q.url_with_query = with_query;
        q.status = status;
        q.url_prefix = prefix.map(str::to_owned);
        q.method = method.map(|m| METHODS[m].to_owned());
        q.source = source.map(str::to_owned);
        q.user_id = user.map(|u| USERS[u].to_owned());
        q.user_tag = user_tag.map(|u| t.user_tag(u));
        q.client_net = net.map(|n| logseal_query::query::IpNet::parse(n).unwrap());
        let (found, _) = run(s, &q, threads);
        prop_assert_eq!(found, brute_force(s, &q, &t));
    }
}

#[test]
fn a_reader_without_the_pii_key_scans_base_columns_and_is_refused_pii_ones() {
    let s = sealed();
    let t = tagger(s);
    // An analyst's key directory: everything but pii.key.
    let dir = tempfile::tempdir().unwrap();
    let analyst = dir.path().join("keys");
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700).create(&analyst).unwrap();
    for name in ["base.key", "index.key"] {
        std::fs::copy(s.keys.dir().join(name), analyst.join(name)).unwrap();
    }
    let keys = Arc::new(LocalKeys::open(&analyst));
    let decryption = PmeKeys::new(keys as Arc<dyn KeyProvider>).decryption().unwrap();
    let mut q = Query::between(T0, T0 + 20 * 60 * MINUTE).unwrap();
    q.ip_tag = Some(t.tag("203.0.113.7".parse().unwrap()));
    q.user_tag = Some(t.user_tag("bob"));
    q.url_contains = Some("login".into());
    let plan = plan(&*s.store, None, &q).unwrap();
    let mut found = BTreeSet::new();
    let mut prefixes = BTreeSet::new();
    let mut sink = |batch: arrow_array::RecordBatch| {
        let seqs = batch.column_by_name("seq").unwrap().as_primitive::<UInt64Type>();
        let sources = batch.column_by_name("source").unwrap().as_string::<i32>();
        found.extend((0..batch.num_rows()).map(|i| (sources.value(i).to_owned(), seqs.value(i))));
        let stored = batch.column_by_name("client_prefix").unwrap().as_string::<i32>();
        prefixes.extend((0..batch.num_rows()).map(|i| stored.value(i).to_owned()));
        true
    };
    let columns = ["seq", "source", "ip_tag", "client_prefix", "user_tag", "url_path"];
    search(&*s.store, decryption.clone(), &plan, &q, &columns, 2, &mut sink).unwrap();
    assert!(!found.is_empty());
    assert_eq!(found, brute_force(s, &q, &t));
    // The network prefix, stored in the base domain, without the pii key.
    assert_eq!(prefixes, BTreeSet::from(["203.0.113.0/24".to_owned()]));
    let err = search(&*s.store, decryption, &plan, &q, &["seq", "client_ip"], 2, &mut |_| true).unwrap_err();
    assert!(err.to_string().contains("pii"), "{err}");
}

#[test]
fn combined_filters_on_base_and_pii_columns_find_rows() {
    let s = sealed();
    let t = tagger(s);
    let mut q = Query::between(T0, T0 + 20 * 60 * MINUTE).unwrap();
    q.method = Some("GET".into());
    q.user_id = Some("alice".into());
    q.client_net = Some(logseal_query::query::IpNet::parse("203.0.113.0/24").unwrap());
    q.url_prefix = Some("/api/".into());
    q.source = Some("web-1".into());
    let expected = brute_force(s, &q, &t);
    assert!(expected.len() >= 5, "the fixture has such rows: {}", expected.len());
    assert_eq!(run(s, &q, 2).0, expected);
}

#[test]
fn on_s3_an_ip_look_up_reads_ranges_and_finds_every_row() {
    let s = sealed_on_s3();
    let t = tagger(s);
    let mut q = Query::between(T0, T0 + 20 * 60 * MINUTE).unwrap();
    q.ip_tag = Some(t.tag("198.51.100.1".parse().unwrap()));
    q.url_contains = Some("login".into());
    let (found, stats) = run(s, &q, 2);
    let expected = brute_force(s, &q, &t);
    assert!(!expected.is_empty());
    assert_eq!(found, expected);
    assert!(stats.scan.requests > 0 && stats.files_read == 6, "{stats:?}");
}
