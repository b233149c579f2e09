//! What a search asks for, and which rows, row groups and files can match.
//!
//! A row's time is its event `time`, or when that is missing (a line that
//! did not parse) its `received_at`: every record has one, so a bounded
//! time range finds unparsed lines too.

use std::net::IpAddr;
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
    /// Only rows whose `user_id` has this pseudonym (the stored `user_tag`
    /// column, a `base` column with a Bloom filter).
    pub user_tag: Option<IpTag>,
    /// Only rows whose URL contains these bytes: the path, or with
    /// [`Query::url_with_query`] the path and query string.
    pub url_contains: Option<String>,
    /// Only rows whose URL matches this regular expression (same URL as
    /// for `url_contains`; Rust `regex` syntax, unanchored).
    pub url_regex: Option<String>,
    /// Whether URL filters see the query string too (`path?query`; the
    /// query string is a `pii` column).
    pub url_with_query: bool,
    /// Only rows whose URL path starts with this.
    pub url_prefix: Option<String>,
    /// Only rows whose status lies in this range.
    pub status: Option<RangeInclusive<u16>>,
    /// Only rows with this `host` (exact).
    pub host: Option<String>,
    /// Only rows with this method (exact, e.g. `GET`).
    pub method: Option<String>,
    /// Only rows from this source (the sender's identity or file).
    pub source: Option<String>,
    /// Only rows with this `user_id` (a `pii` column).
    pub user_id: Option<String>,
    /// Only rows whose `client_ip` lies in this network (a `pii` column;
    /// a single address is better asked as [`Query::ip_tag`], which the
    /// Bloom filters and a base column answer).
    pub client_net: Option<IpNet>,
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
        Ok(Query {
            from_us,
            to_us,
            ip_tag: None,
            user_tag: None,
            url_contains: None,
            url_regex: None,
            url_with_query: false,
            url_prefix: None,
            status: None,
            host: None,
            method: None,
            source: None,
            user_id: None,
            client_net: None,
            limit: None,
        })
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
        if self.user_tag.is_some() {
            columns.push("user_tag");
        }
        let url = self.url_contains.is_some() || self.url_regex.is_some();
        if url || self.url_prefix.is_some() {
            columns.push("url_path");
        }
        if url && self.url_with_query {
            columns.push("url_query");
        }
        for (asked, column) in [
            (self.status.is_some(), "status"),
            (self.host.is_some(), "host"),
            (self.method.is_some(), "method"),
            (self.source.is_some(), "source"),
            (self.user_id.is_some(), "user_id"),
            (self.client_net.is_some(), "client_ip"),
        ] {
            if asked {
                columns.push(column);
            }
        }
        columns
    }
}

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    /// The network's address (host bits may be set; they are ignored).
    pub addr: IpAddr,
    /// Leading bits that must match.
    pub prefix: u8,
}

impl IpNet {
    /// Parses `ADDR` or `ADDR/PREFIX`.
    pub fn parse(text: &str) -> Result<IpNet> {
        let bad = |why: &str| Error::InvalidQuery(format!("{text:?} is not an IP address or network: {why}"));
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr =
            addr.parse().map_err(|_| bad("expected e.g. 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => {
                p.parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(|| bad("the prefix length is out of range"))?
            }
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }

    /// Whether the network is a single address.
    pub fn is_single(&self) -> bool {
        self.prefix == if self.addr.is_ipv4() { 32 } else { 128 }
    }

    /// Whether `ip` lies in the network (an IPv4 network never holds an
    /// IPv6 address, nor the reverse).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Parses a status filter: `500`, `5xx`, or `400-499`.
pub fn parse_status(text: &str) -> Result<RangeInclusive<u16>> {
    let bad = || Error::InvalidQuery(format!("status {text:?}: expected e.g. 500, 5xx or 400-499"));
    let code = |t: &str| t.parse::<u16>().ok().filter(|c| (100..=599).contains(c)).ok_or_else(bad);
    if let Some(class) = text.strip_suffix("xx") {
        let digit = class.parse::<u16>().ok().filter(|d| (1..=5).contains(d)).ok_or_else(bad)?;
        return Ok(digit * 100..=digit * 100 + 99);
    }
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (code(a)?, code(b)?);
            if a > b {
                return Err(bad());
            }
            Ok(a..=b)
        }
        None => code(text).map(|c| c..=c),
    }
}

/// Parses a duration such as `90s`, `15m`, `1h`, `7d` into microseconds.
pub fn parse_duration(text: &str) -> Result<i64> {
    let bad = || Error::InvalidQuery(format!("duration {text:?}: expected a number and s, m, h or d, e.g. 1h"));
    let unit = text.chars().last().ok_or_else(bad)?;
    let n: i64 = text[..text.len() - unit.len_utf8()].parse().ok().filter(|&n| n > 0).ok_or_else(bad)?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(secs * 1_000_000).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_contain() {
        let net = IpNet::parse("203.0.113.0/24").unwrap();
        assert!(net.contains("203.0.113.200".parse().unwrap()));
        assert!(!net.contains("203.0.114.1".parse().unwrap()));
        assert!(!net.contains("::ffff:203.0.113.1".parse().unwrap()));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        let v6 = IpNet::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()) && !v6.contains("2001:db9::".parse().unwrap()));
        assert!(IpNet::parse("2001:db8::1").unwrap().is_single());
        for bad in ["", "1.2.3", "1.2.3.4/33", "::/129", "1.2.3.4/x", "example.com"] {
            assert!(IpNet::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn statuses_and_durations_parse() {
        assert_eq!(parse_status("5xx").unwrap(), 500..=599);
        assert_eq!(parse_status("404").unwrap(), 404..=404);
        assert_eq!(parse_status("400-499").unwrap(), 400..=499);
        for bad in ["", "6xx", "0xx", "99", "600", "499-400", "4x", "abc"] {
            assert!(parse_status(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("1h").unwrap(), 3_600_000_000);
        assert_eq!(parse_duration("90s").unwrap(), 90_000_000);
        for bad in ["", "h", "0h", "-1h", "1w", "1.5h", "99999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
