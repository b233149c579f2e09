//! The one test suite every [`ObjectStore`] implementation must pass
//! (Quickwit's `storage_test_suite` pattern): the local store runs it in
//! its unit tests, the S3 store against a real S3 server.

use std::io::Read;

use super::ObjectStore;
use crate::error::ErrorKind;

/// Runs every check against `store`, under keys starting with `prefix`
/// (which must be empty in the store). Panics on the first failed check.
pub fn run(store: &dyn ObjectStore, prefix: &str) {
    let key = |name: &str| format!("{prefix}/{name}");

    // Create, read back, stream back.
    store.put_new(&key("a/1"), b"hello").expect("put_new");
    assert_eq!(store.get(&key("a/1")).expect("get"), b"hello");
    let mut streamed = Vec::new();
    store.open(&key("a/1")).expect("open").read_to_end(&mut streamed).expect("read");
    assert_eq!(streamed, b"hello");
    let copy = store.local_copy(&key("a/1")).expect("local_copy");
    assert_eq!(std::fs::read(&copy.path).expect("read local copy"), b"hello");

    // Never overwrite.
    let err = store.put_new(&key("a/1"), b"other").expect_err("overwrite must fail");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(store.get(&key("a/1")).expect("get"), b"hello", "overwrite attempt changed the object");

    // Missing objects.
    assert_eq!(store.get(&key("missing")).expect_err("missing").kind(), ErrorKind::NotFound);
    assert!(store.open(&key("missing")).is_err());

    // Empty and larger objects.
    store.put_new(&key("a/empty"), b"").expect("empty object");
    assert_eq!(store.get(&key("a/empty")).expect("get empty"), b"");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    store.put_new(&key("b/big"), &big).expect("big object");
    assert_eq!(store.get(&key("b/big")).expect("get big"), big);

    // Ranged reads: inside, up to the end, empty; past the end or reversed
    // is an error; a missing object is NotFound.
    assert_eq!(store.get_range(&key("b/big"), 1000..1010).expect("range"), &big[1000..1010]);
    assert_eq!(store.get_range(&key("b/big"), 2_999_990..3_000_000).expect("tail range"), &big[2_999_990..]);
    assert_eq!(store.get_range(&key("b/big"), 0..0).expect("empty range"), b"");
    assert_eq!(store.get_range(&key("a/1"), 0..5).expect("whole as range"), b"hello");
    for bad in [4..6, 6..7] {
        let err = store.get_range(&key("a/1"), bad.clone()).expect_err("range past the end");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}: {err}");
    }
    #[allow(clippy::reversed_empty_ranges, reason = "a reversed range is what is tested")]
    let reversed = 3..2;
    assert_eq!(store.get_range(&key("a/1"), reversed).expect_err("reversed").kind(), ErrorKind::InvalidInput);
    assert_eq!(store.get_range(&key("missing"), 0..1).expect_err("missing").kind(), ErrorKind::NotFound);

    // Listing: sorted, sizes, prefix, start_after.
    store.put_new(&key("a/2"), b"22").expect("put");
    store.put_new(&key("a/10"), b"1010").expect("put");
    let listed = store.list(&key("a/"), None).expect("list");
    let keys: Vec<_> = listed.iter().map(|m| m.key.clone()).collect();
    assert_eq!(keys, vec![key("a/1"), key("a/10"), key("a/2"), key("a/empty")]);
    assert_eq!(listed[1].size, 4);
    let after = store.list(&key("a/"), Some(&key("a/10"))).expect("list after");
    assert_eq!(after.iter().map(|m| m.key.clone()).collect::<Vec<_>>(), vec![key("a/2"), key("a/empty")]);
    assert_eq!(store.list(&key("a/1"), None).expect("prefix list").len(), 2);
    assert!(store.list(&key("nothing/"), None).expect("empty list").is_empty());
    let all = store.list(&format!("{prefix}/"), None).expect("list all");
    assert_eq!(all.len(), 5);

    // Invalid keys are refused, not mapped somewhere surprising.
    for bad in ["", "/abs", "a/../b", "a//b", "a b"] {
        assert!(store.put_new(bad, b"x").is_err(), "key {bad:?} accepted");
    }
}
