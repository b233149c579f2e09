//! The sealer: batches of records → encrypted Parquet file + manifest +
//! manifest-log update + signed checkpoint, continuing the stream's chain
//! across files and across restarts. A stream's state is recovered from
//! the store alone ([`StreamSealer::open`]).
//!
//! Write order for file `k`: data object, manifest `k`, checkpoint. A crash
//! between them leaves an orphan data object (reported by `verify` as
//! unreferenced, harmless) or a manifest not yet covered by a checkpoint;
//! on the next start the sealer re-verifies such a manifest's file with its
//! keys (decrypt, recompute every commitment, the Merkle root and the
//! chain) before signing a checkpoint over it, so a manifest planted in the
//! bucket by someone without the keys is never adopted.

use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use logseal_core::blind::IpTagger;
use logseal_core::checkpoint::{CheckpointBody, Heartbeat, LogSigner, origin, validate_stream_name};
use logseal_core::commit::{FileDigest, SaltKey, chain_genesis};
use logseal_core::layout::{self, KeyKind};
use logseal_core::manifest::{DataObject, KeyInfo, MANIFEST_FORMAT, MANIFEST_VERSION, Manifest, TimeRange};
use logseal_core::merkle::MerkleTree;
use logseal_core::timefmt::format_rfc3339_utc;
use logseal_core::{Hash, Micros, Record};
use rand::RngCore;

use crate::deep::check_file;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::pme::PmeKeys;
use crate::keys::{KeyDomain, KeyProvider};
use crate::object::ObjectStore;
use crate::sealed::read::SealedFileReader;
use crate::sealed::schema::columns_of;
use crate::sealed::write::{SealedFileWriter, WriteOptions};

/// How a stream is sealed.
#[derive(Clone)]
pub struct SealerOptions {
    /// The deployment name (first part of every origin, and the key name).
    pub deployment: String,
    /// Seconds between checkpoints when idle (the heartbeat promise).
    pub heartbeat_secs: u64,
    /// File layout.
    pub write: WriteOptions,
    /// Recorded in manifests, e.g. `logseal 0.1.0`.
    pub writer: String,
    /// A second store that receives a copy of every checkpoint, under the
    /// same key, before the checkpoint counts as written.
    pub mirror: Option<Arc<dyn ObjectStore>>,
}

impl std::fmt::Debug for SealerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealerOptions")
            .field("deployment", &self.deployment)
            .field("heartbeat_secs", &self.heartbeat_secs)
            .field("write", &self.write)
            .field("writer", &self.writer)
            .field("mirror", &self.mirror.as_ref().map(|m| m.describe()))
            .finish()
    }
}

/// A closed file ready to store (see [`StreamSealer::store_file`]).
#[derive(Debug)]
pub struct PreparedFile {
    receipt: SealReceipt,
    data: Vec<u8>,
    manifest_bytes: Vec<u8>,
    chain_out: Hash,
}

impl PreparedFile {
    /// What storing it will amount to.
    pub fn receipt(&self) -> &SealReceipt {
        &self.receipt
    }
}

/// What one sealed file amounts to.
#[derive(Debug, Clone)]
pub struct SealReceipt {
    /// The file's index in the stream.
    pub file_index: u64,
    /// Its sequence range.
    pub seq_first: u64,
    /// Its sequence range.
    pub seq_last: u64,
    /// The data object's key and size.
    pub data_key: String,
    /// Size of the data object.
    pub data_size: u64,
    /// Rows that store `raw`.
    pub raw_stored: u64,
}

/// Where a stream stands.
#[derive(Debug, Clone)]
struct StreamState {
    next_file_index: u64,
    next_seq: u64,
    chain_head: Hash,
    manifest_log: MerkleTree,
    next_checkpoint: u64,
    last_checkpoint_secs: Option<u64>,
    /// Manifests covered by the newest checkpoint.
    signed_size: u64,
    /// Data objects of the next file index left by an interrupted attempt.
    orphans: Vec<String>,
}

