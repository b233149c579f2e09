//! The operations endpoint (plain HTTP, meant for localhost or a private
//! network): Prometheus `/metrics`, `/healthz` (the process runs) and
//! `/readyz` (every stream takes input).
//!
//! Metrics: `logseal_records_in_total`, `logseal_bytes_in_total` (per
//! source), `logseal_parse_errors_total` (per kind), `logseal_ack_seconds`
//! (HTTP), `logseal_seal_seconds`, `logseal_store_seconds` (per stream);
//! per stream, refreshed on each scrape: `logseal_wal_bytes`,
//! `logseal_backpressure` (0/1), `logseal_backpressure_seconds`,
//! `logseal_records_durable`, `logseal_files_sealed`,
//! `logseal_store_failures`; `logseal_connections`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::agent::{AgentContext, Stopping};

/// Installs the process-wide Prometheus recorder (once) and returns its handle.
pub fn install_metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // Real histograms (buckets), not summaries: the exporter's
            // summaries only reflect the last samples before a scrape.
            let buckets = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];
            PrometheusBuilder::new()
                .set_buckets(&buckets)
                .expect("the bucket list is not empty")
                .install_recorder()
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
        })
        .clone()
}

/// Per-shard gauges, refreshed on every scrape.
fn refresh(ctx: &AgentContext) {
    for shard in ctx.shards() {
        let s = shard.status();
        let stream = shard.stream().to_owned();
        metrics::gauge!("logseal_wal_bytes", "stream" => stream.clone())
            .set(s.wal_bytes.load(Ordering::Relaxed) as f64);
        metrics::gauge!("logseal_backpressure", "stream" => stream.clone()).set(if s.under_pressure() {
            1.0
        } else {
            0.0
        });
        metrics::gauge!("logseal_records_durable", "stream" => stream.clone())
            .set(s.records_durable.load(Ordering::Relaxed) as f64);
        metrics::gauge!("logseal_files_sealed", "stream" => stream.clone())
            .set(s.files_sealed.load(Ordering::Relaxed) as f64);
        metrics::gauge!("logseal_store_failures", "stream" => stream.clone())
            .set(s.store_failures.load(Ordering::Relaxed) as f64);
        metrics::gauge!("logseal_backpressure_seconds", "stream" => stream)
            .set(s.backpressure_micros.load(Ordering::Relaxed) as f64 / 1e6);
    }
}

/// Serves the endpoint until `stopping` fires.
pub async fn serve(listener: TcpListener, metrics: PrometheusHandle, ctx: Arc<AgentContext>, mut stopping: Stopping) {
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted { Ok(x) => x, Err(_) => continue },
            () = stopping.wait() => return,
        };
        let (metrics, ctx) = (metrics.clone(), Arc::clone(&ctx));
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let (metrics, ctx) = (metrics.clone(), Arc::clone(&ctx));
                async move {
                    let (status, body) = match req.uri().path() {
                        "/metrics" => {
                            refresh(&ctx);
                            (StatusCode::OK, metrics.render())
                        }
                        "/healthz" => (StatusCode::OK, "ok\n".to_owned()),
                        "/readyz" if ctx.ready() => (StatusCode::OK, "ready\n".to_owned()),
                        "/readyz" => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "not ready: stopping or applying backpressure\n".to_owned(),
                        ),
                        _ => (StatusCode::NOT_FOUND, "paths: /metrics /healthz /readyz\n".to_owned()),
                    };
                    let mut r = Response::new(Full::new(Bytes::from(body)));
                    *r.status_mut() = status;
                    Ok::<_, std::convert::Infallible>(r)
                }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}
