//! The access-log generator: a [`GenConfig`] in, nginx/Apache access-log
//! lines out, byte-identical for the same seed and configuration.
//!
//! Pools (addresses, paths, users) are built once from the seed; each line
//! then draws a request from them, renders it in the chosen format and, for
//! a configured share of lines, damages it in one of the ways real log files
//! are damaged ([`MalformedKind`]). Event time advances as a Poisson process
//! at the configured rate and never goes backwards.
//!
//! Determinism: all draws come from ChaCha8 (value-stable across versions)
//! through `rand`/`rand_distr` as pinned by `Cargo.lock`; the float steps use
//! libm's `exp`/`ln`/`pow`, so the same build on the same platform gives the
//! same bytes.

mod escape;
mod pools;
#[cfg(test)]
mod tests;
mod time;

use std::fmt;
use std::io::{self, Write};

use rand::distributions::{Distribution, WeightedIndex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::Exp1;

use escape::{Escape, Text, push_hex, push_u64};
use pools::{HOSTS, OTHER_REFERERS, PathEntry, PathKind, Pools, SEARCH_REFERERS, USER_AGENTS, log_normal};
use time::{Clock, ISO_MONTH_AT, LOCAL_MONTH_AT};
pub use time::{parse_rfc3339, parse_tz_offset};

/// Output line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// nginx `combined`: `$remote_addr - $remote_user [$time_local] "$request"
    /// $status $body_bytes_sent "$http_referer" "$http_user_agent"`.
    Combined,
    /// Apache common: `%h %l %u %t "%r" %>s %b`, Apache escaping.
    Common,
    /// One nginx `escape=json` object per line; every value a string.
    Json,
}

/// A configuration the generator cannot run with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("invalid start time {0:?}: expected RFC 3339, like 2026-01-01T00:00:00Z")]
    StartTime(String),
    #[error("invalid zone offset {0:?}: expected +HHMM or -HH:MM")]
    TzOffset(String),
    #[error("invalid {name} {value}: {expected}")]
    OutOfRange { name: &'static str, value: f64, expected: &'static str },
}

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct GenConfig {
    /// Line format.
    pub format: Format,
    /// Lines to write.
    pub lines: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Share of malformed lines, in percent (0–100).
    pub malformed_percent: f64,
    /// Event time of the first line, Unix seconds.
    pub start_unix: i64,
    /// Zone the timestamps are written in, minutes east of UTC.
    pub tz_offset_minutes: i32,
    /// Mean lines per second of event time.
    pub rate: f64,
    /// Distinct client addresses.
    pub address_pool: usize,
    /// Distinct request paths.
    pub path_pool: usize,
}

/// 2026-01-01T00:00:00Z.
pub const DEFAULT_START_UNIX: i64 = 1_767_225_600;

impl Default for GenConfig {
    fn default() -> Self {
        Self {
            format: Format::Combined,
            lines: 1000,
            seed: 0,
            malformed_percent: 2.0,
            start_unix: DEFAULT_START_UNIX,
            tz_offset_minutes: 0,
            rate: 2000.0,
            address_pool: 200_000,
            path_pool: 50_000,
        }
    }
}

impl GenConfig {
    /// Checks every field is in range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let out_of_range = |name, value, expected| Err(ConfigError::OutOfRange { name, value, expected });
        if !(0.0..=100.0).contains(&self.malformed_percent) {
            return out_of_range("malformed percent", self.malformed_percent, "expected 0 to 100");
        }
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return out_of_range("rate", self.rate, "expected a positive number of lines per second");
        }
        if !(0..=253_402_300_799).contains(&self.start_unix) {
            return out_of_range("start time", self.start_unix as f64, "expected a year from 1970 to 9999");
        }
        if self.tz_offset_minutes.abs() >= 24 * 60 {
            return out_of_range("zone offset", f64::from(self.tz_offset_minutes), "expected less than 24 hours");
        }
        if self.address_pool == 0 || self.path_pool == 0 {
            return out_of_range("pool size", 0.0, "expected at least one address and one path");
        }
        Ok(())
    }
}

