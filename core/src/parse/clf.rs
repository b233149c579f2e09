//! The nginx/Apache "combined" and Apache "common" (NCSA) line parser.
//!
//! ```text
//! common:   %h %l %u %t "%r" %>s %b
//! combined: %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"
//! nginx:    $remote_addr - $remote_user [$time_local] "$request" $status
//!           $body_bytes_sent "$http_referer" "$http_user_agent"
//! ```
//!
//! Byte-level, one pass, `memchr` for the scans; the only allocations are
//! the owned strings of [`ParsedFields`]. The rules, mirrored exactly by
//! [`crate::render`]:
//!
//! - Fields are separated by exactly one space. The client address is an
//!   IPv4 or IPv6 address (`::ffff:1.2.3.4` stays IPv6). The ident (`%l`)
//!   is read and dropped. The user runs up to the first ` [` and is `None`
//!   when it is `-`. The time is the CLF form between `[` and `]`.
//! - The request is split on single spaces into exactly three parts
//!   (method, target, protocol); any other request (`-`, TLS handshake
//!   bytes, a target with a space) is not an error: the three fields are
//!   `None` and the line keeps its raw bytes.
//! - Status is exactly three digits; the byte count is digits or `-`
//!   (`None`). Referer and user agent are `None` when they are `-`.
//! - Quoted fields (and the user) may hold escapes: nginx's `\xNN` (either
//!   hex case is read), Apache's `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\v`.
//!   They are decoded; if the decoded bytes are not UTF-8 the field keeps
//!   its undecoded text. An unknown escape keeps its backslash.
//! - A line that ends before the last field, or a quote that never closes,
//!   is [`ParseErrorKind::Truncated`].
//! - Anything after the last field (nginx "main"'s
//!   `"$http_x_forwarded_for"`, Apache's `%D`, a trailing space) is
//!   accepted and ignored; the renderer then does not reproduce the line,
//!   so it keeps its raw bytes.

use std::net::IpAddr;

use memchr::{memchr, memchr2};

use super::{ParseError, ParseErrorKind, quote, split_request, url_path};
use crate::record::ParsedFields;
use crate::timefmt::parse_clf_time;

/// Which of the two layouts to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Apache common: ends after the byte count.
    Common,
    /// Combined: common plus quoted referer and user agent.
    Combined,
}

/// A position in the line being parsed.
struct Cursor<'a> {
    line: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.line.as_bytes()
    }

    /// Consumes `byte`, which must be next.
    fn expect(&mut self, byte: u8, context: std::fmt::Arguments<'_>) -> Result<(), ParseError> {
        match self.bytes().get(self.pos) {
            Some(&b) if b == byte => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(ParseError::new(
                ParseErrorKind::Syntax,
                format!("expected {:?} {context} at byte {}", char::from(byte), self.pos),
            )),
            None => Err(truncated(format!("line ends {context} at byte {}", self.pos))),
        }
    }

    /// The text up to the next space, which must exist (more fields
    /// follow); the space is not consumed. Returns the text and its offset.
    fn until_space(&mut self, field: &str) -> Result<(&'a str, usize), ParseError> {
        let start = self.pos;
        let n = memchr(b' ', &self.bytes()[start..])
            .ok_or_else(|| truncated(format!("line ends in {field} field at byte {}", self.bytes().len())))?;
        self.pos = start + n;
        Ok((&self.line[start..start + n], start))
    }

    /// The text up to the next space or the end of the line.
    fn until_space_or_end(&mut self) -> (&'a str, usize) {
        let start = self.pos;
        let rest = &self.bytes()[start..];
        self.pos = start + memchr(b' ', rest).unwrap_or(rest.len());
        (&self.line[start..self.pos], start)
    }

    /// A `"`-quoted field: returns its inner text (still escaped) and
    /// whether it holds a backslash. A backslash escapes the next byte, so
    /// `\"` does not close the field.
    fn quoted(&mut self, field: &str) -> Result<(&'a str, bool), ParseError> {
        let open = self.pos;
        self.expect(b'"', format_args!("before {field}"))?;
        let b = self.bytes();
        let mut at = self.pos;
        let mut escaped = false;
        loop {
            let Some(n) = b.get(at..).and_then(|rest| memchr2(b'"', b'\\', rest)) else {
                return Err(truncated(format!("quoted {field} opened at byte {open} never closes")));
            };
            let k = at + n;
            if b[k] == b'"' {
                let text = &self.line[self.pos..k];
                self.pos = k + 1;
                return Ok((text, escaped));
            }
            escaped = true;
            at = k + 2;
        }
    }
}