/// Seals one stream.
pub struct StreamSealer {
    store: Arc<dyn ObjectStore>,
    keys: Arc<dyn KeyProvider>,
    pme: PmeKeys,
    tagger: IpTagger,
    signer: Arc<LogSigner>,
    options: SealerOptions,
    stream: String,
    origin: String,
    state: StreamState,
}

impl std::fmt::Debug for StreamSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StreamSealer({}, next seq {})", self.origin, self.state.next_seq)
    }
}

fn secs(micros: Micros) -> u64 {
    u64::try_from(micros.div_euclid(1_000_000)).unwrap_or(0)
}

impl StreamSealer {
    /// Opens `stream`, recovering its state from the store: every manifest
    /// is read and checked against the newest checkpoint.
    pub fn open(
        store: Arc<dyn ObjectStore>,
        keys: Arc<dyn KeyProvider>,
        signer: Arc<LogSigner>,
        stream: &str,
        options: SealerOptions,
        now: Micros,
    ) -> Result<StreamSealer> {
        validate_stream_name(stream)?;
        let origin = origin(&options.deployment, stream);
        let tagger = IpTagger::new(&*keys.index_key()?);
        let pme = PmeKeys::new(Arc::clone(&keys));
        let mut state = recover(&*store, &signer, stream, &origin)?;
        state.orphans = own_orphans(&*store, &pme, std::mem::take(&mut state.orphans));
        let mut sealer =
            StreamSealer { store, keys, pme, tagger, signer, options, stream: stream.to_owned(), origin, state };
        sealer.catch_up_mirror()?;
        sealer.adopt_unsigned_manifests(now)?;
        Ok(sealer)
    }

    /// The sequence number the next record must have.
    pub fn next_seq(&self) -> u64 {
        self.state.next_seq
    }

    /// Files sealed so far in the stream.
    pub fn file_count(&self) -> u64 {
        self.state.next_file_index
    }

    /// The stream's checkpoint origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Seals `records` (whose sequence numbers must continue the stream
    /// without a gap) into one file, its manifest and a checkpoint.
    pub fn seal(&mut self, records: Vec<Record>, now: Micros) -> Result<SealReceipt> {
        let mut file = self.begin_file(records.len())?;
        file.push(records)?;
        self.finish_file(file, now)
    }

    /// Starts the stream's next file, of about `expected_rows` records.
    pub fn begin_file(&self, expected_rows: usize) -> Result<OpenFile> {
        let mut salt = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let salt_key = SaltKey::from_bytes(salt);
        let encryption = self.pme.encryption(&columns_of(KeyDomain::Base), &columns_of(KeyDomain::Pii))?;
        let writer = SealedFileWriter::new(self.tagger.clone(), encryption, &self.options.write, expected_rows)?;
        let (sender, receiver) = sync_channel::<Arc<Vec<Record>>>(2);
        let mut digest = RecordsDigest::new(&salt_key, self.state.chain_head);
        let digest_thread = std::thread::Builder::new()
            .name("seal-digest".into())
            .spawn(move || {
                for chunk in receiver {
                    for record in chunk.iter() {
                        digest.add(record)?;
                    }
                }
                Ok(digest)
            })
            .map_err(|e| Error::io("starting the digest thread", &e))?;
        Ok(OpenFile {
            file_index: self.state.next_file_index,
            salt_key,
            chain_in: self.state.chain_head,
            seq_first: self.state.next_seq,
            next_seq: self.state.next_seq,
            writer,
            digest_chunks: Some(sender),
            digest_thread,
        })
    }

    /// Finishes `file`: stores the data object, its manifest and a signed
    /// checkpoint.
    pub fn finish_file(&mut self, file: OpenFile, now: Micros) -> Result<SealReceipt> {
        let prepared = self.prepare_file(file, now)?;
        self.store_file(&prepared, now)
    }

