//! One module per subcommand: each turns parsed arguments into calls on
//! the libraries and formats what comes back.

pub mod agent;
pub mod import;
pub mod init;
pub mod keys;
pub mod prove;
pub mod search;
pub mod serve;
pub mod verify;

/// The current time in microseconds since the epoch.
///
/// `LOGSEAL_FAKE_NOW` (seconds since the epoch) replaces the clock: the
/// end-to-end tests use it to seal and verify "hours apart" without
/// waiting (heartbeat gaps, staleness). Never set it in production.
pub fn now_micros() -> i64 {
    if let Some(secs) = std::env::var("LOGSEAL_FAKE_NOW").ok().and_then(|v| v.parse::<i64>().ok()) {
        return secs.saturating_mul(1_000_000);
    }
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}
