//! `logseal import`: every input line becomes exactly one record with its
//! original bytes, whatever the compression, source or damage.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use logseal_core::render::restore_raw;
use logseal_store::keys::local::LocalKeys;
use logseal_store::keys::pme::PmeKeys;
use logseal_store::sealed::read::{SealedFileReader, StoredRow};

use crate::common::{Env, T0, logseal, ok, run};

/// Every record of `stream`, decrypted, with `raw` restored.
fn records(env: &Env, stream: &str) -> Vec<StoredRow> {
    let pme = PmeKeys::new(Arc::new(LocalKeys::open(env.data.join("keys"))));
    let mut rows = Vec::new();
    for file in env.objects(stream, "data") {
        let mut reader = SealedFileReader::open(&file, pme.decryption().unwrap()).unwrap();
        while let Some(batch) = reader.next_rows() {
            for mut row in batch.unwrap() {
                assert!(restore_raw(&mut row.record, row.raw_stored));
                rows.push(row);
            }
        }
    }
    rows
}

fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    if bytes.ends_with(b"\n") {
        lines.pop();
    }
    lines
}

fn summary(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).expect("summary JSON")
}

fn import_json(env: &Env, stream: &str, path: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["import", "--data-dir", env.dir(), "--stream", stream, "--json"];
    args.extend_from_slice(extra);
    args.push(path.to_str().unwrap());
    summary(&run(&args, T0))
}

#[test]
fn damaged_lines_are_kept_byte_for_byte() {
    let env = Env::new();
    let long_url = format!("/search?q={}", "a".repeat(70_000));
    let mut input = Vec::new();
    input.extend_from_slice(b"192.0.2.1 - - [10/Oct/2025:13:55:36 -0700] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n");
    input
        .extend_from_slice(b"192.0.2.1 - - [10/Oct/2025:13:55:36 -0700] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl/8\"\r\n");
    input.extend_from_slice(b"192.0.2.1 - - [10/Foo/2025:13:55:36 -0700] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n");
    input.extend_from_slice(
        b"192.0.2.1 - - [10/Oct/2025:13:55:36 -0700] \"GET /\xff\xfe HTTP/1.1\" 200 5 \"-\" \"x\"\n",
    );
    input.extend_from_slice(b"192.0.2.1 - - [10/Oct/2025:13:55:36 -0700] \"GET /\x00 HTTP/1.1\" 200 5 \"-\" \"x\"\n");
    input.extend_from_slice(
        b"2001:db8::1 - - [10/Oct/2025:13:55:36 +0530] \"GET /caf\\xC3\\xA9 HTTP/2.0\" 404 0 \"-\" \"x\"\n",
    );
    input.extend_from_slice(
        b"::ffff:192.0.2.9 - - [10/Oct/2025:13:55:36 +0000] \"\\x16\\x03\\x01\" 400 0 \"-\" \"-\"\n",
    );
    input.extend_from_slice(
        format!("192.0.2.1 - - [10/Oct/2025:13:55:36 +0000] \"GET {long_url} HTTP/1.1\" 200 5 \"-\" \"x\"\n")
            .as_bytes(),
    );
    input.extend_from_slice(b"\n");
    input.extend_from_slice(b"192.0.2.1 - - [10/Oct/2025:13:55:36 -0700] \"GET / HT");
    let path = env.tmp.path().join("damaged.log");
    std::fs::write(&path, &input).unwrap();
    let summary = import_json(&env, "web", &path, &[]);
    let lines = lines_of(&input);
    assert_eq!(summary["records"], lines.len(), "{summary:#}");
    let errors = &summary["parse_errors"];
    assert_eq!(
        (errors["bad_time"].as_u64(), errors["invalid_utf8"].as_u64(), errors["truncated"].as_u64()),
        (Some(1), Some(1), Some(2)),
        "{summary:#}"
    );
    let rows = records(&env, "web");
    let raws: Vec<Vec<u8>> = rows.iter().map(|r| r.record.raw.clone()).collect();
    assert_eq!(raws, lines);
    assert!(!rows[0].raw_stored, "a plain nginx line is rendered back, not stored");
    assert!(rows[1].raw_stored && rows[1].record.parse_error.is_none(), "CRLF: parsed, raw kept");
    assert_eq!(rows[5].record.url.as_deref(), Some("/café"), "\\xNN escapes are decoded");
    assert_eq!(rows[5].record.time.unwrap().offset_secs, 19_800);
    assert_eq!(rows[6].record.client_ip.unwrap().to_string(), "::ffff:192.0.2.9");
    assert_eq!(rows[6].record.method, None);
    assert_eq!(rows[7].record.url.as_deref(), Some(long_url.as_str()));
    assert_eq!(rows.iter().map(|r| r.record.seq).collect::<Vec<_>>(), (0..lines.len() as u64).collect::<Vec<_>>());
    assert_eq!(env.verify(&["--deep"], T0 + 5).0, 0);
}

