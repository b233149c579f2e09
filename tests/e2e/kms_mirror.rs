//! Checkpoints signed inside KMS (an ECC_NIST_P256 key from
//! `infra/dev/services`), verified offline with the exported PEM file
//! (OpenSSL checks the plain signature independently); the checkpoint
//! mirror and `verify`'s cross-check; KMS failures while sealing leave no
//! object behind.

use std::path::Path;
use std::process::Output;

use crate::common::{Env, T0, categories, logseal, ok};
use crate::s3::CliServices;
use crate::s3::services::Services;

/// `logseal` with the services' S3 variables and `kms` as KMS endpoint.
fn logseal_with_kms(services: &Services, kms: &str, now: i64) -> std::process::Command {
    let mut cmd = logseal();
    for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL_S3"] {
        cmd.env(name, services.var(name));
    }
    cmd.env("AWS_ENDPOINT_URL_KMS", kms).env("LOGSEAL_FAKE_NOW", now.to_string());
    cmd
}

fn report(out: &Output) -> (i32, serde_json::Value) {
    let code = out.status.code().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "no JSON (exit {code}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, json)
}

/// A fresh mirror URL under the services' mirror bucket.
fn fresh_mirror(services: &Services) -> String {
    format!("{}/e2e-{:016x}", services.var("LOGSEAL_MIRROR_STORE"), rand::random::<u64>())
}

/// The keys under `url` (s3://bucket/prefix), relative to the prefix.
fn list(services: &Services, url: &str) -> Vec<String> {
    let (client, runtime) = services.raw_s3();
    let (bucket, prefix) = url.strip_prefix("s3://").unwrap().split_once('/').unwrap();
    let listed = runtime.block_on(client.list_objects_v2().bucket(bucket).prefix(format!("{prefix}/")).send()).unwrap();
    listed.contents().iter().filter_map(|o| o.key()).map(|k| k[prefix.len() + 1..].to_owned()).collect()
}

fn get(services: &Services, url: &str, key: &str) -> Vec<u8> {
    let (client, runtime) = services.raw_s3();
    let (bucket, prefix) = url.strip_prefix("s3://").unwrap().split_once('/').unwrap();
    let out = runtime.block_on(client.get_object().bucket(bucket).key(format!("{prefix}/{key}")).send()).unwrap();
    runtime.block_on(out.body.collect()).unwrap().into_bytes().to_vec()
}

fn kms_init(services: &Services, data: &str, store: &str, mirror: &str) {
    let extra = ["--kms-signing-key", services.var("LOGSEAL_KMS_SIGNING_KEY"), "--store", store, "--mirror", mirror];
    services.init_with_kms(data, "logseal.test/kms-signed", &extra);
}

/// Checks both signature lines of a checkpoint note with `openssl dgst
/// -verify`, an implementation other than ours: the plain one (type 0x02,
/// key ID `key_id`) over the text, the timestamped one over
/// `cosignature/v1\ntime <t>\n` and the text.
fn openssl_verifies(tmp: &Path, note: &[u8], pem: &Path, key_id: &str) -> bool {
    use base64::Engine as _;
    let note = std::str::from_utf8(note).unwrap();
    let Some((text, sigs)) = note.split_once("\n\n") else { return false };
    let text = format!("{text}\n");
    let lines: Vec<Vec<u8>> = sigs
        .lines()
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(_, b64)| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .filter(|sig| sig.len() > 12)
        .collect();
    let is_plain = |sig: &Vec<u8>| format!("{:02x}{:02x}{:02x}{:02x}", sig[0], sig[1], sig[2], sig[3]) == key_id;
    let (Some(plain), Some(stamped)) = (lines.iter().find(|s| is_plain(s)), lines.iter().find(|s| !is_plain(s))) else {
        return false;
    };
    let t = u64::from_be_bytes(stamped[4..12].try_into().unwrap());
    let checks = [(text.clone(), &plain[4..]), (format!("cosignature/v1\ntime {t}\n{text}"), &stamped[12..])];
    checks.iter().all(|(message, der)| {
        std::fs::write(tmp.join("message"), message).unwrap();
        std::fs::write(tmp.join("sig.der"), der).unwrap();
        std::process::Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(pem)
            .arg("-signature")
            .arg(tmp.join("sig.der"))
            .arg(tmp.join("message"))
            .output()
            .expect("run openssl")
            .status
            .success()
    })
}

