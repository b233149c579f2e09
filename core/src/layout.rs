//! Object keys of the sealed format (v1). Under a store's root:
//!
//! ```text
//! v1/<stream>/data/<file_index:012>-<nonce:8 hex>.parquet
//! v1/<stream>/manifests/<file_index:012>.json
//! v1/<stream>/checkpoints/<checkpoint_number:012>.ckpt
//! ```
//!
//! Keys sort in sequence order. A data key carries a random nonce so that
//! a crash between writing a data object and its manifest never blocks
//! the retry (objects are write-once); the orphan shows up in `verify` as
//! an unreferenced object.

/// The format's top-level prefix.
pub const FORMAT_PREFIX: &str = "v1/";

/// `v1/<stream>/`.
pub fn stream_prefix(stream: &str) -> String {
    format!("{FORMAT_PREFIX}{stream}/")
}

/// The key of data file `file_index` with a random `nonce`.
pub fn data_key(stream: &str, file_index: u64, nonce: u32) -> String {
    format!("{FORMAT_PREFIX}{stream}/data/{file_index:012}-{nonce:08x}.parquet")
}

/// The key of manifest `file_index`.
pub fn manifest_key(stream: &str, file_index: u64) -> String {
    format!("{FORMAT_PREFIX}{stream}/manifests/{file_index:012}.json")
}

/// The key of checkpoint number `n`.
pub fn checkpoint_key(stream: &str, n: u64) -> String {
    format!("{FORMAT_PREFIX}{stream}/checkpoints/{n:012}.ckpt")
}

/// What a key under a stream's prefix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A data file, with its file index.
    Data(u64),
    /// A manifest, with its file index.
    Manifest(u64),
    /// A checkpoint, with its number.
    Checkpoint(u64),
    /// Anything else (not written by logseal).
    Other,
}

fn index(digits: &str) -> Option<u64> {
    (digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok()).flatten()
}

/// Classifies `key`, which lies under `stream_prefix(stream)`.
pub fn classify(stream: &str, key: &str) -> KeyKind {
    let Some(rest) = key.strip_prefix(&stream_prefix(stream)) else {
        return KeyKind::Other;
    };
    let parsed = if let Some(name) = rest.strip_prefix("data/") {
        name.strip_suffix(".parquet")
            .and_then(|n| n.split_once('-'))
            .filter(|(_, nonce)| {
                nonce.len() == 8 && nonce.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            })
            .and_then(|(i, _)| index(i))
            .map(KeyKind::Data)
    } else if let Some(name) = rest.strip_prefix("manifests/") {
        name.strip_suffix(".json").and_then(index).map(KeyKind::Manifest)
    } else if let Some(name) = rest.strip_prefix("checkpoints/") {
        name.strip_suffix(".ckpt").and_then(index).map(KeyKind::Checkpoint)
    } else {
        None
    };
    parsed.unwrap_or(KeyKind::Other)
}

/// The stream a key belongs to, if it lies under `v1/<stream>/`.
pub fn stream_of(key: &str) -> Option<&str> {
    key.strip_prefix(FORMAT_PREFIX)?.split_once('/').map(|(stream, _)| stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        assert_eq!(classify("s", &data_key("s", 42, 0xdead_beef)), KeyKind::Data(42));
        assert_eq!(classify("s", &manifest_key("s", 7)), KeyKind::Manifest(7));
        assert_eq!(classify("s", &checkpoint_key("s", 9)), KeyKind::Checkpoint(9));
        assert_eq!(classify("s", "v1/s/data/42.parquet"), KeyKind::Other);
        assert_eq!(classify("s", "v1/s/manifests/000000000001.json.bak"), KeyKind::Other);
        assert_eq!(classify("s", "v1/t/manifests/000000000001.json"), KeyKind::Other);
        assert_eq!(stream_of(&manifest_key("web-1", 0)), Some("web-1"));
        assert!(data_key("s", 1, 0) < data_key("s", 2, 0) && manifest_key("s", 9) < manifest_key("s", 10));
    }
}
