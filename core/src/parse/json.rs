//! The JSON-lines parser: one JSON object per line, its fields found
//! through a [`JsonMapping`] of candidate keys (nginx `escape=json`
//! variable names by default).
//!
//! JSON lines are never re-rendered: key order, spacing, escapes
//! (`\u00e9` or `é`) and number formatting (`0.120` or `0.12`) are not
//! recoverable from the parsed fields, and keys that are not mapped are
//! not parsed at all. Every JSON record keeps its raw bytes.
//!
//! Values: for each field the first candidate key present with a usable
//! value wins; `null`, `""` and `"-"` count as absent. Strings and numbers
//! are both accepted wherever a number or a string is expected. A value
//! present but unusable (status `"abc"`, an array as user agent) is an
//! error naming the key. An object holding none of the mapped keys is
//! [`ParseErrorKind::MissingField`]: it is probably not an access log, or
//! the mapping is wrong.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ParseError, ParseErrorKind, quote, split_request, url_path};
use crate::record::{EventTime, ParsedFields};
use crate::timefmt::{decimal_to_micros, epoch_seconds_to_micros, parse_clf_time, parse_rfc3339};

/// Which JSON keys hold which field: for each field a list of candidate
/// keys, the first present with a usable value wins.
///
/// Every entry defaults to nginx's variable names (as written by a
/// `log_format … escape=json` that names keys after variables); a
/// configuration sets only the entries it changes. Unknown entries are an
/// error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JsonMapping {
    /// The client address, IPv4 or IPv6. Default `remote_addr`.
    pub client_ip: Vec<String>,
    /// The event time, in whichever form the value has: RFC 3339
    /// (`2026-11-28T02:56:24+00:00`), CLF (`28/Nov/2026:02:56:24 +0000`) or
    /// decimal seconds since the epoch as a string or number
    /// (`1700000000.123`). Default `time_iso8601`, `time_local`, `msec`.
    pub time: Vec<String>,
    /// The HTTP method. Default `request_method`.
    pub method: Vec<String>,
    /// The request target with its query string. Default `request_uri`.
    pub url: Vec<String>,
    /// The request protocol. Default `server_protocol`.
    pub protocol: Vec<String>,
    /// A whole request line (`GET /x HTTP/1.1`), used for whichever of
    /// method, url and protocol have no value of their own. Default
    /// `request`.
    pub request: Vec<String>,
    /// The response status. Default `status`.
    pub status: Vec<String>,
    /// Bytes sent. Default `body_bytes_sent`, `bytes_sent`.
    pub bytes_sent: Vec<String>,
    /// The request duration in decimal seconds (`0.123`). Default
    /// `request_time`.
    pub duration: Vec<String>,
    /// The referer. Default `http_referer`.
    pub referer: Vec<String>,
    /// The user agent. Default `http_user_agent`.
    pub user_agent: Vec<String>,
    /// The authenticated user. Default `remote_user`.
    pub user_id: Vec<String>,
    /// A request id. Default `request_id`.
    pub request_id: Vec<String>,
    /// The virtual host. Default `host`, `http_host`.
    pub host: Vec<String>,
}

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|&n| n.to_owned()).collect()
}

