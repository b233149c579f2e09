//! Structural verification of one stream with only the public key: the
//! listing, every manifest, every checkpoint and the hash of every data
//! object, checked against each other (DESIGN.md §4).
//!
//! The caller drives the I/O in four steps — read the manifests and
//! checkpoints it is asked for, hash the objects it is asked for — and
//! [`StreamAudit::finish`] reports every finding. With a saved
//! [`TrustedStreamState`] only what was added since is read and hashed, and
//! the newest checkpoint is proven consistent with the saved one.

use std::collections::{BTreeMap, BTreeSet};

use crate::checkpoint::{Heartbeat, LogVerifier, VerifiedCheckpoint, origin};
use crate::commit::chain_genesis;
use crate::hash::Hash;
use crate::layout::{self, KeyKind};
use crate::manifest::Manifest;
use crate::merkle::{MerkleTree, verify_consistency};
use crate::timefmt::format_rfc3339_utc;
use crate::verify::finding::{Category, Finding};
use crate::verify::state::{LastManifest, SavedFile, StreamState, TrustedStreamState};

/// How far a checkpoint's timestamp may lie before its predecessor's
/// (small clock steps happen) before it is a finding.
pub const CLOCK_SLACK_SECS: u64 = 60;

/// How far in the future (of the verifier's clock) a timestamp may lie.
pub const FUTURE_SLACK_SECS: u64 = 300;

/// Groups sorted numbers into inclusive ranges of consecutive values.
fn ranges(numbers: impl IntoIterator<Item = u64>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for n in numbers {
        match out.last_mut() {
            Some((_, hi)) if *hi + 1 == n => *hi = n,
            _ => out.push((n, n)),
        }
    }
    out
}

fn range_text(what: &str, (lo, hi): (u64, u64)) -> String {
    if lo == hi { format!("{what} {lo}") } else { format!("{what}s {lo}..={hi}") }
}

/// Seconds of slack a heartbeat promise of `h` seconds gets before the
/// silence is a finding: half the interval, at least 5 s.
pub fn heartbeat_allowance(h: u64) -> u64 {
    h + (h / 2).max(5)
}

struct ManifestEntry {
    key: String,
    leaf: Hash,
    parsed: Option<Manifest>,
}

struct CheckpointEntry {
    key: String,
    note: Vec<u8>,
    verified: VerifiedCheckpoint,
}

/// Counts of what was checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditStats {
    /// Manifests read and checked.
    pub manifests: u64,
    /// Records those manifests cover.
    pub records: u64,
    /// Checkpoints whose signature was checked.
    pub checkpoints: u64,
    /// Data objects hashed.
    pub objects_hashed: u64,
    /// Bytes hashed.
    pub bytes_hashed: u64,
    /// Manifests covered by the newest valid checkpoint.
    pub signed_files: u64,
}

/// The result of auditing one stream.
#[derive(Debug)]
pub struct AuditOutcome {
    /// Every problem found.
    pub findings: Vec<Finding>,
    /// What to save for the next run (when a valid checkpoint was found).
    pub state: Option<StreamState>,
    /// Manifests read in this run whose data object hashed correctly: the
    /// files a deep verification decrypts.
    pub intact_files: Vec<Manifest>,
    /// What was checked.
    pub stats: AuditStats,
}

/// Audits one stream; see the module documentation for the protocol.
pub struct StreamAudit<'a> {
    stream: String,
    origin: String,
    verifier: &'a LogVerifier,
    prior: Option<TrustedStreamState>,
    /// Manifests covered by the saved checkpoint.
    prior_size: u64,
    /// Manifests below this index were verified in an earlier run and are
    /// not read again (0 with `full`).
    first_new: u64,
    /// Re-read everything despite saved state (still checked against it).
    full: bool,
    data_objects: BTreeMap<String, u64>,
    manifest_keys: BTreeMap<u64, String>,
    checkpoint_keys: BTreeMap<u64, String>,
    manifests: BTreeMap<u64, ManifestEntry>,
    checkpoints: BTreeMap<u64, CheckpointEntry>,
    digests: BTreeMap<String, Hash>,
    findings: Vec<Finding>,
    stats: AuditStats,
}

impl std::fmt::Debug for StreamAudit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StreamAudit({})", self.origin)
    }
}