#[test]
fn kms_signed_checkpoints_verify_offline_and_the_mirror_is_cross_checked() {
    let services = Services::get();
    let env = Env::new();
    let data = env.tmp.path().join("kms-signed");
    let data = data.to_str().unwrap();
    let (store, mirror) = (services.fresh_store(), fresh_mirror(&services));
    kms_init(&services, data, &store, &mirror);
    assert!(!Path::new(data).join("keys/checkpoint.skey").exists(), "no local signing key with a KMS one");
    let config = std::fs::read_to_string(Path::new(data).join("logseal.toml")).unwrap();
    assert!(config.contains("signing_kms_key = ") && config.contains(&mirror), "{config}");

    let file = env.log_file("a.log", 1500, 7);
    ok(&services.logseal(&["import", "--data-dir", data, "--file-records", "500", file.to_str().unwrap()], T0));

    // The public key, as the auditor gets it: PEM with the vkey line; the
    // vkey alone equals the data directory's copy.
    let pem = env.tmp.path().join("checkpoints.pem");
    let out = services.logseal(&["keys", "export-public", "--data-dir", data], T0);
    ok(&out);
    std::fs::write(&pem, &out.stdout).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("-----BEGIN PUBLIC KEY-----") && text.contains("# vkey: logseal.test/kms-signed+"), "{text}");
    let vkey = services.logseal(
        &[
            "keys",
            "export-public",
            "--kms-key",
            services.var("LOGSEAL_KMS_SIGNING_KEY"),
            "--deployment",
            "logseal.test/kms-signed",
            "--vkey",
            "--data-dir",
            "/nonexistent",
        ],
        T0,
    );
    ok(&vkey);
    let vkey = String::from_utf8(vkey.stdout).unwrap();
    assert_eq!(vkey, std::fs::read_to_string(Path::new(data).join("checkpoint.vkey")).unwrap());

    // Every checkpoint is in both stores, byte for byte; OpenSSL accepts
    // the plain ECDSA signature with the PEM key.
    let checkpoints: Vec<String> = list(&services, &store).into_iter().filter(|k| k.ends_with(".ckpt")).collect();
    assert_eq!(checkpoints.len(), 4, "three files and the final pause: {checkpoints:?}");
    let key_id = vkey.split('+').nth(1).unwrap();
    for key in &checkpoints {
        let note = get(&services, &store, key);
        assert_eq!(note, get(&services, &mirror, key), "{key} differs in the mirror");
        assert!(openssl_verifies(env.tmp.path(), &note, &pem, key_id), "openssl refuses {key}");
    }
    let mut forged = get(&services, &store, &checkpoints[0]);
    forged[0] ^= 1;
    assert!(!openssl_verifies(env.tmp.path(), &forged, &pem, key_id), "openssl accepts a changed text");

    // Offline: the PEM file and the stores; KMS unreachable, no data dir.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let auditor = |store: &str, mirror: &str, now: i64| {
        report(
            &logseal_with_kms(&services, &format!("http://{closed}"), now)
                .args(["verify", "--json", "--data-dir", "/nonexistent", "--store", store, "--mirror", mirror])
                .arg("--pubkey")
                .arg(&pem)
                .output()
                .unwrap(),
        )
    };
    let (code, clean) = auditor(&store, &mirror, T0 + 5);
    assert_eq!((code, categories(&clean)), (0, vec![]), "{clean:#}");

    // The mirror loses its newest checkpoint (a delete marker): found.
    let (client, runtime) = services.raw_s3();
    let (bucket, prefix) = mirror.strip_prefix("s3://").unwrap().split_once('/').unwrap();
    let newest = checkpoints.last().unwrap();
    runtime.block_on(client.delete_object().bucket(bucket).key(format!("{prefix}/{newest}")).send()).unwrap();
    let (code, found) = auditor(&store, &mirror, T0 + 6);
    assert_eq!((code, categories(&found)), (1, vec!["delete-marker".into(), "mirror-missing".into()]), "{found:#}");
    // Seen from the other side, the store lacks a validly signed
    // checkpoint the "mirror" holds: the store was rolled back.
    let (code, found) = auditor(&mirror, &store, T0 + 6);
    assert_eq!(code, 1, "{found:#}");
    let found_categories = categories(&found);
    assert!(found_categories.contains(&"mirror-disagrees".to_owned()), "{found:#}");
    let message =
        found["findings"].as_array().unwrap().iter().find(|f| f["category"] == "mirror-disagrees").unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(message.contains("validly signed checkpoint of 3 manifests"), "{message}");
}

