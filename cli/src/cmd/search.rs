//! `logseal search`, `logseal stats` and `logseal audit`: requests to the
//! query server, results printed as they stream in (table, JSON, NDJSON
//! or CSV), progress and timing on stderr.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use logseal_core::timefmt::{format_rfc3339_utc, parse_rfc3339};
use logseal_query::client::{ClientConfig, Lines, connect, find_config};
use logseal_query::protocol::{ApiRequest, Summary};
use logseal_query::query::parse_duration;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::now_micros;

/// How rows are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns (the default on a terminal).
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line (the default when piped).
    Ndjson,
    /// Comma-separated values with a header line.
    Csv,
}

/// The time range options shared by every command.
#[derive(Debug, Clone, clap::Args)]
pub struct RangeArgs {
    /// Rows from this long ago until now (e.g. 90s, 15m, 1h, 7d).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub since: Option<String>,
    /// Rows from this time (RFC 3339, or a date YYYY-MM-DD meaning its midnight UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Rows before this time (default: now).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
}

/// Filters shared by `search` and `stats`.
#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    #[command(flatten)]
    pub range: RangeArgs,
    /// A client address or network (203.0.113.7, 203.0.113.0/24, 2001:db8::/32).
    #[arg(long)]
    pub ip: Option<String>,
    /// A client's ip_tag pseudonym, as shown in masked results.
    #[arg(long)]
    pub ip_tag: Option<String>,
    /// A user id.
    #[arg(long)]
    pub user: Option<String>,
    /// A user's user_tag pseudonym, as shown in masked results.
    #[arg(long)]
    pub user_tag: Option<String>,
    /// The virtual host (exact).
    #[arg(long)]
    pub host: Option<String>,
    /// The URL path starts with this.
    #[arg(long)]
    pub url_prefix: Option<String>,
    /// The URL contains this text.
    #[arg(long)]
    pub url_contains: Option<String>,
    /// The URL matches this regular expression (Rust regex syntax).
    #[arg(long)]
    pub url_regex: Option<String>,
    /// The status: 500, 5xx or 400-499.
    #[arg(long)]
    pub status: Option<String>,
    /// The HTTP method (exact).
    #[arg(long)]
    pub method: Option<String>,
    /// The sender (certificate identity or file:PATH).
    #[arg(long)]
    pub source: Option<String>,
}

/// Who asks, why, and where.
#[derive(Debug, Clone, clap::Args)]
pub struct PurposeArgs {
    /// Why you need this (recorded in the access trail; required for log content).
    #[arg(long)]
    pub reason: Option<String>,
    /// The ticket this is for (required for investigators).
    #[arg(long)]
    pub ticket: Option<String>,
    /// The role to act in, when you hold grants of several.
    #[arg(long)]
    pub role: Option<String>,
    /// The client configuration (server, CA, your certificate and key).
    #[arg(long, env = "LOGSEAL_CLIENT_CONFIG")]
    pub client_config: Option<PathBuf>,
    /// Print the server's timing (authorized → last row, access-trail writes) and the command's on stderr.
    #[arg(long)]
    pub timing: bool,
}

/// A time argument as RFC 3339.
fn time_arg(text: &str, what: &str) -> Result<String> {
    let micros =
        parse_rfc3339(text).or_else(|| parse_rfc3339(&format!("{text}T00:00:00Z"))).map(|(us, _)| us).with_context(
            || format!("--{what} {text:?}: expected an RFC 3339 time (2026-11-28T10:00:00Z) or a date (2026-11-28)"),
        )?;
    Ok(format_rfc3339_utc(micros))
}

impl RangeArgs {
    /// `(from, to)` as RFC 3339; `default_since` applies when no range is given.
    fn resolve(&self, default_since: Option<&str>) -> Result<(String, String)> {
        let now = now_micros();
        if let Some(from) = &self.from {
            let to = match &self.to {
                Some(to) => time_arg(to, "to")?,
                None => format_rfc3339_utc(now),
            };
            return Ok((time_arg(from, "from")?, to));
        }
        let since = match (&self.since, default_since) {
            (Some(s), _) => s.as_str(),
            (None, Some(d)) => d,
            (None, None) => bail!("a bounded time range is required: --since 1h, or --from T [--to T]"),
        };
        let back = parse_duration(since)?;
        Ok((format_rfc3339_utc(now - back), format_rfc3339_utc(now + 1)))
    }
}