impl<'a> StreamAudit<'a> {
    /// Starts an audit of `stream` from a listing of every object under
    /// its prefix (`(key, size)`), optionally continuing from saved state.
    /// With `full`, everything is read and hashed again, and the store is
    /// still checked against the saved state.
    pub fn new(
        stream: &str,
        verifier: &'a LogVerifier,
        listing: impl IntoIterator<Item = (String, u64)>,
        prior: Option<TrustedStreamState>,
        full: bool,
    ) -> StreamAudit<'a> {
        let prior_size = prior.as_ref().map_or(0, |p| p.checkpoint.body.size);
        let mut audit = StreamAudit {
            stream: stream.to_owned(),
            origin: origin(verifier.name(), stream),
            verifier,
            prior_size,
            first_new: if full { 0 } else { prior_size },
            full,
            prior,
            data_objects: BTreeMap::new(),
            manifest_keys: BTreeMap::new(),
            checkpoint_keys: BTreeMap::new(),
            manifests: BTreeMap::new(),
            checkpoints: BTreeMap::new(),
            digests: BTreeMap::new(),
            findings: Vec::new(),
            stats: AuditStats::default(),
        };
        for (key, size) in listing {
            match layout::classify(stream, &key) {
                KeyKind::Data(_) => {
                    audit.data_objects.insert(key, size);
                }
                KeyKind::Manifest(k) => {
                    audit.manifest_keys.insert(k, key);
                }
                KeyKind::Checkpoint(n) => {
                    audit.checkpoint_keys.insert(n, key);
                }
                KeyKind::Other => audit.findings.push(
                    Finding::new(
                        Category::UnreferencedObject,
                        stream,
                        "object is not part of the sealed format v1 layout",
                    )
                    .object(&key),
                ),
            }
        }
        audit
    }

    fn prior_checkpoint_number(&self) -> Option<u64> {
        self.prior.as_ref().map(|p| p.saved.checkpoint_number)
    }

    /// Checkpoints before this number were verified in an earlier run.
    fn first_unread_checkpoint(&self) -> u64 {
        match self.prior_checkpoint_number() {
            Some(n) if !self.full => n + 1,
            _ => 0,
        }
    }

    /// The manifests to read: `(file_index, key)`.
    pub fn manifests_to_read(&self) -> Vec<(u64, String)> {
        self.manifest_keys.range(self.first_new..).map(|(k, key)| (*k, key.clone())).collect()
    }

    /// Hands in manifest `file_index`'s bytes.
    pub fn add_manifest(&mut self, file_index: u64, bytes: &[u8]) {
        let key = self
            .manifest_keys
            .get(&file_index)
            .cloned()
            .unwrap_or_else(|| layout::manifest_key(&self.stream, file_index));
        let leaf = Manifest::leaf_hash(bytes);
        let parsed = match Manifest::from_canonical_json(bytes) {
            Ok(m) => Some(m),
            Err(e) => {
                self.findings.push(
                    Finding::new(Category::InvalidManifest, &self.stream, e.message()).object(&key).file(file_index),
                );
                None
            }
        };
        self.stats.manifests += 1;
        self.manifests.insert(file_index, ManifestEntry { key, leaf, parsed });
    }

    /// Reports that an object in the listing could not be read.
    pub fn add_read_error(&mut self, key: &str, message: &str) {
        self.findings.push(Finding::new(Category::Unreadable, &self.stream, message).object(key));
    }

    /// The checkpoints to read: `(number, key)`. With saved state, those
    /// after the saved one — and always the newest, so that a store rolled
    /// back or forked to the same number of checkpoints is caught.
    pub fn checkpoints_to_read(&self) -> Vec<(u64, String)> {
        let from = self.first_unread_checkpoint();
        let mut wanted: Vec<(u64, String)> =
            self.checkpoint_keys.range(from..).map(|(n, key)| (*n, key.clone())).collect();
        if wanted.is_empty()
            && let Some((n, key)) = self.checkpoint_keys.iter().next_back()
        {
            wanted.push((*n, key.clone()));
        }
        wanted
    }

    /// Hands in checkpoint `number`'s bytes.
    pub fn add_checkpoint(&mut self, number: u64, bytes: &[u8]) {
        let key =
            self.checkpoint_keys.get(&number).cloned().unwrap_or_else(|| layout::checkpoint_key(&self.stream, number));
        match self.verifier.open(bytes) {
            Ok(verified) if verified.body.origin != self.origin => self.findings.push(
                Finding::new(
                    Category::InvalidCheckpoint,
                    &self.stream,
                    format!("checkpoint is for {:?}, not {:?}", verified.body.origin, self.origin),
                )
                .object(&key),
            ),
            Ok(verified) => {
                self.stats.checkpoints += 1;
                self.checkpoints.insert(number, CheckpointEntry { key, note: bytes.to_vec(), verified });
            }
            Err(e) => {
                self.findings.push(Finding::new(Category::InvalidCheckpoint, &self.stream, e.message()).object(&key))
            }
        }
    }

    /// The data objects to hash: `(key, size)` of every object named by a
    /// manifest read in this run that exists with the right size.
    pub fn objects_to_hash(&self) -> Vec<(String, u64)> {
        self.manifests
            .values()
            .filter_map(|m| m.parsed.as_ref())
            .filter(|m| self.data_objects.get(&m.data.key) == Some(&m.data.size))
            .map(|m| (m.data.key.clone(), m.data.size))
            .collect()
    }

    /// Hands in the SHA-256 of a data object.
    pub fn add_object_digest(&mut self, key: &str, sha256: Hash, size: u64) {
        self.stats.objects_hashed += 1;
        self.stats.bytes_hashed += size;
        self.digests.insert(key.to_owned(), sha256);
    }

    /// Checks everything handed in against everything else.
    pub fn finish(mut self, now_secs: u64) -> AuditOutcome {
        let tree = self.check_manifests();
        let mut intact = Vec::new();
        self.check_objects(&mut intact);
        // Only files under a signed checkpoint that matches the manifests
        // are handed on for decryption: nothing planted in the bucket
        // reaches the decoder.
        let signed = self.signed_size(&tree);
        intact.retain(|m| m.file_index < signed);
        let newest = self.check_checkpoints(&tree, now_secs);
        let state = newest.and_then(|(number, entry)| self.new_state(number, entry, &tree));
        self.findings.sort_by(|a, b| {
            (a.file_index, a.seq_first, a.category, &a.object).cmp(&(b.file_index, b.seq_first, b.category, &b.object))
        });
        AuditOutcome { findings: self.findings, state, intact_files: intact, stats: self.stats }
    }

    /// The largest size of a valid checkpoint (read now or saved) whose
    /// root the manifests reproduce.
    fn signed_size(&self, tree: &MerkleTree) -> u64 {
        let saved = self.prior.iter().map(|p| &p.checkpoint);
        saved
            .chain(self.checkpoints.values().map(|e| &e.verified))
            .filter(|c| c.body.size <= tree.len() && tree.root_at(c.body.size).ok() == Some(c.body.root))
            .map(|c| c.body.size)
            .max()
            .unwrap_or(0)
    }

    fn finding(&mut self, category: Category, message: impl Into<String>) {
        self.findings.push(Finding::new(category, &self.stream, message));
    }

    /// Checks manifests one by one and against their predecessors; returns
    /// the manifest-log tree over the contiguous leaves from 0.
    fn check_manifests(&mut self) -> MerkleTree {
        let incremental = self.prior.as_ref().filter(|_| !self.full);
        let mut tree =
            MerkleTree::from_leaves(incremental.iter().flat_map(|p| p.saved.manifest_leaves.iter().copied()));
        let mut prev: Option<LastManifest> = incremental.and_then(|p| p.saved.last_manifest.clone());
        let mut contiguous = true;
        let last_index = self.manifest_keys.keys().next_back().copied();
        let have = last_index.map_or(0, |k| k + 1);
        if self.prior.is_some() && have < self.prior_size {
            let at = self.prior_size;
            self.finding(
                Category::StateMismatch,
                format!("the store has {have} manifests but {at} were verified before: the log was rolled back or files were removed"),
            );
        }
        // Manifests verified before must still be listed.
        let gone = ranges((0..self.first_new).filter(|k| !self.manifest_keys.contains_key(k)));
        for range in gone {
            self.findings.push(
                Finding::new(
                    Category::MissingManifest,
                    &self.stream,
                    format!("{} verified before were removed", range_text("manifest", range)),
                )
                .object(&layout::manifest_key(&self.stream, range.0))
                .file(range.0),
            );
        }
        let genesis = chain_genesis(&self.origin);
        // Walk the manifests present; a gap is one finding naming the range
        // (never a loop over absent indices: a planted far index must not
        // make the verifier spin).
        let listed: Vec<u64> = self.manifest_keys.range(self.first_new..).map(|(k, _)| *k).collect();
        let mut expected = self.first_new;
        for k in listed {
            if k > expected {
                let mut f = Finding::new(
                    Category::MissingManifest,
                    &self.stream,
                    if k - expected == 1 {
                        format!("manifest {expected} is missing")
                    } else {
                        format!("manifests {expected}..={} are missing", k - 1)
                    },
                )
                .object(&layout::manifest_key(&self.stream, expected))
                .file(expected);
                f.seq_first = prev.as_ref().map(|p| p.seq_last + 1);
                self.findings.push(f);
                contiguous = false;
                prev = None;
            }
            expected = k + 1;
            let Some(entry) = self.manifests.get(&k) else {
                // Listed but not readable: already a finding.
                contiguous = false;
                prev = None;
                continue;
            };
            if contiguous {
                tree.push(entry.leaf);
            }
            let key = entry.key.clone();
            let Some(m) = entry.parsed.clone() else {
                prev = None;
                continue;
            };
            let mut problems = Vec::new();
            if m.origin != self.origin || m.stream != self.stream {
                problems
                    .push((Category::InvalidManifest, format!("manifest is for {:?} stream {:?}", m.origin, m.stream)));
            }
            if m.file_index != k {
                problems.push((
                    Category::InvalidManifest,
                    format!("manifest says file index {}, its key says {k}", m.file_index),
                ));
            }
            if m.seq_last < m.seq_first || m.count != m.seq_last - m.seq_first + 1 {
                problems.push((
                    Category::InvalidManifest,
                    format!("count {} does not match sequence range {}..={}", m.count, m.seq_first, m.seq_last),
                ));
            }
            if layout::classify(&self.stream, &m.data.key) != KeyKind::Data(k) {
                problems.push((Category::InvalidManifest, format!("data key {:?} is not file {k}'s", m.data.key)));
            }
            let (expected_seq, expected_chain) = match (&prev, k) {
                (_, 0) => (Some(0), Some(genesis)),
                (Some(p), _) => (Some(p.seq_last + 1), Some(p.chain_out)),
                (None, _) => (None, None),
            };
            if let Some(expected) = expected_seq
                && m.seq_first != expected
            {
                let what = if m.seq_first > expected {
                    format!("sequence numbers {expected}..={} are missing before this file", m.seq_first - 1)
                } else {
                    format!(
                        "file starts at seq {} but the previous file ended at {}",
                        m.seq_first,
                        expected.saturating_sub(1)
                    )
                };
                problems.push((Category::SeqGap, what));
            }
            if let Some(chain) = expected_chain
                && m.chain_in != chain
            {
                problems.push((
                    Category::ChainBreak,
                    "chain_in is not the previous file's chain_out (files reordered, swapped or removed)".into(),
                ));
            }
            for (category, message) in problems {
                let f =
                    Finding::new(category, &self.stream, message).object(&key).file(k).seqs(m.seq_first, m.seq_last);
                self.findings.push(f);
            }
            self.stats.records += m.count;
            prev = Some(LastManifest { file_index: k, seq_last: m.seq_last, chain_out: m.chain_out });
        }
        tree
    }

    fn check_objects(&mut self, intact: &mut Vec<Manifest>) {
        let mut referenced = BTreeSet::new();
        // Files verified before: still there, same size (from the listing;
        // nothing is read or hashed again).
        let old: Vec<(u64, SavedFile)> = match self.prior.as_ref().filter(|_| !self.full) {
            Some(p) => p.saved.files.iter().cloned().enumerate().map(|(k, f)| (k as u64, f)).collect(),
            None => Vec::new(),
        };
        for (k, file) in old {
            referenced.insert(file.data_key.clone());
            referenced.extend(file.orphans.iter().cloned());
            let finding = |category, message: String| {
                Finding::new(category, &self.stream, message).object(&file.data_key).file(k)
            };
            match self.data_objects.get(&file.data_key) {
                None => self
                    .findings
                    .push(finding(Category::MissingObject, "data object verified before was removed".into())),
                Some(&size) if size != file.size => self.findings.push(finding(
                    Category::ObjectSizeMismatch,
                    format!("data object verified before at {} bytes is now {size} bytes", file.size),
                )),
                Some(_) => {}
            }
        }
        let parsed: Vec<(u64, String, Manifest)> =
            self.manifests.iter().filter_map(|(k, e)| e.parsed.clone().map(|m| (*k, e.key.clone(), m))).collect();
        for (k, key, m) in parsed {
            referenced.insert(m.data.key.clone());
            if !m.orphans.windows(2).all(|w| w[0] < w[1]) {
                self.findings.push(
                    Finding::new(Category::InvalidManifest, &self.stream, "orphans are not sorted and distinct")
                        .object(&key)
                        .file(k),
                );
            }
            for orphan in &m.orphans {
                if layout::classify(&self.stream, orphan) != KeyKind::Data(k) || *orphan == m.data.key {
                    self.findings.push(
                        Finding::new(
                            Category::InvalidManifest,
                            &self.stream,
                            format!("orphan {orphan:?} is not another data key of file {k}"),
                        )
                        .object(&key)
                        .file(k),
                    );
                }
                referenced.insert(orphan.clone());
            }
            let finding = |category, message: String| {
                Finding::new(category, &self.stream, message).object(&m.data.key).file(k).seqs(m.seq_first, m.seq_last)
            };
            match self.data_objects.get(&m.data.key) {
                None => self.findings.push(finding(Category::MissingObject, "data object is missing".into())),
                Some(&size) if size != m.data.size => self.findings.push(finding(
                    Category::ObjectSizeMismatch,
                    format!("data object is {size} bytes, its manifest says {}", m.data.size),
                )),
                Some(_) => match self.digests.get(&m.data.key) {
                    Some(h) if *h == m.data.sha256 => intact.push(m),
                    Some(h) => self.findings.push(finding(
                        Category::ObjectHashMismatch,
                        format!("data object hashes to {h}, its manifest says {}", m.data.sha256),
                    )),
                    None => self.findings.push(finding(Category::Unreadable, "data object was not hashed".into())),
                },
            }
        }
        let unreferenced: Vec<String> =
            self.data_objects.keys().filter(|key| !referenced.contains(*key)).cloned().collect();
        for key in unreferenced {
            self.findings.push(
                Finding::new(Category::UnreferencedObject, &self.stream, "no manifest references this data object")
                    .object(&key),
            );
        }
    }

    /// Checks every checkpoint; returns the newest valid one.
    fn check_checkpoints(&mut self, tree: &MerkleTree, now_secs: u64) -> Option<(u64, CheckpointEntry)> {
        let manifest_count = self.manifest_keys.keys().next_back().map_or(0, |k| k + 1).max(self.first_new);
        let mut expected = 0;
        let present: Vec<u64> = self.checkpoint_keys.keys().copied().collect();
        for n in present {
            if n > expected {
                let what = if n - expected == 1 {
                    format!("checkpoint {expected} is missing")
                } else {
                    format!("checkpoints {expected}..={} are missing", n - 1)
                };
                let key = layout::checkpoint_key(&self.stream, expected);
                self.findings.push(Finding::new(Category::MissingCheckpoint, &self.stream, what).object(&key));
            }
            expected = n + 1;
        }
        // Against the saved state: the store's copy of the saved checkpoint
        // must be the very same note, and the store must not have fewer
        // checkpoints. Incrementally, checkpoints up to the saved one were
        // read only for this comparison.
        if let Some(p) = &self.prior {
            let saved_n = p.saved.checkpoint_number;
            let newest_in_store = self.checkpoint_keys.keys().next_back().copied();
            if newest_in_store.is_some_and(|n| n < saved_n) {
                let n = newest_in_store.unwrap_or_default();
                self.findings.push(Finding::new(
                    Category::StateMismatch,
                    &self.stream,
                    format!("the newest checkpoint is number {n}, older than number {saved_n} verified before: the log was rolled back"),
                ));
            }
            if let Some(e) = self.checkpoints.get(&saved_n)
                && e.note != p.saved.checkpoint.as_bytes()
            {
                self.findings.push(
                    Finding::new(
                        Category::StateMismatch,
                        &self.stream,
                        format!(
                            "checkpoint {saved_n} differs from the one verified before: history was rewritten or forked"
                        ),
                    )
                    .object(&e.key),
                );
            }
            if !self.full {
                self.checkpoints.retain(|n, _| *n > saved_n);
            }
        }
        // Incrementally, the saved checkpoint heads the sequence.
        let mut sequence: Vec<(u64, String, VerifiedCheckpoint)> = Vec::new();
        if let Some(p) = self.prior.as_ref().filter(|_| !self.full) {
            sequence.push((p.saved.checkpoint_number, "(saved state)".into(), p.checkpoint.clone()));
        }
        sequence.extend(self.checkpoints.iter().map(|(n, e)| (*n, e.key.clone(), e.verified.clone())));

        let mut root_at = BTreeMap::new();
        let mut truncated_reported = false;
        for (n, key, cp) in &sequence {
            let size = cp.body.size;
            if !self.full && Some(*n) == self.prior_checkpoint_number() {
                continue;
            }
            if size > manifest_count {
                if !truncated_reported {
                    truncated_reported = true;
                    self.findings.push(
                        Finding::new(
                            Category::TailTruncated,
                            &self.stream,
                            format!("checkpoint covers {size} files but only {manifest_count} manifests exist: the newest files were removed"),
                        )
                        .object(key)
                        .file(manifest_count),
                    );
                }
                continue;
            }
            if size > tree.len() {
                continue; // a missing manifest below `size` is already a finding
            }
            let root = *root_at.entry(size).or_insert_with(|| tree.root_at(size).expect("size within tree"));
            if root != cp.body.root {
                self.findings.push(
                    Finding::new(
                        Category::ManifestLogMismatch,
                        &self.stream,
                        format!("the manifests 0..{size} do not hash to this signed checkpoint's root (inserted, altered or reordered manifests)"),
                    )
                    .object(key),
                );
            }
        }
        for pair in sequence.windows(2) {
            let ((_, _, a), (_, key_b, b)) = (&pair[0], &pair[1]);
            if b.body.size < a.body.size || b.timestamp + CLOCK_SLACK_SECS < a.timestamp {
                self.findings.push(
                    Finding::new(
                        Category::CheckpointInconsistent,
                        &self.stream,
                        format!(
                            "checkpoint goes backwards: size {} at {} after size {} at {}",
                            b.body.size,
                            time(b.timestamp),
                            a.body.size,
                            time(a.timestamp)
                        ),
                    )
                    .object(key_b),
                );
            }
            if let Heartbeat::Every(h) = a.body.heartbeat
                && b.timestamp.saturating_sub(a.timestamp) > heartbeat_allowance(h)
            {
                self.findings.push(
                    Finding::new(
                        Category::HeartbeatGap,
                        &self.stream,
                        format!(
                            "no checkpoint from {} to {} ({} s; the heartbeat promised one every {h} s): logging stopped or checkpoints were removed",
                            time(a.timestamp),
                            time(b.timestamp),
                            b.timestamp - a.timestamp
                        ),
                    )
                    .object(key_b)
                    .file(a.body.size),
                );
            }
        }
        for (n, key, cp) in &sequence {
            if cp.timestamp > now_secs + FUTURE_SLACK_SECS && Some(*n) != self.prior_checkpoint_number() {
                self.findings.push(
                    Finding::new(
                        Category::CheckpointInconsistent,
                        &self.stream,
                        format!(
                            "checkpoint is dated {}, in the future: the sealer's clock was wrong, or it was signed ahead of time",
                            time(cp.timestamp)
                        ),
                    )
                    .object(key),
                );
            }
        }
        let Some((newest_n, newest_key, newest)) = sequence.last().cloned() else {
            if manifest_count > 0 {
                self.findings.push(
                    Finding::new(
                        Category::UnsignedManifests,
                        &self.stream,
                        format!(
                            "no valid checkpoint exists: manifests 0..{manifest_count} are not covered by any signature"
                        ),
                    )
                    .file(0),
                );
            }
            return None;
        };
        if let Heartbeat::Every(h) = newest.body.heartbeat
            && now_secs.saturating_sub(newest.timestamp) > heartbeat_allowance(h)
        {
            self.findings.push(
                Finding::new(
                    Category::Stale,
                    &self.stream,
                    format!(
                        "the newest checkpoint is from {} and promised the next within {h} s: logging stopped, or the newest checkpoints were removed",
                        time(newest.timestamp)
                    ),
                )
                .object(&newest_key),
            );
        }
        if manifest_count > newest.body.size {
            self.findings.push(
                Finding::new(
                    Category::UnsignedManifests,
                    &self.stream,
                    format!("manifests {}..{} are not covered by any checkpoint", newest.body.size, manifest_count),
                )
                .file(newest.body.size),
            );
        }
        if let Some(p) = &self.prior {
            let (old, new) = (&p.checkpoint.body, &newest.body);
            if new.size < old.size {
                self.findings.push(Finding::new(
                    Category::StateMismatch,
                    &self.stream,
                    format!("the newest checkpoint has {} files, fewer than the {} verified before: the log was rolled back", new.size, old.size),
                ));
            } else if old.size > 0 && new.size <= tree.len() {
                let proof = tree.consistency_proof(old.size, new.size).unwrap_or_default();
                if verify_consistency(old.size, new.size, old.root.as_bytes(), new.root.as_bytes(), &proof).is_err() {
                    self.findings.push(Finding::new(
                        Category::StateMismatch,
                        &self.stream,
                        format!(
                            "the newest checkpoint ({} files) is not consistent with the one verified before ({} files): history was rewritten or forked",
                            new.size, old.size
                        ),
                    ));
                }
            }
        }
        // The saved checkpoint itself is not in `checkpoints` incrementally:
        // then there is nothing new to save.
        let entry = self.checkpoints.remove(&newest_n)?;
        Some((newest_n, entry))
    }

    fn new_state(&mut self, number: u64, entry: CheckpointEntry, tree: &MerkleTree) -> Option<StreamState> {
        let size = entry.verified.body.size;
        if size > tree.len() || tree.root_at(size).ok()? != entry.verified.body.root {
            return None;
        }
        self.stats.signed_files = size;
        let leaves: Vec<Hash> = (0..size).map(|i| self.leaf(i)).collect::<Option<_>>()?;
        let files: Vec<SavedFile> = (0..size).map(|k| self.saved_file(k)).collect::<Option<_>>()?;
        let last_manifest = match size {
            0 => None,
            n => Some(self.last_manifest(n - 1)?),
        };
        Some(StreamState {
            checkpoint: String::from_utf8(entry.note).ok()?,
            checkpoint_number: number,
            manifest_leaves: leaves,
            files,
            last_manifest,
            verified_at: String::new(),
        })
    }

    fn leaf(&self, k: u64) -> Option<Hash> {
        if k < self.first_new {
            return self.prior.as_ref()?.saved.manifest_leaves.get(usize::try_from(k).ok()?).copied();
        }
        self.manifests.get(&k).map(|e| e.leaf)
    }

    fn saved_file(&self, k: u64) -> Option<SavedFile> {
        if let Some(m) = self.manifests.get(&k).and_then(|e| e.parsed.as_ref()) {
            return Some(SavedFile { data_key: m.data.key.clone(), size: m.data.size, orphans: m.orphans.clone() });
        }
        if k < self.first_new {
            return self.prior.as_ref()?.saved.files.get(usize::try_from(k).ok()?).cloned();
        }
        None
    }

    fn last_manifest(&self, k: u64) -> Option<LastManifest> {
        if let Some(m) = self.manifests.get(&k).and_then(|e| e.parsed.as_ref()) {
            return Some(LastManifest { file_index: k, seq_last: m.seq_last, chain_out: m.chain_out });
        }
        self.prior.as_ref()?.saved.last_manifest.clone().filter(|m| m.file_index == k)
    }
}

fn time(secs: u64) -> String {
    format_rfc3339_utc(i64::try_from(secs).unwrap_or(i64::MAX / 1_000_000).saturating_mul(1_000_000))
}
