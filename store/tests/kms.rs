//! The AWS KMS key provider against moto's KMS (from `infra/dev/services`):
//! wrap/unwrap round trips bound to their encryption context, the cache
//! that keeps KMS calls per key-encryption key rather than per file, and
//! clear errors for an unknown key, a wrong context, a tampered wrapped
//! key, KMS unreachable; the checkpoint signing key in KMS.

#[path = "support/services.rs"]
mod services;

use std::sync::Arc;

use logseal_store::ErrorKind;
use logseal_store::aws::AwsTarget;
use logseal_store::keys::kms::{KmsKeyIds, KmsKeys};
use logseal_store::keys::{KeyDomain, KeyProvider};
use services::Services;

fn target(services: &Services) -> AwsTarget {
    AwsTarget {
        endpoint: Some(services.var("AWS_ENDPOINT_URL_KMS").to_owned()),
        region: Some(services.var("AWS_REGION").to_owned()),
        max_attempts: 2,
    }
}

fn keys(services: &Services, index_key_wrapped: &str) -> KmsKeys {
    let ids = KmsKeyIds {
        base: services.var("LOGSEAL_KMS_BASE_KEY").to_owned(),
        pii: services.var("LOGSEAL_KMS_PII_KEY").to_owned(),
        index_key_wrapped: index_key_wrapped.to_owned(),
    };
    KmsKeys::open(ids, &target(services), |l| l.credentials_provider(services.credentials())).unwrap()
}

/// Keys with a fresh index key.
fn ready_keys(services: &Services) -> KmsKeys {
    let index = keys(services, "").new_index_key().unwrap();
    keys(services, &index)
}

#[test]
fn keys_round_trip_only_under_their_own_context_and_unwraps_are_cached() {
    let services = Services::get();
    let kms = ready_keys(&services);
    let pii = kms.master_key_id(KeyDomain::Pii);
    let salt_ctx = b"\nlogseal/salt-key/v1\nlogs.example/prod/web-0\n7".as_slice();
    let wrapped = kms.wrap(&pii, &[7u8; 32], salt_ctx).unwrap();
    assert_eq!(kms.unwrap(&pii, &wrapped, salt_ctx).unwrap().as_slice(), &[7u8; 32]);

    // Another file's context, another domain's key, a changed byte: refused.
    let other_file = b"\nlogseal/salt-key/v1\nlogs.example/prod/web-0\n8".as_slice();
    let fresh = keys(&services, "");
    let err = fresh.unwrap(&pii, &wrapped, other_file).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadKey, "{err}");
    assert!(err.to_string().contains("kms:Decrypt"), "{err}");
    let base = kms.master_key_id(KeyDomain::Base);
    assert!(fresh.unwrap(&base, &wrapped, salt_ctx).is_err(), "wrapped under pii, not base");
    let mut bytes = base64_decode(&wrapped);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = base64_encode(&bytes);
    assert_eq!(fresh.unwrap(&pii, &tampered, salt_ctx).unwrap_err().kind(), ErrorKind::BadKey);

    // A second unwrap of the same key is served from the cache.
    let before = kms.kms_calls();
    kms.unwrap(&pii, &wrapped, salt_ctx).unwrap();
    assert_eq!(kms.kms_calls(), before);

    // The index key: 32 bytes, the same from every provider with the same
    // wrapped key.
    assert_eq!(kms.index_key().unwrap(), kms.index_key().unwrap());
}

#[test]
fn an_unknown_key_and_an_unreachable_kms_are_clear_errors() {
    let services = Services::get();
    let ids = KmsKeyIds {
        base: "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000".into(),
        pii: services.var("LOGSEAL_KMS_PII_KEY").to_owned(),
        index_key_wrapped: String::new(),
    };
    let kms =
        KmsKeys::open(ids.clone(), &target(&services), |l| l.credentials_provider(services.credentials())).unwrap();
    let err = kms.wrap(&ids.base, &[1; 32], b"").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("00000000-0000"), "{err}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let nowhere = AwsTarget { endpoint: Some(format!("http://{closed}")), ..target(&services) };
    let kms = KmsKeys::open(ids.clone(), &nowhere, |l| l.credentials_provider(services.credentials())).unwrap();
    let err = kms.wrap(&ids.pii, &[1; 32], b"").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(err.to_string().contains(&closed.to_string()), "{err}");
}

#[test]
fn twenty_files_cost_kms_calls_per_key_encryption_key_not_per_file() {
    use logseal_store::keys::pme::PmeKeys;
    use logseal_store::sealed::schema::columns_of;
    let services = Services::get();
    let kms = Arc::new(ready_keys(&services));
    let pme = PmeKeys::new(kms.clone() as Arc<dyn KeyProvider>);
    let calls_before = kms.kms_calls();
    for _ in 0..20 {
        pme.encryption(&columns_of(KeyDomain::Base), &columns_of(KeyDomain::Pii)).unwrap();
    }
    let calls = kms.kms_calls() - calls_before;
    assert!(
        (1..=2).contains(&calls),
        "20 files' encryption properties cost {calls} KMS calls (one KEK per domain expected)"
    );
}

#[test]
fn checkpoints_signed_in_kms_verify_offline_with_the_exported_public_key() {
    use logseal_core::Hash;
    use logseal_core::checkpoint::{CheckpointBody, Heartbeat, LogVerifier};
    use logseal_store::keys::kms_signer::KmsSigner;
    let services = Services::get();
    let open = |key: &str, target: &AwsTarget| {
        KmsSigner::open(key, target, |l| l.credentials_provider(services.credentials())).unwrap()
    };
    let signing_key = services.var("LOGSEAL_KMS_SIGNING_KEY");
    let signer = open(signing_key, &target(&services)).log_signer("logs.example/prod").unwrap();
    let body = CheckpointBody {
        origin: "logs.example/prod/web-0".into(),
        size: 12,
        root: Hash([3; 32]),
        heartbeat: Heartbeat::Every(300),
    };
    let note = signer.sign(&body, 1_780_000_000).unwrap();
    // The auditor's copy: the vkey line, parsed afresh (no KMS involved).
    let vkey = signer.verifier().to_vkey();
    let opened = LogVerifier::from_vkey(&vkey).unwrap().open(&note).unwrap();
    assert_eq!((opened.body, opened.timestamp), (body.clone(), 1_780_000_000));
    // KMS's public key as DER is the same key.
    let der = open(signing_key, &target(&services)).public_key().unwrap();
    assert!(LogVerifier::from_spki_der("logs.example/prod", &der).unwrap().open(&note).is_ok());

    // A symmetric key is not a signing key: a clear error naming the key.
    let base = services.var("LOGSEAL_KMS_BASE_KEY");
    let err = open(base, &target(&services)).log_signer("logs.example/prod").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadKey, "{err}");
    assert!(err.to_string().contains(base) && err.to_string().contains("ECC_NIST_P256"), "{err}");
    // An unknown key, an unreachable KMS.
    let unknown = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000001";
    let err = open(unknown, &target(&services)).log_signer("logs.example/prod").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("kms:GetPublicKey"), "{err}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let nowhere = AwsTarget { endpoint: Some(format!("http://{closed}")), ..target(&services) };
    let err = open(signing_key, &nowhere).log_signer("logs.example/prod").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(err.to_string().contains(&closed.to_string()), "{err}");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
