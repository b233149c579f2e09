//! A rough probe of the scan engine on a local data directory (not the
//! issue's benchmark, which will compare with DuckDB and rg on 10M rows):
//!
//!     cargo run --release -p logseal-query --example scan_probe -- DATA_DIR IP URL_SUBSTRING
//!
//! Prints, for an IP look-up and a URL-substring scan over all time: rows,
//! wall time, time to the first batch, files/row groups read, bytes fetched.

use std::sync::Arc;
use std::time::Instant;

use logseal_core::blind::IpTagger;
use logseal_query::engine::{plan, search};
use logseal_query::query::Query;
use logseal_store::keys::KeyProvider;
use logseal_store::keys::local::LocalKeys;
use logseal_store::keys::pme::PmeKeys;
use logseal_store::object::local::LocalStore;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, ip, url] = &args[..] else {
        return Err("usage: scan_probe DATA_DIR IP URL_SUBSTRING".into());
    };
    let dir = std::path::Path::new(dir);
    let keys = Arc::new(LocalKeys::open(dir.join("keys")));
    let store = LocalStore::open(dir.join("store"))?;
    let decryption = PmeKeys::new(keys.clone() as Arc<dyn KeyProvider>).decryption()?;
    let tag = IpTagger::new(&*keys.index_key()?).tag(ip.parse()?);
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let everything = Query::between(i64::MIN / 2, i64::MAX / 2)?;
    let by_ip = Query { ip_tag: Some(tag), ..everything.clone() };
    let by_url = Query { url_contains: Some(url.clone()), ..everything };
    for (what, query, columns) in [
        (
            "ip look-up (all columns)",
            &by_ip,
            &["seq", "time", "client_ip", "url_path", "url_query", "status", "user_agent"][..],
        ),
        ("url substring (count)", &by_url, &["seq"][..]),
    ] {
        let started = Instant::now();
        let plan = plan(&store, None, query)?;
        let mut first = None;
        let mut sink = |_batch: arrow_array::RecordBatch| {
            first.get_or_insert_with(|| started.elapsed());
            true
        };
        let stats = search(&store, decryption.clone(), &plan, query, columns, threads, &mut sink)?;
        println!(
            "{what}: {} rows in {:.1} ms (first batch {:.1} ms); files {}/{}, row groups {}/{}, {} requests, {:.1} MB fetched",
            stats.scan.rows,
            started.elapsed().as_secs_f64() * 1e3,
            first.map_or(f64::NAN, |f| f.as_secs_f64() * 1e3),
            stats.files_read,
            stats.files_total,
            stats.scan.row_groups_read,
            stats.scan.row_groups,
            stats.scan.requests,
            stats.scan.bytes_fetched as f64 / 1e6,
        );
    }
    Ok(())
}