/// Default keys of [`JsonMapping::client_ip`].
fn default_client_ip() -> Vec<String> {
    keys(&["remote_addr"])
}
/// Default keys of [`JsonMapping::time`].
fn default_time() -> Vec<String> {
    keys(&["time_iso8601", "time_local", "msec"])
}
/// Default keys of [`JsonMapping::method`].
fn default_method() -> Vec<String> {
    keys(&["request_method"])
}
/// Default keys of [`JsonMapping::url`].
fn default_url() -> Vec<String> {
    keys(&["request_uri"])
}
/// Default keys of [`JsonMapping::protocol`].
fn default_protocol() -> Vec<String> {
    keys(&["server_protocol"])
}
/// Default keys of [`JsonMapping::request`].
fn default_request() -> Vec<String> {
    keys(&["request"])
}
/// Default keys of [`JsonMapping::status`].
fn default_status() -> Vec<String> {
    keys(&["status"])
}
/// Default keys of [`JsonMapping::bytes_sent`].
fn default_bytes_sent() -> Vec<String> {
    keys(&["body_bytes_sent", "bytes_sent"])
}
/// Default keys of [`JsonMapping::duration`].
fn default_duration() -> Vec<String> {
    keys(&["request_time"])
}
/// Default keys of [`JsonMapping::referer`].
fn default_referer() -> Vec<String> {
    keys(&["http_referer"])
}
/// Default keys of [`JsonMapping::user_agent`].
fn default_user_agent() -> Vec<String> {
    keys(&["http_user_agent"])
}
/// Default keys of [`JsonMapping::user_id`].
fn default_user_id() -> Vec<String> {
    keys(&["remote_user"])
}
/// Default keys of [`JsonMapping::request_id`].
fn default_request_id() -> Vec<String> {
    keys(&["request_id"])
}
/// Default keys of [`JsonMapping::host`].
fn default_host() -> Vec<String> {
    keys(&["host", "http_host"])
}

impl Default for JsonMapping {
    fn default() -> JsonMapping {
        JsonMapping {
            client_ip: default_client_ip(),
            time: default_time(),
            method: default_method(),
            url: default_url(),
            protocol: default_protocol(),
            request: default_request(),
            status: default_status(),
            bytes_sent: default_bytes_sent(),
            duration: default_duration(),
            referer: default_referer(),
            user_agent: default_user_agent(),
            user_id: default_user_id(),
            request_id: default_request_id(),
            host: default_host(),
        }
    }
}

/// Looks fields up in one object and remembers whether any was found.
struct Lookup<'a> {
    object: &'a Map<String, Value>,
    found: bool,
}

impl<'a> Lookup<'a> {
    /// The first candidate key with a usable value, as text: the key and
    /// the value. `kind` is the error kind if the value has an unusable
    /// JSON type.
    fn text(
        &mut self,
        keys: &'a [String],
        kind: ParseErrorKind,
    ) -> Result<Option<(&'a str, Cow<'a, str>)>, ParseError> {
        for key in keys {
            let text = match self.object.get(key) {
                None | Some(Value::Null) => continue,
                Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
                Some(Value::Number(n)) => Cow::Owned(n.to_string()),
                Some(Value::Bool(b)) => Cow::Owned(b.to_string()),
                Some(other) => {
                    let what = if other.is_array() { "an array" } else { "an object" };
                    return Err(ParseError::new(kind, format!("json field {} holds {what}", quote(key))));
                }
            };
            if text.is_empty() || text == "-" {
                continue;
            }
            self.found = true;
            return Ok(Some((key.as_str(), text)));
        }
        Ok(None)
    }

    /// [`Self::text`] for string fields.
    fn string(&mut self, keys: &'a [String]) -> Result<Option<String>, ParseError> {
        Ok(self.text(keys, ParseErrorKind::BadJson)?.map(|(_, text)| text.into_owned()))
    }

