//! RELP over TLS (rsyslog's reliable event logging protocol, `omrelp`):
//! every `syslog` command is answered `rsp 200` only once its record is
//! durable — the one way a syslog client gets an end-to-end
//! acknowledgement.
//!
//! Frames are `TXNR SP COMMAND SP DATALEN [SP DATA] LF`. A connection is
//! served in rounds: the commands already received are read, their
//! records made durable together (one WAL group commit), then every
//! response is written in command order. A broken frame closes the
//! connection, as the protocol asks; the client resends what was not
//! acknowledged.

use std::net::SocketAddr;
use std::sync::Arc;

use logseal_core::Record;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::agent::{AgentContext, Stopping};
use crate::syslog::StreamListener;
use crate::syslog_msg;

/// One RELP frame.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    /// Transaction number.
    pub txnr: u64,
    /// The command (`open`, `syslog`, `close`, …).
    pub command: String,
    /// Its data.
    pub data: Vec<u8>,
}

async fn read_number<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    what: &str,
    max_digits: usize,
) -> Result<Option<u64>, String> {
    let mut value: u64 = 0;
    let mut digits = 0;
    loop {
        let mut byte = [0u8; 1];
        let n = reader.read(&mut byte).await.map_err(|e| format!("read failed: {e}"))?;
        if n == 0 {
            return if digits == 0 { Ok(None) } else { Err(format!("the stream ended inside the {what}")) };
        }
        match byte[0] {
            b' ' if digits > 0 => return Ok(Some(value)),
            b'\n' if digits == 0 && what == "transaction number" => {} // stray newline between frames
            d @ b'0'..=b'9' if digits < max_digits => {
                value = value * 10 + u64::from(d - b'0');
                digits += 1;
            }
            other => return Err(format!("RELP framing broken: byte 0x{other:02x} in the {what}")),
        }
    }
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut BufReader<R>, max: usize) -> Result<Option<Frame>, String> {
    let Some(txnr) = read_number(reader, "transaction number", 9).await? else { return Ok(None) };
    let mut command = Vec::new();
    reader.read_until(b' ', &mut command).await.map_err(|e| format!("read failed: {e}"))?;
    if command.pop() != Some(b' ')
        || command.is_empty()
        || command.len() > 32
        || !command.iter().all(u8::is_ascii_alphabetic)
    {
        return Err("RELP framing broken: bad command".into());
    }
    // DATALEN is followed by SP DATA LF, or directly by LF when it is 0.
    let mut len: usize = 0;
    let mut digits = 0;
    let terminator = loop {
        let mut byte = [0u8; 1];
        if reader.read(&mut byte).await.map_err(|e| format!("read failed: {e}"))? == 0 {
            return Err("the stream ended inside a frame header".into());
        }
        match byte[0] {
            d @ b'0'..=b'9' if digits < 9 => {
                len = len * 10 + usize::from(d - b'0');
                digits += 1;
            }
            b @ (b' ' | b'\n') if digits > 0 => break b,
            other => return Err(format!("RELP framing broken: byte 0x{other:02x} in the data length")),
        }
    };
    if len > max {
        return Err(format!("frame of {len} bytes is over the {max}-byte limit"));
    }
    let mut data = vec![0u8; len];
    if terminator == b' ' {
        reader.read_exact(&mut data).await.map_err(|e| format!("the stream ended inside a frame: {e}"))?;
        let mut trailer = [0u8; 1];
        reader.read_exact(&mut trailer).await.map_err(|e| format!("the stream ended before a frame's trailer: {e}"))?;
        if trailer[0] != b'\n' {
            return Err("RELP framing broken: no LF after the data".into());
        }
    } else if len != 0 {
        return Err("RELP framing broken: data length without data".into());
    }
    Ok(Some(Frame { txnr, command: String::from_utf8(command).unwrap_or_default(), data }))
}

fn response(txnr: u64, data: &[u8]) -> Vec<u8> {
    let mut out = format!("{txnr} rsp {}", data.len()).into_bytes();
    if !data.is_empty() {
        out.push(b' ');
        out.extend_from_slice(data);
    }
    out.push(b'\n');
    out
}

/// The answer to `open`: the client's protocol version and the commands
/// both sides speak.
fn open_response(offers: &[u8]) -> Vec<u8> {
    let mut version = "0".to_owned();
    let mut syslog = false;
    for line in offers.split(|b| *b == b'\n') {
        let line = String::from_utf8_lossy(line);
        if let Some(v) = line.strip_prefix("relp_version=") {
            version = v.trim().to_owned();
        }
        if let Some(c) = line.strip_prefix("commands=") {
            syslog = c.split(',').any(|c| c.trim() == "syslog");
        }
    }
    let mut text = format!(
        "200 OK\nrelp_version={version}\nrelp_software=logseal,{},https://logseal.invalid",
        env!("CARGO_PKG_VERSION")
    );
    if syslog {
        text.push_str("\ncommands=syslog");
    }
    text.into_bytes()
}

enum Pending {
    /// Answer this as it is.
    Now(Vec<u8>),
    /// A `syslog` command: answered once the round's records are durable.
    Syslog(u64),
    /// `close`: answer, then end the connection.
    Close(u64),
}

