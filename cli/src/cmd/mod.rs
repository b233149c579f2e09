//! One module per subcommand: each turns parsed arguments into calls on
//! the libraries and formats what comes back.

pub mod import;
pub mod init;
pub mod prove;
pub mod verify;

/// The current time in microseconds since the epoch.
pub fn now_micros() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}