    /// [`Self::text`] converted by `convert`, whose failure is an error of
    /// `kind` naming the key and value.
    fn convert<T>(
        &mut self,
        keys: &'a [String],
        kind: ParseErrorKind,
        what: &str,
        convert: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, ParseError> {
        let Some((key, text)) = self.text(keys, kind)? else {
            return Ok(None);
        };
        convert(&text)
            .map(Some)
            .ok_or_else(|| ParseError::new(kind, format!("bad {what} {} in json field {}", quote(&text), quote(key))))
    }
}

/// Parses one JSON line (already UTF-8, without `\r`).
pub(crate) fn parse(line: &str, mapping: &JsonMapping) -> Result<ParsedFields, ParseError> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| ParseError::new(ParseErrorKind::BadJson, format!("invalid json: {e}")))?;
    let Value::Object(object) = value else {
        let found = match value {
            Value::Array(_) => "an array",
            Value::String(_) => "a string",
            Value::Number(_) => "a number",
            Value::Bool(_) => "a boolean",
            _ => "null",
        };
        return Err(ParseError::new(ParseErrorKind::BadJson, format!("expected a json object, found {found}")));
    };
    let mut look = Lookup { object: &object, found: false };

    let client_ip =
        look.convert(&mapping.client_ip, ParseErrorKind::BadAddress, "client address", |t| t.parse::<IpAddr>().ok())?;
    let time = match look.text(&mapping.time, ParseErrorKind::BadTime)? {
        Some((key, text)) => Some(json_time(&text, key)?),
        None => None,
    };
    let mut method = look.string(&mapping.method)?;
    let mut url = look.string(&mapping.url)?;
    let mut protocol = look.string(&mapping.protocol)?;
    if (method.is_none() || url.is_none() || protocol.is_none())
        && let Some((_, request)) = look.text(&mapping.request, ParseErrorKind::BadJson)?
        && let Some((m, u, p)) = split_request(&request)
    {
        method.get_or_insert_with(|| m.to_owned());
        url.get_or_insert_with(|| u.to_owned());
        protocol.get_or_insert_with(|| p.to_owned());
    }
    let status = look.convert(&mapping.status, ParseErrorKind::BadStatus, "status", |t| t.parse::<u16>().ok())?;
    let bytes_sent =
        look.convert(&mapping.bytes_sent, ParseErrorKind::BadNumber, "byte count", |t| t.parse::<u64>().ok())?;
    let duration_us = look.convert(&mapping.duration, ParseErrorKind::BadNumber, "duration", seconds_to_micros)?;
    let referer = look.string(&mapping.referer)?;
    let user_agent = look.string(&mapping.user_agent)?;
    let user_id = look.string(&mapping.user_id)?;
    let request_id = look.string(&mapping.request_id)?;
    let host = look.string(&mapping.host)?;

    if !look.found {
        return Err(ParseError::new(ParseErrorKind::MissingField, "json object holds none of the mapped fields"));
    }
    Ok(ParsedFields {
        time,
        client_ip,
        url_path: url.as_deref().map(|u| url_path(u).to_owned()),
        method,
        url,
        protocol,
        status,
        bytes_sent,
        duration_us,
        referer,
        user_agent,
        user_id,
        request_id,
        host,
    })
}

/// A JSON time value in whichever of the three accepted forms it has.
fn json_time(text: &str, key: &str) -> Result<EventTime, ParseError> {
    let bad =
        || ParseError::new(ParseErrorKind::BadTime, format!("bad time {} in json field {}", quote(text), quote(key)));
    let b = text.as_bytes();
    if b.iter().all(|&c| c.is_ascii_digit() || c == b'.') {
        let utc_micros = epoch_seconds_to_micros(text).ok_or_else(bad)?;
        Ok(EventTime { utc_micros, offset_secs: 0 })
    } else if b.get(4) == Some(&b'-') {
        let (utc_micros, offset_secs) = parse_rfc3339(text).ok_or_else(bad)?;
        Ok(EventTime { utc_micros, offset_secs })
    } else {
        parse_clf_time(b).map_err(|e| ParseError::new(e.kind(), format!("{e} {}", quote(key))))
    }
}