impl FilterArgs {
    fn request(&self, purpose: &PurposeArgs) -> Result<ApiRequest> {
        let (from, to) = self.range.resolve(None)?;
        Ok(ApiRequest {
            from,
            to,
            ip: self.ip.clone(),
            ip_tag: self.ip_tag.clone(),
            user: self.user.clone(),
            user_tag: self.user_tag.clone(),
            host: self.host.clone(),
            url_prefix: self.url_prefix.clone(),
            url_contains: self.url_contains.clone(),
            url_regex: self.url_regex.clone(),
            status: self.status.clone(),
            method: self.method.clone(),
            source: self.source.clone(),
            reason: purpose.reason.clone(),
            ticket: purpose.ticket.clone(),
            role: purpose.role.clone(),
            ..Default::default()
        })
    }
}

/// `logseal search`.
pub fn search(filters: &FilterArgs, purpose: &PurposeArgs, limit: Option<u64>, output: Option<Output>) -> Result<i32> {
    let mut request = filters.request(purpose)?;
    request.limit = limit;
    exchange("/v1/search", request, purpose, output)
}

/// What `logseal stats` computes.
#[derive(Debug, Clone)]
pub enum StatsWhat {
    /// `--count`.
    Count,
    /// `--top FIELD [N]`.
    Top(String, Option<usize>),
    /// `--by hour|day`.
    By(String),
}

/// `logseal stats`.
pub fn stats(filters: &FilterArgs, purpose: &PurposeArgs, what: StatsWhat, json_out: bool) -> Result<i32> {
    let mut request = filters.request(purpose)?;
    request.aggregate = Some(match what {
        StatsWhat::Count => logseal_query::protocol::AggregateSpec { count: true, ..Default::default() },
        StatsWhat::Top(field, n) => {
            logseal_query::protocol::AggregateSpec { top: Some(field), n, ..Default::default() }
        }
        StatsWhat::By(by) => logseal_query::protocol::AggregateSpec { by: Some(by), ..Default::default() },
    });
    exchange("/v1/stats", request, purpose, Some(if json_out { Output::Json } else { Output::Table }))
}

/// `logseal audit`: the access trail (default: the last 24 hours).
pub fn audit(
    range: &RangeArgs,
    principal: Option<String>,
    purpose: &PurposeArgs,
    limit: Option<u64>,
    output: Option<Output>,
) -> Result<i32> {
    let (from, to) = range.resolve(Some("24h"))?;
    let request = ApiRequest {
        from,
        to,
        source: principal,
        limit,
        reason: purpose.reason.clone(),
        ticket: purpose.ticket.clone(),
        role: purpose.role.clone(),
        ..Default::default()
    };
    exchange("/v1/audit", request, purpose, output)
}

