//! The columns a sealed file derives from a record's personal fields, so
//! that a reader holding only the `base` key sees pseudonyms instead of
//! the values (FORMAT.md §6.1, §8): `ip_tag` and `client_prefix` from
//! `client_ip`, `user_tag` from `user_id`. They are not committed (the
//! commitment covers the fields they are derived from); the writer stores
//! them and the deep verifier recomputes them, both through this module.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv6Addr};

use crate::blind::{IpTag, IpTagger};
use crate::record::Record;

/// The network prefix shown in place of an address, as in the
/// `client_prefix` column: the /24 of an IPv4 address (`203.0.113.0/24`),
/// the /48 of an IPv6 address (`2001:db8:1::/48`, RFC 5952 text), an
/// IPv4-mapped IPv6 address taken as the IPv4 address it maps.
pub fn ip_prefix(ip: IpAddr) -> String {
    client_prefix(ip).as_str().to_owned()
}

/// [`ip_prefix`] without allocating.
pub fn client_prefix(ip: IpAddr) -> PrefixText {
    let mut text = PrefixText { bytes: [0; PrefixText::CAPACITY], len: 0 };
    let written = match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            write!(text, "{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            write!(text, "{}/48", Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
        }
    };
    written.expect("a prefix fits in PrefixText::CAPACITY bytes");
    text
}

/// The text of a network prefix, held inline.
#[derive(Clone, Copy)]
pub struct PrefixText {
    bytes: [u8; PrefixText::CAPACITY],
    len: u8,
}

impl PrefixText {
    /// Longer than any IPv6 address text (45 bytes) plus `/48`.
    const CAPACITY: usize = 48;

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("only UTF-8 is written")
    }
}

impl fmt::Write for PrefixText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let start = usize::from(self.len);
        let end = start + s.len();
        self.bytes.get_mut(start..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end as u8;
        Ok(())
    }
}

impl fmt::Display for PrefixText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for PrefixText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for PrefixText {
    fn eq(&self, other: &PrefixText) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for PrefixText {}

/// The derived columns of one row, as a file stores them (each null
/// exactly when the field it is derived from is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derived {
    /// `ip_tag`: the blind index of `client_ip` ([`IpTagger::tag`]).
    pub ip_tag: Option<IpTag>,
    /// `client_prefix`: the network prefix of `client_ip` ([`ip_prefix`]).
    pub client_prefix: Option<String>,
    /// `user_tag`: the pseudonym of `user_id` ([`IpTagger::user_tag`]).
    pub user_tag: Option<IpTag>,
}

impl Derived {
    /// What a writer stores for `record`.
    pub fn of(record: &Record, tagger: &IpTagger) -> Derived {
        Derived {
            ip_tag: record.client_ip.map(|ip| tagger.tag(ip)),
            client_prefix: record.client_ip.map(ip_prefix),
            user_tag: record.user_id.as_deref().map(|u| tagger.user_tag(u)),
        }
    }

    /// The names of the columns of `self` (as stored) that differ from
    /// what `record` gives, in file order; empty when all agree.
    pub fn mismatches(&self, record: &Record, tagger: &IpTagger) -> Vec<&'static str> {
        let mut wrong = Vec::new();
        if self.ip_tag != record.client_ip.map(|ip| tagger.tag(ip)) {
            wrong.push("ip_tag");
        }
        let prefix = record.client_ip.map(client_prefix);
        if self.client_prefix.as_deref() != prefix.as_ref().map(PrefixText::as_str) {
            wrong.push("client_prefix");
        }
        if self.user_tag != record.user_id.as_deref().map(|u| tagger.user_tag(u)) {
            wrong.push("user_tag");
        }
        wrong
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_truncate_addresses() {
        let p = |ip: &str| ip_prefix(ip.parse().unwrap());
        assert_eq!(p("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(p("::ffff:203.0.113.77"), "203.0.113.0/24");
        assert_eq!(p("2001:db8:abcd:12::1"), "2001:db8:abcd::/48");
        assert_eq!(p("2001:db8:1:ffff:1:2:3:4"), "2001:db8:1::/48");
        assert_eq!(p("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "ffff:ffff:ffff::/48");
        assert_eq!(p("0.0.0.0"), "0.0.0.0/24");
        assert_eq!(p("::1"), "::/48");
        assert_eq!(p("::192.0.2.1"), "::/48", "IPv4-compatible is not mapped");
        assert_eq!(p("0:0:1::"), "0:0:1::/48");
        assert_eq!(p("2001:0:0:1::"), "2001::/48");
    }

    #[test]
    fn derived_columns_follow_their_fields_and_name_what_differs() {
        let tagger = IpTagger::new(&[9; 32]);
        let mut r = Record { seq: 3, source: "s".into(), ..Record::default() };
        assert_eq!(Derived::of(&r, &tagger), Derived::default(), "null fields give null columns");
        r.client_ip = Some("192.0.2.9".parse().unwrap());
        r.user_id = Some("alice".into());
        let d = Derived::of(&r, &tagger);
        assert_eq!(d.client_prefix.as_deref(), Some("192.0.2.0/24"));
        assert_eq!(d.user_tag, Some(tagger.user_tag("alice")));
        assert_eq!(d.ip_tag, Some(tagger.tag("192.0.2.9".parse().unwrap())));
        assert!(d.mismatches(&r, &tagger).is_empty());
        let mut bad = d.clone();
        bad.client_prefix = Some("192.0.3.0/24".into());
        bad.user_tag = None;
        assert_eq!(bad.mismatches(&r, &tagger), ["client_prefix", "user_tag"]);
        assert_eq!(Derived::default().mismatches(&r, &tagger), ["ip_tag", "client_prefix", "user_tag"]);
    }
}
