//! What a search asks for, and which rows, row groups and files can match.
//!
//! A row's time is its event `time`, or when that is missing (a line that
//! did not parse) its `received_at`: every record has one, so a bounded
//! time range finds unparsed lines too.

use std::ops::RangeInclusive;

use logseal_core::blind::IpTag;
use logseal_core::manifest::{Manifest, TimeRange};
use logseal_core::timefmt::parse_rfc3339;

use crate::{Error, Result};

/// A search: a time range and row filters, all of which must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Rows from this time (microseconds since the epoch, inclusive).
    pub from_us: i64,
    /// Rows before this time (exclusive).
    pub to_us: i64,
    /// Only rows whose `client_ip` has this blind index.
    pub ip_tag: Option<IpTag>,
    /// Only rows whose URL path contains these bytes.
    pub url_contains: Option<String>,
    /// Only rows whose status lies in this range.
    pub status: Option<RangeInclusive<u16>>,
    /// At most this many rows.
    pub limit: Option<usize>,
}

impl Query {
    /// A query of everything in `[from_us, to_us)`.
    pub fn between(from_us: i64, to_us: i64) -> Result<Query> {
        if from_us >= to_us {
            return Err(Error::InvalidQuery(format!(
                "the time range is empty: from {from_us} is not before to {to_us}"
            )));
        }
        Ok(Query { from_us, to_us, ip_tag: None, url_contains: None, status: None, limit: None })
    }

    /// Whether `[min, max]` (microseconds, inclusive) meets the range.
    pub fn meets(&self, min: i64, max: i64) -> bool {
        min < self.to_us && max >= self.from_us
    }

    /// Whether a file with this manifest may hold matching rows: its event
    /// times or its receive times meet the range (a manifest that cannot be
    /// read is kept: the scan then says what is wrong).
    pub fn may_match(&self, manifest: &Manifest) -> bool {
        let meets = |r: &TimeRange| match (parse_rfc3339(&r.min), parse_rfc3339(&r.max)) {
            (Some((min, _)), Some((max, _))) => self.meets(min, max),
            _ => true,
        };
        manifest.event_time.as_ref().is_some_and(meets) || meets(&manifest.received_at)
    }

    /// The columns the row filters read.
    pub fn filter_columns(&self) -> Vec<&'static str> {
        let mut columns = vec!["time", "received_at"];
        if self.ip_tag.is_some() {
            columns.push("ip_tag");
        }
        if self.url_contains.is_some() {
            columns.push("url_path");
        }
        if self.status.is_some() {
            columns.push("status");
        }
        columns
    }
}