    /// Closes `file` and builds its bytes and manifest (CPU work and the
    /// salt-key wrap); nothing is stored yet.
    pub fn prepare_file(&mut self, file: OpenFile, now: Micros) -> Result<PreparedFile> {
        let OpenFile { file_index, salt_key, chain_in, seq_first, next_seq, writer, digest_chunks, digest_thread } =
            file;
        drop(digest_chunks);
        let digest = digest_thread.join().map_err(|_| Error::new(ErrorKind::Io, "the digest thread panicked"))??;
        let written = writer.finish()?;
        if file_index != self.state.next_file_index || chain_in != self.state.chain_head {
            return Err(Error::new(ErrorKind::InvalidInput, "another file was sealed while this one was open"));
        }
        let Some(received_at) = digest.received.map(RecordsDigest::range) else {
            return Err(Error::new(ErrorKind::InvalidInput, "nothing to seal"));
        };
        let seq_last = next_seq - 1;

        let data_key = layout::data_key(&self.stream, file_index, rand::rngs::OsRng.next_u32());
        // The sealer hashes exactly the bytes it stores and signs.
        let sha256 = Hash::of(&written.bytes);
        let salt_key_wrapped = self.keys.wrap(
            &self.keys.master_key_id(KeyDomain::Pii),
            salt_key.as_bytes(),
            &salt_key_context(&self.origin, file_index),
        )?;
        let manifest = Manifest {
            format: MANIFEST_FORMAT.into(),
            version: MANIFEST_VERSION,
            origin: self.origin.clone(),
            stream: self.stream.clone(),
            file_index,
            seq_first,
            seq_last,
            count: next_seq - seq_first,
            event_time: digest.event.map(RecordsDigest::range),
            received_at,
            data: DataObject { key: data_key.clone(), size: written.bytes.len() as u64, sha256 },
            orphans: self.state.orphans.clone(),
            merkle_root: digest.digest.merkle_root(),
            chain_in,
            chain_out: digest.digest.chain_out(),
            keys: self.key_info(),
            salt_key_wrapped,
            raw_stored: written.raw_stored,
            parse_errors: digest.parse_errors,
            created_at: format_rfc3339_utc(now),
            writer: self.options.writer.clone(),
        };
        Ok(PreparedFile {
            receipt: SealReceipt {
                file_index,
                seq_first,
                seq_last,
                data_key,
                data_size: written.bytes.len() as u64,
                raw_stored: written.raw_stored,
            },
            manifest_bytes: manifest.to_canonical_json(),
            chain_out: manifest.chain_out,
            data: written.bytes,
        })
    }

