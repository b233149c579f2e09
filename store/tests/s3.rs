//! The S3 store against a real S3 server with Object Lock (SeaweedFS,
//! started by `infra/dev/services`): the shared object-store suite,
//! multipart uploads, and the guarantees the store relies on — a locked
//! version cannot be deleted or shortened, a conditional write never
//! overwrites, a wrong checksum is refused.
//!
//! When `LOGSEAL_TEST_SERVICES` names a running instance's directory (as
//! `scripts/test.sh` does, from one `infra/dev/services start` for the
//! whole suite) the tests use it; otherwise each starts its own in a
//! temporary directory and stops it when done. Every test works under its
//! own random prefix, with the services' credentials passed explicitly.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{ChecksumAlgorithm, ObjectLockMode};
use logseal_store::ErrorKind;
use logseal_store::object::s3::{LockMode, ObjectLock, S3Location, S3Options, S3Store};
use logseal_store::object::{ObjectStore, conformance};

#[path = "support/services.rs"]
mod services;

use services::Services;

/// The S3 side of the services.
trait S3Services {
    fn store(&self, options: S3Options) -> (S3Store, String);
    fn bucket(&self) -> String;
}

impl S3Services for Services {
    /// A store under a fresh random prefix of the services' bucket.
    fn store(&self, options: S3Options) -> (S3Store, String) {
        let base = S3Location::parse(self.var("LOGSEAL_STORE")).unwrap();
        let prefix = format!("{}/t-{:016x}", base.prefix, rand::random::<u64>()).trim_start_matches('/').to_owned();
        let options = S3Options {
            endpoint: Some(self.var("AWS_ENDPOINT_URL_S3").to_owned()),
            region: Some(self.var("AWS_REGION").to_owned()),
            path_style: Some(true),
            ..options
        };
        let location = S3Location { bucket: base.bucket.clone(), prefix: prefix.clone() };
        let store = S3Store::open_with(location, options, |l| l.credentials_provider(self.credentials())).unwrap();
        (store, prefix)
    }

    fn bucket(&self) -> String {
        S3Location::parse(self.var("LOGSEAL_STORE")).unwrap().bucket
    }
}

#[test]
fn the_s3_store_passes_the_object_store_suite() {
    let services = Services::get();
    let (store, _) = services.store(S3Options::default());
    conformance::run(&store, "suite");
    assert!(store.describe().contains(&services.bucket()), "{}", store.describe());
}

#[test]
fn large_objects_go_up_in_parts_with_checksums_and_never_overwrite() {
    let services = Services::get();
    let options = S3Options { multipart_threshold: 6 << 20, part_size: 5 << 20, ..S3Options::default() };
    let (store, _) = services.store(options);
    let big: Vec<u8> = (0..13_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    store.put_new("big/object", &big).unwrap();
    assert_eq!(store.get("big/object").unwrap(), big);
    let err = store.put_new("big/object", &big[..7_000_000]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(store.get("big/object").unwrap().len(), big.len());
}

#[test]
fn compliance_locked_versions_cannot_be_deleted_or_shortened() {
    let services = Services::get();
    let lock = ObjectLock { mode: LockMode::Compliance, retain_days: 1 };
    let (store, prefix) = services.store(S3Options { object_lock: Some(lock), ..S3Options::default() });
    store.put_new("locked", b"kept for a day").unwrap();
    let (client, runtime) = services.raw_s3();
    let key = format!("{prefix}/locked");
    let head = runtime.block_on(client.head_object().bucket(services.bucket()).key(&key).send()).unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    let version = head.version_id().expect("a versioned bucket").to_owned();
    let delete =
        runtime.block_on(client.delete_object().bucket(services.bucket()).key(&key).version_id(&version).send());
    let refused = delete.expect_err("deleting a COMPLIANCE-locked version must be refused");
    assert_eq!(refused.code(), Some("AccessDenied"), "{refused:?}");
    let shorten = runtime.block_on(
        client
            .put_object_retention()
            .bucket(services.bucket())
            .key(&key)
            .version_id(&version)
            .retention(
                aws_sdk_s3::types::ObjectLockRetention::builder()
                    .mode(aws_sdk_s3::types::ObjectLockRetentionMode::Compliance)
                    .retain_until_date(DateTime::from_secs(DateTime::from(std::time::SystemTime::now()).secs() + 60))
                    .build(),
            )
            .send(),
    );
    let refused = shorten.expect_err("shortening a COMPLIANCE retention must be refused");
    assert_eq!(refused.code(), Some("AccessDenied"), "{refused:?}");
    assert_eq!(store.get("locked").unwrap(), b"kept for a day");
}

#[test]
fn a_wrong_checksum_is_refused_by_the_server() {
    let services = Services::get();
    let (_, prefix) = services.store(S3Options::default());
    let (client, runtime) = services.raw_s3();
    let wrong = runtime.block_on(
        client
            .put_object()
            .bucket(services.bucket())
            .key(format!("{prefix}/corrupt"))
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=") // SHA-256 of nothing
            .body(ByteStream::from_static(b"not nothing"))
            .send(),
    );
    let err = wrong.expect_err("a wrong checksum must be refused");
    assert_eq!(err.code(), Some("BadDigest"), "{err:?}");
}

#[test]
fn a_missing_bucket_names_the_bucket_and_the_fix() {
    let services = Services::get();
    let (store, _) = services.store(S3Options::default());
    drop(store);
    let options = S3Options {
        endpoint: Some(services.var("AWS_ENDPOINT_URL_S3").to_owned()),
        region: Some(services.var("AWS_REGION").to_owned()),
        path_style: Some(true),
        ..S3Options::default()
    };
    let location = S3Location::parse("s3://no-such-bucket-here/x").unwrap();
    let missing = S3Store::open_with(location, options, |l| l.credentials_provider(services.credentials())).unwrap();
    let err = missing.put_new("a", b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("no-such-bucket-here") && err.to_string().contains("create it"), "{err}");
}