fn truncated(message: String) -> ParseError {
    ParseError::new(ParseErrorKind::Truncated, message)
}

/// Parses a combined or common line (already UTF-8, without `\r`).
pub(crate) fn parse(line: &str, layout: Layout) -> Result<ParsedFields, ParseError> {
    let b = line.as_bytes();
    let mut cur = Cursor { line, pos: 0 };

    let (addr, at) = cur.until_space("client address")?;
    let client_ip = addr.parse::<IpAddr>().map_err(|_| {
        ParseError::new(ParseErrorKind::BadAddress, format!("bad client address {} at byte {at}", quote(addr)))
    })?;
    cur.expect(b' ', format_args!("after client address"))?;
    cur.until_space("ident")?;
    cur.expect(b' ', format_args!("after ident"))?;

    let user_start = cur.pos;
    let user_end = find_time_open(b, user_start)
        .ok_or_else(|| truncated(format!("line ends before time field (user field at byte {user_start})")))?;
    let user = &line[user_start..user_end];
    let time_start = user_end + 2;
    let time_end = memchr(b']', &b[time_start..])
        .map(|n| time_start + n)
        .ok_or_else(|| truncated(format!("time field opened at byte {} never closes", user_end + 1)))?;
    let time = parse_clf_time(&b[time_start..time_end])?;
    cur.pos = time_end + 1;
    cur.expect(b' ', format_args!("after time field"))?;

    let (request, request_escaped) = cur.quoted("request")?;
    cur.expect(b' ', format_args!("after request"))?;

    let (status_text, at) = cur.until_space("status")?;
    let status = parse_status(status_text, at)?;
    cur.expect(b' ', format_args!("after status"))?;

    let (bytes_text, at) = cur.until_space_or_end();
    if bytes_text.is_empty() && at < b.len() {
        return Err(ParseError::new(ParseErrorKind::Syntax, format!("empty byte count at byte {at}")));
    }
    let bytes_sent = parse_bytes(bytes_text, at)?;

    let quoted_tail = match layout {
        Layout::Common => None,
        Layout::Combined => {
            cur.expect(b' ', format_args!("after byte count"))?;
            let referer = cur.quoted("referer")?;
            cur.expect(b' ', format_args!("after referer"))?;
            Some((referer, cur.quoted("user agent")?))
        }
    };
    // Whatever follows the last field is ignored (see the module docs).

    let (method, url, url_path, protocol) = request_fields(request, request_escaped);
    let user_id = dash_or_text(user, memchr(b'\\', user.as_bytes()).is_some());
    let (referer, user_agent) = match quoted_tail {
        None => (None, None),
        Some(((referer, r_esc), (agent, a_esc))) => (dash_or_text(referer, r_esc), dash_or_text(agent, a_esc)),
    };
    Ok(ParsedFields {
        time: Some(time),
        client_ip: Some(client_ip),
        method,
        url,
        url_path,
        protocol,
        status: Some(status),
        bytes_sent,
        referer,
        user_agent,
        user_id,
        ..ParsedFields::default()
    })
}

/// The position of the space in the first ` [` at or after `from`: where
/// the user field ends and the time field begins.
fn find_time_open(b: &[u8], from: usize) -> Option<usize> {
    let mut at = from + 1;
    loop {
        let k = at + memchr(b'[', b.get(at..)?)?;
        if b[k - 1] == b' ' {
            return Some(k - 1);
        }
        at = k + 1;
    }
}

