//! The local filesystem object store: one file per object under a root
//! directory.
//!
//! Creation is atomic and never overwrites: the bytes go to a temporary
//! file in the target directory, are fsynced, then hard-linked to the
//! final name (`link` fails if the name exists, unlike `rename`), the
//! temporary name is removed and the directory fsynced.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;

use super::{LocalCopy, ObjectMeta, ObjectStore, beyond_end, check_range, validate_key};
use crate::error::{Error, ErrorKind, Result};

/// A directory of objects.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// Opens the store rooted at `root`, which must be an existing directory.
    pub fn open(root: impl Into<PathBuf>) -> Result<LocalStore> {
        let root = root.into();
        match fs::metadata(&root) {
            Ok(m) if m.is_dir() => Ok(LocalStore { root }),
            Ok(_) => {
                Err(Error::new(ErrorKind::InvalidInput, format!("store root {} is not a directory", root.display())))
            }
            Err(e) => Err(Error::io(format!("store root {}", root.display()), &e)),
        }
    }

    /// Creates the root directory if needed and opens it.
    pub fn create(root: impl Into<PathBuf>) -> Result<LocalStore> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| Error::io(format!("creating store root {}", root.display()), &e))?;
        LocalStore::open(root)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl ObjectStore for LocalStore {
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path_of(key)?;
        let dir = path.parent().expect("a key joined to the root has a parent");
        let what = || format!("writing object {key:?} in {}", self.describe());
        if path.exists() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("object {key:?} exists already; objects are never overwritten"),
            ));
        }
        fs::create_dir_all(dir).map_err(|e| Error::io(what(), &e))?;
        let tmp = dir.join(format!(".tmp-{:016x}", rand::thread_rng().next_u64()));
        let result = (|| -> std::io::Result<()> {
            let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::hard_link(&tmp, &path)
        })();
        let _ = fs::remove_file(&tmp);
        match result {
            Ok(()) => fsync_dir(dir).map_err(|e| Error::io(what(), &e)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("object {key:?} exists already; objects are never overwritten"),
            )),
            Err(e) => Err(Error::io(what(), &e)),
        }
    }

    fn get(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path_of(key)?;
        fs::read(&path).map_err(|e| Error::io(format!("reading object {key:?} in {}", self.describe()), &e))
    }

    fn open(&self, key: &str) -> Result<Box<dyn Read + Send>> {
        let path = self.path_of(key)?;
        let file =
            File::open(&path).map_err(|e| Error::io(format!("opening object {key:?} in {}", self.describe()), &e))?;
        Ok(Box::new(file))
    }

    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>> {
        use std::io::{Seek, SeekFrom};
        check_range(key, &range)?;
        let path = self.path_of(key)?;
        let what =
            |e: &std::io::Error| Error::io(format!("reading {range:?} of object {key:?} in {}", self.describe()), e);
        let mut file = File::open(&path).map_err(|e| what(&e))?;
        let size = file.metadata().map_err(|e| what(&e))?.len();
        if range.end > size {
            return Err(beyond_end(key, &range, size));
        }
        let mut bytes = vec![0; (range.end - range.start) as usize];
        file.seek(SeekFrom::Start(range.start)).and_then(|_| file.read_exact(&mut bytes)).map_err(|e| what(&e))?;
        Ok(bytes)
    }

    fn local_copy(&self, key: &str) -> Result<LocalCopy> {
        let path = self.path_of(key)?;
        fs::metadata(&path).map_err(|e| Error::io(format!("object {key:?} in {}", self.describe()), &e))?;
        Ok(LocalCopy::in_place(path))
    }

    fn list(&self, prefix: &str, start_after: Option<&str>) -> Result<Vec<ObjectMeta>> {
        // Walk only the directory the prefix names (up to its last '/').
        let base = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let start = if base.is_empty() { self.root.clone() } else { self.root.join(base) };
        let mut out = Vec::new();
        let mut stack = vec![(start, base.to_owned())];
        while let Some((dir, key_prefix)) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(format!("listing {}", dir.display()), &e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), &e))?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.starts_with(".tmp-") {
                    continue;
                }
                let key = if key_prefix.is_empty() { name.to_owned() } else { format!("{key_prefix}/{name}") };
                let meta =
                    entry.metadata().map_err(|e| Error::io(format!("listing {}", entry.path().display()), &e))?;
                if meta.is_dir() {
                    stack.push((entry.path(), key));
                } else if key.starts_with(prefix) && start_after.is_none_or(|s| key.as_str() > s) {
                    out.push(ObjectMeta { key, size: meta.len() });
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("local store at {}", self.root.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_store_passes_the_shared_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        super::super::conformance::run(&store, "suite");
    }

    #[test]
    fn no_temporary_files_are_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        store.put_new("a/b", b"1").unwrap();
        assert!(store.put_new("a/b", b"2").is_err());
        let names: Vec<_> = fs::read_dir(dir.path().join("a")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("b")]);
    }

    #[test]
    fn missing_root_is_a_clear_error() {
        let err = LocalStore::open("/nonexistent/logseal-root").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("/nonexistent/logseal-root"), "{err}");
    }
}
