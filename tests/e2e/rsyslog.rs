//! rsyslog — Debian's, run as its own instance with its own config, never
//! the system daemon — forwards an access log to the agent over TLS with
//! octet-counted framing (gtls: TLS 1.2; ossl: TLS 1.3) and over RELP/TLS
//! (omrelp), with client certificates; the records arrive with the right
//! source and content.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::agent::{Agent, stored_lines, verify_now};
use crate::common::Env;

/// An rsyslogd of the test's own, stopped by its PID on drop.
struct Rsyslog(Child);

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rsyslog(dir: &Path, config: &str) -> Rsyslog {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let conf = dir.join("rsyslog.conf");
    std::fs::write(&conf, config.replace("WORKDIR", work.to_str().unwrap())).unwrap();
    let check = Command::new("rsyslogd")
        .args(["-N1", "-f"])
        .arg(&conf)
        .output()
        .expect("rsyslogd is installed (scripts/setup-debian.sh)");
    assert!(check.status.success(), "rsyslog config check: {}", String::from_utf8_lossy(&check.stderr));
    let child = Command::new("rsyslogd")
        .args(["-n", "-f"])
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rsyslogd");
    Rsyslog(child)
}

fn access_log(dir: &Path, n: usize) -> (std::path::PathBuf, BTreeSet<Vec<u8>>) {
    let lines: Vec<String> = (0..n)
        .map(|i| format!("203.0.113.{} - - [28/Nov/2026:10:00:{:02} +0000] \"GET /item/{i}?q=\\x22x\\x22 HTTP/1.1\" 200 {i} \"-\" \"rsyslog-test\"", i % 250, i % 60))
        .collect();
    let path = dir.join("access.log");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    (path, lines.into_iter().map(String::into_bytes).collect())
}

/// The rsyslog action forwarding to the agent.
enum Via {
    Syslog(&'static str),
    Relp,
}

fn forward(via: Via) {
    let env = Env::new();
    let agent = Agent::start(&env, "");
    let dir = env.tmp.path().join("rsyslog");
    std::fs::create_dir_all(&dir).unwrap();
    let (log, expected) = access_log(&dir, 2000);
    let (cert, key) = agent.client();
    let port = |addr: &Option<String>| addr.as_ref().unwrap().rsplit(':').next().unwrap().to_owned();
    let (driver, module, action) = match via {
        Via::Syslog(driver) => (
            driver.to_owned(),
            String::new(),
            format!(
                r#"action(type="omfwd" target="127.0.0.1" port="{}" protocol="tcp"
         StreamDriver="{driver}" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost"
         TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"
         queue.type="LinkedList" queue.size="100000" action.resumeRetryCount="-1" action.resumeInterval="1")"#,
                port(&agent.syslog)
            ),
        ),
        Via::Relp => (
            "relp".to_owned(),
            "module(load=\"omrelp\" tls.tlslib=\"openssl\")".to_owned(),
            format!(
                r#"action(type="omrelp" target="127.0.0.1" port="{}" template="RSYSLOG_SyslogProtocol23Format"
         tls="on" tls.caCert="{ca}" tls.myCert="{cert}" tls.myPrivKey="{key}" tls.authMode="name" tls.permittedPeer=["localhost"]
         windowSize="10000" queue.type="LinkedList" queue.size="100000" action.resumeRetryCount="-1" action.resumeInterval="1")"#,
                port(&agent.relp),
                ca = agent.tls.join("ca.pem").display(),
                cert = cert.display(),
                key = key.display(),
            ),
        ),
    };
    let config = format!(
        r#"global(workDirectory="WORKDIR" maxMessageSize="64k"
       defaultNetstreamDriverCAFile="{ca}" defaultNetstreamDriverCertFile="{cert}" defaultNetstreamDriverKeyFile="{key}")
{module}
module(load="imfile" mode="polling" pollingInterval="1")
input(type="imfile" file="{log}" tag="nginx" facility="local7" severity="info" ruleset="fwd" freshStartTail="off" persistStateInterval="0")
ruleset(name="fwd") {{
  {action}
}}
"#,
        ca = agent.tls.join("ca.pem").display(),
        cert = cert.display(),
        key = key.display(),
        log = log.display(),
    );
    let _rsyslog = rsyslog(&dir, &config);
    // Wait until every line is sealed (files are sealed every 2 s).
    let deadline = Instant::now() + Duration::from_secs(90);
    let got: BTreeSet<Vec<u8>> = loop {
        let stored = stored_lines(&env);
        let lines: BTreeSet<Vec<u8>> = stored.values().flatten().map(|(_, raw)| raw.clone()).collect();
        if lines.len() >= expected.len() || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    drop(_rsyslog);
    agent.stop();
    assert_eq!(got.len(), expected.len(), "{driver}: {} of {} lines arrived", got.len(), expected.len());
    assert_eq!(got, expected, "{driver}: the lines arrive byte for byte");
    let report = verify_now(&env);
    let _ = report;
    // The source is the certificate's identity.
    let records = crate::agent::stored_records(&env);
    assert!(records.iter().all(|r| r.source == "client-1.logseal.local"));
    assert!(records.iter().all(|r| r.parse_error.is_none() && r.status == Some(200)));
}

#[test]
fn rsyslog_gtls_tls12_octet_counted() {
    forward(Via::Syslog("gtls"));
}

#[test]
fn rsyslog_ossl_tls13_octet_counted() {
    forward(Via::Syslog("ossl"));
}

#[test]
fn rsyslog_omrelp_over_tls() {
    forward(Via::Relp);
}
