//! The query server's wire format, shared by `logseal serve` and the
//! `logseal search`/`stats`/`audit` client: the JSON request body, the
//! last line of every response stream ([`Summary`]), and how a request
//! becomes a [`Query`] for a given [`View`].
//!
//! Requests name what the staff member typed (`ip`, `user`, `url_contains`
//! …), not columns: which columns a filter reads depends on the view the
//! policy grants (a masked reader's URL filters see the path only).

use logseal_core::blind::{IP_TAG_LEN, IpTag, IpTagger};
use logseal_core::timefmt::parse_rfc3339;
use serde::{Deserialize, Serialize};

use crate::query::{IpNet, Query, parse_status};
use crate::stats::{Aggregate, Bucket};
use crate::{Error, Result};

/// The most rows one request may ask for with `limit` (a broad query
/// without a limit streams everything that matches).
pub const MAX_LIMIT: u64 = 1 << 40;

/// A search, stats or audit request (`POST /v1/search`, `/v1/stats`,
/// `/v1/audit`). Unknown fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiRequest {
    /// Rows from this time (RFC 3339, inclusive).
    pub from: String,
    /// Rows before this time (RFC 3339, exclusive).
    pub to: String,
    /// A client address or network (`203.0.113.7`, `203.0.113.0/24`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The `ip_tag` pseudonym of a client address (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_tag: Option<String>,
    /// A user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The `user_tag` pseudonym of a user id (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_tag: Option<String>,
    /// The virtual host (exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The URL path starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_prefix: Option<String>,
    /// The URL contains this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_contains: Option<String>,
    /// The URL matches this regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_regex: Option<String>,
    /// `500`, `5xx` or `400-499`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The HTTP method (exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The sender (for the audit trail: the staff member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// At most this many rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// What to compute (`/v1/stats` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<AggregateSpec>,
    /// The role to act in, when the principal holds grants of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Why (recorded in the access trail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The ticket the request is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

/// An aggregate as sent: `{"count": true}`, `{"top": "host", "n": 10}`,
/// `{"by": "hour"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateSpec {
    /// Count matching rows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub count: bool,
    /// The most frequent values of this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<String>,
    /// How many of them (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    /// Rows per `hour` or `day`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// What a reader gets to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// Every column (needs the `pii` key).
    Full,
    /// Pseudonyms, prefixes and paths instead of personal columns
    /// ([`crate::mask`]).
    Masked,
}

/// Columns of a full-view search result, in output order.
pub const FULL_COLUMNS: [&str; 19] = [
    "seq",
    "received_at",
    "source",
    "format",
    "time",
    "client_ip",
    "ip_tag",
    "method",
    "url_path",
    "url_query",
    "protocol",
    "status",
    "bytes_sent",
    "duration_us",
    "referer",
    "user_agent",
    "user_id",
    "request_id",
    "host",
];

/// Columns a masked reader receives (what the policy is asked about), and
/// what a masked search reads: the pseudonyms and prefixes are stored
/// `base` columns.
pub fn masked_columns() -> Vec<&'static str> {
    crate::mask::VISIBLE.iter().chain(crate::mask::DERIVED.iter()).copied().collect()
}

/// The last line of every response stream: `{"summary": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The access record's id.
    pub request_id: String,
    /// Rows sent.
    pub rows: u64,
    /// Files considered.
    pub files_total: u64,
    /// Files scanned.
    pub files_read: u64,
    /// Row groups scanned.
    pub row_groups_read: u64,
    /// Bytes fetched from the store.
    pub bytes_fetched: u64,
    /// SHA-256 (hex) of the row lines sent, as recorded in the access trail.
    pub digest: String,
    /// The view served.
    pub view: String,
    /// Milliseconds from the request being authorized to the first row
    /// handed to the connection (absent when there were no rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_row_ms: Option<f64>,
    /// Files the scan had finished when the first row was handed to the
    /// connection (fewer than `files_read`: results streamed while the
    /// scan went on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_done_at_first_row: Option<u64>,
    /// Milliseconds from the request being authorized to the last row
    /// handed to the connection, both access-trail writes included.
    pub server_ms: f64,
    /// Milliseconds spent making the access records durable.
    pub audit_ms: f64,
    /// The stats result (`/v1/stats`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<crate::stats::StatsResult>,
    /// Set when the stream ended early because of an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn tag_of(hex_text: &str, what: &str) -> Result<IpTag> {
    let bytes = hex::decode(hex_text.trim())
        .map_err(|_| Error::InvalidQuery(format!("{what} {hex_text:?} is not hex (as shown in results)")))?;
    <[u8; IP_TAG_LEN]>::try_from(bytes.as_slice())
        .map_err(|_| Error::InvalidQuery(format!("{what} {hex_text:?} must be {} hex digits", IP_TAG_LEN * 2)))
}

fn time_of(text: &str, what: &str) -> Result<i64> {
    parse_rfc3339(text).map(|(us, _)| us).ok_or_else(|| {
        Error::InvalidQuery(format!("{what} {text:?} is not an RFC 3339 time (e.g. 2026-11-28T10:00:00Z)"))
    })
}