/// How a malformed line is damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MalformedKind {
    /// A valid line cut at a random byte.
    Truncated,
    /// An unknown month: `28/Foo/2026`, or month `13` in JSON.
    BadMonth,
    /// A well-formed line whose request is binary junk, as when a TLS
    /// handshake (or SSH, RDP) reaches a plain-HTTP port: status 400.
    TlsHandshake,
    /// Raw invalid UTF-8 inside a quoted field.
    InvalidUtf8,
    /// A NUL byte inside a quoted field.
    NulByte,
    /// A `\r\n` line ending.
    Crlf,
    /// JSON mode only: an error-log or combined line among the objects.
    NotJson,
    /// A ~70 KB request URI; at most about one line in 100,000.
    LongUrl,
}

impl MalformedKind {
    /// Every kind, in [`GenStats::malformed`] order.
    pub const ALL: [Self; 8] = [
        Self::Truncated,
        Self::BadMonth,
        Self::TlsHandshake,
        Self::InvalidUtf8,
        Self::NulByte,
        Self::Crlf,
        Self::NotJson,
        Self::LongUrl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Truncated => "truncated",
            Self::BadMonth => "bad_month",
            Self::TlsHandshake => "tls_handshake",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::NulByte => "nul_byte",
            Self::Crlf => "crlf",
            Self::NotJson => "not_json",
            Self::LongUrl => "long_url",
        }
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenStats {
    /// Lines written, malformed ones included.
    pub lines: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Malformed lines by kind, indexed as [`MalformedKind::ALL`].
    pub malformed: [u64; MalformedKind::ALL.len()],
}

impl GenStats {
    /// Malformed lines of one kind.
    pub fn malformed_of(&self, kind: MalformedKind) -> u64 {
        self.malformed[kind as usize]
    }

    /// Malformed lines of every kind.
    pub fn malformed_total(&self) -> u64 {
        self.malformed.iter().sum()
    }

    /// Counts one line of `bytes` bytes.
    pub fn record(&mut self, kind: Option<MalformedKind>, bytes: usize) {
        self.lines += 1;
        self.bytes += bytes as u64;
        if let Some(kind) = kind {
            self.malformed[kind as usize] += 1;
        }
    }
}

impl fmt::Display for GenStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} lines, {} bytes, {} malformed (", self.lines, self.bytes, self.malformed_total())?;
        for (i, kind) in MalformedKind::ALL.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{} {}", kind.name(), self.malformed[i])?;
        }
        f.write_str(")")
    }
}