    /// Stores a prepared file: data object, manifest, checkpoint. Safe to
    /// call again after a failure (a store outage): what was stored before
    /// is recognised, nothing is stored twice.
    pub fn store_file(&mut self, file: &PreparedFile, now: Micros) -> Result<SealReceipt> {
        let r = &file.receipt;
        if r.file_index == self.state.next_file_index {
            self.put_idempotent(&r.data_key, &file.data)?;
            self.put_idempotent(&layout::manifest_key(&self.stream, r.file_index), &file.manifest_bytes)?;
            self.state.manifest_log.push(Manifest::leaf_hash(&file.manifest_bytes));
            self.state.orphans.clear();
            self.state.next_file_index += 1;
            self.state.next_seq = r.seq_last + 1;
            self.state.chain_head = file.chain_out;
        } else if r.file_index + 1 != self.state.next_file_index {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("file {} is not the stream's next file", r.file_index),
            ));
        }
        if self.state.signed_size < self.state.manifest_log.len() {
            self.checkpoint(Heartbeat::Every(self.options.heartbeat_secs), now)?;
        }
        Ok(r.clone())
    }

    /// Creates `key`, or accepts it if it holds exactly `bytes` already (an
    /// earlier attempt that failed after storing it).
    fn put_idempotent(&self, key: &str, bytes: &[u8]) -> Result<()> {
        match self.store.put_new(key, bytes) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if self.store.get(key)? == bytes {
                    Ok(())
                } else {
                    Err(Error::new(ErrorKind::Integrity, format!("object {key:?} exists with other content")))
                }
            }
            other => other,
        }
    }

    /// Writes a heartbeat checkpoint if the last one is `heartbeat_secs`
    /// old; returns whether it wrote one.
    pub fn heartbeat(&mut self, now: Micros) -> Result<bool> {
        let due = self.state.last_checkpoint_secs.is_none_or(|last| secs(now) >= last + self.options.heartbeat_secs);
        if due {
            self.checkpoint(Heartbeat::Every(self.options.heartbeat_secs), now)?;
        }
        Ok(due)
    }

    /// Writes a final checkpoint saying the writer stopped cleanly. A
    /// stream that has neither files nor checkpoints (a first import that
    /// failed before sealing anything) is left without objects.
    pub fn pause(&mut self, now: Micros) -> Result<()> {
        if self.state.manifest_log.is_empty() && self.state.next_checkpoint == 0 {
            return Ok(());
        }
        self.checkpoint(Heartbeat::Paused, now)
    }

    fn key_info(&self) -> KeyInfo {
        KeyInfo {
            provider: self.keys.kind().into(),
            base: self.keys.master_key_id(KeyDomain::Base),
            pii: self.keys.master_key_id(KeyDomain::Pii),
            index: self.keys.index_key_id(),
        }
    }

    fn checkpoint(&mut self, heartbeat: Heartbeat, now: Micros) -> Result<()> {
        let body = CheckpointBody {
            origin: self.origin.clone(),
            size: self.state.manifest_log.len(),
            root: self.state.manifest_log.root(),
            heartbeat,
        };
        // The clock as it is: a clock that jumps shows in the verifier
        // (timestamps going back or lying in the future), where clamping
        // here would hide heartbeat gaps.
        let timestamp = secs(now);
        let note = self.signer.sign(&body, timestamp)?;
        let key = layout::checkpoint_key(&self.stream, self.state.next_checkpoint);
        let (timestamp, stored) = match self.store.put_new(&key, &note) {
            Ok(()) => (timestamp, note),
            // An earlier attempt stored it and then failed (a store that
            // lost the reply, or the mirror failing): accept it if it is
            // ours and says the same.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let bytes = self.store.get(&key)?;
                let existing = self.signer.verifier().open(&bytes).map_err(|e| Error::from(e).context(&key))?;
                if existing.body.origin != body.origin
                    || existing.body.size != body.size
                    || existing.body.root != body.root
                {
                    return Err(Error::new(
                        ErrorKind::Integrity,
                        format!("checkpoint {key:?} exists and says something else"),
                    ));
                }
                (existing.timestamp, bytes)
            }
            Err(e) => return Err(e),
        };
        self.mirror_checkpoint(&key, &stored)?;
        self.state.next_checkpoint += 1;
        self.state.last_checkpoint_secs = Some(timestamp);
        self.state.signed_size = body.size;
        Ok(())
    }

    /// Copies checkpoint `key` (`bytes`, as the store holds it) to the
    /// mirror; a copy already there must be identical.
    fn mirror_checkpoint(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let Some(mirror) = &self.options.mirror else {
            return Ok(());
        };
        let context = |e: Error| e.context(format!("checkpoint mirror {}", mirror.describe()));
        match mirror.put_new(key, bytes) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if mirror.get(key).map_err(context)? == bytes {
                    Ok(())
                } else {
                    Err(Error::new(
                        ErrorKind::Integrity,
                        format!(
                            "checkpoint mirror {} holds another checkpoint under {key:?}; run `logseal verify` before sealing more",
                            mirror.describe()
                        ),
                    ))
                }
            }
            Err(e) => Err(context(e)),
        }
    }

    /// Copies to the mirror the stream's checkpoints it lacks (a crash
    /// between the two writes, or a mirror configured later).
    fn catch_up_mirror(&self) -> Result<()> {
        let Some(mirror) = &self.options.mirror else {
            return Ok(());
        };
        let prefix = layout::stream_prefix(&self.stream);
        let checkpoints = |store: &dyn ObjectStore| -> Result<std::collections::BTreeSet<String>> {
            Ok(store
                .list(&prefix, None)?
                .into_iter()
                .filter(|m| matches!(layout::classify(&self.stream, &m.key), KeyKind::Checkpoint(_)))
                .map(|m| m.key)
                .collect())
        };
        let mirrored =
            checkpoints(&**mirror).map_err(|e| e.context(format!("checkpoint mirror {}", mirror.describe())))?;
        for key in checkpoints(&*self.store)?.difference(&mirrored) {
            self.mirror_checkpoint(key, &self.store.get(key)?)?;
        }
        Ok(())
    }

    /// Signs over manifests that a crash left without a checkpoint, after
    /// checking each one's file with the keys.
    fn adopt_unsigned_manifests(&mut self, now: Micros) -> Result<()> {
        let signed = self.state.signed_size;
        let total = self.state.manifest_log.len();
        if signed == total {
            return Ok(());
        }
        for k in signed..total {
            let key = layout::manifest_key(&self.stream, k);
            let bytes = self.store.get(&key)?;
            let manifest = Manifest::from_canonical_json(&bytes).map_err(|e| Error::from(e).context(&key))?;
            let findings = check_file(&*self.store, &self.pme, &*self.keys, &manifest)?;
            if let Some(first) = findings.first() {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    format!(
                        "manifest {key} is not covered by a checkpoint and its file does not verify ({}); refusing to sign over it — run `logseal verify --deep`",
                        first.message
                    ),
                ));
            }
        }
        self.checkpoint(Heartbeat::Every(self.options.heartbeat_secs), now)
    }
}

