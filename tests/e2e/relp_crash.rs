//! RELP acknowledgements survive crashes: a RELP client streams messages
//! while the agent is killed with SIGKILL again and again; every message
//! answered `200 OK` is in the store exactly once.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use crate::agent::{Agent, stored_lines, verify_now};

use crate::common::Env;
use crate::stream_abuse::connect;

/// Sends messages over one RELP session until it breaks; returns the
/// lines acknowledged with 200.
fn session(addr: &str, tls_dir: &std::path::Path, next: &mut u64, seconds: f64) -> Vec<String> {
    let tls = connect(tls_dir, addr);
    let mut reader = BufReader::new(tls);
    let offers = "relp_version=0\nrelp_software=test\ncommands=syslog";
    if writeln!(reader.get_mut(), "1 open {} {offers}", offers.len()).and_then(|()| reader.get_mut().flush()).is_err() {
        return Vec::new();
    }
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || !line.contains(" rsp ") {
        return Vec::new();
    }
    // Skip the rest of the open response (its offers span lines).
    while !line.ends_with("commands=syslog\n") {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return Vec::new();
        }
    }
    let mut pending: HashMap<u64, String> = HashMap::new();
    let mut acked = Vec::new();
    let mut txnr = 2u64;
    let started = std::time::Instant::now();
    loop {
        // Up to 100 messages in flight.
        while pending.len() < 100 && started.elapsed().as_secs_f64() < seconds {
            let body = format!(
                "203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] \"GET /relp/{} HTTP/1.1\" 200 1 \"-\" \"t\"",
                *next
            );
            *next += 1;
            let msg = format!("<190>1 2026-11-28T10:00:00Z web nginx - - - {body}");
            if writeln!(reader.get_mut(), "{txnr} syslog {} {msg}", msg.len()).is_err() {
                return acked;
            }
            pending.insert(txnr, body);
            txnr += 1;
        }
        if reader.get_mut().flush().is_err() || pending.is_empty() {
            return acked;
        }
        line.clear();
        match reader.read_line(&mut line) {
            Ok(n) if n > 0 => {
                let mut parts = line.split(' ');
                let (Some(t), Some("rsp")) = (parts.next().and_then(|t| t.parse::<u64>().ok()), parts.next()) else {
                    continue;
                };
                if line.contains("200 OK") {
                    if let Some(body) = pending.remove(&t) {
                        acked.push(body);
                    }
                } else {
                    pending.remove(&t);
                }
            }
            _ => return acked,
        }
    }
}

#[test]
fn relp_acknowledged_messages_survive_sigkill() {
    let env = Env::new();
    let mut agent = Agent::start(&env, "");
    let mut next = 0u64;
    let mut acked = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..10 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let run = 0.3 + (rng % 700) as f64 / 1000.0;
        let client = {
            let (addr, tls) = (agent.relp.clone().unwrap(), agent.tls.clone());
            let mut start = next;
            next += 1_000_000;
            std::thread::spawn(move || session(&addr, &tls, &mut start, 10.0))
        };
        std::thread::sleep(Duration::from_secs_f64(run));
        agent.kill();
        acked.extend(client.join().unwrap());
        agent = Agent::spawn(&env.data, env.data.join("tls"));
    }
    // A last, clean session, then a clean stop.
    acked.extend(session(&agent.relp.clone().unwrap(), &agent.tls, &mut next, 0.5));
    agent.stop();
    assert!(acked.len() > 500, "only {} messages were acknowledged", acked.len());
    verify_now(&env);
    let mut count: HashMap<Vec<u8>, usize> = HashMap::new();
    for (_, raw) in stored_lines(&env).into_values().flatten() {
        *count.entry(raw).or_default() += 1;
    }
    for line in &acked {
        assert_eq!(count.get(line.as_bytes()).copied().unwrap_or(0), 1, "acknowledged exactly once: {line}");
    }
}
