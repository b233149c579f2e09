//! Interoperability with pyarrow: a file sealed by the real binary is read
//! by pyarrow's own Parquet Modular Encryption (PKMT1 key material, double
//! wrapping) through a Python KMS client over our local key files
//! (`tests/interop/`), and gives exactly the rows our reader gives. Without
//! `pii.key` pyarrow reads the `base` columns — the pseudonyms and network
//! prefixes derived from `client_ip` and `user_id` included, equal to what
//! the index key derives from the record — and cannot read the `pii`
//! ones; without any keys it cannot even open the file.
//!
//! The Python side is set up by `scripts/setup-python.sh` (a project-local
//! `.venv` with pinned pyarrow), run once per test binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use logseal_core::blind::IpTagger;
use logseal_core::derived::Derived;
use logseal_store::keys::KeyProvider;
use logseal_store::keys::local::LocalKeys;
use logseal_store::keys::pme::PmeKeys;
use logseal_store::sealed::read::{SealedFileReader, StoredRow};
use logseal_store::sealed::schema::COLUMNS;
use serde_json::{Map, Value, json};

use crate::common::{Env, T0};

/// The columns an analyst without `pii.key` reads in these tests.
pub(crate) const BASE_COLUMNS: [&str; 9] =
    ["seq", "time", "method", "url_path", "status", "bytes_sent", "ip_tag", "client_prefix", "user_tag"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("cli/ has a parent").to_path_buf()
}

/// `.venv/bin/python`, after `scripts/setup-python.sh` has made sure it has
/// pyarrow (once per test binary; the script itself serialises processes).
pub(crate) fn python() -> &'static Path {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = PYTHON.get_or_init(|| {
        let root = repo_root();
        let out = Command::new("bash")
            .arg(root.join("scripts/setup-python.sh"))
            .current_dir(&root)
            .output()
            .map_err(|e| format!("running scripts/setup-python.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "scripts/setup-python.sh failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(root.join(".venv/bin/python"))
    });
    match result {
        Ok(path) => path,
        Err(e) => panic!("{e}"),
    }
}

/// Runs `tests/interop/read_sealed.py` with `args` and the environment
/// variables `envs` (for `--kms aws`: the services' AWS variables).
pub(crate) fn read_sealed_with(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(python())
        .arg(repo_root().join("tests/interop/read_sealed.py"))
        .args(args)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .envs(envs.iter().copied())
        .output()
        .expect("run read_sealed.py")
}

/// pyarrow's rows of `file`: `columns` (all when empty) read with the keys in
/// `keys`; panics with the script's stderr if it fails.
fn pyarrow_rows(env: &Env, keys: &Path, file: &Path, columns: &[&str]) -> Vec<Map<String, Value>> {
    pyarrow_rows_with(env, &["--keys", keys.to_str().unwrap()], file.to_str().unwrap(), columns, &[])
}

/// pyarrow's rows of `file` (a path or `s3://…`): `columns` (all when
/// empty) read with the key arguments `keys` (`--keys DIR` or `--kms aws
/// …`) and the environment variables `envs`; panics with the script's
/// stderr if it fails.
pub(crate) fn pyarrow_rows_with(
    env: &Env,
    keys: &[&str],
    file: &str,
    columns: &[&str],
    envs: &[(&str, &str)],
) -> Vec<Map<String, Value>> {
    let out_path = env.tmp.path().join("pyarrow-rows.jsonl");
    let mut args = keys.to_vec();
    args.extend(["--file", file]);
    let joined = columns.join(",");
    if !columns.is_empty() {
        args.extend(["--columns", &joined]);
    }
    args.extend(["--json-out", out_path.to_str().unwrap()]);
    let out = read_sealed_with(&args, envs);
    assert!(
        out.status.success(),
        "pyarrow could not read {file} ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&out_path)
        .unwrap()
        .lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(Value::Object(row)) => row,
            other => panic!("read_sealed.py printed a line that is not an object: {line} ({other:?})"),
        })
        .collect()
}

/// Runs read_sealed.py expecting failure; returns its stderr.
fn pyarrow_fails(args: &[&str]) -> String {
    pyarrow_fails_with(args, &[])
}

/// Runs read_sealed.py with `envs` expecting failure; returns its stderr.
pub(crate) fn pyarrow_fails_with(args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = read_sealed_with(args, envs);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "pyarrow read {args:?} although it must not:\n{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout).chars().take(2000).collect::<String>()
    );
    stderr
}

/// Our reader's rows of `file`, with all keys.
fn logseal_rows(keys: &Path, file: &Path) -> Vec<StoredRow> {
    logseal_rows_with(Arc::new(LocalKeys::open(keys)), file)
}