/// Writes `cfg.lines` lines to `out`, buffering internally (an unbuffered
/// writer is fine), and flushes it.
pub fn generate(cfg: &GenConfig, out: &mut impl Write) -> io::Result<GenStats> {
    const FLUSH_AT: usize = 256 * 1024;
    let mut generator = Generator::new(cfg).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut stats = GenStats::default();
    let mut buf = Vec::with_capacity(FLUSH_AT + 128 * 1024);
    for _ in 0..cfg.lines {
        let before = buf.len();
        let kind = generator.next_line(&mut buf);
        stats.record(kind, buf.len() - before);
        if buf.len() >= FLUSH_AT {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    out.flush()?;
    Ok(stats)
}

const METHODS: [(&str, u32); 7] =
    [("GET", 880), ("POST", 70), ("HEAD", 25), ("OPTIONS", 10), ("PUT", 8), ("DELETE", 5), ("PATCH", 2)];
const PROTOCOLS: [(&str, u32); 3] = [("HTTP/1.1", 775), ("HTTP/2.0", 200), ("HTTP/1.0", 25)];
const STATUSES: [(u16, u32); 12] = [
    (200, 820),
    (304, 45),
    (404, 40),
    (302, 30),
    (301, 15),
    (401, 12),
    (201, 10),
    (403, 8),
    (204, 8),
    (500, 5),
    (503, 4),
    (502, 3),
];
/// What reaches a plain-HTTP port that is not HTTP.
const GARBAGE_REQUESTS: [&[u8]; 4] = [
    b"\x16\x03\x01\x00\xA5\x01\x00\x00\xA1\x03\x03",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03",
    b"SSH-2.0-Go",
    b"\x03\x00\x00/*\xE0\x00\x00\x00\x00\x00Cookie: mstshash=Administr",
];
const INVALID_UTF8: [&[u8]; 6] = [b"\xC3\x28", b"\xFF", b"\xE2\x82", b"\x80\x80", b"\xED\xA0\x80", b"\xC0\xAF"];
const BAD_MONTHS: [&[u8]; 5] = [b"Foo", b"Mai", b"Okt", b"Dez", b"Jnu"];
const BAD_ISO_MONTHS: [&[u8]; 3] = [b"13", b"00", b"1O"];
const LONG_URL_BYTES: usize = 70 * 1024;
/// Chance, per line, of a [`MalformedKind::LongUrl`] (when any malformed
/// lines are asked for).
const LONG_URL_ONE_IN: u32 = 200_000;
/// The kinds drawn with equal shares: all but the long URL, which has its
/// own rate, and, outside JSON, `NotJson`.
const TEXT_KINDS: &[MalformedKind] = MalformedKind::ALL.split_at(6).0;
const JSON_KINDS: &[MalformedKind] = MalformedKind::ALL.split_at(7).0;

/// One request, as drawn; texts are raw, escaped when rendered.
struct Request<'a> {
    addr: &'a str,
    /// Empty when not authenticated.
    user: Text<'a>,
    method: &'static str,
    uri: Text<'a>,
    protocol: &'static str,
    /// Junk logged in place of `method uri protocol`.
    garbage: Option<&'static [u8]>,
    status: u16,
    body_bytes: u64,
    /// Empty when the header is absent.
    referer: Text<'a>,
    /// Empty when the header is absent.
    agent: Text<'static>,
    host: &'static str,
    request_time_ms: u64,
    request_id: [u8; 16],
}

/// Where a rendered line's damageable parts sit in the buffer.
struct Marks {
    start: usize,
    month: usize,
    month_len: usize,
    /// Positions strictly inside quoted fields (after the URI; at the end of
    /// the user agent or request).
    in_quotes: [usize; 2],
}

/// An endless, seeded stream of lines; [`generate`] takes a fixed number.
pub struct Generator {
    format: Format,
    malformed_p: f64,
    kinds: &'static [MalformedKind],
    seconds_per_line: f64,
    clock: Clock,
    second: i64,
    fraction: f64,
    sampler: Sampler,
}

/// The random source and everything requests are drawn from.
struct Sampler {
    rng: ChaCha8Rng,
    pools: Pools,
    methods: WeightedIndex<u32>,
    protocols: WeightedIndex<u32>,
    statuses: WeightedIndex<u32>,
    /// [`USER_AGENTS`], with their cleanliness.
    agents: Vec<Text<'static>>,
    /// Scratch for the referer being built.
    referer: Vec<u8>,
    /// Scratch for a [`MalformedKind::LongUrl`] URI.
    long_uri: Vec<u8>,
}

impl fmt::Debug for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator").field("format", &self.format).field("second", &self.second).finish_non_exhaustive()
    }
}

impl Generator {
    /// Builds the pools for `cfg.seed` (tens of milliseconds for the default
    /// pool sizes). `cfg.lines` is ignored.
    pub fn new(cfg: &GenConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let pools = Pools::new(&mut ChaCha8Rng::seed_from_u64(cfg.seed), cfg.address_pool, cfg.path_pool);
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(1);
        let weights = |w: &[u32]| WeightedIndex::new(w).expect("constant weights are valid");
        Ok(Self {
            format: cfg.format,
            malformed_p: cfg.malformed_percent / 100.0,
            kinds: if cfg.format == Format::Json { JSON_KINDS } else { TEXT_KINDS },
            seconds_per_line: 1.0 / cfg.rate,
            clock: Clock::new(cfg.tz_offset_minutes),
            second: cfg.start_unix,
            fraction: 0.0,
            sampler: Sampler {
                rng,
                pools,
                methods: weights(&METHODS.map(|m| m.1)),
                protocols: weights(&PROTOCOLS.map(|p| p.1)),
                statuses: weights(&STATUSES.map(|s| s.1)),
                agents: USER_AGENTS.iter().map(|a| Text::new(a.as_bytes())).collect(),
                referer: Vec::new(),
                long_uri: Vec::new(),
            },
        })
    }

    /// Appends the next line, terminator included, to `buf`; says how it is
    /// malformed, if it is.
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> Option<MalformedKind> {
        self.clock.set(self.second);
        let kind = self.pick_kind();
        if kind == Some(MalformedKind::NotJson) {
            self.push_not_json(buf);
        } else {
            let req = self.sampler.draw(kind);
            let marks = render(self.format, buf, &req, &self.clock);
            if let Some(kind) = kind {
                damage(&mut self.sampler.rng, buf, &marks, kind);
            }
        }
        // Poisson arrivals: exponential gaps with mean 1/rate.
        let gap: f64 = self.sampler.rng.sample(Exp1);
        self.fraction += gap * self.seconds_per_line;
        if self.fraction >= 1.0 {
            let whole = self.fraction.floor();
            self.second += whole as i64;
            self.fraction -= whole;
        }
        kind
    }

