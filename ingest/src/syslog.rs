//! Syslog over TLS (RFC 5425): octet-counted framing (RFC 6587 §3.4.1) or
//! LF framing, detected per connection from its first byte; RFC 5424 and
//! RFC 3164 headers; the message body is the access-log line.
//!
//! Syslog has no acknowledgement: a connection reads on while earlier
//! records become durable (a few batches in flight), and stops reading —
//! TCP backpressure — while its stream is over its WAL budget or cannot
//! store. A frame over the size limit, a silent connection and a
//! disallowed identity close that connection with a log line; every other
//! connection goes on.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use logseal_core::{LineFormat, Micros, Record};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::agent::{AgentContext, Stopping};
use crate::shard::Receipt;
use crate::{lines, syslog_msg, tls};

/// The most frames in one batch handed to a stream.
const MAX_BATCH: usize = 4096;

/// What a framed stream listener needs to know.
#[derive(Debug, Clone)]
pub struct StreamListener {
    /// Client identities allowed; empty = any certificate from the CA.
    pub allow: Vec<String>,
    /// Format of the message bodies.
    pub format: LineFormat,
    /// The largest frame.
    pub max_frame_bytes: usize,
    /// How long a connection may stay silent.
    pub idle_timeout: Duration,
}

/// Accepts TLS connections until `stopping` fires; each runs `handle`.
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    what: &'static str,
    ctx: Arc<AgentContext>,
    mut stopping: Stopping,
    handle: F,
) where
    F: Fn(tokio_rustls::server::TlsStream<tokio::net::TcpStream>, SocketAddr, String, Stopping) -> Fut
        + Send
        + Sync
        + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let handle = Arc::new(handle);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(error = %e, "{what}: accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopping.wait() => return,
        };
        let (acceptor, handle, stop) = (acceptor.clone(), Arc::clone(&handle), stopping.clone());
        let guard = ctx.connection();
        tokio::spawn(async move {
            let _guard = guard;
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::info!(%peer, error = %e, "{what}: TLS handshake failed; connection closed");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, "{what}: no TLS handshake within 10 s; connection closed");
                    return;
                }
            };
            let Some(identity) = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(tls::identity)
            else {
                tracing::info!(%peer, "{what}: the client certificate names no identity; connection closed");
                return;
            };
            handle(tls, peer, identity, stop).await;
        });
    }
}

/// One syslog connection.
pub async fn connection<S: AsyncRead + Unpin>(
    stream: S,
    peer: SocketAddr,
    identity: String,
    listener: Arc<StreamListener>,
    ctx: Arc<AgentContext>,
    mut stopping: Stopping,
) {
    if !listener.allow.is_empty() && !listener.allow.contains(&identity) {
        tracing::info!(%peer, %identity, "syslog: identity not allowed on this listener; connection closed");
        return;
    }
    let mut reader = BufReader::with_capacity(256 << 10, stream);
    let mut in_flight: VecDeque<oneshot::Receiver<crate::Result<Receipt>>> = VecDeque::new();
    let mut batch: Vec<Record> = Vec::new();
    let mut frame = Vec::new();
    let mut batch_capacity = 256;
    let octet_counted = match tokio::time::timeout(listener.idle_timeout, reader.fill_buf()).await {
        Ok(Ok([])) => return,
        Ok(Ok(buf)) => buf[0].is_ascii_digit(),
        Ok(Err(e)) => {
            tracing::info!(%peer, %identity, error = %e, "syslog: read failed; connection closed");
            return;
        }
        Err(_) => {
            tracing::info!(%peer, %identity, "syslog: nothing received within the idle timeout; connection closed");
            return;
        }
    };
    // When the batch began: one clock reading per batch (a batch is what
    // arrived in one read), not one per frame.
    let mut received_at = 0;
    loop {
        if batch.is_empty() {
            // Backpressure: stop reading while the stream cannot take more.
            while !ctx.accepting() && !ctx.stopping() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // Sized like the last batch: growing a vector of records by
            // doubling cost ~10% of this task's CPU (copies, fresh pages).
            batch.reserve(batch_capacity);
        }
        let read = tokio::select! {
            r = tokio::time::timeout(listener.idle_timeout, read_frame(&mut reader, &mut frame, octet_counted, listener.max_frame_bytes)) => r,
            () = stopping.wait() => break,
        };
        match read {
            Ok(Ok(true)) => {
                if batch.is_empty() {
                    received_at = (ctx.clock)();
                }
                batch.push(frame_record(&frame, &listener, &identity, &ctx, received_at));
                // Flush when nothing more is buffered, or the batch is big.
                let flush_now = reader.buffer().is_empty() || batch.len() >= MAX_BATCH;
                if flush_now {
                    batch_capacity = batch.len().next_power_of_two().min(MAX_BATCH);
                    if !flush(&ctx, &mut batch, &mut in_flight, &identity).await {
                        break;
                    }
                }
            }
            Ok(Ok(false)) => break,
            Ok(Err(why)) => {
                tracing::warn!(%peer, %identity, %why, "syslog: connection closed");
                break;
            }
            Err(_) => {
                tracing::info!(%peer, %identity, "syslog: idle for too long; connection closed");
                break;
            }
        }
    }
    flush(&ctx, &mut batch, &mut in_flight, &identity).await;
    while let Some(r) = in_flight.pop_front() {
        report(r.await, &identity);
    }
}