/// Keeps the orphans that are this deployment's own interrupted files:
/// complete Parquet whose encrypted footer opens with its keys (objects are
/// created atomically, so an interrupted attempt leaves a whole file or
/// none). Anything else stays unaccounted for, so `verify` keeps reporting
/// it as an unreferenced object.
fn own_orphans(store: &dyn ObjectStore, pme: &PmeKeys, candidates: Vec<String>) -> Vec<String> {
    let mut own: Vec<String> = candidates
        .into_iter()
        .filter(|key| {
            let Ok(copy) = store.local_copy(key) else { return false };
            pme.decryption().and_then(|d| SealedFileReader::open(&copy.path, d)).is_ok()
        })
        .collect();
    own.sort();
    own
}

/// The associated data binding a wrapped salt key to its file.
pub fn salt_key_context(origin: &str, file_index: u64) -> Vec<u8> {
    format!("\nlogseal/salt-key/v1\n{origin}\n{file_index}").into_bytes()
}

/// A file being sealed. Records go in chunk by chunk
/// ([`OpenFile::push`]): the commitments, Merkle root and chain are
/// computed on a thread of their own while the Parquet encoding runs on
/// the caller's, so both overlap with whatever produces the records.
pub struct OpenFile {
    file_index: u64,
    salt_key: SaltKey,
    chain_in: Hash,
    seq_first: u64,
    next_seq: u64,
    writer: SealedFileWriter,
    digest_chunks: Option<SyncSender<Arc<Vec<Record>>>>,
    digest_thread: JoinHandle<Result<RecordsDigest>>,
}

impl std::fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenFile({}, seq {}..{})", self.file_index, self.seq_first, self.next_seq)
    }
}

impl OpenFile {
    /// Appends records, which must continue the file's sequence.
    pub fn push(&mut self, records: Vec<Record>) -> Result<()> {
        for (i, r) in records.iter().enumerate() {
            if r.seq != self.next_seq + i as u64 {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("records are not contiguous: expected seq {}, got {}", self.next_seq + i as u64, r.seq),
                ));
            }
        }
        let records = Arc::new(records);
        self.writer.write(&records)?;
        self.next_seq += records.len() as u64;
        let sender = self.digest_chunks.as_ref().expect("present until finished");
        sender.send(records).map_err(|_| Error::new(ErrorKind::Io, "the digest thread stopped"))?;
        Ok(())
    }

    /// Records pushed so far.
    pub fn len(&self) -> u64 {
        self.next_seq - self.seq_first
    }

    /// True before the first record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a file's records add up to, besides its bytes.
struct RecordsDigest {
    digest: FileDigest,
    event: Option<(Micros, Micros)>,
    received: Option<(Micros, Micros)>,
    parse_errors: u64,
}

impl RecordsDigest {
    fn new(salt_key: &SaltKey, chain_in: Hash) -> RecordsDigest {
        RecordsDigest { digest: FileDigest::new(salt_key, chain_in), event: None, received: None, parse_errors: 0 }
    }

