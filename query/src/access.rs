//! The access-audit trail: every request to the query server, allowed or
//! denied, becomes a record of the `_access` stream — sealed in the same
//! format as log data (hash chain, Merkle root, signed checkpoints), so
//! `logseal verify` covers it.
//!
//! A record is a JSON line, parsed like any JSON access log so that its
//! columns can be searched: `time_iso8601` (when), `request_uri`,
//! `status`, `request_id`; the principal is the record's `source` (as for
//! any record: who sent it, by certificate). Everything else (principal,
//! the staff member's address, role, grant, reason, ticket, the canonical
//! query, the deciding policies, files read, rows returned, the digest of
//! what was returned) stays in the line, under keys the JSON mapping does
//! not read: no `client_ip` or `user_id` column, so no pseudonym is
//! computed and sealing the trail needs no blind-index key. Records go through
//! a write-ahead log ([`logseal_ingest::shard::Shard`]): [`AccessTrail::append`]
//! returns once the record is fsync'd, and the server sends no result row
//! before that.
//!
//! The trail holds staff activity, not log subjects' data, and auditors
//! read it without the `pii` key: its files are encrypted under the base
//! master key in both key domains ([`BaseOnlyKeys`]; FORMAT.md §6.5).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use logseal_core::checkpoint::LogSigner;
use logseal_core::parse::{JsonMapping, parse_line};
use logseal_core::{LineFormat, Micros, Record};
use logseal_ingest::shard::{Receipt, SealPolicy, Shard, ShardOptions};
use logseal_ingest::wal::WalOptions;
use logseal_store::keys::{KeyDomain, KeyProvider};
use logseal_store::object::ObjectStore;
use logseal_store::sealer::{SealerOptions, StreamSealer};
use zeroize::Zeroizing;

use crate::Result;

/// The stream every access record goes to.
pub const ACCESS_STREAM: &str = "_access";

/// A key provider that encrypts both key domains under the base master
/// key: the `_access` stream is readable by whoever may read base columns.
pub struct BaseOnlyKeys(pub Arc<dyn KeyProvider>);

impl KeyProvider for BaseOnlyKeys {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }

    fn master_key_id(&self, _domain: KeyDomain) -> String {
        self.0.master_key_id(KeyDomain::Base)
    }

    fn wrap(&self, master_key_id: &str, key: &[u8], context: &[u8]) -> logseal_store::Result<String> {
        self.0.wrap(master_key_id, key, context)
    }

    fn unwrap(&self, master_key_id: &str, wrapped: &str, context: &[u8]) -> logseal_store::Result<Zeroizing<Vec<u8>>> {
        self.0.unwrap(master_key_id, wrapped, context)
    }

    fn index_key_id(&self) -> String {
        self.0.index_key_id()
    }

    /// The deployment's index key when this server holds it. A server
    /// without it (analysts' servers must not hold it: with it, IPv4
    /// pseudonyms can be reversed by trying every address) gets a fixed
    /// key that is never applied: access records have no `client_ip` and
    /// no `user_id` ([`access_record`]), so no pseudonym is computed for
    /// them, and `verify --deep` recomputes none.
    fn index_key(&self) -> logseal_store::Result<Zeroizing<[u8; 32]>> {
        Ok(self.0.index_key().unwrap_or_else(|_| Zeroizing::new(UNUSED_INDEX_KEY)))
    }
}

/// See [`BaseOnlyKeys::index_key`].
const UNUSED_INDEX_KEY: [u8; 32] = [0; 32];

/// How the trail is kept.
#[derive(Debug, Clone)]
pub struct TrailOptions {
    /// Its write-ahead log directory.
    pub wal_dir: PathBuf,
    /// Seal a file at the latest this long after its first record.
    pub seal_after: Duration,
    /// How the stream is sealed (deployment, heartbeat, mirror).
    pub sealer: SealerOptions,
}

/// The running trail.
#[derive(Debug)]
pub struct AccessTrail {
    shard: Shard,
    clock: fn() -> Micros,
}

impl AccessTrail {
    /// Opens the `_access` stream (recovering it from the store and the
    /// WAL) and starts sealing. Call from a blocking context.
    pub fn open(
        store: Arc<dyn ObjectStore>,
        keys: Arc<dyn KeyProvider>,
        signer: Arc<LogSigner>,
        options: TrailOptions,
        runtime: tokio::runtime::Handle,
        clock: fn() -> Micros,
    ) -> Result<AccessTrail> {
        let keys: Arc<dyn KeyProvider> = Arc::new(BaseOnlyKeys(keys));
        let sealer = StreamSealer::open(store, keys, signer, ACCESS_STREAM, options.sealer, clock())?;
        let shard = Shard::start(
            runtime,
            sealer,
            ShardOptions {
                stream: ACCESS_STREAM.into(),
                wal_dir: options.wal_dir,
                wal: WalOptions::default(),
                group_commit: Duration::from_millis(1),
                max_group_bytes: 1 << 20,
                wal_budget_bytes: 256 << 20,
                seal: SealPolicy { max_records: 10_000, max_bytes: 64 << 20, max_age: options.seal_after },
                queue: 256,
            },
            clock,
        )?;
        Ok(AccessTrail { shard, clock })
    }

    /// Appends `event` as a record from `principal` and returns once it is
    /// durable.
    pub async fn append(&self, principal: &str, event: &serde_json::Value) -> Result<Receipt> {
        let record = access_record(principal, event, (self.clock)());
        Ok(self.shard.submit(vec![record]).await?)
    }

    /// Seals everything appended and stops (blocking).
    pub fn shutdown(&self) -> Result<()> {
        Ok(self.shard.shutdown()?)
    }
}

/// The record of `event`: its canonical JSON as the line, parsed as a
/// JSON access log (a line that does not parse is kept with its error,
/// like any other).
pub fn access_record(principal: &str, event: &serde_json::Value, now: Micros) -> Record {
    let line = logseal_core::json::canonical_bytes(event);
    let parsed = parse_line(LineFormat::Json, &line, &JsonMapping::default()).map_err(|e| e.to_string());
    // Events use no key the mapping reads as a client address or user id
    // (see BaseOnlyKeys::index_key; checked in the tests below).
    Record::from_parse(0, now, principal, LineFormat::Json, line, parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_event_is_a_json_access_record_with_searchable_columns() {
        let event = serde_json::json!({
            "type": "request",
            "request_id": "r-1",
            "time_iso8601": "2026-11-28T10:00:00Z",
            "principal": "alice",
            "peer": "127.0.0.1",
            "request_method": "POST",
            "request_uri": "/v1/search",
            "status": 200,
            "query": {"ip": "203.0.113.7"},
        });
        let record = access_record("alice", &event, 1);
        assert_eq!(record.parse_error, None);
        assert_eq!(record.source, "alice");
        assert_eq!((record.user_id.as_deref(), record.client_ip), (None, None));
        assert_eq!(record.status, Some(200));
        assert_eq!(record.url_path.as_deref(), Some("/v1/search"));
        assert_eq!(record.request_id.as_deref(), Some("r-1"));
        assert!(record.time.is_some());
        // Canonical: keys sorted, so the same event is the same line.
        let text = String::from_utf8(record.raw.clone()).unwrap();
        assert!(text.starts_with(r#"{"peer":"127.0.0.1","principal":"alice","query":{"ip":"203.0.113.7"}"#), "{text}");
    }
}
