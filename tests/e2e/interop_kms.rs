//! Interoperability with pyarrow for a KMS-keyed deployment on S3: the real
//! binary seals generated lines into SeaweedFS with its master keys in
//! KMS (moto, from `infra/dev/services`), and pyarrow reads a data object
//! straight from S3 through a Python KMS client that unwraps the
//! key-encryption keys with KMS `Decrypt` under logseal's encryption
//! context (`tests/interop/aws_kms.py`). It gets exactly the rows our
//! reader gets; with only the base key it reads the base columns and not
//! the pii ones; with a wrong encryption context KMS refuses to unwrap.

use std::path::PathBuf;
use std::sync::Arc;

use logseal_store::aws::AwsTarget;
use logseal_store::keys::KeyProvider;
use logseal_store::keys::kms::{KmsKeyIds, KmsKeys};
use logseal_store::sealed::read::StoredRow;

use crate::common::{Env, T0, ok};
use crate::interop::{
    BASE_COLUMNS, all_columns, assert_same_rows, logseal_rows_with, pyarrow_fails_with, pyarrow_rows_with,
};
use crate::s3::CliServices;
use crate::s3::services::Services;

/// The variables Python's boto3 needs to reach the services.
const AWS_VARS: [&str; 5] =
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KMS"];

/// A KMS-keyed store on S3 with 1000 generated lines (2% malformed) in
/// files of 400 records, and one of its data objects that holds parse
/// errors and stored raw lines.
struct Sealed {
    services: Services,
    env: Env,
    /// `s3://bucket/key` of the chosen data object.
    object: String,
    /// Our reader's rows of it (read from a downloaded copy).
    ours: Vec<StoredRow>,
}

impl Sealed {
    fn new() -> Sealed {
        let services = Services::get();
        let env = Env::new(); // its log generator and temp dir; the data dir is made anew with KMS keys
        let data = env.tmp.path().join("kms-data");
        let data = data.to_str().unwrap();
        services.init_with_kms(data, "logseal.test/kms-interop", &[]);
        let store = services.fresh_store();
        let log = env.log_file("access.log", 1000, 7);
        ok(&services.logseal(
            &[
                "import",
                "--data-dir",
                data,
                "--store",
                &store,
                "--stream",
                "web",
                "--file-records",
                "400",
                log.to_str().unwrap(),
            ],
            T0,
        ));

        let (client, runtime) = services.raw_s3();
        let (bucket, prefix) = store.strip_prefix("s3://").unwrap().split_once('/').unwrap();
        let listed = runtime
            .block_on(client.list_objects_v2().bucket(bucket).prefix(format!("{prefix}/v1/web/data/")).send())
            .unwrap();
        let keys: Vec<String> = listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
        assert_eq!(keys.len(), 3, "{keys:?}");

        let kms = Arc::new(kms_keys(&services));
        let mut chosen = None;
        for (i, key) in keys.iter().enumerate() {
            let got = runtime.block_on(client.get_object().bucket(bucket).key(key).send()).unwrap();
            let bytes = runtime.block_on(got.body.collect()).unwrap().into_bytes();
            let copy: PathBuf = env.tmp.path().join(format!("data-{i}.parquet"));
            std::fs::write(&copy, &bytes).unwrap();
            let rows = logseal_rows_with(kms.clone() as Arc<dyn KeyProvider>, &copy);
            if rows.iter().any(|r| r.record.parse_error.is_some()) && rows.iter().any(|r| r.raw_stored) {
                chosen = Some((format!("s3://{bucket}/{key}"), rows));
                break;
            }
        }
        let (object, ours) = chosen.expect("a data object with parse errors and raw-stored rows");
        Sealed { services, env, object, ours }
    }

    fn aws_vars(&self) -> Vec<(&str, &str)> {
        AWS_VARS.iter().map(|name| (*name, self.services.var(name))).collect()
    }

    fn base_key(&self) -> &str {
        self.services.var("LOGSEAL_KMS_BASE_KEY")
    }

    fn pii_key(&self) -> &str {
        self.services.var("LOGSEAL_KMS_PII_KEY")
    }
}

/// logseal's own KMS provider for the services' keys (reading needs no
/// index key).
fn kms_keys(services: &Services) -> KmsKeys {
    let ids = KmsKeyIds {
        base: services.var("LOGSEAL_KMS_BASE_KEY").to_owned(),
        pii: services.var("LOGSEAL_KMS_PII_KEY").to_owned(),
        index_key_wrapped: String::new(),
    };
    let target = AwsTarget {
        endpoint: Some(services.var("AWS_ENDPOINT_URL_KMS").to_owned()),
        region: Some(services.var("AWS_REGION").to_owned()),
        max_attempts: 2,
    };
    KmsKeys::open(ids, &target, |l| l.credentials_provider(services.credentials())).unwrap()
}

#[test]
fn pyarrow_reads_an_s3_sealed_file_through_aws_kms_as_logseal_does() {
    let sealed = Sealed::new();
    assert_eq!(sealed.ours.len(), 400);
    let vars = sealed.aws_vars();
    let keys = ["--kms", "aws", "--base-key", sealed.base_key(), "--pii-key", sealed.pii_key()];
    let theirs = pyarrow_rows_with(&sealed.env, &keys, &sealed.object, &[], &vars);
    assert_same_rows(&theirs, &sealed.ours, &all_columns());

    let some = ["raw", "client_ip", "seq", "parse_error"];
    assert_same_rows(&pyarrow_rows_with(&sealed.env, &keys, &sealed.object, &some, &vars), &sealed.ours, &some);
}

#[test]
fn with_only_the_base_kms_key_pyarrow_reads_base_columns_only() {
    let sealed = Sealed::new();
    let vars = sealed.aws_vars();
    let keys = ["--kms", "aws", "--base-key", sealed.base_key()];
    let theirs = pyarrow_rows_with(&sealed.env, &keys, &sealed.object, &BASE_COLUMNS, &vars);
    assert_same_rows(&theirs, &sealed.ours, &BASE_COLUMNS);

    for columns in [&["client_ip"][..], &["raw"], &[]] {
        let mut args = keys.to_vec();
        args.extend(["--file", &sealed.object]);
        let joined = columns.join(",");
        if !columns.is_empty() {
            args.extend(["--columns", &joined]);
        }
        let stderr = pyarrow_fails_with(&args, &vars);
        assert!(
            stderr.contains(sealed.pii_key()) && stderr.contains("not one of the configured KMS keys"),
            "reading {columns:?} without the pii key must fail naming it:\n{stderr}"
        );
    }
}

#[test]
fn kms_refuses_to_unwrap_under_a_wrong_encryption_context() {
    let sealed = Sealed::new();
    let vars = sealed.aws_vars();
    let keys = ["--kms", "aws", "--base-key", sealed.base_key(), "--pii-key", sealed.pii_key()];
    // The footer key is a base key: its KEK is the first thing unwrapped.
    for purpose in ["salt-key", "KEK"] {
        let mut args = keys.to_vec();
        args.extend(["--kms-purpose", purpose, "--file", &sealed.object, "--columns", "seq"]);
        let stderr = pyarrow_fails_with(&args, &vars);
        assert!(
            stderr.contains("kms:Decrypt") && stderr.contains("InvalidCiphertextException"),
            "purpose {purpose:?}: KMS must refuse the unwrap:\n{stderr}"
        );
    }
    // The right context still works with the same client code.
    let rows = pyarrow_rows_with(&sealed.env, &keys, &sealed.object, &["seq"], &vars);
    assert_same_rows(&rows, &sealed.ours, &["seq"]);
}
