//! Progress bars on stderr (hidden when stderr is not a terminal or when
//! disabled).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress display.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A byte-counting bar; `total` when known.
    pub fn bytes(enabled: bool, total: Option<u64>, what: &str) -> Progress {
        let target = if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(total, target);
        let template = match total {
            Some(_) => "{prefix} {bar:30} {bytes}/{total_bytes} ({binary_bytes_per_sec}, {eta} left) {msg}",
            None => "{prefix} {spinner} {bytes} ({binary_bytes_per_sec}) {msg}",
        };
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar.set_prefix(what.to_owned());
        Progress { bar }
    }

    /// Sets the position and message.
    pub fn set(&self, position: u64, message: &str) {
        self.bar.set_position(position);
        self.bar.set_message(message.to_owned());
    }

    /// Adds to the position.
    pub fn inc(&self, delta: u64) {
        self.bar.inc(delta);
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