/// Sends `request` to `path` and prints what comes back. Exit codes: 0
/// done, 3 denied (the reasons on stderr), 2 any other failure.
fn exchange(path: &str, mut request: ApiRequest, purpose: &PurposeArgs, output: Option<Output>) -> Result<i32> {
    let started = Instant::now();
    let config_path = find_config(purpose.client_config.as_deref())?;
    let config = ClientConfig::load(&config_path)?;
    if request.role.is_none() {
        request.role = config.role.clone();
    }
    let stdout_tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let stderr_tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let output = output.unwrap_or(if stdout_tty { Output::Table } else { Output::Ndjson });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async {
        let mut connection = connect(&config).await?;
        let response = connection.post(path, &request).await?;
        let status = response.status();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let columns: Vec<String> =
            header("logseal-columns").map(|c| c.split(',').map(str::to_owned).collect()).unwrap_or_default();
        if !status.is_success() {
            let body = Lines::new(response).rest().await?;
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let message = value["error"].as_str().map_or_else(|| String::from_utf8_lossy(&body).trim().to_owned(), str::to_owned);
            let id = value["request_id"].as_str().map(|id| format!(" (request {id}, recorded in the access trail)")).unwrap_or_default();
            if status.as_u16() == 403 {
                eprintln!("logseal: {message}{id}");
                return Ok(3);
            }
            bail!("the query server answered {status}: {message}{id}");
        }
        let mut printer = Printer::new(output, columns, path == "/v1/audit");
        let mut lines = Lines::new(response);
        let mut digest = Sha256::new();
        let mut summary: Option<Summary> = None;
        let mut first_row = None;
        let mut progress_shown = false;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        while let Some(line) = lines.next().await? {
            if line.starts_with(b"{\"summary\":") {
                let value: Value = serde_json::from_slice(&line).context("the summary line")?;
                summary = Some(serde_json::from_value(value["summary"].clone()).context("the summary line")?);
                continue;
            }
            if line.starts_with(b"{\"progress\":") {
                if stderr_tty {
                    let value: Value = serde_json::from_slice(&line).unwrap_or(Value::Null);
                    let p = &value["progress"];
                    eprint!(
                        "\r\x1b[2Kscanned {}/{} files, {:.1} MB",
                        p["files_done"],
                        p["files_read"],
                        p["bytes_fetched"].as_f64().unwrap_or(0.0) / 1e6
                    );
                    progress_shown = true;
                }
                continue;
            }
            digest.update(&line);
            digest.update(b"\n");
            first_row.get_or_insert_with(|| started.elapsed());
            printer.row(&mut out, &line)?;
            // Rows go out as they arrive, to a pipe too: written when
            // the next line would have to wait for the network.
            if !lines.has_line() {
                out.flush()?;
            }
        }
        if progress_shown {
            eprint!("\r\x1b[2K");
        }
        let Some(summary) = summary else {
            out.flush()?;
            bail!("the result stream ended without its summary line: the results above may be incomplete (server or connection failure)");
        };
        if let Some(stats) = &summary.stats {
            printer.stats(&mut out, stats)?;
        }
        printer.finish(&mut out)?;
        out.flush()?;
        drop(out);
        if let Some(error) = &summary.error {
            bail!("the search failed on the server after {} rows: {error} (request {})", summary.rows, summary.request_id);
        }
        let received = hex::encode(digest.finalize());
        if summary.stats.is_none() && received != summary.digest {
            bail!(
                "the rows received do not match the digest the server recorded in the access trail (request {}): received {received}, recorded {}",
                summary.request_id,
                summary.digest
            );
        }
        let wall = started.elapsed();
        if purpose.timing {
            eprintln!(
                "timing: request_id={} rows={} server_ms={:.1} first_row_ms={} audit_ms={:.1} files_read={} files_done_at_first_row={} bytes={} wall_ms={:.1} client_first_row_ms={}",
                summary.request_id,
                summary.rows,
                summary.server_ms,
                summary.first_row_ms.map_or_else(|| "-".into(), |v| format!("{v:.1}")),
                summary.audit_ms,
                summary.files_read,
                summary.files_done_at_first_row.map_or_else(|| "-".into(), |v| v.to_string()),
                summary.bytes_fetched,
                wall.as_secs_f64() * 1e3,
                first_row.map_or_else(|| "-".into(), |d| format!("{:.1}", d.as_secs_f64() * 1e3)),
            );
        } else if stderr_tty && summary.stats.is_none() {
            eprintln!(
                "{} rows ({} view), {} of {} files scanned, {:.1} MB read, {:.0} ms; request {}",
                summary.rows,
                summary.view,
                summary.files_read,
                summary.files_total,
                summary.bytes_fetched as f64 / 1e6,
                wall.as_secs_f64() * 1e3,
                summary.request_id
            );
        }
        Ok(0)
    })
}

/// Prints rows in one output format as they arrive.
struct Printer {
    output: Output,
    columns: Vec<String>,
    rows: u64,
    /// Table: rows held until the column widths are known.
    pending: Vec<Value>,
    widths: Option<Vec<usize>>,
    audit: bool,
    /// An aggregate was printed (instead of rows).
    aggregate: bool,
}