/// Decimal seconds (`0.123`, or a JSON number such as `1e-3`) to
/// microseconds, truncated beyond six fractional digits.
fn seconds_to_micros(text: &str) -> Option<u64> {
    decimal_to_micros(text).or_else(|| {
        // Exponent forms, as serde_json prints very small or large numbers.
        let secs: f64 = text.parse().ok()?;
        let micros = (secs * 1e6).round();
        (micros.is_finite() && (0.0..1.8e19).contains(&micros)).then_some(micros as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_default(line: &str) -> Result<ParsedFields, ParseError> {
        parse(line, &JsonMapping::default())
    }

    #[test]
    fn mapping_deserializes_with_defaults_and_rejects_unknown_keys() {
        let m: JsonMapping = serde_json::from_str(r#"{"client_ip": ["ip", "remote_addr"]}"#).expect("mapping");
        assert_eq!(m.client_ip, ["ip", "remote_addr"]);
        assert_eq!(m.time, default_time());
        let err = serde_json::from_str::<JsonMapping>(r#"{"clientip": ["ip"]}"#).expect_err("unknown");
        assert!(err.to_string().contains("unknown field `clientip`"), "{err}");
    }

    #[test]
    fn numbers_and_strings_are_both_accepted() {
        let f = parse_default(r#"{"status":"404","body_bytes_sent":12,"request_time":0.12,"msec":1700000000.123}"#)
            .expect("parses");
        assert_eq!(f.status, Some(404));
        assert_eq!(f.bytes_sent, Some(12));
        assert_eq!(f.duration_us, Some(120_000));
        assert_eq!(f.time, Some(EventTime { utc_micros: 1_700_000_000_123_000, offset_secs: 0 }));
        let f = parse_default(r#"{"status":200,"request_time":"0.000","msec":"1700000000"}"#).expect("parses");
        assert_eq!(f.duration_us, Some(0));
        assert_eq!(f.time.map(|t| t.utc_micros), Some(1_700_000_000_000_000));
        let f = parse_default(r#"{"request_time":1e-3}"#).expect("parses");
        assert_eq!(f.duration_us, Some(1000));
    }

    #[test]
    fn unusable_values_name_the_key() {
        for (line, kind, needle) in [
            (r#"{"status":"abc"}"#, ParseErrorKind::BadStatus, r#"bad status "abc" in json field "status""#),
            (r#"{"status":70000}"#, ParseErrorKind::BadStatus, "status"),
            (r#"{"remote_addr":"unix:"}"#, ParseErrorKind::BadAddress, r#"json field "remote_addr""#),
            (r#"{"body_bytes_sent":-1}"#, ParseErrorKind::BadNumber, "body_bytes_sent"),
            (r#"{"request_time":"fast"}"#, ParseErrorKind::BadNumber, "request_time"),
            (r#"{"time_iso8601":"yesterday"}"#, ParseErrorKind::BadTime, "time_iso8601"),
            (
                r#"{"time_local":"10/Foo/2000:13:55:36 -0700"}"#,
                ParseErrorKind::BadTime,
                r#"bad month name "Foo" in time field "time_local""#,
            ),
            (r#"{"msec":"99999999999999"}"#, ParseErrorKind::BadTime, "msec"),
            (r#"{"http_user_agent":["a"]}"#, ParseErrorKind::BadJson, r#"json field "http_user_agent" holds an array"#),
            (r#"{"status":{}}"#, ParseErrorKind::BadStatus, "holds an object"),
            (r#"{"x":1}"#, ParseErrorKind::MissingField, "none of the mapped fields"),
            (r#"{"remote_addr":"-","status":""}"#, ParseErrorKind::MissingField, "none"),
            (r#"[1]"#, ParseErrorKind::BadJson, "found an array"),
            (r#""s""#, ParseErrorKind::BadJson, "found a string"),
            ("null", ParseErrorKind::BadJson, "found null"),
            (r#"{"a":1"#, ParseErrorKind::BadJson, "invalid json"),
            (r#"{"a":1} x"#, ParseErrorKind::BadJson, "invalid json"),
            ("", ParseErrorKind::BadJson, "invalid json"),
        ] {
            let err = parse_default(line).expect_err(line);
            assert_eq!(err.kind(), kind, "{line}: {err}");
            assert!(err.message().contains(needle), "{line}: {err}");
        }
    }
}
