//! Building an evidence bundle for one record: find its file, decrypt it,
//! recompute the file's Merkle tree and the manifest log, and cut out the
//! two inclusion paths.

use logseal_core::Hash;
use logseal_core::checkpoint::LogVerifier;
use logseal_core::commit::{Committer, SaltKey};
use logseal_core::layout::{self, KeyKind};
use logseal_core::manifest::Manifest;
use logseal_core::merkle::MerkleTree;
use logseal_core::proof::{PROOF_FORMAT, PROOF_VERSION, ProofBundle, RecordJson};
use logseal_core::render::restore_raw;

use crate::error::{Error, ErrorKind, Result};
use crate::keys::KeyProvider;
use crate::keys::pme::PmeKeys;
use crate::object::ObjectStore;
use crate::sealed::read::SealedFileReader;
use crate::sealer::salt_key_context;

/// Builds the bundle proving record `seq` of `stream` to the newest
/// checkpoint that covers its file.
pub fn prove(
    store: &dyn ObjectStore,
    keys: std::sync::Arc<dyn KeyProvider>,
    verifier: &LogVerifier,
    stream: &str,
    seq: u64,
) -> Result<ProofBundle> {
    let listing = store.list(&layout::stream_prefix(stream), None)?;
    if listing.is_empty() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("stream {stream:?} has no objects in {}", store.describe()),
        ));
    }
    let mut manifests: Vec<(Vec<u8>, Manifest)> = Vec::new();
    let mut checkpoints = Vec::new();
    for meta in &listing {
        match layout::classify(stream, &meta.key) {
            KeyKind::Manifest(k) => {
                if k != manifests.len() as u64 {
                    return Err(Error::new(
                        ErrorKind::Integrity,
                        format!("manifest {} is missing; run `logseal verify`", manifests.len()),
                    ));
                }
                let bytes = store.get(&meta.key)?;
                let manifest = Manifest::from_canonical_json(&bytes).map_err(|e| Error::from(e).context(&meta.key))?;
                manifests.push((bytes, manifest));
            }
            KeyKind::Checkpoint(_) => checkpoints.push(meta.key.clone()),
            _ => {}
        }
    }
    let (file_index, (_, manifest)) =
        manifests.iter().enumerate().find(|(_, (_, m))| (m.seq_first..=m.seq_last).contains(&seq)).ok_or_else(
            || Error::new(ErrorKind::NotFound, format!("no sealed file of stream {stream:?} holds seq {seq}")),
        )?;
    let file_index = file_index as u64;

    // The newest checkpoint, which must cover the file.
    let checkpoint_key = checkpoints
        .last()
        .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("stream {stream:?} has no checkpoint yet")))?;
    let note = store.get(checkpoint_key)?;
    let checkpoint = verifier.open(&note).map_err(|e| Error::from(e).context(checkpoint_key))?;
    if checkpoint.body.size <= file_index {
        return Err(Error::new(ErrorKind::NotFound, format!("file {file_index} is not covered by a checkpoint yet")));
    }
    let log = MerkleTree::from_leaves(
        manifests.iter().take(checkpoint.body.size as usize).map(|(b, _)| Manifest::leaf_hash(b)),
    );
    if log.root() != checkpoint.body.root {
        return Err(Error::new(
            ErrorKind::Integrity,
            "the manifests do not match the newest checkpoint; run `logseal verify`",
        ));
    }
    let manifest_proof = log
        .inclusion_proof(file_index, checkpoint.body.size)
        .map_err(|e| Error::new(ErrorKind::Integrity, e.to_string()))?;

    // Recompute the file's tree from its decrypted records.
    let salt_key =
        keys.unwrap(&manifest.keys.pii, &manifest.salt_key_wrapped, &salt_key_context(&manifest.origin, file_index))?;
    let salt_key = SaltKey::from_bytes(
        <[u8; 32]>::try_from(salt_key.as_slice())
            .map_err(|_| Error::new(ErrorKind::BadKey, "salt key is not 32 bytes"))?,
    );
    let mut committer = Committer::new(&salt_key);
    let copy = store.local_copy(&manifest.data.key)?;
    if crate::audit::sha256_file(&copy.path)? != manifest.data.sha256 {
        return Err(Error::new(
            ErrorKind::Integrity,
            format!("file {file_index} does not hash to its manifest; run `logseal verify`"),
        ));
    }
    let pme = PmeKeys::new(keys);
    let mut reader = SealedFileReader::open(&copy.path, pme.decryption()?)?;
    let mut tree = MerkleTree::default();
    let mut target = None;
    while let Some(rows) = reader.next_rows() {
        for row in rows? {
            let mut record = row.record;
            if !restore_raw(&mut record, row.raw_stored) {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    format!("record {} is stored without raw bytes and cannot be rendered", record.seq),
                ));
            }
            tree.push(committer.leaf(&record));
            if record.seq == seq {
                target = Some(record);
            }
        }
    }
    if tree.root() != manifest.merkle_root {
        return Err(Error::new(
            ErrorKind::Integrity,
            format!("file {file_index} does not match its manifest; run `logseal verify --deep`"),
        ));
    }
    let record =
        target.ok_or_else(|| Error::new(ErrorKind::Integrity, format!("file {file_index} lacks seq {seq}")))?;
    let index = seq - manifest.seq_first;
    Ok(ProofBundle {
        format: PROOF_FORMAT.into(),
        version: PROOF_VERSION,
        salt: Hash(committer.salt(seq)),
        record: RecordJson::from_record(&record),
        record_index: index,
        record_proof: tree
            .inclusion_proof(index, tree.len())
            .map_err(|e| Error::new(ErrorKind::Integrity, e.to_string()))?,
        manifest: String::from_utf8(manifests[file_index as usize].0.clone())
            .map_err(|_| Error::new(ErrorKind::Malformed, "manifest is not UTF-8"))?,
        manifest_proof,
        checkpoint: String::from_utf8(note).map_err(|_| Error::new(ErrorKind::Malformed, "checkpoint is not UTF-8"))?,
    })
}