/// Rows a table holds back to size its columns.
const TABLE_SAMPLE: usize = 50;
/// The widest a table cell gets.
const TABLE_CELL: usize = 48;

impl Printer {
    fn new(output: Output, columns: Vec<String>, audit: bool) -> Printer {
        Printer { output, columns, rows: 0, pending: Vec::new(), widths: None, audit, aggregate: false }
    }

    fn row(&mut self, out: &mut impl Write, line: &[u8]) -> Result<()> {
        self.rows += 1;
        match self.output {
            Output::Ndjson => {
                out.write_all(line)?;
                out.write_all(b"\n")?;
            }
            Output::Json => {
                out.write_all(if self.rows == 1 { b"[\n" } else { b",\n" })?;
                out.write_all(line)?;
            }
            Output::Csv => {
                if self.rows == 1 {
                    writeln!(out, "{}", self.columns.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","))?;
                }
                let value: Value = serde_json::from_slice(line).context("a result row")?;
                let cells: Vec<String> = self.columns.iter().map(|c| csv_field(&cell(&value[c]))).collect();
                writeln!(out, "{}", cells.join(","))?;
            }
            Output::Table => {
                let value: Value = serde_json::from_slice(line).context("a result row")?;
                if self.widths.is_some() {
                    self.table_row(out, &value)?;
                } else {
                    self.pending.push(value);
                    if self.pending.len() >= TABLE_SAMPLE {
                        self.flush_table(out)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Sizes the table from the rows held back, drops columns empty in
    /// all of them (the audit trail keeps its own set), prints them.
    fn flush_table(&mut self, out: &mut impl Write) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        if !self.audit {
            self.columns.retain(|c| pending.iter().any(|row| !row[c.as_str()].is_null()));
        }
        let widths: Vec<usize> = self
            .columns
            .iter()
            .map(|c| {
                pending
                    .iter()
                    .map(|row| cell(&row[c.as_str()]).chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(c.len())
                    .min(TABLE_CELL)
            })
            .collect();
        let header: Vec<String> = self.columns.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        writeln!(out, "{}", header.join("  ").trim_end())?;
        self.widths = Some(widths);
        for row in &pending {
            self.table_row(out, row)?;
        }
        Ok(())
    }

    fn table_row(&self, out: &mut impl Write, row: &Value) -> Result<()> {
        let widths = self.widths.as_deref().unwrap_or_default();
        let cells: Vec<String> = self
            .columns
            .iter()
            .zip(widths)
            .map(|(c, w)| {
                let text = cell(&row[c.as_str()]);
                let text: String = if text.chars().count() > *w {
                    text.chars().take(w.saturating_sub(1)).chain(['…']).collect()
                } else {
                    text
                };
                format!("{text:<w$}")
            })
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
        Ok(())
    }

    fn stats(&mut self, out: &mut impl Write, stats: &logseal_query::stats::StatsResult) -> Result<()> {
        self.aggregate = true;
        match self.output {
            Output::Json | Output::Ndjson => writeln!(out, "{}", serde_json::to_string(stats)?)?,
            Output::Csv => {
                writeln!(out, "value,count")?;
                for (label, n) in &stats.groups {
                    writeln!(out, "{},{n}", csv_field(label))?;
                }
            }
            Output::Table => {
                if stats.groups.is_empty() {
                    writeln!(out, "{}", stats.rows)?;
                }
                let width = stats.groups.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0);
                for (label, n) in &stats.groups {
                    writeln!(out, "{label:<width$}  {n}")?;
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut impl Write) -> Result<()> {
        if self.aggregate {
            return Ok(());
        }
        match self.output {
            Output::Json if self.rows > 0 => writeln!(out, "\n]")?,
            Output::Json => writeln!(out, "[]")?,
            Output::Table if self.widths.is_none() && !self.pending.is_empty() => self.flush_table(out)?,
            _ => {}
        }
        Ok(())
    }
}

/// A JSON value as cell text (strings without quotes, absent as empty).
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// RFC 4180 quoting when needed.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}