/// One RELP connection.
pub async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: SocketAddr,
    identity: String,
    listener: Arc<StreamListener>,
    ctx: Arc<AgentContext>,
    mut stopping: Stopping,
) {
    if !listener.allow.is_empty() && !listener.allow.contains(&identity) {
        tracing::info!(%peer, %identity, "RELP: identity not allowed on this listener; connection closed");
        return;
    }
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::with_capacity(256 << 10, read);
    let mut opened = false;
    loop {
        while !ctx.accepting() && !ctx.stopping() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // One round: everything already received (at least one frame).
        let mut round: Vec<Pending> = Vec::new();
        let mut records: Vec<Record> = Vec::new();
        let mut ended = false;
        loop {
            let frame = tokio::select! {
                f = tokio::time::timeout(listener.idle_timeout, read_frame(&mut reader, listener.max_frame_bytes)) => f,
                () = stopping.wait(), if round.is_empty() => {
                    let _ = write.write_all(b"0 serverclose 0\n").await;
                    let _ = write.flush().await;
                    return;
                }
            };
            let frame = match frame {
                Ok(Ok(Some(f))) => f,
                Ok(Ok(None)) => {
                    ended = true;
                    break;
                }
                Ok(Err(why)) => {
                    tracing::warn!(%peer, %identity, %why, "RELP: connection closed");
                    ended = true;
                    break;
                }
                Err(_) => {
                    tracing::info!(%peer, %identity, "RELP: idle for too long; connection closed");
                    ended = true;
                    break;
                }
            };
            match frame.command.as_str() {
                "open" => {
                    opened = true;
                    round.push(Pending::Now(response(frame.txnr, &open_response(&frame.data))));
                }
                "syslog" if opened => {
                    let received_at = (ctx.clock)();
                    // rsyslog's templates end messages with a LF.
                    let message = frame.data.strip_suffix(b"\n").unwrap_or(&frame.data);
                    let record = match syslog_msg::body(message) {
                        Ok(body) => {
                            crate::lines::record(body, listener.format, &ctx.json_mapping, &identity, received_at)
                        }
                        Err(why) => Record::from_parse(
                            0,
                            received_at,
                            &identity,
                            listener.format,
                            message.to_vec(),
                            Err(format!("not a syslog message ({why})")),
                        ),
                    };
                    records.push(record);
                    round.push(Pending::Syslog(frame.txnr));
                }
                "close" => {
                    round.push(Pending::Close(frame.txnr));
                    break;
                }
                other => {
                    round.push(Pending::Now(response(
                        frame.txnr,
                        format!("500 command {other:?} not supported").as_bytes(),
                    )));
                }
            }
            if reader.buffer().is_empty() || records.len() >= 8192 {
                break;
            }
        }
        // Make the round's records durable, then answer in command order.
        let durable = if records.is_empty() {
            true
        } else {
            let count = records.len() as u64;
            let bytes: u64 = records.iter().map(|r| r.raw.len() as u64).sum();
            let shard = ctx.pick_shard().unwrap_or_else(|| ctx.any_shard());
            match shard.submit(records).await {
                Ok(_) => {
                    metrics::counter!("logseal_records_in_total", "source" => identity.clone()).increment(count);
                    metrics::counter!("logseal_bytes_in_total", "source" => identity.clone()).increment(bytes);
                    true
                }
                Err(e) => {
                    tracing::warn!(%peer, %identity, error = %e, "RELP: records not durable; answering 500 so the client resends");
                    false
                }
            }
        };
        let mut out = Vec::new();
        let mut close = false;
        for p in round {
            match p {
                Pending::Now(bytes) => out.extend_from_slice(&bytes),
                Pending::Syslog(txnr) => {
                    out.extend_from_slice(&response(
                        txnr,
                        if durable { b"200 OK" } else { b"500 not durable, send again" },
                    ));
                }
                Pending::Close(txnr) => {
                    out.extend_from_slice(&response(txnr, b""));
                    close = true;
                }
            }
        }
        if write.write_all(&out).await.and(write.flush().await).is_err() || close || ended {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(bytes: &[u8]) -> Vec<Result<Option<Frame>, String>> {
        let mut reader = BufReader::new(bytes);
        let mut out = Vec::new();
        loop {
            let f = read_frame(&mut reader, 1000).await;
            let stop = !matches!(f, Ok(Some(_)));
            out.push(f);
            if stop {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn frames_parse_and_broken_ones_are_errors() {
        let got = frames(b"1 open 30 relp_version=0\ncommands=syslog\n2 syslog 5 hello\n3 close 0\n").await;
        assert_eq!(got.len(), 4);
        assert_eq!(got[1].as_ref().unwrap().as_ref().unwrap().data, b"hello");
        assert_eq!(got[2].as_ref().unwrap().as_ref().unwrap().command, "close");
        assert!(matches!(got[3], Ok(None)));
        for bad in [
            &b"x open 0\n"[..],
            b"1 op3n 0\n",
            b"1 syslog 5 hel",
            b"1 syslog 5 helloX",
            b"1 syslog 5000 x\n",
            b"1 close 3\n",
        ] {
            let got = frames(bad).await;
            assert!(got.last().unwrap().is_err(), "{:?}: {got:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn open_answers_the_clients_version_and_syslog() {
        let text = String::from_utf8(open_response(b"relp_version=0\nrelp_software=librelp,1.11.0,x\ncommands=syslog"))
            .unwrap();
        assert!(text.starts_with("200 OK\nrelp_version=0\n") && text.ends_with("\ncommands=syslog"), "{text}");
        assert_eq!(response(7, b"200 OK"), b"7 rsp 6 200 OK\n");
        assert_eq!(response(8, b""), b"8 rsp 0\n");
    }
}
