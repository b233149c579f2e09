//! `logseal serve` with `logseal search`/`stats`/`audit` (the real binary
//! on both sides, client certificates over TLS): the role × action
//! matrix, masking on every path, the access trail (every request, sealed
//! and verified), and results streaming while the scan goes on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

use logseal_ingest::tls::DevPki;
use serde_json::Value;

use crate::common::{Env, json_report, logseal, ok};
use crate::s3::services::Services;

/// Staff of the fixture: (identity, role, grant expiry). `old` holds an
/// expired grant.
const STAFF: [(&str, &str, &str); 4] = [
    ("inv.logseal.test", "investigator", "2100-01-01T00:00:00Z"),
    ("ana.logseal.test", "analyst", "2100-01-01T00:00:00Z"),
    ("aud.logseal.test", "auditor", "2100-01-01T00:00:00Z"),
    ("old.logseal.test", "analyst", "2020-01-01T00:00:00Z"),
];

/// The range every search asks for (the generated lines start 2026-01-01).
const RANGE: [&str; 4] = ["--from", "2025-12-01", "--to", "2027-01-01"];

/// A running `logseal serve`, stopped (by PID) when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    fn spawn(data: &Path) -> Server {
        Server::spawn_with(data, &[])
    }

    /// With `vars` in its environment (the S3 and KMS endpoints).
    fn spawn_with(data: &Path, vars: &[(String, String)]) -> Server {
        let (child, line) = crate::common::spawn_listening(
            logseal()
                .args(["serve", "--data-dir", data.to_str().unwrap()])
                .envs(vars.iter().map(|(k, v)| (k, v)))
                .env("RUST_LOG", "warn"),
            "serve",
        );
        let addr = line.strip_prefix("listening serve=").unwrap_or_else(|| panic!("{line}")).to_owned();
        Server { child, addr }
    }

    /// SIGTERM, and wait: the access trail is sealed before it exits.
    fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "serve exited with {status}");
    }
}

/// A data directory with generated logs imported, a CA, staff
/// certificates and their client configurations, and a running server.
struct Fixture {
    env: Env,
    tls: PathBuf,
    lines: Vec<String>,
    server: Option<Server>,
}

/// The services' AWS variables, for processes that talk to S3 and KMS.
fn aws_vars(services: &Services) -> Vec<(String, String)> {
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KMS"]
        .iter()
        .map(|n| ((*n).to_owned(), services.var(n).to_owned()))
        .collect()
}

impl Fixture {
    fn new(lines: u64) -> Fixture {
        Fixture::build_with(lines, &[], &[])
    }

