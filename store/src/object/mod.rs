//! The object-store boundary: write-once objects under `/`-separated keys.
//!
//! Implementations: [`local::LocalStore`] (a directory) and [`s3::S3Store`].
//! All of them pass [`conformance::run`], the one shared test suite.
//!
//! The trait is synchronous: sealing and verification run on plain threads
//! (CPU-bound hashing, Parquet, AES), and an async implementation can block
//! on its own runtime inside these calls.

pub mod conformance;
pub mod local;
pub mod s3;

use std::io::Read;
use std::path::PathBuf;

use crate::error::{Error, ErrorKind, Result};

/// What a listing says of one object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectMeta {
    /// The object's key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
}

/// One version of an object, in a store that keeps versions (S3 with
/// versioning, as Object Lock requires).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    /// The object's key.
    pub key: String,
    /// The store's version id.
    pub version_id: String,
    /// A delete marker (hides the versions before it), not data.
    pub delete_marker: bool,
    /// The version a plain read gets.
    pub latest: bool,
    /// Its size in bytes (0 for a delete marker).
    pub size: u64,
}

/// A readable local copy of an object (for readers that need random
/// access, such as Parquet). Deleted on drop when it is a temporary copy.
#[derive(Debug)]
pub struct LocalCopy {
    /// Where the bytes are.
    pub path: PathBuf,
    /// Keeps a temporary download alive.
    _temp: Option<tempfile_guard::TempGuard>,
}

impl LocalCopy {
    /// The object itself is a local file.
    pub fn in_place(path: PathBuf) -> LocalCopy {
        LocalCopy { path, _temp: None }
    }
}

mod tempfile_guard {
    /// Removes a temporary file when dropped.
    #[derive(Debug)]
    pub struct TempGuard(pub std::path::PathBuf);

    impl Drop for TempGuard {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// A store of write-once objects.
pub trait ObjectStore: Send + Sync {
    /// Creates `key` with `bytes`. Fails with [`ErrorKind::AlreadyExists`]
    /// if the key exists: objects are never overwritten. On success the
    /// object is durable.
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<()>;

    /// Reads a whole (small) object.
    fn get(&self, key: &str) -> Result<Vec<u8>>;

    /// Opens an object for streaming reads.
    fn open(&self, key: &str) -> Result<Box<dyn Read + Send>>;

    /// Reads bytes `range` of an object (for readers that fetch only the
    /// footer and the column chunks they need). A range that ends past the
    /// object's end is an error ([`ErrorKind::InvalidInput`]). No
    /// whole-object checksum covers a part: Parquet Modular Encryption's
    /// AES-GCM authenticates what is read from a sealed file.
    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>>;

    /// A local file with the object's bytes.
    fn local_copy(&self, key: &str) -> Result<LocalCopy>;

    /// Every object whose key starts with `prefix`, sorted by key. Keys
    /// after `start_after` only, when given.
    fn list(&self, prefix: &str, start_after: Option<&str>) -> Result<Vec<ObjectMeta>>;

    /// Every version and delete marker under `prefix`, sorted by key, or
    /// `None` for a store that keeps no versions (a write-once directory).
    fn list_versions(&self, prefix: &str) -> Result<Option<Vec<ObjectVersion>>> {
        let _ = prefix;
        Ok(None)
    }

    /// Where this store is, for messages (`local store at /srv/logseal/store`).
    fn describe(&self) -> String;
}

/// Checks that a requested byte range is not reversed.
pub(crate) fn check_range(key: &str, range: &std::ops::Range<u64>) -> Result<()> {
    if range.start > range.end {
        return Err(Error::new(ErrorKind::InvalidInput, format!("byte range {range:?} of {key:?} is reversed")));
    }
    Ok(())
}

/// The error of a range past an object's end.
pub(crate) fn beyond_end(key: &str, range: &std::ops::Range<u64>, size: u64) -> Error {
    Error::new(ErrorKind::InvalidInput, format!("byte range {range:?} of {key:?} ends past the object's {size} bytes"))
}

/// Checks that `key` is a relative, `/`-separated key of safe characters
/// with no empty, `.` or `..` segment.
pub fn validate_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 1024
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._/=".contains(&b))
        && key.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".." && !seg.starts_with(".tmp-"));
    if ok { Ok(()) } else { Err(Error::new(ErrorKind::InvalidInput, format!("object key {key:?} is not a valid key"))) }
}
