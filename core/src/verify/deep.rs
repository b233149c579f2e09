//! Deep verification of one file with keys: the decrypted rows, with
//! `raw` re-rendered where the file does not store it, must reproduce
//! every commitment, the Merkle root, the chain and the counts the signed
//! manifest states.

use crate::blind::IpTagger;
use crate::commit::{FileDigest, SaltKey};
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
    /// the caller) is `salt_key`. With `tagger`, stored `ip_tag`s are
    /// checked too.
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
    /// stored), whether `raw` was stored, and its stored `ip_tag`.
    pub fn push(&mut self, mut record: Record, raw_stored: bool, ip_tag: Option<crate::blind::IpTag>) {
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
            let expected = record.client_ip.map(|ip| tagger.tag(ip));
            if expected != ip_tag {
                self.finding(Category::RecordMismatch, Some(seq), "ip_tag does not match client_ip".into());
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
