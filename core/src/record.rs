//! The record model: one access-log line as it is sealed.
//!
//! A [`Record`] holds the parsed fields of a line *and* its original bytes
//! (`raw`). Both are committed to (see [`crate::canonical`]); storage may
//! drop `raw` where the renderer reproduces it from the parsed fields.

use std::net::IpAddr;

/// Microseconds since the Unix epoch, UTC.
pub type Micros = i64;

/// How a line was interpreted: which parser produced the fields and which
/// renderer reproduces `raw` from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineFormat {
    /// nginx/Apache "combined": common plus quoted referer and user agent.
    Combined,
    /// Apache "common" (NCSA) format.
    Common,
    /// One JSON object per line (nginx `escape=json` field names by default).
    Json,
}

impl LineFormat {
    /// Every format, in code order.
    pub const ALL: [LineFormat; 3] = [LineFormat::Combined, LineFormat::Common, LineFormat::Json];

    /// The stable one-byte code used in the canonical encoding.
    pub fn code(self) -> u8 {
        match self {
            LineFormat::Combined => 1,
            LineFormat::Common => 2,
            LineFormat::Json => 3,
        }
    }

    /// The inverse of [`LineFormat::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The stable name used in files, manifests and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            LineFormat::Combined => "combined",
            LineFormat::Common => "common",
            LineFormat::Json => "json",
        }
    }

    /// The inverse of [`LineFormat::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The event time of a line: an instant plus the UTC offset it was written
/// with (needed to render `[10/Oct/2000:13:55:36 -0700]` back exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventTime {
    /// The instant, in microseconds since the epoch (UTC).
    pub utc_micros: Micros,
    /// The offset from UTC the line was written in, in seconds east of UTC.
    pub offset_secs: i32,
}

/// One access-log record.
///
/// Fields that the line did not carry (or carried as `-`) are `None`.
/// A line that did not parse has `parse_error` set and every parsed field
/// `None`; it is kept, never dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Position in the stream, from 0, contiguous.
    pub seq: u64,
    /// When the sealing side received the line (its own clock).
    pub received_at: Micros,
    /// Who sent the line: the mTLS identity, or `file:<path>` for imports.
    /// Never taken from the payload.
    pub source: String,
    /// The format the line was parsed as; `None` only for a record built
    /// by hand without a format.
    pub format: Option<LineFormat>,
    /// Event time from the line.
    pub time: Option<EventTime>,
    /// The client address (`$remote_addr` / `%h`).
    pub client_ip: Option<IpAddr>,
    /// HTTP method.
    pub method: Option<String>,
    /// The request target as sent, query string included.
    pub url: Option<String>,
    /// The request target up to (not including) the first `?`.
    pub url_path: Option<String>,
    /// The protocol of the request line, e.g. `HTTP/1.1`.
    pub protocol: Option<String>,
    /// The response status code.
    pub status: Option<u16>,
    /// Response bytes sent (`$body_bytes_sent` / `%b`).
    pub bytes_sent: Option<u64>,
    /// Request duration in microseconds (`$request_time`).
    pub duration_us: Option<u64>,
    /// The `Referer` header.
    pub referer: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The authenticated user (`$remote_user` / `%u`).
    pub user_id: Option<String>,
    /// A request id (`$request_id`).
    pub request_id: Option<String>,
    /// The virtual host requested (the tenant in a multi-tenant service).
    pub host: Option<String>,
    /// The original bytes of the line (without its line terminator).
    pub raw: Vec<u8>,
    /// Why the line did not parse, if it did not.
    pub parse_error: Option<String>,
}

/// The fields a parser extracts from one line; the stream-level fields
/// (`seq`, `received_at`, `source`, `raw`) are filled in by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedFields {
    /// See [`Record::time`].
    pub time: Option<EventTime>,
    /// See [`Record::client_ip`].
    pub client_ip: Option<IpAddr>,
    /// See [`Record::method`].
    pub method: Option<String>,
    /// See [`Record::url`].
    pub url: Option<String>,
    /// See [`Record::url_path`].
    pub url_path: Option<String>,
    /// See [`Record::protocol`].
    pub protocol: Option<String>,
    /// See [`Record::status`].
    pub status: Option<u16>,
    /// See [`Record::bytes_sent`].
    pub bytes_sent: Option<u64>,
    /// See [`Record::duration_us`].
    pub duration_us: Option<u64>,
    /// See [`Record::referer`].
    pub referer: Option<String>,
    /// See [`Record::user_agent`].
    pub user_agent: Option<String>,
    /// See [`Record::user_id`].
    pub user_id: Option<String>,
    /// See [`Record::request_id`].
    pub request_id: Option<String>,
    /// See [`Record::host`].
    pub host: Option<String>,
}

impl Record {
    /// Builds a record from a line and what its parser made of it.
    pub fn from_parse(
        seq: u64,
        received_at: Micros,
        source: &str,
        format: LineFormat,
        raw: Vec<u8>,
        parsed: Result<ParsedFields, String>,
    ) -> Record {
        let (fields, parse_error) = match parsed {
            Ok(fields) => (fields, None),
            Err(error) => (ParsedFields::default(), Some(error)),
        };
        Record {
            seq,
            received_at,
            source: source.to_owned(),
            format: Some(format),
            time: fields.time,
            client_ip: fields.client_ip,
            method: fields.method,
            url: fields.url,
            url_path: fields.url_path,
            protocol: fields.protocol,
            status: fields.status,
            bytes_sent: fields.bytes_sent,
            duration_us: fields.duration_us,
            referer: fields.referer,
            user_agent: fields.user_agent,
            user_id: fields.user_id,
            request_id: fields.request_id,
            host: fields.host,
            raw,
            parse_error,
        }
    }
}
