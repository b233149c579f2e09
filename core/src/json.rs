//! Canonical JSON bytes: object keys sorted (by their UTF-8 bytes, which
//! is code-point order), no insignificant whitespace — the RFC 8785 subset
//! manifests and evidence bundles use (strings and integers only).
//!
//! Keys are sorted here, explicitly: serde_json keeps object keys sorted
//! only while its `preserve_order` feature is off, and any crate in a
//! build may turn it on (cedar-policy does), which would silently change
//! every manifest's bytes and hash.

use serde::Serialize;
use serde_json::{Map, Value};

/// The canonical JSON bytes of `value`.
///
/// # Panics
///
/// Never for the types this crate serializes (plain structs of strings,
/// integers, options and vectors).
pub fn canonical_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    let value = sorted(serde_json::to_value(value).expect("serializes to JSON"));
    serde_json::to_vec(&value).expect("a JSON value serializes")
}

/// `value` with every object's keys in sorted order (a map that keeps
/// insertion order then iterates sorted; a sorted map stays sorted).
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k, sorted(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_depth_whatever_the_map_type() {
        let mut inner = Map::new();
        inner.insert("z".into(), 1.into());
        inner.insert("a".into(), 2.into());
        let mut outer = Map::new();
        outer.insert("writer".into(), "x".into());
        outer.insert("data".into(), Value::Object(inner.clone()));
        outer.insert("list".into(), Value::Array(vec![Value::Object(inner)]));
        assert_eq!(
            String::from_utf8(canonical_bytes(&Value::Object(outer))).unwrap(),
            r#"{"data":{"a":2,"z":1},"list":[{"a":2,"z":1}],"writer":"x"}"#
        );
    }
}
