//! What the AWS clients share: the SDK configuration (HTTPS over rustls
//! with ring, standard retries with backoff and jitter, timeouts) and a
//! small tokio runtime the synchronous store and key traits block on.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::error::{Error, Result};

/// Where and how to reach one AWS service.
#[derive(Debug, Clone, Default)]
pub struct AwsTarget {
    /// An endpoint other than AWS's (else the SDK's environment variables).
    pub endpoint: Option<String>,
    /// The region (else the SDK's provider chain).
    pub region: Option<String>,
    /// Attempts per request on retryable errors (throttling, 5xx, timeouts).
    pub max_attempts: u32,
}

/// A runtime of `threads` workers named `name` and the SDK configuration
/// for `target`, adjusted by `customize` (tests pass credentials).
pub fn load(
    name: &str,
    target: &AwsTarget,
    customize: impl FnOnce(ConfigLoader) -> ConfigLoader,
) -> Result<(IoRuntime, SdkConfig)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|e| Error::io(format!("starting the {name} runtime"), &e))?;
    let http =
        aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(target.max_attempts.max(1)))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(120))
                .build(),
        );
    if let Some(region) = &target.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &target.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    let runtime = IoRuntime(Some(runtime));
    let sdk = runtime.block_on(customize(loader).load());
    Ok((runtime, sdk))
}

/// A client's own runtime. Dropping it never blocks: the last owner of a
/// store or key provider may be async code (the agent drops them on its
/// own runtime when it stops), where dropping a runtime the ordinary way
/// panics.
pub struct IoRuntime(Option<tokio::runtime::Runtime>);

impl IoRuntime {
    /// Runs `future` to completion on this runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.0.as_ref().expect("the runtime is only taken when dropped").block_on(future)
    }
}

impl std::fmt::Debug for IoRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IoRuntime")
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The endpoint a service client will use when it is not AWS's: the
/// configured one, else `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`
/// (the SDK applies these itself; they are read here for messages).
pub fn custom_endpoint(sdk: &SdkConfig, service_env: &str) -> Option<String> {
    sdk.endpoint_url()
        .map(str::to_owned)
        .or_else(|| std::env::var(service_env).ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|e| !e.is_empty())
}