    fn pick_kind(&mut self) -> Option<MalformedKind> {
        let rng = &mut self.sampler.rng;
        if self.malformed_p == 0.0 {
            return None;
        }
        if rng.gen_ratio(1, LONG_URL_ONE_IN) {
            return Some(MalformedKind::LongUrl);
        }
        rng.gen_bool(self.malformed_p).then(|| self.kinds[rng.gen_range(0..self.kinds.len())])
    }

    /// A line that is not JSON: a stray combined line or an error-log line.
    fn push_not_json(&mut self, buf: &mut Vec<u8>) {
        let rng = &mut self.sampler.rng;
        let (pid, conn) = (rng.gen_range(20..40_000u32), rng.gen_range(1..9_000_000u32));
        let choice = rng.gen_range(0..3);
        let time = self.clock.error_log_time();
        let req = self.sampler.draw(None);
        if choice == 0 {
            render(Format::Combined, buf, &req, &self.clock);
            return;
        }
        let uri = String::from_utf8_lossy(req.uri.bytes);
        let (addr, host) = (req.addr, req.host);
        let line = if choice == 1 {
            format!(
                "{time} [error] {pid}#{pid}: *{conn} open() \"/usr/share/nginx/html{uri}\" failed (2: No such file or directory), \
                 client: {addr}, server: {host}, request: \"GET {uri} HTTP/1.1\", host: \"{host}\"\n"
            )
        } else {
            format!(
                "{time} [warn] {pid}#{pid}: *{conn} an upstream response is buffered to a temporary file \
                 /var/cache/nginx/proxy_temp/{}/{:02}/{:010} while reading upstream, client: {addr}, server: {host}, \
                 request: \"GET {uri} HTTP/1.1\", upstream: \"http://127.0.0.1:8080{uri}\", host: \"{host}\"\n",
                conn % 10,
                conn % 100,
                conn
            )
        };
        buf.extend_from_slice(line.as_bytes());
    }
}

