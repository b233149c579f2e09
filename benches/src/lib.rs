//! Benchmark support for logseal.
//!
//! The seeded access-log generator lives here, as a library, so that
//! benchmarks can produce their input in-process; `gen-access-log` is the
//! command-line wrapper. Same seed and configuration, same bytes.
#![forbid(unsafe_code)]

mod r#gen;

pub use r#gen::{
    ConfigError, DEFAULT_START_UNIX, Format, GenConfig, GenStats, Generator, MalformedKind, generate, parse_rfc3339,
    parse_tz_offset,
};