#[test]
fn a_mirror_added_later_receives_the_earlier_checkpoints_and_a_changed_copy_is_found() {
    let env = Env::new();
    let mirror = env.tmp.path().join("mirror");
    let mirror = mirror.to_str().unwrap();
    let first = env.log_file("a.log", 300, 1);
    ok(&crate::common::run(&["import", "--data-dir", env.dir(), "--file-records", "100", first.to_str().unwrap()], T0));
    let verify =
        |now| report(&crate::common::run(&["verify", "--data-dir", env.dir(), "--mirror", mirror, "--json"], now));
    let (code, before) = verify(T0 + 1);
    assert_eq!(code, 1, "{before:#}");
    assert!(categories(&before).iter().all(|c| c == "mirror-missing"), "{before:#}");

    // The next import with the mirror copies what it lacks, then mirrors.
    let second = env.log_file("b.log", 100, 2);
    ok(&crate::common::run(&["import", "--data-dir", env.dir(), "--mirror", mirror, second.to_str().unwrap()], T0 + 2));
    let (code, after) = verify(T0 + 3);
    assert_eq!((code, categories(&after)), (0, vec![]), "{after:#}");
    let copies = std::fs::read_dir(Path::new(mirror).join("v1/import/checkpoints")).unwrap().count();
    assert_eq!(copies, 6, "4 checkpoints of the first import, 2 of the second");

    // A copy in the mirror that differs from the store's is found.
    let copy = Path::new(mirror).join("v1/import/checkpoints/000000000001.ckpt");
    let mut bytes = std::fs::read(&copy).unwrap();
    bytes[0] ^= 1;
    std::fs::remove_file(&copy).unwrap();
    std::fs::write(&copy, bytes).unwrap();
    let (code, changed) = verify(T0 + 4);
    assert_eq!((code, categories(&changed)), (1, vec!["mirror-disagrees".into()]), "{changed:#}");
}

#[test]
fn kms_failures_while_sealing_are_clear_errors_and_leave_no_object() {
    let services = Services::get();
    let env = Env::new();
    let data = env.tmp.path().join("kms-fail");
    let data_str = data.to_str().unwrap();
    let store = services.fresh_store();
    kms_init(&services, data_str, &store, &fresh_mirror(&services));
    let file = env.log_file("a.log", 200, 3);
    let config_path = data.join("logseal.toml");
    let good = std::fs::read_to_string(&config_path).unwrap();

    let import_with = |config: &str, kms_endpoint: Option<String>| {
        std::fs::write(&config_path, config).unwrap();
        let kms = kms_endpoint.unwrap_or_else(|| services.var("AWS_ENDPOINT_URL_KMS").to_owned());
        logseal_with_kms(&services, &kms, T0)
            .args(["import", "--data-dir", data_str, file.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let base = services.var("LOGSEAL_KMS_BASE_KEY");
    let unknown = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-0000000000aa";
    let wrapped = good.lines().find_map(|l| l.strip_prefix("index_key_wrapped = ")).unwrap().trim_matches('"');
    let mut tampered = wrapped.as_bytes().to_vec();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let cases = [
        ("KMS unreachable", good.clone(), Some(format!("http://{closed}")), closed.to_string()),
        ("unknown base key", good.replace(base, unknown), None, unknown.to_owned()),
        ("tampered wrapped index key", good.replace(wrapped, &tampered), None, "kms:Decrypt".to_owned()),
    ];
    for (what, config, endpoint, named) in cases {
        let out = import_with(&config, endpoint);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains(&named), "{what}: the error names {named}: {stderr}");
        assert_eq!(list(&services, &store), Vec::<String>::new(), "{what}: objects were written");
    }

    // With KMS back, the same import seals, and nothing is left over.
    ok(&import_with(&good, None));
    let (code, deep) = report(&services.logseal(&["verify", "--data-dir", data_str, "--deep", "--json"], T0 + 5));
    assert_eq!((code, categories(&deep)), (0, vec![]), "{deep:#}");
}
