//! `gen-access-log`: seeded, realistic nginx/Apache access-log lines on
//! stdout. Glue over [`logseal_benches::generate`]; statistics go to stderr.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use logseal_benches::{Format, GenConfig, generate, parse_rfc3339, parse_tz_offset};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    Combined,
    Common,
    Json,
}

/// Writes seeded, realistic access-log lines to stdout; the same seed and
/// arguments give byte-identical output.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Line format.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// Number of lines.
    #[arg(long)]
    lines: u64,
    /// Seed of every random choice.
    #[arg(long)]
    seed: u64,
    /// Share of malformed lines, in percent.
    #[arg(long, default_value_t = 2.0)]
    malformed_percent: f64,
    /// Event time of the first line (RFC 3339).
    #[arg(long, default_value = "2026-01-01T00:00:00Z", value_parser = |s: &str| parse_rfc3339(s))]
    start_time: i64,
    /// Zone the timestamps are written in.
    #[arg(long, default_value = "+0000", allow_hyphen_values = true, value_parser = |s: &str| parse_tz_offset(s))]
    tz_offset: i32,
    /// Mean lines per second of event time.
    #[arg(long, default_value_t = 2000.0)]
    rate: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cfg = GenConfig {
        format: match args.format {
            FormatArg::Combined => Format::Combined,
            FormatArg::Common => Format::Common,
            FormatArg::Json => Format::Json,
        },
        lines: args.lines,
        seed: args.seed,
        malformed_percent: args.malformed_percent,
        start_unix: args.start_time,
        tz_offset_minutes: args.tz_offset,
        rate: args.rate,
        ..GenConfig::default()
    };
    let started = Instant::now();
    match generate(&cfg, &mut io::stdout().lock()) {
        Ok(stats) => {
            let secs = started.elapsed().as_secs_f64();
            let per_sec = stats.lines as f64 / secs.max(1e-9);
            let _ = writeln!(io::stderr(), "{stats}; {secs:.3} s, {per_sec:.0} lines/s");
            ExitCode::SUCCESS
        }
        // A closed pipe (`| head`) is a reader that has seen enough.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "gen-access-log: {e}");
            ExitCode::FAILURE
        }
    }
}