/// Our reader's rows of `file`, with the keys of `keys`.
pub(crate) fn logseal_rows_with(keys: Arc<dyn KeyProvider>, file: &Path) -> Vec<StoredRow> {
    let pme = PmeKeys::new(keys);
    let mut reader = SealedFileReader::open(file, pme.decryption().unwrap()).unwrap();
    let mut rows = Vec::new();
    while let Some(batch) = reader.next_rows() {
        rows.extend(batch.unwrap());
    }
    rows
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A row as read_sealed.py writes it: every column by name; binary as
/// base64, fixed-size binary as hex, timestamps as microseconds.
fn as_json(row: &StoredRow) -> Map<String, Value> {
    let r = &row.record;
    let value = json!({
        "seq": r.seq,
        "received_at": r.received_at,
        "source": r.source,
        "format": r.format.map(|f| f.name()),
        "time": r.time.map(|t| t.utc_micros),
        "time_offset_s": r.time.map(|t| t.offset_secs),
        "client_ip": r.client_ip.map(|ip| ip.to_string()),
        "ip_tag": row.derived.ip_tag.map(|t| hex(&t)),
        "client_prefix": row.derived.client_prefix,
        "method": r.method,
        "url_query": r.url.as_deref().and_then(|u| u.split_once('?')).map(|(_, q)| q),
        "url_path": r.url_path,
        "protocol": r.protocol,
        "status": r.status,
        "bytes_sent": r.bytes_sent,
        "duration_us": r.duration_us,
        "referer": r.referer,
        "user_agent": r.user_agent,
        "user_id": r.user_id,
        "user_tag": row.derived.user_tag.map(|t| hex(&t)),
        "request_id": r.request_id,
        "host": r.host,
        "raw": row.raw_stored.then(|| BASE64.encode(&r.raw)),
        "parse_error": r.parse_error,
    });
    let Value::Object(map) = value else { unreachable!("an object") };
    map
}

/// Asserts that pyarrow's rows equal ours, projected to `columns`, row by
/// row and column by column.
pub(crate) fn assert_same_rows(pyarrow: &[Map<String, Value>], ours: &[StoredRow], columns: &[&str]) {
    assert_eq!(pyarrow.len(), ours.len(), "pyarrow and logseal read different row counts");
    for (i, (theirs, row)) in pyarrow.iter().zip(ours).enumerate() {
        let mut names: Vec<&str> = theirs.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut wanted = columns.to_vec();
        wanted.sort_unstable();
        assert_eq!(names, wanted, "row {i}: pyarrow returned other columns");
        let mine = as_json(row);
        for column in columns {
            assert_eq!(
                theirs[*column], mine[*column],
                "row {i} (seq {}), column {column}: pyarrow and logseal disagree",
                row.record.seq
            );
        }
    }
}

/// Asserts that the stored derived columns of `rows` are what the index
/// key in `keys` derives from their records, and that the rows exercise
/// them (values and nulls of each).
fn assert_derived_columns(keys: &Path, rows: &[StoredRow]) {
    let tagger = IpTagger::new(&LocalKeys::open(keys).index_key().unwrap());
    for row in rows {
        assert_eq!(row.derived, Derived::of(&row.record, &tagger), "seq {}", row.record.seq);
    }
    let some = |f: &dyn Fn(&Derived) -> bool| rows.iter().any(|r| f(&r.derived));
    assert!(some(&|d| d.client_prefix.is_some()) && some(&|d| d.client_prefix.is_none()));
    assert!(some(&|d| d.user_tag.is_some()) && some(&|d| d.user_tag.is_none()));
}

/// A store with 1000 generated lines (2% malformed) in files of 400
/// records, and a data file holding parse errors and stored raw lines.
fn sealed() -> (Env, PathBuf) {
    let env = Env::new();
    let log = env.log_file("access.log", 1000, 7);
    env.import("web", &log, T0);
    let files = env.objects("web", "data");
    assert_eq!(files.len(), 3, "{files:?}");
    let keys = env.data.join("keys");
    let file = files
        .into_iter()
        .find(|f| {
            let rows = logseal_rows(&keys, f);
            rows.iter().any(|r| r.record.parse_error.is_some()) && rows.iter().any(|r| r.raw_stored)
        })
        .expect("a data file with parse errors and raw-stored rows");
    (env, file)
}

pub(crate) fn all_columns() -> Vec<&'static str> {
    COLUMNS.iter().map(|c| c.name).collect()
}

#[test]
fn pyarrow_reads_the_same_rows_as_logseal() {
    let (env, file) = sealed();
    let keys = env.data.join("keys");
    let ours = logseal_rows(&keys, &file);
    assert_eq!(ours.len(), 400);
    let theirs = pyarrow_rows(&env, &keys, &file, &[]);
    assert_same_rows(&theirs, &ours, &all_columns());
    // What both read in the derived columns is what the index key derives.
    assert_derived_columns(&keys, &ours);

    // The columns asked for by name come back too, in any order asked.
    let some = ["raw", "client_ip", "seq", "parse_error"];
    assert_same_rows(&pyarrow_rows(&env, &keys, &file, &some), &ours, &some);
}

#[test]
fn without_the_pii_key_pyarrow_reads_base_columns_only() {
    let (env, file) = sealed();
    let ours = logseal_rows(&env.data.join("keys"), &file);

    let analyst = env.tmp.path().join("analyst-keys");
    std::fs::create_dir(&analyst).unwrap();
    std::fs::copy(env.data.join("keys/base.key"), analyst.join("base.key")).unwrap();

    let theirs = pyarrow_rows(&env, &analyst, &file, &BASE_COLUMNS);
    assert_same_rows(&theirs, &ours, &BASE_COLUMNS);

    let keys = analyst.to_str().unwrap();
    let path = file.to_str().unwrap();
    for pii in ["client_ip", "raw"] {
        let stderr = pyarrow_fails(&["--keys", keys, "--file", path, "--columns", pii]);
        assert!(stderr.contains("pii.key"), "reading {pii} must fail naming the missing key file:\n{stderr}");
    }
    let stderr = pyarrow_fails(&["--keys", keys, "--file", path]);
    assert!(stderr.contains("pii.key"), "reading every column must fail naming the missing key file:\n{stderr}");
}

#[test]
fn pyarrow_cannot_open_a_sealed_file_without_keys() {
    let (_env, file) = sealed();
    let stderr = pyarrow_fails(&["--no-decryption", "--file", file.to_str().unwrap()]);
    assert!(stderr.contains("encrypted"), "{stderr}");

    // Not even the schema: the footer is encrypted.
    let script = "import sys, pyarrow.parquet as pq; pq.read_schema(sys.argv[1])";
    let out = Command::new(python()).args(["-c", script, file.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success(), "pyarrow read the schema of a sealed file without keys");
}
