//! Deep verification of one file with keys: the decrypted rows, with
//! `raw` re-rendered where the file does not store it, must reproduce
//! every commitment, the Merkle root, the chain and the counts the signed
//! manifest states.

use crate::blind::IpTagger;
use crate::commit::{FileDigest, SaltKey};
use crate::derived::Derived;
use crate::manifest::Manifest;
use crate::record::Record;
use crate::render::restore_raw;
use crate::timefmt::format_rfc3339_utc;
use crate::verify::finding::{Category, Finding};

/// Checks one file's rows against its manifest, row by row.
pub struct DeepFile<'a> {
    manifest: &'a Manifest,
    digest: FileDigest,
    tagger: Option<IpTagger>,
    findings: Vec<Finding>,
    rows: u64,
    raw_stored: u64,
    parse_errors: u64,
    event: Option<(i64, i64)>,
    received: Option<(i64, i64)>,
}

impl std::fmt::Debug for DeepFile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeepFile({} file {})", self.manifest.stream, self.manifest.file_index)
    }
}

impl<'a> DeepFile<'a> {
    /// Starts checking the file of `manifest`, whose salt key (unwrapped by
    /// the caller) is `salt_key`. With `tagger`, the stored derived
    /// columns (`ip_tag`, `client_prefix`, `user_tag`) are checked too.
    pub fn new(manifest: &'a Manifest, salt_key: &SaltKey, tagger: Option<IpTagger>) -> DeepFile<'a> {
        DeepFile {
            manifest,
            digest: FileDigest::new(salt_key, manifest.chain_in),
            tagger,
            findings: Vec::new(),
            rows: 0,
            raw_stored: 0,
            parse_errors: 0,
            event: None,
            received: None,
        }
    }

    fn finding(&mut self, category: Category, seq: Option<u64>, message: String) {
        let mut f = Finding::new(category, &self.manifest.stream, message)
            .object(&self.manifest.data.key)
            .file(self.manifest.file_index);
        if let Some(seq) = seq {
            f = f.seqs(seq, seq);
        }
        // One finding per kind and message shape is enough to act on; cap
        // the per-row flood at 100 per file.
        if self.findings.len() < 100 {
            self.findings.push(f);
        }
    }

    /// Adds the next row: the record as stored (`raw` empty when not
    /// stored), whether `raw` was stored, and its stored derived columns.
    pub fn push(&mut self, mut record: Record, raw_stored: bool, derived: &Derived) {
        let seq = record.seq;
        let expected = self.manifest.seq_first + self.rows;
        if seq != expected {
            self.finding(
                Category::RecordMismatch,
                Some(seq),
                format!("row {} has seq {seq}, expected {expected}", self.rows),
            );
        }
        self.rows += 1;
        self.raw_stored += u64::from(raw_stored);
        if !restore_raw(&mut record, raw_stored) {
            self.finding(
                Category::RecordMismatch,
                Some(seq),
                "raw bytes are not stored and cannot be rendered from the fields".into(),
            );
        }
        self.parse_errors += u64::from(record.parse_error.is_some());
        if let Some(tagger) = &self.tagger {
            for column in derived.mismatches(&record, tagger) {
                let from = if column == "user_tag" { "user_id" } else { "client_ip" };
                self.finding(Category::RecordMismatch, Some(seq), format!("{column} does not match {from}"));
            }
        }
        if let Some(t) = record.time {
            let (lo, hi) = self.event.get_or_insert((t.utc_micros, t.utc_micros));
            *lo = (*lo).min(t.utc_micros);
            *hi = (*hi).max(t.utc_micros);
        }
        let (lo, hi) = self.received.get_or_insert((record.received_at, record.received_at));
        *lo = (*lo).min(record.received_at);
        *hi = (*hi).max(record.received_at);
        let _ = self.digest.push(&record);
    }

    /// Compares what the rows add up to with the manifest.
    pub fn finish(mut self) -> Vec<Finding> {
        let m = self.manifest;
        let mut check = |ok: bool, what: String| {
            if !ok {
                self.findings.push(
                    Finding::new(Category::RecordMismatch, &m.stream, what)
                        .object(&m.data.key)
                        .file(m.file_index)
                        .seqs(m.seq_first, m.seq_last),
                );
            }
        };
        check(self.rows == m.count, format!("file has {} rows, manifest says {}", self.rows, m.count));
        check(
            self.digest.merkle_root() == m.merkle_root,
            "records do not hash to the manifest's Merkle root (a record was altered, added or removed)".into(),
        );
        check(self.digest.chain_out() == m.chain_out, "records do not chain to the manifest's chain_out".into());
        check(
            self.raw_stored == m.raw_stored,
            format!("{} rows store raw bytes, manifest says {}", self.raw_stored, m.raw_stored),
        );
        check(
            self.parse_errors == m.parse_errors,
            format!("{} rows have parse errors, manifest says {}", self.parse_errors, m.parse_errors),
        );
        let range = |r: Option<(i64, i64)>| r.map(|(lo, hi)| (format_rfc3339_utc(lo), format_rfc3339_utc(hi)));
        let event = range(self.event);
        check(
            event == m.event_time.as_ref().map(|t| (t.min.clone(), t.max.clone())),
            "event-time range differs from the manifest".into(),
        );
        check(
            range(self.received) == Some((m.received_at.min.clone(), m.received_at.max.clone())),
            "receive-time range differs from the manifest".into(),
        );
        self.findings
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;
    use crate::blind::IpTag;
    use crate::derived::ip_prefix;
    use crate::manifest::TimeRange;

    const KEY: [u8; 32] = [4; 32];

    fn tagger() -> IpTagger {
        IpTagger::new(&[6; 32])
    }

    /// A record with these personal fields, `raw` stored.
    fn record(seq: u64, client_ip: Option<IpAddr>, user_id: Option<String>) -> Record {
        Record {
            seq,
            received_at: 1_764_000_000_000_000 + seq as i64,
            source: "file:x".into(),
            client_ip,
            user_id,
            raw: format!("line {seq}").into_bytes(),
            ..Record::default()
        }
    }

    /// The manifest a writer would make for `records` (raw stored on every row).
    fn manifest_for(records: &[Record]) -> Manifest {
        let mut m = crate::manifest::tests::sample();
        let mut digest = FileDigest::new(&SaltKey::from_bytes(KEY), m.chain_in);
        for r in records {
            digest.push(r).expect("contiguous sequence numbers");
        }
        let received = |f: fn(i64, i64) -> i64| records.iter().map(|r| r.received_at).reduce(f).unwrap();
        m.seq_first = records[0].seq;
        m.seq_last = records[records.len() - 1].seq;
        m.count = records.len() as u64;
        m.merkle_root = digest.merkle_root();
        m.chain_out = digest.chain_out();
        m.raw_stored = records.len() as u64;
        m.event_time = None;
        m.received_at =
            TimeRange { min: format_rfc3339_utc(received(i64::min)), max: format_rfc3339_utc(received(i64::max)) };
        m
    }

    /// Deep-checks `records` stored with `derived` (one per record); the
    /// per-row findings as (seq, message).
    fn check(records: &[Record], derived: &[Derived]) -> Vec<(Option<u64>, String)> {
        let m = manifest_for(records);
        let mut deep = DeepFile::new(&m, &SaltKey::from_bytes(KEY), Some(tagger()));
        for (r, d) in records.iter().zip(derived) {
            deep.push(r.clone(), true, d);
        }
        deep.finish().into_iter().map(|f| (f.seq_first, f.message)).collect()
    }

    fn sample_records() -> Vec<Record> {
        vec![
            record(0, Some("203.0.113.9".parse().unwrap()), Some("alice".into())),
            record(1, Some("2001:db8:7:1::2".parse().unwrap()), None),
            record(2, None, Some("bob".into())),
            record(3, None, None),
        ]
    }

    #[test]
    fn stored_derived_columns_that_differ_are_record_mismatches_naming_the_column() {
        let records = sample_records();
        let honest: Vec<Derived> = records.iter().map(|r| Derived::of(r, &tagger())).collect();
        assert_eq!(check(&records, &honest), vec![]);
        let other_tag: IpTag = [0xAA; 8];
        type Tamper = Box<dyn Fn(&mut Derived)>;
        let cases: Vec<(usize, &str, Tamper)> = vec![
            (0, "client_prefix", Box::new(|d| d.client_prefix = Some("203.0.114.0/24".into()))),
            (0, "client_prefix", Box::new(|d| d.client_prefix = Some("203.0.113.9".into()))),
            (1, "client_prefix", Box::new(|d| d.client_prefix = Some("2001:db8:7::/64".into()))),
            (1, "client_prefix", Box::new(|d| d.client_prefix = None)),
            (2, "client_prefix", Box::new(|d| d.client_prefix = Some("0.0.0.0/24".into()))),
            (3, "client_prefix", Box::new(|d| d.client_prefix = Some(String::new()))),
            (0, "user_tag", Box::new(move |d| d.user_tag = Some(other_tag))),
            (0, "user_tag", Box::new(|d| d.user_tag = Some(tagger().user_tag("bob")))),
            (0, "user_tag", Box::new(|d| d.user_tag = None)),
            (1, "user_tag", Box::new(|d| d.user_tag = Some(tagger().user_tag("")))),
            (2, "user_tag", Box::new(|d| d.user_tag = Some(tagger().tag("203.0.113.9".parse().unwrap())))),
            (3, "user_tag", Box::new(move |d| d.user_tag = Some(other_tag))),
            (0, "ip_tag", Box::new(move |d| d.ip_tag = Some(other_tag))),
            (1, "ip_tag", Box::new(|d| d.ip_tag = None)),
            (2, "ip_tag", Box::new(move |d| d.ip_tag = Some(other_tag))),
        ];
        for (row, column, tamper) in cases {
            let mut derived = honest.clone();
            tamper(&mut derived[row]);
            let from = if column == "user_tag" { "user_id" } else { "client_ip" };
            assert_eq!(
                check(&records, &derived),
                vec![(Some(row as u64), format!("{column} does not match {from}"))],
                "{column} of row {row}"
            );
        }
        // Two columns of one row: two findings, in file order.
        let mut derived = honest.clone();
        derived[0].user_tag = None;
        derived[0].client_prefix = None;
        let findings = check(&records, &derived);
        let messages: Vec<&str> = findings.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(messages, ["client_prefix does not match client_ip", "user_tag does not match user_id"]);
    }

    #[test]
    fn without_the_index_key_derived_columns_are_not_checked() {
        let records = sample_records();
        let m = manifest_for(&records);
        let mut deep = DeepFile::new(&m, &SaltKey::from_bytes(KEY), None);
        for r in &records {
            deep.push(r.clone(), true, &Derived::default());
        }
        assert_eq!(deep.finish(), vec![]);
    }

    fn ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|v| IpAddr::V4(Ipv4Addr::from(v))),
            any::<u128>().prop_map(|v| IpAddr::V6(Ipv6Addr::from(v))),
            any::<u32>().prop_map(|v| IpAddr::V6(Ipv4Addr::from(v).to_ipv6_mapped())),
            // Neighbours: same prefix, or the next network.
            (0u8..3, any::<u8>()).prop_map(|(c, d)| IpAddr::V4(Ipv4Addr::new(198, 51, 100 + c, d))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any stored value of any derived column other than the one its
        /// field gives — another address's or user's, random bytes or
        /// text, or null — is found, and the finding names the column.
        #[test]
        fn any_other_value_of_a_derived_column_is_found_and_named(
            client_ip in prop::option::of(ip()),
            user_id in prop::option::of(any::<String>()),
            column in 0usize..3,
            other_ip in prop::option::of(ip()),
            other_user in prop::option::of(any::<String>()),
            noise in prop::option::of(any::<[u8; 8]>()),
            text in prop::option::of(any::<String>()),
            use_noise in any::<bool>(),
        ) {
            let records = vec![record(0, client_ip, user_id)];
            let honest = Derived::of(&records[0], &tagger());
            prop_assert_eq!(check(&records, std::slice::from_ref(&honest)), vec![]);
            let mut stored = honest.clone();
            let name = match column {
                0 => {
                    stored.ip_tag = if use_noise { noise } else { other_ip.map(|ip| tagger().tag(ip)) };
                    "ip_tag"
                }
                1 => {
                    stored.client_prefix = if use_noise { text } else { other_ip.map(ip_prefix) };
                    "client_prefix"
                }
                _ => {
                    stored.user_tag = if use_noise { noise } else { other_user.as_deref().map(|u| tagger().user_tag(u)) };
                    "user_tag"
                }
            };
            prop_assume!(stored != honest);
            let from = if name == "user_tag" { "user_id" } else { "client_ip" };
            prop_assert_eq!(check(&records, &[stored]), vec![(Some(0), format!("{name} does not match {from}"))]);
        }
    }
}
