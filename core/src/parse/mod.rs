//! The access-log line parsers: bytes of one line in, [`ParsedFields`] or a
//! [`ParseError`] out. Pure functions, shared by `import`, the agent and
//! `verify --deep`.
//!
//! Owns the rules every format shares:
//!
//! - The line comes without its `\n`. One trailing `\r` (CRLF files) is
//!   ignored; the record keeps it in `raw`, so such lines are never
//!   reproduced by the renderer and keep their raw bytes.
//! - The line must be valid UTF-8, or the error is
//!   [`ParseErrorKind::InvalidUtf8`] naming the byte offset (the caller
//!   keeps the line raw). NUL bytes are valid UTF-8 and are ordinary data.
//! - No length limit and no fixed buffers: a 70 KB URL parses like any
//!   other.
//!
//! The formats themselves are in `clf` (nginx/Apache combined and Apache
//! common, with an exact renderer in [`crate::render`]) and `json` (JSON
//! lines, never re-rendered).

use crate::record::{LineFormat, ParsedFields};

mod clf;
mod json;

pub use json::JsonMapping;

/// What kind of problem a line has; the stable name ([`Self::as_str`]) is
/// what import summaries count ("parse errors by kind").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line ends before its last field: cut short, or a quoted field
    /// that never closes.
    Truncated,
    /// A separator or quote is missing where the format needs one.
    Syntax,
    /// The client address is not an IPv4 or IPv6 address.
    BadAddress,
    /// The time field does not parse or is out of range.
    BadTime,
    /// The status is not a three-digit code (CLF) or a small integer (JSON).
    BadStatus,
    /// A byte count or duration is not a number, or too large.
    BadNumber,
    /// A JSON line is not valid JSON, not an object, or holds a field of
    /// an unusable JSON type.
    BadJson,
    /// A JSON object holds none of the mapped fields.
    MissingField,
    /// The line is longer than a caller's limit. The parsers here have no
    /// limit; this kind exists so that callers that cap line length report
    /// it with the others.
    TooLong,
}

impl ParseErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ParseErrorKind; 10] = [
        ParseErrorKind::InvalidUtf8,
        ParseErrorKind::Truncated,
        ParseErrorKind::Syntax,
        ParseErrorKind::BadAddress,
        ParseErrorKind::BadTime,
        ParseErrorKind::BadStatus,
        ParseErrorKind::BadNumber,
        ParseErrorKind::BadJson,
        ParseErrorKind::MissingField,
        ParseErrorKind::TooLong,
    ];

    /// The stable snake_case name of the kind, e.g. `bad_time`.
    pub fn as_str(self) -> &'static str {
        match self {
            ParseErrorKind::InvalidUtf8 => "invalid_utf8",
            ParseErrorKind::Truncated => "truncated",
            ParseErrorKind::Syntax => "syntax",
            ParseErrorKind::BadAddress => "bad_address",
            ParseErrorKind::BadTime => "bad_time",
            ParseErrorKind::BadStatus => "bad_status",
            ParseErrorKind::BadNumber => "bad_number",
            ParseErrorKind::BadJson => "bad_json",
            ParseErrorKind::MissingField => "missing_field",
            ParseErrorKind::TooLong => "too_long",
        }
    }
}

impl std::fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a line did not parse. `Display` is the message alone: lowercase,
/// concise, naming the field or byte offset, e.g.
/// `bad month name "Foo" in time field`. It is what a record's
/// `parse_error` holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    kind: ParseErrorKind,
    message: String,
}

impl ParseError {
    /// A new error.
    pub fn new(kind: ParseErrorKind, message: impl Into<String>) -> ParseError {
        ParseError { kind, message: message.into() }
    }

    /// The kind of problem.
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }

    /// The message (the same text as `Display`).
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Parses one line (without its `\n`) in `format`. `json` is used only for
/// [`LineFormat::Json`].
///
/// # Errors
///
/// A [`ParseError`] saying why the line is not a `format` line. The caller
/// keeps such lines with their raw bytes and the error's message.
pub fn parse_line(format: LineFormat, line: &[u8], json: &JsonMapping) -> Result<ParsedFields, ParseError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|e| {
        ParseError::new(ParseErrorKind::InvalidUtf8, format!("invalid utf-8 at byte {}", e.valid_up_to()))
    })?;
    match format {
        LineFormat::Combined => clf::parse(text, clf::Layout::Combined),
        LineFormat::Common => clf::parse(text, clf::Layout::Common),
        LineFormat::Json => json::parse(text, json),
    }
}

/// `text` quoted for an error message (Rust string escapes), cut after 40
/// bytes so that a 70 KB field does not make a 70 KB message.
pub(crate) fn quote(text: &str) -> String {
    const MAX: usize = 40;
    if text.len() <= MAX {
        return format!("{text:?}");
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}...", &text[..end])
}

/// [`quote`] for bytes that may not be UTF-8.
pub(crate) fn quote_bytes(bytes: &[u8]) -> String {
    quote(&String::from_utf8_lossy(bytes))
}

/// The request target up to (not including) the first `?`.
pub fn url_path(url: &str) -> &str {
    memchr::memchr(b'?', url.as_bytes()).map_or(url, |i| &url[..i])
}

/// Splits a request line into method, target and protocol: exactly two
/// single spaces. Anything else (`-`, an HTTP/0.9 `GET /`, a target with a
/// space, TLS handshake bytes) is `None`.
pub(crate) fn split_request(request: &str) -> Option<(&str, &str, &str)> {
    let b = request.as_bytes();
    let first = memchr::memchr(b' ', b)?;
    let second = first + 1 + memchr::memchr(b' ', &b[first + 1..])?;
    if memchr::memchr(b' ', &b[second + 1..]).is_some() {
        return None;
    }
    Some((&request[..first], &request[first + 1..second], &request[second + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_distinct_stable_names() {
        let names: std::collections::BTreeSet<_> = ParseErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ParseErrorKind::ALL.len());
        assert_eq!(ParseErrorKind::BadTime.to_string(), "bad_time");
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        for format in LineFormat::ALL {
            let err = parse_line(format, b"1.2.3.4 \xff", &JsonMapping::default()).expect_err("invalid");
            assert_eq!(err.kind(), ParseErrorKind::InvalidUtf8);
            assert_eq!(err.to_string(), "invalid utf-8 at byte 8");
        }
    }

    #[test]
    fn quote_cuts_long_text_on_a_char_boundary() {
        assert_eq!(quote("abc"), "\"abc\"");
        let long = "é".repeat(100);
        let q = quote(&long);
        assert!(q.len() < 50 && q.ends_with("..."), "{q}");
    }

    #[test]
    fn request_split() {
        assert_eq!(split_request("GET /x HTTP/1.1"), Some(("GET", "/x", "HTTP/1.1")));
        assert_eq!(split_request("GET  HTTP/1.1"), Some(("GET", "", "HTTP/1.1")));
        assert_eq!(split_request("  "), Some(("", "", "")));
        assert_eq!(split_request("-"), None);
        assert_eq!(split_request("GET /"), None);
        assert_eq!(split_request("GET /a b HTTP/1.1"), None);
        assert_eq!(split_request("GET /x HTTP/1.1 "), None);
        assert_eq!(url_path("/a/b?c=d?e"), "/a/b");
        assert_eq!(url_path("/a"), "/a");
    }
}