impl ApiRequest {
    /// The fields (column names) the request filters on, as the policy
    /// sees them: `ip` is `client_ip` whatever index answers it.
    pub fn filter_fields(&self, view: View) -> Vec<&'static str> {
        let mut fields = vec!["time"];
        let url = self.url_contains.is_some() || self.url_regex.is_some();
        for (asked, field) in [
            (self.ip.is_some(), "client_ip"),
            (self.ip_tag.is_some(), "ip_tag"),
            (self.user.is_some(), "user_id"),
            (self.user_tag.is_some(), "user_tag"),
            (url || self.url_prefix.is_some(), "url_path"),
            (url && view == View::Full, "url_query"),
            (self.host.is_some(), "host"),
            (self.status.is_some(), "status"),
            (self.method.is_some(), "method"),
            (self.source.is_some(), "source"),
        ] {
            if asked {
                fields.push(field);
            }
        }
        fields
    }

    /// The time range in microseconds.
    pub fn range(&self) -> Result<(i64, i64)> {
        Ok((time_of(&self.from, "from")?, time_of(&self.to, "to")?))
    }

    /// The engine query for `view`: a single address becomes an `ip_tag`
    /// look-up (Bloom filters, a base column), a network a `client_ip`
    /// filter; URL filters see the query string only in the full view.
    /// `tagger` is `None` on a server without the blind-index key.
    pub fn to_query(&self, view: View, tagger: Option<&IpTagger>) -> Result<Query> {
        let (from, to) = self.range()?;
        let mut q = Query::between(from, to)?;
        if let Some(ip) = &self.ip {
            let net = IpNet::parse(ip)?;
            if net.is_single() {
                let tagger = tagger.ok_or_else(|| {
                    Error::InvalidQuery(
                        "this server holds no blind-index key, so it cannot look up an address (--ip-tag works; an IP look-up needs the investigators' server)".into(),
                    )
                })?;
                q.ip_tag = Some(tagger.tag(net.addr));
            } else {
                q.client_net = Some(net);
            }
        }
        if let Some(tag) = &self.ip_tag {
            let tag = tag_of(tag, "ip_tag")?;
            if q.ip_tag.is_some_and(|t| t != tag) {
                return Err(Error::InvalidQuery("ip and ip_tag name different addresses".into()));
            }
            q.ip_tag = Some(tag);
        }
        if let Some(tag) = &self.user_tag {
            q.user_tag = Some(tag_of(tag, "user_tag")?);
        }
        q.user_id = self.user.clone();
        q.url_prefix = self.url_prefix.clone();
        q.url_contains = self.url_contains.clone();
        q.url_regex = self.url_regex.clone();
        q.url_with_query = view == View::Full;
        q.status = self.status.as_deref().map(parse_status).transpose()?;
        q.host = self.host.clone();
        q.method = self.method.clone();
        q.source = self.source.clone();
        if let Some(limit) = self.limit {
            if limit == 0 || limit > MAX_LIMIT {
                return Err(Error::InvalidQuery(format!("limit {limit}: must be between 1 and {MAX_LIMIT}")));
            }
            q.limit = Some(limit as usize);
        }
        Ok(q)
    }

    /// The aggregate asked for, with the field as `view` shows it: a
    /// masked reader's `--top client_ip` counts `ip_tag`s, `--top user_id`
    /// `user_tag`s, `--top url` paths (never the values they stand for).
    pub fn aggregate(&self, view: View) -> Result<(Aggregate, String)> {
        let spec = self
            .aggregate
            .as_ref()
            .ok_or_else(|| Error::InvalidQuery("stats needs an aggregate: count, top FIELD or by hour|day".into()))?;
        let chosen = usize::from(spec.count) + usize::from(spec.top.is_some()) + usize::from(spec.by.is_some());
        if chosen != 1 {
            return Err(Error::InvalidQuery("stats: give exactly one of --count, --top FIELD, --by hour|day".into()));
        }
        if spec.count {
            return Ok((Aggregate::Count, "count".into()));
        }
        if let Some(by) = &spec.by {
            let bucket = match by.as_str() {
                "hour" => Bucket::Hour,
                "day" => Bucket::Day,
                other => return Err(Error::InvalidQuery(format!("--by {other:?}: expected hour or day"))),
            };
            return Ok((Aggregate::ByTime(bucket), format!("by {by}")));
        }
        let asked = spec.top.as_deref().unwrap_or_default();
        let field = match (asked, view) {
            ("url", View::Full) => "url_path".to_owned(),
            ("client_ip" | "ip", View::Masked) => "ip_tag".to_owned(),
            ("user_id" | "user", View::Masked) => "user_tag".to_owned(),
            ("url" | "url_path" | "url_query", View::Masked) => "url_path".to_owned(),
            ("ip", View::Full) => "client_ip".to_owned(),
            ("user", View::Full) => "user_id".to_owned(),
            (other, _) => other.to_owned(),
        };
        let allowed: Vec<&str> = match view {
            View::Full => FULL_COLUMNS.to_vec(),
            View::Masked => masked_columns(),
        };
        if !allowed.contains(&field.as_str()) || field == "seq" {
            return Err(Error::InvalidQuery(format!(
                "--top {asked}: not a field of the results you may see ({})",
                allowed.iter().filter(|f| **f != "seq").copied().collect::<Vec<_>>().join(", ")
            )));
        }
        let n = spec.n.unwrap_or(10);
        if n == 0 || n > 100_000 {
            return Err(Error::InvalidQuery(format!("--top {asked} {n}: N must be between 1 and 100000")));
        }
        Ok((Aggregate::Top { field: field.clone(), n }, format!("top {field}")))
    }

    /// The request as recorded in the access trail: canonical JSON of the
    /// filters and purpose (keys sorted, absent fields left out).
    pub fn canonical(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