#[test]
fn gzip_zstd_stdin_and_plain_give_the_same_records() {
    let env = Env::new();
    let plain = env.log_file("a.log", 3000, 31);
    let bytes = std::fs::read(&plain).unwrap();
    let gz = env.tmp.path().join("a.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let zst = env.tmp.path().join("a.log.zst");
    std::fs::write(&zst, zstd::encode_all(&bytes[..], 3).unwrap()).unwrap();
    import_json(&env, "plain", &plain, &[]);
    import_json(&env, "gz", &gz, &[]);
    import_json(&env, "zst", &zst, &[]);
    let mut child = logseal()
        .args(["import", "--data-dir", env.dir(), "--stream", "stdin", "--json", "-"])
        .env("LOGSEAL_FAKE_NOW", T0.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(summary(&out)["records"], 3000);
    let raw = |stream| records(&env, stream).into_iter().map(|r| r.record.raw).collect::<Vec<_>>();
    let expected = lines_of(&bytes);
    for stream in ["plain", "gz", "zst", "stdin"] {
        assert_eq!(raw(stream), expected, "stream {stream}");
    }
    let sources: Vec<String> = records(&env, "stdin").iter().map(|r| r.record.source.clone()).collect();
    assert!(sources.iter().all(|s| s == "stdin"));
    assert!(records(&env, "gz")[0].record.source.ends_with("a.log.gz"));
}

#[test]
fn sequence_numbers_continue_across_imports_and_files() {
    let env = Env::new();
    let a = env.log_file("a.log", 1000, 1);
    let b = env.log_file("b.log", 500, 2);
    let first = import_json(&env, "web", &a, &[]);
    assert_eq!(first["seq_range"], serde_json::json!([0, 999]));
    assert_eq!(first["files"], 3, "400 records per file: {first:#}");
    let second = import_json(&env, "web", &b, &[]);
    assert_eq!(second["seq_range"], serde_json::json!([1000, 1499]));
    let rows = records(&env, "web");
    assert_eq!(rows.len(), 1500);
    assert!(rows.iter().enumerate().all(|(i, r)| r.record.seq == i as u64));
    assert_eq!(env.verify(&["--deep"], T0 + 5).0, 0);
}

#[test]
fn json_lines_with_the_default_and_a_custom_mapping() {
    let env = Env::new();
    let nginx = env.tmp.path().join("nginx.json");
    std::fs::write(
        &nginx,
        concat!(
            r#"{"time_iso8601":"2026-01-01T10:00:00+01:00","remote_addr":"2001:db8::7","request":"POST /api?x=1 HTTP/2.0","status":"201","body_bytes_sent":"12","request_time":"0.250","http_referer":"","http_user_agent":"curl/8","remote_user":"alice","request_id":"abc","host":"t1.example"}"#,
            "\n",
            "this is not json\n",
        ),
    )
    .unwrap();
    let summary = import_json(&env, "json", &nginx, &["--format", "json"]);
    assert_eq!(
        (summary["records"].as_u64(), summary["parse_errors"]["bad_json"].as_u64()),
        (Some(2), Some(1)),
        "{summary:#}"
    );
    let rows = records(&env, "json");
    let r = &rows[0].record;
    assert_eq!(
        (
            r.method.as_deref(),
            r.url.as_deref(),
            r.url_path.as_deref(),
            r.status,
            r.duration_us,
            r.user_id.as_deref(),
            r.host.as_deref()
        ),
        (Some("POST"), Some("/api?x=1"), Some("/api"), Some(201), Some(250_000), Some("alice"), Some("t1.example"))
    );
    assert_eq!(r.time.unwrap().offset_secs, 3600);
    assert!(rows.iter().all(|r| r.raw_stored), "JSON lines always keep their raw bytes");

    let custom = env.tmp.path().join("app.json");
    std::fs::write(&custom, "{\"ip\":\"192.0.2.4\",\"path\":\"/x?y\",\"code\":503,\"tenant\":\"acme\"}\n").unwrap();
    let mapping = env.tmp.path().join("mapping.toml");
    std::fs::write(&mapping, "client_ip = [\"ip\"]\nurl = [\"path\"]\nstatus = [\"code\"]\nhost = [\"tenant\"]\n")
        .unwrap();
    import_json(&env, "app", &custom, &["--format", "json", "--json-mapping", mapping.to_str().unwrap()]);
    let r = &records(&env, "app")[0].record;
    assert_eq!(
        (r.client_ip.map(|i| i.to_string()), r.url.as_deref(), r.status, r.host.as_deref()),
        (Some("192.0.2.4".into()), Some("/x?y"), Some(503), Some("acme"))
    );

    std::fs::write(&mapping, "client_addr = [\"ip\"]\n").unwrap();
    let out = run(
        &[
            "import",
            "--data-dir",
            env.dir(),
            "--format",
            "json",
            "--json-mapping",
            mapping.to_str().unwrap(),
            custom.to_str().unwrap(),
        ],
        T0,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("client_addr"), "{out:?}");
}

#[test]
fn a_line_longer_than_16_mib_is_split_not_dropped() {
    let env = Env::new();
    let mut input = vec![b'x'; (16 << 20) + 10];
    input.extend_from_slice(b"\nshort\n");
    let path = env.tmp.path().join("huge.log");
    std::fs::write(&path, &input).unwrap();
    let summary = import_json(&env, "huge", &path, &[]);
    assert_eq!(summary["records"], 3, "{summary:#}");
    assert_eq!(summary["parse_errors"]["too_long"], 2, "{summary:#}");
    let rows = records(&env, "huge");
    let joined: Vec<u8> = [&rows[0].record.raw[..], &rows[1].record.raw[..]].concat();
    assert_eq!(joined.len(), (16 << 20) + 10);
    assert_eq!(rows[2].record.raw, b"short");
}

/// A slow pipe must not look like logging stopped: while waiting for input
/// the import keeps its heartbeat promise (real clock, 1 s heartbeat).
#[test]
fn a_stalled_pipe_keeps_the_heartbeat() {
    let env = Env::new();
    let config = env.data.join("logseal.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace("heartbeat_secs = 60", "heartbeat_secs = 1");
    std::fs::write(&config, text).unwrap();
    let lines = std::fs::read(env.log_file("a.log", 20, 5)).unwrap();
    let (first, second) = lines.split_at(lines.len() / 2);
    let mut child = crate::common::logseal()
        .args(["import", "--data-dir", env.dir(), "--stream", "slow", "-"])
        .env_remove("LOGSEAL_FAKE_NOW")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(first).unwrap();
    stdin.flush().unwrap();
    // Longer than the heartbeat allowance (1 s + 5 s).
    std::thread::sleep(std::time::Duration::from_secs(7));
    stdin.write_all(second).unwrap();
    drop(stdin);
    ok(&child.wait_with_output().unwrap());
    let out = logseal().args(["verify", "--data-dir", env.dir(), "--json"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert!(env.objects("slow", "checkpoints").len() >= 4, "heartbeat checkpoints were written while waiting");
}