    /// The data directory's store and keys are those `init` made with
    /// `init_args` (e.g. an S3 store and KMS keys; none: local); `vars` go
    /// to every process that opens them.
    fn build_with(lines: u64, vars: &[(String, String)], init_args: &[&str]) -> Fixture {
        let env = Env::new();
        if !init_args.is_empty() {
            std::fs::remove_dir_all(&env.data).unwrap();
            let mut args = vec!["init", "--data-dir", env.dir(), "--deployment", "logseal.test/e2e"];
            args.extend_from_slice(init_args);
            ok(&logseal().args(&args).envs(vars.iter().map(|(k, v)| (k, v))).output().unwrap());
        }
        let file = env.log_file("web.log", lines, 11);
        // At the real time: the server's access trail is sealed at the
        // real time too, and `verify` checks both against its clock.
        ok(&logseal()
            .args(["import", "--data-dir", env.dir(), "--stream", "web", file.to_str().unwrap()])
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap());
        // Generated logs hold malformed lines too (some not UTF-8).
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        let tls = env.tmp.path().join("tls");
        let pki = DevPki::create(&tls).unwrap();
        let mut entities = Vec::new();
        for role in ["investigator", "analyst", "auditor"] {
            entities.push(serde_json::json!({"uid": {"type": "Role", "id": role}, "attrs": {}, "parents": []}));
        }
        let mut identities: Vec<&str> = STAFF.iter().map(|s| s.0).collect();
        identities.push("mallory.logseal.test"); // a valid certificate nobody granted anything
        for (identity, role, expires) in STAFF {
            let grant = format!("g-{identity}");
            entities.push(serde_json::json!({
                "uid": {"type": "Grant", "id": grant},
                "attrs": {"expires": {"__extn": {"fn": "datetime", "arg": expires}}, "ticket": "T-1"},
                "parents": [{"type": "Role", "id": role}],
            }));
            entities.push(serde_json::json!({"uid": {"type": "Staff", "id": identity}, "attrs": {}, "parents": [{"type": "Grant", "id": grant}]}));
        }
        for identity in identities {
            let (cert, key) = pki.issue_client(identity).unwrap();
            std::fs::write(tls.join(format!("{identity}.pem")), cert).unwrap();
            std::fs::write(tls.join(format!("{identity}-key.pem")), key).unwrap();
        }
        // A certificate from another CA.
        let foreign = DevPki::create(&env.tmp.path().join("foreign")).unwrap();
        std::fs::copy(&foreign.client_cert, tls.join("foreign.pem")).unwrap();
        std::fs::copy(&foreign.client_key, tls.join("foreign-key.pem")).unwrap();
        let entities_path = env.tmp.path().join("entities.json");
        std::fs::write(&entities_path, serde_json::to_string_pretty(&entities).unwrap()).unwrap();
        let config = env.data.join("logseal.toml");
        let mut text_config = std::fs::read_to_string(&config).unwrap();
        text_config.push_str(&format!(
            "\n[serve]\nlisten = \"127.0.0.1:0\"\nentities = \"{}\"\naccess_seal_secs = 1\n[serve.tls]\ncert = \"{}\"\nkey = \"{}\"\nclient_ca = \"{}\"\n",
            entities_path.display(),
            pki.server_cert.display(),
            pki.server_key.display(),
            pki.ca.display()
        ));
        std::fs::write(&config, text_config).unwrap();
        let server = Server::spawn_with(&env.data, vars);
        let fixture = Fixture { env, tls, lines: text.lines().map(str::to_owned).collect(), server: Some(server) };
        for name in ["inv", "ana", "aud", "old", "mallory", "foreign"] {
            fixture.write_client_config(name);
        }
        fixture
    }

    fn addr(&self) -> &str {
        &self.server.as_ref().unwrap().addr
    }

    fn write_client_config(&self, name: &str) {
        let file = if name == "foreign" { "foreign".to_owned() } else { format!("{name}.logseal.test") };
        let text = format!(
            "server = \"{}\"\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            self.addr(),
            self.tls.join("ca.pem").display(),
            self.tls.join(format!("{file}.pem")).display(),
            self.tls.join(format!("{file}-key.pem")).display()
        );
        std::fs::write(self.client_config(name), text).unwrap();
    }

    fn client_config(&self, name: &str) -> PathBuf {
        self.env.tmp.path().join(format!("client-{name}.toml"))
    }

    /// Runs `logseal <command> --client-config <who's> <args>` (with --timing).
    fn as_staff(&self, who: &str, command: &str, args: &[&str]) -> Answer {
        let config = self.client_config(who);
        let out = logseal()
            .arg(command)
            .args(["--client-config", config.to_str().unwrap(), "--timing"])
            .args(args)
            .output()
            .unwrap();
        Answer::of(out)
    }

    /// Stops the server (sealing the trail) and returns the trail's records.
    fn stop(&mut self) {
        self.server.take().unwrap().stop();
    }
}