fn frame_record(
    frame: &[u8],
    listener: &StreamListener,
    identity: &str,
    ctx: &AgentContext,
    received_at: Micros,
) -> Record {
    match syslog_msg::body(frame) {
        Ok(body) => lines::record(body, listener.format, &ctx.json_mapping, identity, received_at),
        Err(why) => {
            metrics::counter!("logseal_parse_errors_total", "kind" => "not_syslog").increment(1);
            let error = format!("not a syslog message ({why})");
            Record::from_parse(0, received_at, identity, listener.format, frame.to_vec(), Err(error))
        }
    }
}

/// Queues the batch on a stream that takes input (round robin, so that one
/// busy connection keeps every shard sealing); keeps at most 4 batches of
/// this connection in flight.
async fn flush(
    ctx: &AgentContext,
    batch: &mut Vec<Record>,
    in_flight: &mut VecDeque<oneshot::Receiver<crate::Result<Receipt>>>,
    identity: &str,
) -> bool {
    if batch.is_empty() {
        return true;
    }
    let records = std::mem::take(batch);
    let shard = ctx.pick_shard().unwrap_or_else(|| ctx.any_shard());
    let count = records.len() as u64;
    let bytes: usize = records.iter().map(|r| r.raw.len()).sum();
    match shard.enqueue(records).await {
        Ok(receipt) => {
            metrics::counter!("logseal_records_in_total", "source" => identity.to_owned()).increment(count);
            metrics::counter!("logseal_bytes_in_total", "source" => identity.to_owned()).increment(bytes as u64);
            in_flight.push_back(receipt);
            while in_flight.len() > 4 {
                if let Some(r) = in_flight.pop_front() {
                    report(r.await, identity);
                }
            }
            true
        }
        Err(e) => {
            tracing::warn!(%identity, error = %e, "syslog: could not queue records; connection closed");
            false
        }
    }
}

fn report(result: Result<crate::Result<Receipt>, oneshot::error::RecvError>, identity: &str) {
    match result {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::error!(%identity, error = %e, "syslog: records were not made durable (syslog cannot ask the sender again)")
        }
        Err(_) => tracing::error!(%identity, "syslog: the WAL stopped before records were durable"),
    }
}

/// Reads one frame into `frame`; `Ok(false)` at a clean end of stream.
async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    frame: &mut Vec<u8>,
    octet_counted: bool,
    max: usize,
) -> Result<bool, String> {
    frame.clear();
    if octet_counted {
        // MSG-LEN SP SYSLOG-MSG
        let mut len: usize = 0;
        let mut digits = 0;
        loop {
            let mut byte = [0u8; 1];
            match reader.read(&mut byte).await {
                Ok(0) if digits == 0 => return Ok(false),
                Ok(0) => return Err("the stream ended inside a frame length".into()),
                Ok(_) => {}
                Err(e) => return Err(format!("read failed: {e}")),
            }
            match byte[0] {
                b' ' if digits > 0 => break,
                d @ b'0'..=b'9' if digits < 10 => {
                    len = len * 10 + usize::from(d - b'0');
                    digits += 1;
                }
                // Some senders put a newline after each frame.
                b'\n' | b'\r' if digits == 0 => {}
                other => {
                    return Err(format!(
                        "octet-counted framing broken: byte 0x{other:02x} where a length was expected"
                    ));
                }
            }
        }
        if len > max {
            return Err(format!("frame of {len} bytes is over the {max}-byte limit"));
        }
        frame.resize(len, 0);
        reader.read_exact(frame).await.map_err(|e| format!("the stream ended inside a {len}-byte frame: {e}"))?;
        // rsyslog counts a trailing LF inside the frame.
        if frame.last() == Some(&b'\n') {
            frame.pop();
        }
        Ok(true)
    } else {
        loop {
            let buf = reader.fill_buf().await.map_err(|e| format!("read failed: {e}"))?;
            if buf.is_empty() {
                return Ok(!frame.is_empty());
            }
            match memchr_newline(buf) {
                Some(i) => {
                    frame.extend_from_slice(&buf[..i]);
                    reader.consume(i + 1);
                    if frame.len() > max {
                        return Err(format!("line of {} bytes is over the {max}-byte limit", frame.len()));
                    }
                    if frame.last() == Some(&b'\r') {
                        frame.pop();
                    }
                    return Ok(true);
                }
                None => {
                    let n = buf.len();
                    frame.extend_from_slice(buf);
                    reader.consume(n);
                    if frame.len() > max {
                        return Err(format!("line longer than the {max}-byte limit"));
                    }
                }
            }
        }
    }
}

fn memchr_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|b| *b == b'\n')
}