impl Sampler {
    /// Draws one request; `kind` shapes it for the kinds that need a
    /// different request rather than a damaged line.
    fn draw(&mut self, kind: Option<MalformedKind>) -> Request<'_> {
        let Self { rng, pools, methods, protocols, statuses, agents, referer, long_uri } = self;
        let addr = &pools.addresses[pools.address_rank.sample(rng)];
        let path: &PathEntry = &pools.paths[pools.path_rank.sample(rng)];
        let host = HOSTS[pools.host_rank.sample(rng)];
        let agent = agents[pools.agent_rank.sample(rng)];
        let user: &str = if rng.gen_bool(0.06) { &pools.users[pools.user_rank.sample(rng)] } else { "" };
        let mut referer_clean = true;
        let mut method = METHODS[methods.sample(rng)].0;
        if matches!(path.kind, PathKind::Asset | PathKind::Probe) && method != "HEAD" {
            method = "GET";
        }
        let protocol = PROTOCOLS[protocols.sample(rng)].0;
        let status = match (path.kind, method, STATUSES[statuses.sample(rng)].0) {
            (PathKind::Probe, ..) => [404, 404, 404, 404, 404, 404, 403, 301][rng.gen_range(0..8)],
            (PathKind::Asset, _, 200) if rng.gen_bool(0.3) => 304,
            (PathKind::Asset, _, status @ (304 | 404)) => status,
            (PathKind::Asset, ..) => 200,
            (_, "OPTIONS" | "DELETE", 200) => 204,
            (_, "POST", 200) if rng.gen_bool(0.3) => 201,
            (_, "POST" | "PUT" | "PATCH" | "DELETE", 304) => 200,
            (_, method, 201) if method != "POST" => 200,
            (_, method, 204) if !matches!(method, "OPTIONS" | "DELETE" | "PUT") => 200,
            (.., status) => status,
        };
        let body_bytes = match status {
            _ if method == "HEAD" => 0,
            204 | 304 => 0,
            200 | 201 if path.kind == PathKind::Asset => path.size,
            200 | 201 => log_normal(rng, path.size as f64, 0.25) as u64,
            301 => 169,
            302 => 145,
            401 => 179,
            403 => 153,
            404 if rng.gen_bool(0.6) => 153,
            500 => 177,
            502 => 157,
            503 => 197,
            _ => log_normal(rng, 2500.0, 0.6) as u64,
        };
        let mut latency = log_normal(rng, path.latency_ms, 0.9);
        if status == 304 {
            latency *= 0.2;
        } else if status == 502 {
            latency = log_normal(rng, 8000.0, 1.0).min(60_000.0);
        }
        referer.clear();
        match rng.gen_range(0..100) {
            0..40 => {}
            40..80 => {
                referer.extend_from_slice(b"https://");
                referer.extend_from_slice(host.as_bytes());
                let from = &pools.paths[pools.path_rank.sample(rng)];
                referer.extend_from_slice(&from.uri);
                referer_clean = from.clean;
            }
            80..95 => referer.extend_from_slice(SEARCH_REFERERS[rng.gen_range(0..SEARCH_REFERERS.len())].as_bytes()),
            _ => referer.extend_from_slice(OTHER_REFERERS[rng.gen_range(0..OTHER_REFERERS.len())].as_bytes()),
        }
        let mut request_id = [0u8; 16];
        rng.fill(&mut request_id);
        let mut req = Request {
            addr,
            user: Text::new(user.as_bytes()),
            method,
            uri: Text { bytes: &path.uri, clean: path.clean },
            protocol,
            garbage: None,
            status,
            body_bytes,
            referer: Text { bytes: referer, clean: referer_clean },
            agent,
            host,
            request_time_ms: latency.round() as u64,
            request_id,
        };
        match kind {
            Some(MalformedKind::TlsHandshake) => {
                req = Request {
                    user: Text::new(b""),
                    method: "",
                    uri: Text::new(b""),
                    protocol: "",
                    garbage: Some(GARBAGE_REQUESTS[rng.gen_range(0..GARBAGE_REQUESTS.len())]),
                    status: 400,
                    body_bytes: 0,
                    referer: Text::new(b""),
                    agent: Text::new(b""),
                    host: "",
                    request_time_ms: rng.gen_range(0..400),
                    ..req
                };
            }
            Some(MalformedKind::LongUrl) => {
                const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
                long_uri.clear();
                long_uri.extend_from_slice(&path.uri);
                long_uri.extend_from_slice(if path.uri.contains(&b'?') { b"&data=" } else { b"?data=" });
                while long_uri.len() < LONG_URL_BYTES {
                    long_uri.push(ALNUM[rng.gen_range(0..ALNUM.len())]);
                }
                req.uri = Text { bytes: long_uri, clean: path.clean };
            }
            _ => {}
        }
        req
    }
}

/// Appends `value` escaped, or `-` when it is empty.
fn push_or_dash(buf: &mut Vec<u8>, escape: Escape, value: Text<'_>) {
    if value.is_empty() {
        buf.push(b'-');
    } else {
        escape.push_text(buf, value);
    }
}

/// Appends `$request`; returns the position just after the URI.
fn push_request(buf: &mut Vec<u8>, escape: Escape, req: &Request<'_>) -> usize {
    if let Some(garbage) = req.garbage {
        escape.push(buf, garbage);
        return buf.len();
    }
    buf.extend_from_slice(req.method.as_bytes());
    buf.push(b' ');
    escape.push_text(buf, req.uri);
    let uri_end = buf.len();
    buf.push(b' ');
    buf.extend_from_slice(req.protocol.as_bytes());
    uri_end
}

