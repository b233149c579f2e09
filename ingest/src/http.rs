//! The HTTPS listener: `POST /v1/logs` with NDJSON or plain lines, gzip or
//! zstd, answered only once the batch is durable. HTTP/1.1 and HTTP/2.
//!
//! Who sent the lines is the client certificate's identity (or a bearer
//! token's name), never anything in the payload.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use logseal_core::LineFormat;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::agent::{AgentContext, Stopping};
use crate::config::HttpConfig;
use crate::lines;
use crate::tls;

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

fn json_error(status: StatusCode, message: &str) -> Reply {
    let mut r = reply(status, serde_json::json!({ "error": message }).to_string());
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Serves HTTPS on `listener` until `stopping` fires.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    config: Arc<HttpConfig>,
    ctx: Arc<AgentContext>,
    mut stopping: Stopping,
) {
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting an HTTPS connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopping.wait() => return,
        };
        let (acceptor, config, ctx, mut stop) =
            (acceptor.clone(), Arc::clone(&config), Arc::clone(&ctx), stopping.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::info!(%peer, error = %e, "HTTPS: TLS handshake failed; connection closed");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, "HTTPS: no TLS handshake within 10 s; connection closed");
                    return;
                }
            };
            let identity = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(tls::identity);
            let service = hyper::service::service_fn(move |req| {
                let (config, ctx, identity) = (Arc::clone(&config), Arc::clone(&ctx), identity.clone());
                async move { Ok::<_, std::convert::Infallible>(handle(req, &config, &ctx, identity.as_deref(), peer).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(tls), service);
            tokio::pin!(connection);
            // On stop: finish requests in flight, close idle keep-alives.
            let result = tokio::select! {
                r = connection.as_mut() => r,
                () = stop.wait() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "HTTPS connection ended with an error");
            }
        });
    }
}

/// Who is sending: the certificate identity (if allowed), else a bearer token.
fn authenticate(
    req: &Request<Incoming>,
    config: &HttpConfig,
    identity: Option<&str>,
) -> Result<String, (StatusCode, String)> {
    if let Some(id) = identity {
        if config.allow.is_empty() || config.allow.iter().any(|a| a == id) {
            return Ok(id.to_owned());
        }
        return Err((StatusCode::FORBIDDEN, format!("client identity {id:?} is not allowed on this listener")));
    }
    let token = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(token) = token {
        let digest = logseal_core::Hash::of(token.as_bytes()).to_hex();
        if let Some(t) = config.tokens.iter().find(|t| t.sha256.eq_ignore_ascii_case(&digest)) {
            return Ok(format!("token:{}", t.name));
        }
        return Err((StatusCode::UNAUTHORIZED, "unknown bearer token".into()));
    }
    Err((StatusCode::UNAUTHORIZED, "present a client certificate from the configured CA, or a bearer token".into()))
}

async fn handle(
    req: Request<Incoming>,
    config: &HttpConfig,
    ctx: &AgentContext,
    identity: Option<&str>,
    peer: SocketAddr,
) -> Reply {
    if req.method() != Method::POST {
        return json_error(StatusCode::METHOD_NOT_ALLOWED, "use POST /v1/logs");
    }
    let auth = authenticate(&req, config, identity);
    let path_ok = req.uri().path() == "/v1/logs";
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let encoding =
        req.headers().get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity").to_ascii_lowercase();
    // The body is read (or drained) before any answer: answering an HTTP/1.1
    // client mid-upload resets its connection and it never sees the answer.
    let body = match read_body(req.into_body(), config.max_body_bytes).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("body larger than {} bytes", config.max_body_bytes),
            );
        }
        Err(BodyError::Read(e)) => return json_error(StatusCode::BAD_REQUEST, &format!("reading the body: {e}")),
    };
    if !path_ok {
        return json_error(StatusCode::NOT_FOUND, "the only path is /v1/logs");
    }
    let source = match auth {
        Ok(s) => s,
        Err((status, why)) => {
            tracing::info!(%peer, %why, "HTTPS: refused a client");
            return json_error(status, &why);
        }
    };
    if ctx.stopping() {
        return busy("the agent is shutting down");
    }
    let Some(shard) = ctx.pick_shard() else {
        return busy("every stream is applying backpressure (WAL budget or store failures)");
    };
    let format = if content_type.starts_with("application/x-ndjson") || content_type.starts_with("application/json") {
        LineFormat::Json
    } else if content_type.starts_with("text/plain") || content_type.is_empty() {
        config.format.into()
    } else {
        return json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "use application/x-ndjson or text/plain");
    };
    let max = config.max_body_bytes;
    let mapping = ctx.json_mapping.clone();
    let received_at = (ctx.clock)();
    let source_for_parse = source.clone();
    // Decompressing and parsing are CPU work: off the async workers.
    let parsed = ctx
        .parsers
        .run(move || {
            let plain = decode(body, &encoding, max)?;
            let bytes = plain.len();
            lines::records(&plain, format, &mapping, &source_for_parse, received_at)
                .map(|r| (r, bytes))
                .map_err(|why| (StatusCode::BAD_REQUEST, why))
        })
        .await;
    let (records, bytes) = match parsed {
        Some(Ok(x)) => x,
        Some(Err((status, why))) => return json_error(status, &why),
        None => return json_error(StatusCode::INTERNAL_SERVER_ERROR, "parsing failed"),
    };
    if records.is_empty() {
        return json_error(StatusCode::BAD_REQUEST, "the body holds no line");
    }
    let count = records.len() as u64;
    let started = Instant::now();
    match shard.submit(records).await {
        Ok(receipt) => {
            metrics::counter!("logseal_records_in_total", "source" => source.clone()).increment(count);
            metrics::counter!("logseal_bytes_in_total", "source" => source).increment(bytes as u64);
            metrics::histogram!("logseal_ack_seconds").record(started.elapsed().as_secs_f64());
            let mut r = reply(StatusCode::OK, serde_json::to_string(&receipt).unwrap_or_default());
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        Err(e) => busy(&format!("not durable, send again: {e}")),
    }
}

enum BodyError {
    TooLarge,
    Read(String),
}

/// Reads a body of at most `max` bytes; a larger one is drained (up to a
/// bound) so that the client can read the 413 that follows.
async fn read_body(mut body: Incoming, max: usize) -> Result<Bytes, BodyError> {
    let drain_limit = max.saturating_mul(4).max(1 << 20);
    let mut buf = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Read(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total <= max {
                buf.extend_from_slice(&data);
            } else if total > drain_limit {
                return Err(BodyError::TooLarge);
            }
        }
    }
    if total > max { Err(BodyError::TooLarge) } else { Ok(Bytes::from(buf)) }
}

fn busy(why: &str) -> Reply {
    let mut r = json_error(StatusCode::SERVICE_UNAVAILABLE, why);
    r.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// Decompresses a body, refusing more than `max` bytes of output.
fn decode(body: Bytes, encoding: &str, max: usize) -> Result<Bytes, (StatusCode, String)> {
    let mut reader: Box<dyn Read> = match encoding {
        "identity" | "" => return Ok(body),
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
        "zstd" => Box::new(
            zstd::stream::read::Decoder::new(&body[..])
                .map_err(|e| (StatusCode::BAD_REQUEST, format!("zstd body: {e}")))?,
        ),
        other => {
            return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("Content-Encoding {other:?}: use gzip or zstd")));
        }
    };
    let mut out = Vec::with_capacity(body.len() * 4);
    (&mut reader)
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("{encoding} body: {e}")))?;
    if out.len() > max {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, format!("body larger than {max} bytes once decompressed")));
    }
    Ok(Bytes::from(out))
}
