//! The exact renderers: a record's parsed fields back to the line its
//! parser would have accepted, so that storage can drop `raw` wherever the
//! rendering reproduces it (DESIGN §3 "Raw bytes"), and readers and
//! `verify --deep` render it back.
//!
//! Only combined and common lines are rendered, in nginx's style: `-` for
//! a missing value, ident always `-`, the request as `METHOD URL PROTOCOL`
//! (or `-` when all three are missing), the CLF time, and in the user and
//! quoted fields `"`, `\`, bytes below 0x20 and bytes from 0x7f up written
//! as `\xNN` with uppercase hex. JSON lines are never rendered (see the
//! JSON parser for why), nor are lines with a parse error.
//!
//! The contract, tested by property tests: whenever a renderer returns a
//! line, parsing that line gives back exactly the fields rendered.
//! Fields no line can carry make the renderer return nothing (`None` /
//! `false`), and the record keeps its raw bytes:
//!
//! - a field the format has no place for (duration, request id, host;
//!   referer and user agent in common);
//! - a missing client address, time or status;
//! - a time with sub-second precision, an offset that is not whole
//!   minutes within ±23:59, or a local year outside 0000–9999;
//! - some but not all of method, url and protocol; any of them containing
//!   a space; a `url_path` that is not `url` up to its first `?`;
//! - a status above 999;
//! - a user, referer or user agent that is exactly `-` (a line says `-`
//!   for "none"), or a user containing ` [` (where the time field starts).
//!
//! Lines the parser accepts but the renderer does not reproduce (Apache's
//! `\"` escapes, raw UTF-8, a non-`-` ident, extra trailing fields, a
//! leading-zero byte count, a `-0000` offset, a leap second, a CRLF
//! ending, an undecodable escape) parse to fields that render to a
//! different line: storage compares and keeps `raw`.

use std::io::Write;
use std::net::IpAddr;

use crate::parse::url_path;
use crate::record::{EventTime, LineFormat, ParsedFields, Record};
use crate::timefmt::{clf_time_representable, push_padded, write_clf_time};

/// Renders a record's line, or `None` if the record is JSON, has a parse
/// error or no format, or holds fields no line can carry (module docs).
pub fn render_line(record: &Record) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    render_into(record, &mut out).then_some(out)
}

/// Puts back the `raw` bytes of a record read from storage: when the file
/// did not store them (`raw_stored` false), they are rendered from the
/// fields. Returns `false` if they were not stored and cannot be rendered
/// (a damaged or forged file).
pub fn restore_raw(record: &mut Record, raw_stored: bool) -> bool {
    if raw_stored {
        return true;
    }
    let mut raw = std::mem::take(&mut record.raw);
    raw.clear();
    let ok = render_into(record, &mut raw);
    record.raw = raw;
    ok
}

/// Appends a record's line to `out` and returns `true`, or returns `false`
/// with `out` unchanged where [`render_line`] gives `None`. For callers
/// that render millions of lines into one buffer.
pub fn render_into(record: &Record, out: &mut Vec<u8>) -> bool {
    if record.parse_error.is_some() {
        return false;
    }
    let Some(format) = record.format else {
        return false;
    };
    let fields = Fields {
        time: record.time,
        client_ip: record.client_ip,
        method: record.method.as_deref(),
        url: record.url.as_deref(),
        url_path: record.url_path.as_deref(),
        protocol: record.protocol.as_deref(),
        status: record.status,
        bytes_sent: record.bytes_sent,
        unrenderable: record.duration_us.is_some() || record.request_id.is_some() || record.host.is_some(),
        referer: record.referer.as_deref(),
        user_agent: record.user_agent.as_deref(),
        user_id: record.user_id.as_deref(),
    };
    render_checked(format, &fields, out)
}

/// Renders parsed fields as a `format` line; `None` as for
/// [`render_line`].
pub fn render_fields(format: LineFormat, fields: &ParsedFields) -> Option<Vec<u8>> {
    let view = Fields {
        time: fields.time,
        client_ip: fields.client_ip,
        method: fields.method.as_deref(),
        url: fields.url.as_deref(),
        url_path: fields.url_path.as_deref(),
        protocol: fields.protocol.as_deref(),
        status: fields.status,
        bytes_sent: fields.bytes_sent,
        unrenderable: fields.duration_us.is_some() || fields.request_id.is_some() || fields.host.is_some(),
        referer: fields.referer.as_deref(),
        user_agent: fields.user_agent.as_deref(),
        user_id: fields.user_id.as_deref(),
    };
    let mut out = Vec::with_capacity(256);
    render_checked(format, &view, &mut out).then_some(out)
}

/// Whether rendering `record` reproduces its `raw` bytes exactly, i.e.
/// whether storage may drop `raw`. `scratch` is a reusable buffer.
pub fn reproduces_raw(record: &Record, scratch: &mut Vec<u8>) -> bool {
    scratch.clear();
    render_into(record, scratch) && *scratch == record.raw
}

