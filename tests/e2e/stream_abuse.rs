//! Bad input on the stream listeners (syslog over TLS): each case gets a
//! clear log line and closes at most its own connection, nothing is lost
//! or dropped, and the agent keeps serving everyone else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::agent::{Agent, stored_lines, stored_records};
use crate::common::Env;

pub type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A TLS client with the development client certificate.
pub fn connect(tls_dir: &std::path::Path, addr: &str) -> Tls {
    let ca = CertificateDer::pem_file_iter(tls_dir.join("ca.pem")).unwrap().next().unwrap().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(tls_dir.join("client.pem")).unwrap().map(Result::unwrap).collect();
    let key = PrivateKeyDer::from_pem_file(tls_dir.join("client-key.pem")).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap()).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.flush().unwrap();
    tls
}

/// Whether the agent closed the connection (read returns EOF or an error).
fn closed_by_agent(tls: &mut Tls) -> bool {
    let mut buf = [0u8; 16];
    !matches!(tls.read(&mut buf), Ok(n) if n > 0)
}

fn frame(msg: &[u8]) -> Vec<u8> {
    [format!("{} ", msg.len()).as_bytes(), msg].concat()
}

const GOOD: &[u8] = br#"<190>1 2026-11-28T10:00:00Z web nginx - - - 192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /ok HTTP/1.1" 200 1 "-" "t""#;

/// Waits until `n` records are sealed.
fn wait_for(env: &Env, n: usize) -> Vec<logseal_core::Record> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let records = stored_records(env);
        if records.len() >= n || Instant::now() > deadline {
            return records;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn oversized_frames_garbage_and_odd_bytes() {
    let env = Env::new();
    let agent = Agent::start(&env, "");
    let addr = agent.syslog.clone().unwrap();

    // An oversized frame closes that connection only.
    let mut big = connect(&agent.tls, &addr);
    big.write_all(b"200000 <13>1 - - - - - - x").unwrap();
    big.flush().unwrap();
    assert!(closed_by_agent(&mut big), "an oversized frame closes its connection");

    // A plaintext client on the TLS port: the handshake fails.
    let mut plain = TcpStream::connect(&addr).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    plain.write_all(&frame(GOOD)).unwrap();
    let mut buf = [0u8; 64];
    let answer = plain.read(&mut buf).unwrap_or(0);
    assert!(answer == 0 || buf[0] == 0x15, "a plaintext client gets no data, at most a TLS alert");

    // Garbage, invalid UTF-8 and NUL bytes inside frames: kept, with errors.
    let mut odd = connect(&agent.tls, &addr);
    let messages: Vec<Vec<u8>> = vec![
        b"\x00\x01\x02 garbage not syslog".to_vec(),
        [
            &b"<190>1 - web nginx - - - "[..],
            b"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] \"GET /\xff\xfe HTTP/1.1\" 200 1 \"-\" \"t\"",
        ]
        .concat(),
        [
            &b"<190>1 - web nginx - - - "[..],
            b"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] \"GET /a\x00b HTTP/1.1\" 200 1 \"-\" \"t\"",
        ]
        .concat(),
        GOOD.to_vec(),
    ];
    for m in &messages {
        odd.write_all(&frame(m)).unwrap();
    }
    odd.flush().unwrap();
    drop(odd);
    // Broken octet counting (a letter where a length belongs) closes only that connection.
    let mut broken = connect(&agent.tls, &addr);
    broken.write_all(b"12 <13>1 - - -").unwrap();
    broken.write_all(b"X").unwrap();
    broken.flush().unwrap();

    // Everyone else is still served.
    let mut good = connect(&agent.tls, &addr);
    good.write_all(&frame(GOOD)).unwrap();
    good.flush().unwrap();
    drop(good);
    wait_for(&env, 5);
    agent.stop();
    let records = stored_records(&env);
    let raws: Vec<Vec<u8>> = records.iter().map(|r| r.raw.clone()).collect();
    assert!(raws.contains(&messages[0]), "garbage kept whole: {raws:?}");
    let bad_utf8 = records.iter().find(|r| r.raw.windows(2).any(|w| w == b"\xff\xfe")).expect("invalid UTF-8 kept");
    assert!(bad_utf8.parse_error.as_deref().unwrap_or("").to_lowercase().contains("utf-8"), "{bad_utf8:?}");
    assert!(records.iter().any(|r| r.raw.contains(&0)), "NUL bytes kept");
    assert!(records.iter().filter(|r| r.parse_error.is_none() && r.url.as_deref() == Some("/ok")).count() >= 2);
    assert!(records.iter().all(|r| r.source == "client-1.logseal.local"));
}

#[test]
fn silent_and_slow_connections_are_closed_and_others_served() {
    let env = Env::new();
    let agent = Agent::start(&env, "");
    let addr = agent.syslog.clone().unwrap();
    // The test config's idle timeout is 5 s.
    let mut silent = connect(&agent.tls, &addr);
    let started = Instant::now();
    assert!(closed_by_agent(&mut silent));
    assert!(started.elapsed() < Duration::from_secs(15), "closed after the idle timeout");

    // Slowloris: one byte of a frame every 400 ms never completes a frame.
    let mut slow = connect(&agent.tls, &addr);
    let started = Instant::now();
    let mut closed = false;
    for byte in frame(GOOD).iter().cycle().take(40) {
        if slow.write_all(&[*byte]).and_then(|()| slow.flush()).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(400));
        if started.elapsed() > Duration::from_secs(12) {
            break;
        }
    }
    assert!(closed || closed_by_agent(&mut slow), "a slowloris connection is cut");

    let mut good = connect(&agent.tls, &addr);
    good.write_all(&frame(GOOD)).unwrap();
    good.flush().unwrap();
    drop(good);
    assert_eq!(wait_for(&env, 1).len(), 1);
    agent.stop();
}