/// Renders `req` at the end of `buf`, `\n` included.
fn render(format: Format, buf: &mut Vec<u8>, req: &Request<'_>, clock: &Clock) -> Marks {
    let start = buf.len();
    match format {
        Format::Combined | Format::Common => {
            let escape = if format == Format::Combined { Escape::Nginx } else { Escape::Apache };
            buf.extend_from_slice(req.addr.as_bytes());
            buf.extend_from_slice(b" - ");
            push_or_dash(buf, escape, req.user);
            buf.extend_from_slice(b" [");
            let month = buf.len() + LOCAL_MONTH_AT;
            buf.extend_from_slice(clock.local.as_bytes());
            buf.extend_from_slice(b"] \"");
            let uri_end = push_request(buf, escape, req);
            let request_end = buf.len();
            buf.extend_from_slice(b"\" ");
            push_u64(buf, u64::from(req.status));
            buf.push(b' ');
            let agent_end = if format == Format::Common {
                match req.body_bytes {
                    0 => buf.push(b'-'),
                    n => push_u64(buf, n),
                }
                request_end
            } else {
                push_u64(buf, req.body_bytes);
                buf.extend_from_slice(b" \"");
                push_or_dash(buf, escape, req.referer);
                buf.extend_from_slice(b"\" \"");
                push_or_dash(buf, escape, req.agent);
                let agent_end = buf.len();
                buf.push(b'"');
                agent_end
            };
            buf.push(b'\n');
            Marks { start, month, month_len: 3, in_quotes: [uri_end, agent_end] }
        }
        Format::Json => {
            let json = Escape::Json;
            buf.extend_from_slice(b"{\"time_iso8601\":\"");
            let month = buf.len() + ISO_MONTH_AT;
            buf.extend_from_slice(clock.iso.as_bytes());
            buf.extend_from_slice(b"\",\"remote_addr\":\"");
            buf.extend_from_slice(req.addr.as_bytes());
            buf.extend_from_slice(b"\",\"remote_user\":\"");
            json.push_text(buf, req.user);
            buf.extend_from_slice(b"\",\"request\":\"");
            push_request(buf, json, req);
            buf.extend_from_slice(b"\",\"request_method\":\"");
            buf.extend_from_slice(req.method.as_bytes());
            buf.extend_from_slice(b"\",\"request_uri\":\"");
            json.push_text(buf, req.uri);
            let uri_end = buf.len();
            buf.extend_from_slice(b"\",\"server_protocol\":\"");
            buf.extend_from_slice(req.protocol.as_bytes());
            buf.extend_from_slice(b"\",\"status\":\"");
            push_u64(buf, u64::from(req.status));
            buf.extend_from_slice(b"\",\"body_bytes_sent\":\"");
            push_u64(buf, req.body_bytes);
            buf.extend_from_slice(b"\",\"request_time\":\"");
            push_u64(buf, req.request_time_ms / 1000);
            let millis = req.request_time_ms % 1000;
            buf.extend_from_slice(&[
                b'.',
                b'0' + (millis / 100) as u8,
                b'0' + (millis / 10 % 10) as u8,
                b'0' + (millis % 10) as u8,
            ]);
            buf.extend_from_slice(b"\",\"http_referer\":\"");
            json.push_text(buf, req.referer);
            buf.extend_from_slice(b"\",\"http_user_agent\":\"");
            json.push_text(buf, req.agent);
            let agent_end = buf.len();
            buf.extend_from_slice(b"\",\"request_id\":\"");
            push_hex(buf, &req.request_id);
            buf.extend_from_slice(b"\",\"host\":\"");
            buf.extend_from_slice(req.host.as_bytes());
            buf.extend_from_slice(b"\"}\n");
            Marks { start, month, month_len: 2, in_quotes: [uri_end, agent_end] }
        }
    }
}

/// Damages the rendered line that ends `buf` the way `kind` says.
fn damage(rng: &mut ChaCha8Rng, buf: &mut Vec<u8>, marks: &Marks, kind: MalformedKind) {
    let inside = marks.in_quotes[rng.gen_range(0..2)];
    match kind {
        MalformedKind::Truncated => {
            let body = buf.len() - 1 - marks.start;
            buf.truncate(marks.start + rng.gen_range(1..body));
            buf.push(b'\n');
        }
        MalformedKind::BadMonth => {
            let bad: &[&[u8]] = if marks.month_len == 3 { &BAD_MONTHS } else { &BAD_ISO_MONTHS };
            buf[marks.month..marks.month + marks.month_len].copy_from_slice(bad[rng.gen_range(0..bad.len())]);
        }
        MalformedKind::InvalidUtf8 => {
            let bytes = INVALID_UTF8[rng.gen_range(0..INVALID_UTF8.len())];
            buf.splice(inside..inside, bytes.iter().copied());
        }
        MalformedKind::NulByte => buf.insert(inside, 0),
        MalformedKind::Crlf => {
            buf.pop();
            buf.extend_from_slice(b"\r\n");
        }
        // Drawn as a different request, not damaged afterwards.
        MalformedKind::TlsHandshake | MalformedKind::LongUrl | MalformedKind::NotJson => {}
    }
}