    fn add(&mut self, r: &Record) -> Result<()> {
        self.digest.push(r).map_err(|b| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("records are not contiguous: expected seq {}, got {}", b.expected, b.found),
            )
        })?;
        let widen = |range: &mut Option<(Micros, Micros)>, t: Micros| {
            let (lo, hi) = range.get_or_insert((t, t));
            *lo = (*lo).min(t);
            *hi = (*hi).max(t);
        };
        if let Some(t) = r.time {
            widen(&mut self.event, t.utc_micros);
        }
        widen(&mut self.received, r.received_at);
        self.parse_errors += u64::from(r.parse_error.is_some());
        Ok(())
    }

    fn range((lo, hi): (Micros, Micros)) -> TimeRange {
        TimeRange { min: format_rfc3339_utc(lo), max: format_rfc3339_utc(hi) }
    }
}

/// Rebuilds a stream's state from its manifests and newest checkpoint.
fn recover(store: &dyn ObjectStore, signer: &LogSigner, stream: &str, origin: &str) -> Result<StreamState> {
    let listing = store.list(&layout::stream_prefix(stream), None)?;
    let mut manifests = Vec::new();
    let mut checkpoints = Vec::new();
    let mut data = Vec::new();
    for meta in &listing {
        match layout::classify(stream, &meta.key) {
            KeyKind::Manifest(k) => manifests.push(k),
            KeyKind::Checkpoint(n) => checkpoints.push(n),
            KeyKind::Data(k) => data.push((k, meta.key.clone())),
            KeyKind::Other => {}
        }
    }
    let integrity = |what: String| {
        Error::new(
            ErrorKind::Integrity,
            format!("stream {stream} in {}: {what}; run `logseal verify` before sealing more", store.describe()),
        )
    };
    let mut log = MerkleTree::default();
    let mut last: Option<Manifest> = None;
    for (expected, &k) in manifests.iter().enumerate() {
        if k != expected as u64 {
            return Err(integrity(format!("manifest {expected} is missing")));
        }
        let key = layout::manifest_key(stream, k);
        let bytes = store.get(&key)?;
        let manifest = Manifest::from_canonical_json(&bytes).map_err(|e| integrity(format!("{key}: {e}")))?;
        if manifest.origin != origin || manifest.file_index != k {
            return Err(integrity(format!("{key} belongs to {} file {}", manifest.origin, manifest.file_index)));
        }
        if let Some(prev) = &last
            && (manifest.seq_first != prev.seq_last + 1 || manifest.chain_in != prev.chain_out)
        {
            return Err(integrity(format!("{key} does not continue manifest {}", prev.file_index)));
        }
        log.push(Manifest::leaf_hash(&bytes));
        last = Some(manifest);
    }
    let (signed_size, last_checkpoint_secs) = match checkpoints.last() {
        None => (0, None),
        Some(&n) => {
            let key = layout::checkpoint_key(stream, n);
            let note = store.get(&key)?;
            let checkpoint = signer.verifier().open(&note).map_err(|e| integrity(format!("{key}: {e}")))?;
            let body = &checkpoint.body;
            if body.origin != origin {
                return Err(integrity(format!("{key} is for {}", body.origin)));
            }
            if body.size > log.len() {
                return Err(integrity(format!(
                    "{key} covers {} files but only {} manifests exist",
                    body.size,
                    log.len()
                )));
            }
            if log.root_at(body.size).map_err(|e| integrity(e.to_string()))? != body.root {
                return Err(integrity(format!("the manifests do not match {key}")));
            }
            (body.size, Some(checkpoint.timestamp))
        }
    };
    let next_file_index = log.len();
    let orphans = data.into_iter().filter(|(k, _)| *k == next_file_index).map(|(_, key)| key).collect();
    Ok(StreamState {
        orphans,
        next_file_index,
        next_seq: last.as_ref().map_or(0, |m| m.seq_last + 1),
        chain_head: last.as_ref().map_or_else(|| chain_genesis(origin), |m| m.chain_out),
        manifest_log: log,
        next_checkpoint: checkpoints.last().map_or(0, |n| n + 1),
        last_checkpoint_secs,
        signed_size,
    })
}