#[test]
fn ten_thousand_idle_connections_do_not_stop_service() {
    let env = Env::new();
    let agent = Agent::start(&env, "");
    let addr = agent.syslog.clone().unwrap();
    let t = Instant::now();
    let mut idle = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        match TcpStream::connect(&addr) {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connection {} failed: {e}", idle.len()),
        }
    }
    eprintln!("connected 10000 in {:?}", t.elapsed());
    let mut good = connect(&agent.tls, &addr);
    good.write_all(&frame(GOOD)).unwrap();
    good.flush().unwrap();
    drop(good);
    eprintln!("good sent at {:?}", t.elapsed());
    assert_eq!(wait_for(&env, 1).len(), 1, "served while 10,000 connections sit idle");
    eprintln!("sealed at {:?}", t.elapsed());
    drop(idle);
    agent.stop();
    eprintln!("stopped at {:?}", t.elapsed());
}

/// LF framing (detected from a first byte that is not a digit) and RFC
/// 3164 headers, as older senders write them.
#[test]
fn lf_framing_and_rfc3164_headers() {
    let env = Env::new();
    let agent = Agent::start(&env, "");
    let addr = agent.syslog.clone().unwrap();
    let line = r#"192.0.2.44 - - [28/Nov/2026:10:00:00 +0000] "GET /lf HTTP/1.1" 200 7 "-" "old-sender""#;
    let mut tls = connect(&agent.tls, &addr);
    write!(tls, "<190>Nov 28 10:00:00 web1 nginx[42]: {line}\n<190>Nov 28 10:00:01 web1 nginx: {line}\r\n").unwrap();
    tls.flush().unwrap();
    drop(tls);
    let records = wait_for(&env, 2);
    agent.stop();
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r.raw, line.as_bytes());
        assert_eq!(r.url.as_deref(), Some("/lf"));
    }
}

#[test]
fn one_connection_s_batches_are_spread_over_every_stream() {
    let env = Env::new();
    let agent = Agent::start(&env, "");
    let mut sender = connect(&agent.tls, &agent.syslog.clone().unwrap());
    // Pauses make every frame its own batch.
    for _ in 0..12 {
        sender.write_all(&frame(GOOD)).unwrap();
        sender.flush().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(sender);
    wait_for(&env, 12);
    agent.stop();
    let per_stream: Vec<(String, usize)> = stored_lines(&env).into_iter().map(|(s, lines)| (s, lines.len())).collect();
    assert_eq!(per_stream.iter().map(|(_, n)| n).sum::<usize>(), 12, "{per_stream:?}");
    assert_eq!(per_stream.len(), 2, "both streams (shards = 2) got records: {per_stream:?}");
    assert!(per_stream.iter().all(|(_, n)| *n >= 3), "{per_stream:?}");
}