/// What a client command printed.
#[derive(Debug)]
struct Answer {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Answer {
    fn of(out: Output) -> Answer {
        Answer {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn rows(&self) -> Vec<Value> {
        self.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
    }

    /// The request id the client printed (timing line or denial).
    fn request_id(&self) -> Option<String> {
        let text = &self.stderr;
        if let Some(at) = text.find("request_id=") {
            return Some(text[at + 11..].split_whitespace().next().unwrap().to_owned());
        }
        let at = text.find("(request ")?;
        Some(text[at + 9..].split([',', ')']).next().unwrap().to_owned())
    }

    /// A `timing:` field.
    fn timing(&self, name: &str) -> Option<f64> {
        let prefix = format!("{name}=");
        self.stderr.split_whitespace().find_map(|w| w.strip_prefix(prefix.as_str())).and_then(|v| v.parse().ok())
    }

    fn allowed(&self) -> bool {
        self.code == 0
    }
}

/// The values of a generated combined-format line: (client IP, user id, query string).
fn personal_values(line: &str) -> (String, Option<String>, Option<String>) {
    let mut parts = line.split(' ');
    let ip = parts.next().unwrap().to_owned();
    parts.next();
    let user = parts.next().filter(|u| *u != "-").map(str::to_owned);
    let query = line
        .split('"')
        .nth(1)
        .and_then(|r| r.split(' ').nth(1))
        .and_then(|u| u.split_once('?'))
        .map(|(_, q)| q.to_owned());
    (ip, user, query)
}

/// Whether a generated line is a well-formed combined-format line (the
/// generator also writes malformed ones).
fn well_formed(line: &str) -> bool {
    line.split(' ').next().is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_ok()) && line.matches('"').count() == 6
}

/// Every string value of a JSON document, at any depth.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        Value::Object(o) => o.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// The IP that occurs most often in the generated lines.
fn frequent_ip(lines: &[String]) -> (String, usize) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for line in lines.iter().filter(|l| well_formed(l)) {
        *counts.entry(personal_values(line).0).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(ip, n)| (*n, ip.clone())).unwrap()
}

#[test]
fn roles_by_actions_are_decided_by_the_policy_and_every_request_is_in_the_verified_trail() {
    let mut f = Fixture::new(3000);
    let (ip, ip_rows) = frequent_ip(&f.lines);
    let purpose = ["--reason", "incident 7", "--ticket", "SEC-7"];
    let search = |who: &str, extra: &[&str]| {
        let mut args: Vec<&str> = RANGE.to_vec();
        args.extend_from_slice(&purpose);
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-o", "ndjson"]);
        f.as_staff(who, "search", &args)
    };
    let stats = |who: &str| {
        let mut args: Vec<&str> = RANGE.to_vec();
        args.extend_from_slice(&purpose);
        args.extend_from_slice(&["--count", "--json"]);
        f.as_staff(who, "stats", &args)
    };
    let audit = |who: &str| f.as_staff(who, "audit", &["--since", "1h", "-o", "ndjson"]);

    // Expected: (search, stats, filter on IP, sees raw IPs, audit trail).
    let matrix: [(&str, [bool; 5]); 6] = [
        ("inv", [true, true, true, true, false]),
        ("ana", [true, true, false, false, false]),
        ("aud", [false, false, false, false, true]),
        ("old", [false, false, false, false, false]),
        ("mallory", [false, false, false, false, false]),
        ("foreign", [false, false, false, false, false]),
    ];
    let mut requests: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for (who, expected) in matrix {
        let answers =
            [search(who, &[]), stats(who), search(who, &["--ip", &ip]), search(who, &["--limit", "50"]), audit(who)];
        for (i, (answer, allowed)) in answers.iter().zip(expected).enumerate() {
            let label = ["search", "stats", "filter on IP", "view IP", "read audit"][i];
            if i == 3 {
                // "view IP": rows come back to whoever may search; only
                // the full view carries client_ip.
                let sees_ip = answer.allowed() && answer.rows().iter().any(|r| r.get("client_ip").is_some());
                assert_eq!(sees_ip, allowed, "{who} {label}: {answer:?}");
            } else {
                assert_eq!(answer.allowed(), allowed, "{who} {label}: {answer:?}");
            }
            if !answer.allowed() {
                assert!(answer.stdout.is_empty(), "{who} {label}: a refused request printed rows: {answer:?}");
            }
            if who == "foreign" {
                // Refused in the TLS handshake: no HTTP request, nothing to record.
                assert_eq!(answer.code, 2, "{answer:?}");
                assert!(answer.stderr.contains("TLS") || answer.stderr.contains("closed"), "{answer:?}");
                continue;
            }
            let id = answer.request_id().unwrap_or_else(|| panic!("{who} {label}: no request id: {answer:?}"));
            requests.insert(id, (format!("{who} {label}"), answer.allowed()));
        }
    }
    // What the denials say.
    let denied = search("old", &[]);
    assert!(denied.stderr.contains("expired at 2020-01-01"), "{denied:?}");
    requests.insert(denied.request_id().unwrap(), ("old search".into(), false));
    let denied = search("mallory", &[]);
    assert!(denied.stderr.contains("holds no grant"), "{denied:?}");
    requests.insert(denied.request_id().unwrap(), ("mallory search".into(), false));
    let denied = search("ana", &["--ip", &ip]);
    assert!(denied.stderr.contains("role analyst may not filter on client_ip"), "{denied:?}");
    requests.insert(denied.request_id().unwrap(), ("ana filter".into(), false));
    let no_reason = f.as_staff("inv", "search", &["--since", "1h", "-o", "ndjson"]);
    assert_eq!(no_reason.code, 3);
    assert!(
        no_reason.stderr.contains("reason required") && no_reason.stderr.contains("ticket required"),
        "{no_reason:?}"
    );
    requests.insert(no_reason.request_id().unwrap(), ("inv without reason".into(), false));
    // The investigator's IP look-up finds every line with that IP.
    let found = search("inv", &["--ip", &ip]);
    assert_eq!(found.rows().len(), ip_rows, "{found:?}");
    requests.insert(found.request_id().unwrap(), ("inv ip".into(), true));
    // No certificate at all: 401, recorded.
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--cacert"])
        .arg(f.tls.join("ca.pem"))
        .args(["-H", "Content-Type: application/json", "--data-binary"])
        .arg(r#"{"from":"2026-01-01T00:00:00Z","to":"2026-02-01T00:00:00Z","reason":"x"}"#)
        .arg(format!("https://localhost:{}/v1/search", f.addr().rsplit(':').next().unwrap()))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n401") && text.contains("client certificate is required"), "{text}");
    let body: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    requests.insert(body["request_id"].as_str().unwrap().to_owned(), ("no certificate".into(), false));

    // Every request is in the trail, with its decision; once sealed (1 s).
    std::thread::sleep(Duration::from_millis(2500));
    let trail = audit("aud");
    assert!(trail.allowed(), "{trail:?}");
    let records = trail.rows();
    let mut seen: BTreeMap<String, &Value> = BTreeMap::new();
    for r in records.iter().filter(|r| r["type"] == "request") {
        seen.insert(r["request_id"].as_str().unwrap().to_owned(), r);
    }
    for (id, (what, allowed)) in &requests {
        let record = seen.get(id).unwrap_or_else(|| panic!("{what} (request {id}) is not in the access trail"));
        let decision = record["decision"].as_str().unwrap_or("");
        assert_eq!(decision == "allow", *allowed, "{what}: {record}");
        if !allowed {
            assert_ne!(record["status"], 200, "{what}: {record}");
        }
    }
    // Allowed requests have a result record with the rows sent.
    let results: BTreeSet<&str> =
        records.iter().filter(|r| r["type"] == "result").map(|r| r["request_id"].as_str().unwrap()).collect();
    for (id, (what, allowed)) in &requests {
        assert_eq!(results.contains(id.as_str()), *allowed, "{what}: result record");
    }
    // The result record holds the digest of exactly the rows the client got.
    let found_id = found.request_id().unwrap();
    let result = records.iter().find(|r| r["type"] == "result" && r["request_id"] == found_id.as_str()).unwrap();
    let digest = format!("sha256:{}", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(found.stdout.as_bytes())));
    assert_eq!(result["digest"], digest.as_str(), "{result}");
    assert_eq!(result["rows"], ip_rows, "{result}");
    assert_eq!(result["principal"], "inv.logseal.test", "{result}");
    // --principal narrows the trail to one staff member.
    let analyst_only =
        f.as_staff("aud", "audit", &["--since", "1h", "--principal", "ana.logseal.test", "-o", "ndjson"]);
    let rows = analyst_only.rows();
    assert!(!rows.is_empty() && rows.iter().all(|r| r["principal"] == "ana.logseal.test"), "{analyst_only:?}");
    let unknown: Vec<&String> = seen.keys().filter(|id| !requests.contains_key(*id)).collect();
    // Only the auditor's own reads may be unknown to this list (their ids
    // were collected too, except the last one, still in the WAL).
    assert!(unknown.is_empty(), "requests the test did not make: {unknown:?}");

    // The trail verifies like any stream, deep too.
    f.stop();
    let (code, report) =
        json_report(&logseal().args(["verify", "--deep", "--json", "--data-dir", f.env.dir()]).output().unwrap());
    assert_eq!(code, 0, "{report:#}");
    let streams = report["streams"].as_array().unwrap();
    assert!(streams.iter().any(|s| s["stream"] == "_access"), "{report:#}");
}

#[test]
fn an_analyst_never_sees_a_raw_ip_user_id_or_query_string_and_may_look_up_by_ip_tag() {
    let f = Fixture::new(2000);
    let mut ips = BTreeSet::new();
    let mut users = BTreeSet::new();
    let mut queries = BTreeSet::new();
    for line in f.lines.iter().filter(|l| well_formed(l)) {
        let (ip, user, query) = personal_values(line);
        ips.insert(ip);
        users.extend(user);
        queries.extend(query);
    }
    assert!(!users.is_empty() && !queries.is_empty(), "the generated data has user ids and query strings");
    let purpose = ["--reason", "capacity planning"];
    let run = |command: &str, extra: &[&str]| {
        let mut args: Vec<&str> = RANGE.to_vec();
        args.extend_from_slice(&purpose);
        args.extend_from_slice(extra);
        let answer = f.as_staff("ana", command, &args);
        assert!(answer.allowed(), "{command} {extra:?}: {answer:?}");
        answer
    };
    let outputs = [
        run("search", &["-o", "ndjson"]),
        run("search", &["-o", "csv"]),
        run("search", &["-o", "json"]),
        run("search", &["-o", "table"]),
        run("search", &["--url-contains", "/", "-o", "ndjson"]),
        run("search", &["--url-regex", "=", "-o", "ndjson"]),
        run("stats", &["--top", "client_ip", "100000", "--json"]),
        run("stats", &["--top", "user_id", "100000", "--json"]),
        run("stats", &["--top", "url", "100000", "--json"]),
        run("stats", &["--top", "url_query", "100000", "--json"]),
        run("stats", &["--by", "hour", "--json"]),
    ];
    for answer in &outputs {
        assert!(!answer.stdout.is_empty(), "{answer:?}");
        // Every token of the output, however it is formatted.
        let tokens: Vec<&str> =
            answer.stdout.split(|c: char| c == '"' || c == ',' || c == '\n' || c.is_whitespace()).collect();
        for token in tokens {
            assert!(!ips.contains(token), "raw IP {token} in {answer:?}");
            assert!(!users.contains(token), "raw user id {token} in {answer:?}");
        }
        for query in &queries {
            assert!(!answer.stdout.contains(&format!("?{query}")), "query string {query} in {answer:?}");
        }
    }
    // Pseudonyms are there instead: a tag, a prefix, a user tag.
    let rows = outputs[0].rows();
    assert_eq!(rows.len(), f.lines.len());
    // (A line that did not parse has no time, address or user: no pseudonym.)
    let parsed: Vec<&Value> = rows.iter().filter(|r| r.get("time").is_some()).collect();
    assert!(parsed.len() > rows.len() * 9 / 10, "{} of {} rows parsed", parsed.len(), rows.len());
    assert!(parsed.iter().all(|r| r["ip_tag"].as_str().is_some_and(|t| t.len() == 16)), "{:?}", rows[0]);
    assert!(
        parsed.iter().all(|r| r["client_prefix"].as_str().is_some_and(|p| p.ends_with("/24") || p.ends_with("/48")))
    );
    assert!(rows.iter().any(|r| r["user_tag"].as_str().is_some()));
    let mut strings_seen = Vec::new();
    for row in &rows {
        strings(row, &mut strings_seen);
    }
    assert!(strings_seen.iter().all(|s| !ips.contains(s) && !users.contains(s)));

    // --ip is refused, --ip-tag finds the same rows the investigator's --ip does.
    let (ip, n) = frequent_ip(&f.lines);
    let mut args: Vec<&str> = RANGE.to_vec();
    args.extend_from_slice(&["--reason", "r", "--ip", &ip, "-o", "ndjson"]);
    let refused = f.as_staff("ana", "search", &args);
    assert_eq!(refused.code, 3, "{refused:?}");
    assert!(refused.stdout.is_empty() && refused.stderr.contains("--ip-tag"), "{refused:?}");
    let mut args: Vec<&str> = RANGE.to_vec();
    args.extend_from_slice(&["--reason", "r", "--ticket", "T", "--ip", &ip, "-o", "ndjson"]);
    let full = f.as_staff("inv", "search", &args);
    let full_rows = full.rows();
    assert_eq!(full_rows.len(), n);
    let tag = full_rows[0]["ip_tag"].as_str().unwrap().to_owned();
    let mut args: Vec<&str> = RANGE.to_vec();
    args.extend_from_slice(&["--reason", "r", "--ip-tag", &tag, "-o", "ndjson"]);
    let by_tag = f.as_staff("ana", "search", &args);
    let seqs = |rows: Vec<Value>| rows.iter().map(|r| r["seq"].as_u64().unwrap()).collect::<BTreeSet<_>>();
    assert_eq!(seqs(by_tag.rows()), seqs(full_rows), "{by_tag:?}");
    // A user pseudonym works as a filter too.
    let user_tag = rows.iter().find_map(|r| r["user_tag"].as_str()).unwrap().to_owned();
    let mut args: Vec<&str> = RANGE.to_vec();
    args.extend_from_slice(&["--reason", "r", "--user-tag", &user_tag, "-o", "ndjson"]);
    let by_user = f.as_staff("ana", "search", &args);
    assert!(by_user.allowed() && !by_user.rows().is_empty(), "{by_user:?}");
    assert!(by_user.rows().iter().all(|r| r["user_tag"] == user_tag.as_str()));
}

#[test]
fn results_stream_while_the_scan_goes_on_and_a_server_without_the_pii_key_serves_masked_views_only() {
    let mut f = Fixture::new(12_000); // 30 files of 400 records
    let mut args: Vec<&str> = RANGE.to_vec();
    args.extend_from_slice(&["--reason", "r", "--ticket", "T", "-o", "ndjson"]);
    let answer = f.as_staff("inv", "search", &args);
    assert!(answer.allowed(), "{answer:?}");
    assert_eq!(answer.rows().len(), 12_000);
    let files = answer.timing("files_read").unwrap();
    let done_at_first = answer.timing("files_done_at_first_row").unwrap();
    assert!(files >= 30.0, "{answer:?}");
    // Structural, not a timing threshold: the first row left the server
    // when most files were still to be scanned.
    assert!(done_at_first < files / 2.0, "first row after {done_at_first} of {files} files: {answer:?}");
    eprintln!(
        "streaming: first row after {done_at_first} of {files} files, {} ms (server) of {} ms",
        answer.timing("first_row_ms").unwrap(),
        answer.timing("server_ms").unwrap()
    );

    // The same data directory served without the pii key.
    f.stop();
    let config = f.env.data.join("logseal.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace("[serve]\n", "[serve]\npii = false\n");
    std::fs::write(&config, text).unwrap();
    // Neither the pii key nor the blind-index key (an analysts' server
    // must not hold it: it would reverse IPv4 pseudonyms).
    std::fs::remove_file(f.env.data.join("keys/pii.key")).unwrap();
    std::fs::remove_file(f.env.data.join("keys/index.key")).unwrap();
    f.server = Some(Server::spawn(&f.env.data));
    for name in ["inv", "ana", "aud"] {
        f.write_client_config(name);
    }
    let refused = f.as_staff("inv", "search", &args);
    assert_eq!(refused.code, 3, "{refused:?}");
    assert!(refused.stderr.contains("without the pii key"), "{refused:?}");
    let mut args: Vec<&str> = RANGE.to_vec();
    args.extend_from_slice(&["--reason", "r", "-o", "ndjson", "--limit", "100"]);
    let masked = f.as_staff("ana", "search", &args);
    assert!(masked.allowed(), "{masked:?}");
    let rows = masked.rows();
    assert_eq!(rows.len(), 100);
    let parsed: Vec<&Value> = rows.iter().filter(|r| r.get("time").is_some()).collect();
    assert!(!parsed.is_empty() && parsed.iter().all(|r| r["client_prefix"].is_string() && r["ip_tag"].is_string()));
    assert!(rows.iter().all(|r| r.get("client_ip").is_none() && r.get("user_id").is_none()), "{:?}", rows[0]);
    // Pseudonym look-ups work from the stored columns alone.
    let tag = parsed[0]["ip_tag"].as_str().unwrap().to_owned();
    let mut args: Vec<&str> = RANGE.to_vec();
    args.extend_from_slice(&["--reason", "r", "-o", "ndjson", "--ip-tag", &tag]);
    let by_tag = f.as_staff("ana", "search", &args);
    assert!(by_tag.allowed() && by_tag.rows().iter().all(|r| r["ip_tag"] == tag.as_str()), "{by_tag:?}");
    assert!(!by_tag.rows().is_empty());
    std::thread::sleep(Duration::from_millis(1500));
    let trail = f.as_staff("aud", "audit", &["--since", "1h", "-o", "ndjson"]);
    assert!(trail.allowed() && trail.rows().iter().any(|r| r["principal"] == "inv.logseal.test"), "{trail:?}");
    ok(&logseal().args(["verify", "--data-dir", f.env.dir()]).output().unwrap());
}

/// The access record of a request is durable before its first row leaves:
/// the server killed (SIGKILL) while rows stream still has the request in
/// its trail after a restart (replayed from the write-ahead log), with no
/// result record.
#[test]
fn a_request_whose_server_dies_mid_stream_is_still_in_the_trail() {
    // ~20 MB of results: far more than the pipe and socket buffers hold, so
    // the server is still sending (the client is not reading) when killed.
    let mut f = Fixture::new(40_000);
    let config = f.client_config("inv");
    let mut args: Vec<String> = RANGE.iter().map(|s| (*s).to_owned()).collect();
    args.extend(["--reason", "killed mid-stream", "--ticket", "T-9", "-o", "ndjson"].map(str::to_owned));
    let mut client = logseal()
        .arg("search")
        .args(["--client-config", config.to_str().unwrap()])
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut rows = std::io::BufRead::lines(std::io::BufReader::new(client.stdout.take().unwrap()));
    let first = rows.next().expect("a first row").unwrap();
    assert!(first.starts_with("{\"seq\""), "{first}");
    let mut server = f.server.take().unwrap();
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(rows);
    let out = client.wait_with_output().unwrap();
    assert!(!out.status.success(), "the client must not report a complete result");
    // Restarted on the same data directory: the trail's WAL is replayed.
    f.server = Some(Server::spawn(&f.env.data));
    for name in ["inv", "ana", "aud"] {
        f.write_client_config(name);
    }
    std::thread::sleep(Duration::from_millis(2500));
    let trail = f.as_staff("aud", "audit", &["--since", "1h", "-o", "ndjson"]);
    assert!(trail.allowed(), "{trail:?}");
    let records = trail.rows();
    let request = records
        .iter()
        .find(|r| r["type"] == "request" && r["reason"] == "killed mid-stream")
        .unwrap_or_else(|| panic!("the killed request is not in the trail: {records:#?}"));
    assert_eq!(request["decision"], "allow", "{request}");
    let id = request["request_id"].as_str().unwrap();
    assert!(
        !records.iter().any(|r| r["type"] == "result" && r["request_id"] == id),
        "a result was recorded for a request that never finished"
    );
    f.stop();
    let (code, report) =
        json_report(&logseal().args(["verify", "--deep", "--json", "--data-dir", f.env.dir()]).output().unwrap());
    assert_eq!(code, 0, "{report:#}");
}

/// The query server on S3 (SeaweedFS) with KMS keys (moto): keys and the
/// store are opened off the async runtime (the AWS clients block on their
/// own), an IP look-up finds every row through ranged reads, the trail is
/// sealed into S3 under the base KMS key and verifies deeply.
#[test]
fn the_query_server_works_on_s3_with_kms_keys() {
    let services = Services::get();
    let vars = aws_vars(&services);
    let store = format!("{}/e2e-serve-{:016x}", services.var("LOGSEAL_STORE"), rand::random::<u64>());
    let init = [
        "--store",
        &store,
        "--kms-base-key",
        services.var("LOGSEAL_KMS_BASE_KEY"),
        "--kms-pii-key",
        services.var("LOGSEAL_KMS_PII_KEY"),
    ];
    let mut f = Fixture::build_with(2000, &vars, &init);
    let config = std::fs::read_to_string(f.env.data.join("logseal.toml")).unwrap();
    assert!(config.contains("aws-kms") && config.contains("s3://"), "{config}");
    let (ip, n) = frequent_ip(&f.lines);
    let mut args: Vec<&str> = RANGE.to_vec();
    args.extend_from_slice(&["--reason", "r", "--ticket", "T", "--ip", &ip, "-o", "ndjson"]);
    let found = f.as_staff("inv", "search", &args);
    assert!(found.allowed(), "{found:?}");
    assert_eq!(found.rows().len(), n, "{found:?}");
    assert!(found.rows().iter().all(|r| r["client_ip"] == ip.as_str()));
    let mut args: Vec<&str> = RANGE.to_vec();
    args.extend_from_slice(&["--reason", "r", "--top", "client_ip", "3", "--json"]);
    let top = f.as_staff("ana", "stats", &args);
    assert!(top.allowed() && !top.stdout.contains(&ip), "{top:?}");
    std::thread::sleep(Duration::from_millis(2500));
    let trail = f.as_staff("aud", "audit", &["--since", "1h", "-o", "ndjson"]);
    assert!(trail.allowed() && trail.rows().iter().any(|r| r["principal"] == "inv.logseal.test"), "{trail:?}");
    f.stop();
    let (code, report) = json_report(
        &logseal()
            .args(["verify", "--deep", "--json", "--data-dir", f.env.dir()])
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{report:#}");
    assert!(report["streams"].as_array().unwrap().iter().any(|s| s["stream"] == "_access"), "{report:#}");
}
