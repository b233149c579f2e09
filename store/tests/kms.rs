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
    let (pii, base) = (kms.master_key_id(KeyDomain::Pii), kms.master_key_id(KeyDomain::Base));
    let fresh = keys(&services, "");

    // A key-encryption key: KMS Encrypt bound to its context.
    let wrapped = kms.wrap(&base, &[5u8; 16], b"").unwrap();
    assert_eq!(fresh.unwrap(&base, &wrapped, b"").unwrap().as_slice(), &[5u8; 16]);
    let err = fresh.unwrap(&base, &wrapped, b"other").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadKey, "{err}");
    assert!(err.to_string().contains("kms:Decrypt"), "{err}");
    assert!(fresh.unwrap(&pii, &wrapped, b"").is_err(), "wrapped under base, not pii");
    let mut bytes = base64_decode(&wrapped);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(fresh.unwrap(&base, &base64_encode(&bytes), b"").unwrap_err().kind(), ErrorKind::BadKey);

    // A salt key: wrapped locally under the stream's KMS-made key.
    let salt_ctx = b"\nlogseal/salt-key/v1\nlogs.example/prod/web-0\n7".as_slice();
    let salt = kms.wrap(&pii, &[7u8; 32], salt_ctx).unwrap();
    assert!(salt.starts_with("dw1."), "{salt}");
    assert_eq!(fresh.unwrap(&pii, &salt, salt_ctx).unwrap().as_slice(), &[7u8; 32]);
    // Another file of the stream, another stream, another domain's key,
    // a changed byte of either part: refused.
    let other_file = b"\nlogseal/salt-key/v1\nlogs.example/prod/web-0\n8".as_slice();
    let err = fresh.unwrap(&pii, &salt, other_file).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadKey, "{err}");
    let other_stream = b"\nlogseal/salt-key/v1\nlogs.example/prod/web-1\n7".as_slice();
    let err = keys(&services, "").unwrap(&pii, &salt, other_stream).unwrap_err();
    assert!(err.to_string().contains("kms:Decrypt"), "the stream is in KMS's encryption context: {err}");
    assert!(fresh.unwrap(&base, &salt, salt_ctx).is_err(), "wrapped under pii, not base");
    let (kek, sealed) = salt.strip_prefix("dw1.").unwrap().split_once('.').unwrap();
    for (part, which) in [(kek, 0), (sealed, 1)] {
        let mut bytes = base64_decode(part);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let parts = if which == 0 {
            [base64_encode(&bytes), sealed.to_owned()]
        } else {
            [kek.to_owned(), base64_encode(&bytes)]
        };
        let tampered = format!("dw1.{}.{}", parts[0], parts[1]);
        assert_eq!(keys(&services, "").unwrap(&pii, &tampered, salt_ctx).unwrap_err().kind(), ErrorKind::BadKey);
    }

    // Unwraps are cached: the same salt key again, and another salt key
    // of the stream, cost no KMS request.
    let before = fresh.kms_calls();
    fresh.unwrap(&pii, &salt, salt_ctx).unwrap();
    let next_ctx = b"\nlogseal/salt-key/v1\nlogs.example/prod/web-0\n9".as_slice();
    let next = kms.wrap(&pii, &[9u8; 32], next_ctx).unwrap();
    assert_eq!(fresh.unwrap(&pii, &next, next_ctx).unwrap().as_slice(), &[9u8; 32]);
    assert_eq!(fresh.kms_calls(), before);

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
fn sealing_and_deep_verifying_twenty_files_cost_kms_calls_per_key_encryption_key_not_per_file() {
    use logseal_core::checkpoint::LogSigner;
    use logseal_core::parse::{JsonMapping, parse_line};
    use logseal_store::audit::{AuditRequest, NoProgress, audit};
    use logseal_store::object::local::LocalStore;
    use logseal_store::sealer::{SealerOptions, StreamSealer};
    const NOW: i64 = 1_764_000_000_000_000;
    let services = Services::get();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::create(dir.path().join("store")).unwrap());
    let signer = Arc::new(LogSigner::from_seed("logs.example/prod", [1; 32]).unwrap());
    let index = keys(&services, "").new_index_key().unwrap();
    let kms = Arc::new(keys(&services, &index));
    let before = kms.kms_calls();
    let options = SealerOptions {
        deployment: "logs.example/prod".into(),
        heartbeat_secs: 60,
        write: Default::default(),
        writer: "test".into(),
        mirror: None,
    };
    let mut sealer = StreamSealer::open(store.clone(), kms.clone(), signer.clone(), "web", options, NOW).unwrap();
    for file in 0..20u64 {
        let records = (0..10u64)
            .map(|i| {
                let seq = file * 10 + i;
                let line =
                    format!("203.0.113.{i} - - [24/Nov/2025:16:00:00 +0000] \"GET /{seq} HTTP/1.1\" 200 5 \"-\" \"t\"");
                let format = logseal_core::LineFormat::Combined;
                let parsed = parse_line(format, line.as_bytes(), &JsonMapping::default()).map_err(|e| e.to_string());
                logseal_core::Record::from_parse(seq, NOW, "file:t.log", format, line.into_bytes(), parsed)
            })
            .collect();
        sealer.seal(records, NOW).unwrap();
    }
    let sealing = kms.kms_calls() - before;
    // The index key, a KEK per domain, one salt-key-encryption key.
    assert!(sealing <= 4, "sealing 20 files cost {sealing} KMS requests");

    // Deep verification by a new process (empty caches).
    let reader = Arc::new(keys(&services, &index));
    let before = reader.kms_calls();
    let request =
        AuditRequest { stream: None, deep: true, full: false, threads: 2, now_secs: (NOW / 1_000_000) as u64 };
    let report = audit(&*store, None, &signer.verifier(), Some(reader.clone()), None, &request, &NoProgress).unwrap();
    assert!(report.findings.is_empty(), "{} findings, the first: {:?}", report.findings.len(), report.findings.first());
    assert_eq!(report.streams[0].deep_records, 200);
    let reading = reader.kms_calls() - before;
    assert!(reading <= 4, "deep verification of 20 files cost {reading} KMS requests");
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