/// The fields a line is rendered from, borrowed from a record or from
/// parsed fields (one implementation for both).
struct Fields<'a> {
    time: Option<EventTime>,
    client_ip: Option<IpAddr>,
    method: Option<&'a str>,
    url: Option<&'a str>,
    url_path: Option<&'a str>,
    protocol: Option<&'a str>,
    status: Option<u16>,
    bytes_sent: Option<u64>,
    /// Set if a field no combined/common line carries is present.
    unrenderable: bool,
    referer: Option<&'a str>,
    user_agent: Option<&'a str>,
    user_id: Option<&'a str>,
}

/// Renders into `out`, leaving it as it was on failure.
fn render_checked(format: LineFormat, fields: &Fields<'_>, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let combined = match format {
        LineFormat::Combined => true,
        LineFormat::Common => false,
        LineFormat::Json => return false,
    };
    if render_clf(combined, fields, out).is_some() {
        true
    } else {
        out.truncate(start);
        false
    }
}

/// Writes a combined or common line; `None` (with `out` partly written)
/// if the fields have no such line.
fn render_clf(combined: bool, f: &Fields<'_>, out: &mut Vec<u8>) -> Option<()> {
    if f.unrenderable || (!combined && (f.referer.is_some() || f.user_agent.is_some())) {
        return None;
    }
    let time = f.time.filter(|&t| clf_time_representable(t))?;
    let status = f.status.filter(|&s| s <= 999)?;

    match f.client_ip? {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            for (i, octet) in [a, b, c, d].into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_padded(out, u64::from(octet), 1);
            }
        }
        ip @ IpAddr::V6(_) => write!(out, "{ip}").ok()?,
    }
    out.extend_from_slice(b" - ");
    match f.user_id {
        None => out.push(b'-'),
        Some("-") => return None,
        Some(user) if user.contains(" [") => return None,
        Some(user) => push_escaped(out, user),
    }
    out.extend_from_slice(b" [");
    write_clf_time(time, out);
    out.extend_from_slice(b"] \"");
    match (f.method, f.url, f.protocol) {
        (None, None, None) if f.url_path.is_none() => out.push(b'-'),
        (Some(method), Some(url), Some(protocol)) => {
            if f.url_path != Some(url_path(url)) || [method, url, protocol].iter().any(|p| p.contains(' ')) {
                return None;
            }
            push_escaped(out, method);
            out.push(b' ');
            push_escaped(out, url);
            out.push(b' ');
            push_escaped(out, protocol);
        }
        _ => return None,
    }
    out.extend_from_slice(b"\" ");
    push_padded(out, u64::from(status), 3);
    out.push(b' ');
    match f.bytes_sent {
        None => out.push(b'-'),
        Some(n) => push_padded(out, n, 1),
    }
    if combined {
        for field in [f.referer, f.user_agent] {
            out.extend_from_slice(b" \"");
            match field {
                None => out.push(b'-'),
                Some("-") => return None,
                Some(text) => push_escaped(out, text),
            }
            out.push(b'"');
        }
    }
    Some(())
}

/// Which bytes nginx writes as `\xNN` in a logged variable: `"`, `\`,
/// bytes below 0x20 and from 0x7f up.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b == b'"' as usize || b == b'\\' as usize || b < 0x20 || b >= 0x7f;
        b += 1;
    }
    table
};

/// Appends `text` with nginx's escaping.
fn push_escaped(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut rest = text.as_bytes();
    while let Some(i) = rest.iter().position(|&c| ESCAPED[usize::from(c)]) {
        let c = rest[i];
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(&[b'\\', b'x', HEX[usize::from(c >> 4)], HEX[usize::from(c & 0xf)]]);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_nginx() {
        let mut out = Vec::new();
        push_escaped(&mut out, "a\"b\\c\u{0}\u{1f} ~\u{7f}é");
        assert_eq!(out, br#"a\x22b\x5Cc\x00\x1F ~\x7F\xC3\xA9"#);
    }

    #[test]
    fn json_and_failed_records_do_not_render() {
        let fields = ParsedFields { status: Some(200), ..ParsedFields::default() };
        let json = Record::from_parse(0, 0, "t", LineFormat::Json, b"{}".to_vec(), Ok(fields));
        assert_eq!(render_line(&json), None);
        let failed = Record::from_parse(0, 0, "t", LineFormat::Combined, b"x".to_vec(), Err("truncated".into()));
        assert_eq!(render_line(&failed), None);
        assert_eq!(render_line(&Record::default()), None);
    }

    #[test]
    fn failure_leaves_the_buffer_unchanged() {
        let fields = ParsedFields {
            time: Some(EventTime { utc_micros: 0, offset_secs: 0 }),
            client_ip: Some(IpAddr::from([1, 2, 3, 4])),
            status: Some(200),
            user_id: Some("bob".into()),
            referer: Some("-".into()),
            ..ParsedFields::default()
        };
        let mut record = Record::from_parse(0, 0, "t", LineFormat::Combined, Vec::new(), Ok(fields));
        let mut out = b"keep".to_vec();
        assert!(!render_into(&record, &mut out));
        assert_eq!(out, b"keep");
        record.referer = None;
        assert!(render_into(&record, &mut out));
        assert_eq!(out, b"keep1.2.3.4 - bob [01/Jan/1970:00:00:00 +0000] \"-\" 200 - \"-\" \"-\"");
    }
}
