//! The I/O side of deep verification: fetch one sealed file, unwrap its
//! salt key, decrypt it and feed its rows to [`DeepFile`].

use logseal_core::blind::IpTagger;
use logseal_core::commit::SaltKey;
use logseal_core::manifest::Manifest;
use logseal_core::verify::deep::DeepFile;
use logseal_core::verify::{Category, Finding};

use crate::error::{ErrorKind, Result};
use crate::keys::KeyProvider;
use crate::keys::pme::PmeKeys;
use crate::object::ObjectStore;
use crate::sealed::read::SealedFileReader;
use crate::sealer::salt_key_context;

/// Deep-checks the file of `manifest`. Problems with the file are
/// findings; a key that cannot be used at all is an error (the run cannot
/// go on without it).
pub fn check_file(
    store: &dyn ObjectStore,
    pme: &PmeKeys,
    keys: &dyn KeyProvider,
    manifest: &Manifest,
) -> Result<Vec<Finding>> {
    let finding = |category, message: String| {
        vec![
            Finding::new(category, &manifest.stream, message)
                .object(&manifest.data.key)
                .file(manifest.file_index)
                .seqs(manifest.seq_first, manifest.seq_last),
        ]
    };
    let salt_key = match keys.unwrap(
        &manifest.keys.pii,
        &manifest.salt_key_wrapped,
        &salt_key_context(&manifest.origin, manifest.file_index),
    ) {
        Ok(k) => k,
        Err(e) if e.kind() == ErrorKind::BadKey && e.to_string().contains("does not decrypt") => {
            return Ok(finding(Category::RecordMismatch, format!("salt key: {e}")));
        }
        Err(e) => return Err(e),
    };
    let Ok(salt_key) = <[u8; 32]>::try_from(salt_key.as_slice()) else {
        return Ok(finding(Category::RecordMismatch, "unwrapped salt key is not 32 bytes".into()));
    };
    let copy = store.local_copy(&manifest.data.key)?;
    // The bytes decrypted must be the bytes the manifest signs.
    let bytes_hash = crate::audit::sha256_file(&copy.path)?;
    if bytes_hash != manifest.data.sha256 {
        return Ok(finding(
            Category::ObjectHashMismatch,
            format!("data object hashes to {bytes_hash}, its manifest says {}", manifest.data.sha256),
        ));
    }
    let tagger = IpTagger::new(&*keys.index_key()?);
    let mut deep = DeepFile::new(manifest, &SaltKey::from_bytes(salt_key), Some(tagger));
    let mut reader = match SealedFileReader::open(&copy.path, pme.decryption()?) {
        Ok(r) => r,
        Err(e) if e.kind() == ErrorKind::BadKey => return Err(e),
        Err(e) => return Ok(finding(Category::Unreadable, e.to_string())),
    };
    while let Some(rows) = reader.next_rows() {
        match rows {
            Ok(rows) => {
                for row in rows {
                    deep.push(row.record, row.raw_stored, &row.derived);
                }
            }
            Err(e) if e.kind() == ErrorKind::BadKey => return Err(e),
            Err(e) => return Ok(finding(Category::Unreadable, e.to_string())),
        }
    }
    Ok(deep.finish())
}