fn parse_status(text: &str, at: usize) -> Result<u16, ParseError> {
    match text.as_bytes() {
        &[a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Ok(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => Err(ParseError::new(ParseErrorKind::BadStatus, format!("bad status {} at byte {at}", quote(text)))),
    }
}

fn parse_bytes(text: &str, at: usize) -> Result<Option<u64>, ParseError> {
    if text == "-" {
        return Ok(None);
    }
    if text.is_empty() {
        return Err(truncated(format!("line ends before byte count at byte {at}")));
    }
    let bad = || ParseError::new(ParseErrorKind::BadNumber, format!("bad byte count {} at byte {at}", quote(text)));
    text.bytes()
        .try_fold(
            0u64,
            |acc, b| {
                if b.is_ascii_digit() { acc.checked_mul(10)?.checked_add(u64::from(b - b'0')) } else { None }
            },
        )
        .map(Some)
        .ok_or_else(bad)
}

/// Method, url, url_path and protocol from the request field's text.
fn request_fields(text: &str, escaped: bool) -> (Option<String>, Option<String>, Option<String>, Option<String>) {
    let decoded;
    let text = if escaped {
        decoded = decode(text);
        decoded.as_str()
    } else {
        text
    };
    match split_request(text) {
        Some((method, url, protocol)) => {
            (Some(method.to_owned()), Some(url.to_owned()), Some(url_path(url).to_owned()), Some(protocol.to_owned()))
        }
        None => (None, None, None, None),
    }
}

/// `None` for `-`, else the field's decoded text.
fn dash_or_text(text: &str, escaped: bool) -> Option<String> {
    match text {
        "-" => None,
        _ if escaped => Some(decode(text)),
        _ => Some(text.to_owned()),
    }
}

/// Decodes nginx `\xNN` and Apache `\"`, `\\`, `\n`, `\r`, `\t`, `\b`,
/// `\v` escapes. Unknown or incomplete escapes keep their backslash. If the
/// result is not UTF-8, returns `text` unchanged.
pub(crate) fn decode(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(n) = memchr(b'\\', &b[i..]) {
        let k = i + n;
        out.extend_from_slice(&b[i..k]);
        let (byte, len) = match b.get(k + 1..) {
            Some([b'x', h, l, ..]) => match (hex_value(*h), hex_value(*l)) {
                (Some(h), Some(l)) => (h << 4 | l, 4),
                _ => (b'\\', 1),
            },
            Some([b'"', ..]) => (b'"', 2),
            Some([b'\\', ..]) => (b'\\', 2),
            Some([b'n', ..]) => (b'\n', 2),
            Some([b'r', ..]) => (b'\r', 2),
            Some([b't', ..]) => (b'\t', 2),
            Some([b'b', ..]) => (0x08, 2),
            Some([b'v', ..]) => (0x0b, 2),
            _ => (b'\\', 1),
        };
        out.push(byte);
        i = k + len;
    }
    out.extend_from_slice(&b[i..]);
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_escapes() {
        assert_eq!(decode(r"a\x22b\x5Cc"), "a\"b\\c");
        assert_eq!(decode(r"\xC3\xBC\xc3\xbc"), "üü");
        assert_eq!(decode(r#"\"\\\n\r\t\b\v"#), "\"\\\n\r\t\u{8}\u{b}");
        assert_eq!(decode(r"\q \x4 \xZZ \"), r"\q \x4 \xZZ \");
        assert_eq!(decode(r"\x00"), "\0");
        // Not UTF-8 once decoded: the text stays as it was.
        assert_eq!(decode(r"caf\xE9 \x22"), r"caf\xE9 \x22");
        assert_eq!(decode(r"\é"), r"\é");
    }

    #[test]
    fn user_field_ends_at_the_first_space_bracket() {
        assert_eq!(find_time_open(b"- [x", 0), Some(1));
        assert_eq!(find_time_open(b" [x", 0), Some(0));
        assert_eq!(find_time_open(b"[a [x", 0), Some(2));
        assert_eq!(find_time_open(b"a[b [x", 0), Some(3));
        assert_eq!(find_time_open(b"abc", 0), None);
        assert_eq!(find_time_open(b"", 0), None);
        assert_eq!(find_time_open(b"x", 1), None);
    }

    #[test]
    fn status_and_bytes() {
        assert_eq!(parse_status("200", 0), Ok(200));
        assert_eq!(parse_status("000", 0), Ok(0));
        for bad in ["20", "2000", "abc", "", "+20", "２00"] {
            assert_eq!(parse_status(bad, 0).map_err(|e| e.kind()), Err(ParseErrorKind::BadStatus), "{bad}");
        }
        assert_eq!(parse_bytes("-", 0), Ok(None));
        assert_eq!(parse_bytes("0", 0), Ok(Some(0)));
        assert_eq!(parse_bytes("18446744073709551615", 0), Ok(Some(u64::MAX)));
        for bad in ["18446744073709551616", "1x", "+1", "--"] {
            assert_eq!(parse_bytes(bad, 0).map_err(|e| e.kind()), Err(ParseErrorKind::BadNumber), "{bad}");
        }
        assert_eq!(parse_bytes("", 0).map_err(|e| e.kind()), Err(ParseErrorKind::Truncated));
    }
}
