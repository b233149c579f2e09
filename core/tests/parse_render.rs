//! The access-log parsers and their exact renderers, end to end: must-parse
//! and must-fail vectors for every format, truncation at every byte, and
//! property tests for the renderer contract (a rendered line parses back
//! to exactly the fields rendered; real nginx output renders back to
//! itself; nothing panics on any input).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use logseal_core::parse::{JsonMapping, ParseError, ParseErrorKind, parse_line};
use logseal_core::record::{EventTime, LineFormat, ParsedFields, Record};
use logseal_core::render::{render_fields, render_line, reproduces_raw};
use logseal_core::timefmt::{format_clf_time, parse_clf_time};
use proptest::prelude::*;

const COMBINED: LineFormat = LineFormat::Combined;
const COMMON: LineFormat = LineFormat::Common;
const JSON: LineFormat = LineFormat::Json;

fn parse(format: LineFormat, line: &[u8]) -> Result<ParsedFields, ParseError> {
    parse_line(format, line, &JsonMapping::default())
}

fn time(text: &str) -> EventTime {
    parse_clf_time(text.as_bytes()).expect(text)
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect(text)
}

fn s(text: &str) -> Option<String> {
    Some(text.to_owned())
}

/// The fields of a combined/common line.
struct Clf<'a> {
    ip: &'a str,
    user: Option<&'a str>,
    time: &'a str,
    request: Option<(&'a str, &'a str, &'a str)>,
    status: u16,
    bytes: Option<u64>,
    referer: Option<&'a str>,
    agent: Option<&'a str>,
}

impl Clf<'_> {
    fn fields(&self) -> ParsedFields {
        let (method, url, protocol) = match self.request {
            Some((m, u, p)) => (s(m), s(u), s(p)),
            None => (None, None, None),
        };
        ParsedFields {
            time: Some(time(self.time)),
            client_ip: Some(ip(self.ip)),
            url_path: url.as_deref().map(|u| u.split('?').next().unwrap_or(u).to_owned()),
            method,
            url,
            protocol,
            status: Some(self.status),
            bytes_sent: self.bytes,
            referer: self.referer.map(str::to_owned),
            user_agent: self.agent.map(str::to_owned),
            user_id: self.user.map(str::to_owned),
            ..ParsedFields::default()
        }
    }
}

/// A typical nginx combined line, used as the base of many vectors.
const NGINX: Clf<'static> = Clf {
    ip: "203.0.113.7",
    user: None,
    time: "28/Nov/2026:02:56:24 +0000",
    request: Some(("GET", "/index.html?q=1&r=%20x", "HTTP/1.1")),
    status: 200,
    bytes: Some(612),
    referer: Some("https://example.com/start"),
    agent: Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
};
const NGINX_LINE: &str = concat!(
    r#"203.0.113.7 - - [28/Nov/2026:02:56:24 +0000] "GET /index.html?q=1&r=%20x HTTP/1.1" 200 612 "#,
    r#""https://example.com/start" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "#,
    r#"Chrome/120.0 Safari/537.36""#
);

/// A line that must parse to `fields`; `exact` says whether the renderer
/// reproduces it byte for byte (else storage keeps its raw bytes).
struct MustParse {
    name: &'static str,
    format: LineFormat,
    line: Vec<u8>,
    fields: ParsedFields,
    exact: bool,
}

fn case(name: &'static str, format: LineFormat, line: &str, fields: Clf<'_>, exact: bool) -> MustParse {
    let mut fields = fields.fields();
    if format == COMMON {
        fields.referer = None;
        fields.user_agent = None;
    }
    MustParse { name, format, line: line.as_bytes().to_vec(), fields, exact }
}

fn must_parse_vectors() -> Vec<MustParse> {
    let long_url = format!("/search?q={}", "a%20b".repeat(14_000));
    let long_line = format!(r#"198.51.100.2 - - [01/Jan/2024:00:00:00 +0000] "GET {long_url} HTTP/1.1" 200 5 "-" "-""#);
    let mut v = vec![
        case("nginx combined", COMBINED, NGINX_LINE, NGINX, true),
        case(
            "nginx combined with user and -0700",
            COMBINED,
            r#"10.0.0.1 - alice [10/Oct/2000:13:55:36 -0700] "POST /login HTTP/2.0" 302 0 "-" "curl/8.5.0""#,
            Clf {
                ip: "10.0.0.1",
                user: Some("alice"),
                time: "10/Oct/2000:13:55:36 -0700",
                request: Some(("POST", "/login", "HTTP/2.0")),
                status: 302,
                bytes: Some(0),
                referer: None,
                agent: Some("curl/8.5.0"),
            },
            true,
        ),
        case(
            "apache common",
            COMMON,
            r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
            Clf {
                ip: "127.0.0.1",
                user: Some("frank"),
                time: "10/Oct/2000:13:55:36 -0700",
                request: Some(("GET", "/apache_pb.gif", "HTTP/1.0")),
                status: 200,
                bytes: Some(2326),
                referer: None,
                agent: None,
            },
            true,
        ),
        case(
            "apache common with - bytes and +0530",
            COMMON,
            r#"192.0.2.1 - - [05/Mar/2024:08:00:00 +0530] "HEAD / HTTP/1.1" 304 -"#,
            Clf {
                ip: "192.0.2.1",
                user: None,
                time: "05/Mar/2024:08:00:00 +0530",
                request: Some(("HEAD", "/", "HTTP/1.1")),
                status: 304,
                bytes: None,
                referer: None,
                agent: None,
            },
            true,
        ),
        case(
            "apache combined",
            COMBINED,
            concat!(
                r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "#,
                r#""http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#
            ),
            Clf {
                ip: "127.0.0.1",
                user: Some("frank"),
                time: "10/Oct/2000:13:55:36 -0700",
                request: Some(("GET", "/apache_pb.gif", "HTTP/1.0")),
                status: 200,
                bytes: Some(2326),
                referer: Some("http://www.example.com/start.html"),
                agent: Some("Mozilla/4.08 [en] (Win98; I ;Nav)"),
            },
            true,
        ),
        case(
            "ipv6",
            COMBINED,
            r#"2001:db8::1 - - [28/Nov/2026:02:56:24 +1400] "GET / HTTP/1.1" 200 1 "-" "-""#,
            Clf {
                ip: "2001:db8::1",
                time: "28/Nov/2026:02:56:24 +1400",
                request: Some(("GET", "/", "HTTP/1.1")),
                status: 200,
                bytes: Some(1),
                referer: None,
                agent: None,
                user: None,
            },
            true,
        ),
        case(
            "ipv6 not in canonical form parses but is kept raw",
            COMBINED,
            r#"2001:DB8:0:0::1 - - [28/Nov/2026:02:56:24 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
            Clf {
                ip: "2001:db8::1",
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", "/", "HTTP/1.1")),
                status: 200,
                bytes: Some(1),
                referer: None,
                agent: None,
                user: None,
            },
            false,
        ),
        case(
            "ipv4-mapped ipv6 stays ipv6",
            COMBINED,
            r#"::ffff:192.0.2.128 - - [28/Nov/2026:02:56:24 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
            Clf {
                ip: "::ffff:192.0.2.128",
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", "/", "HTTP/1.1")),
                status: 200,
                bytes: Some(1),
                referer: None,
                agent: None,
                user: None,
            },
            true,
        ),
        case(
            "nginx \\xNN escapes of valid utf-8",
            COMBINED,
            r#"1.2.3.4 - j\xC3\xB6rg [28/Nov/2026:02:56:24 +0000] "GET /caf\xC3\xA9?x=\x22 HTTP/1.1" 200 1 "-" "A \x22quoted\x22 back\x5Cslash \xE2\x9C\x93\x09tab""#,
            Clf {
                ip: "1.2.3.4",
                user: Some("jörg"),
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", "/café?x=\"", "HTTP/1.1")),
                status: 200,
                bytes: Some(1),
                referer: None,
                agent: Some("A \"quoted\" back\\slash ✓\ttab"),
            },
            true,
        ),
        case(
            "nginx \\xNN escapes that are not utf-8 stay undecoded",
            COMBINED,
            r#"1.2.3.4 - - [28/Nov/2026:02:56:24 +0000] "GET /caf\xE9 HTTP/1.1" 404 0 "-" "Latin-1 \xFF""#,
            Clf {
                ip: "1.2.3.4",
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", r"/caf\xE9", "HTTP/1.1")),
                status: 404,
                bytes: Some(0),
                referer: None,
                agent: Some(r"Latin-1 \xFF"),
                user: None,
            },
            false,
        ),
        case(
            "apache escapes, lowercase hex",
            COMBINED,
            r#"1.2.3.4 - - [28/Nov/2026:02:56:24 +0000] "GET /\xc3\xa9 HTTP/1.1" 200 1 "-" "Mozilla \"x\" \\ y\n""#,
            Clf {
                ip: "1.2.3.4",
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", "/é", "HTTP/1.1")),
                status: 200,
                bytes: Some(1),
                referer: None,
                agent: Some("Mozilla \"x\" \\ y\n"),
                user: None,
            },
            false,
        ),
        case(
            "tls handshake garbage as request",
            COMBINED,
            r#"45.1.2.3 - - [28/Nov/2026:02:56:24 +0000] "\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03\x9C\xE1" 400 157 "-" "-""#,
            Clf {
                ip: "45.1.2.3",
                time: "28/Nov/2026:02:56:24 +0000",
                request: None,
                status: 400,
                bytes: Some(157),
                referer: None,
                agent: None,
                user: None,
            },
            false,
        ),
        case(
            "request - renders back",
            COMBINED,
            r#"45.1.2.3 - - [28/Nov/2026:02:56:24 +0000] "-" 400 0 "-" "-""#,
            Clf {
                ip: "45.1.2.3",
                time: "28/Nov/2026:02:56:24 +0000",
                request: None,
                status: 400,
                bytes: Some(0),
                referer: None,
                agent: None,
                user: None,
            },
            true,
        ),
        case(
            "http/0.9 request has no three parts",
            COMBINED,
            r#"45.1.2.3 - - [28/Nov/2026:02:56:24 +0000] "GET /" 200 0 "-" "-""#,
            Clf {
                ip: "45.1.2.3",
                time: "28/Nov/2026:02:56:24 +0000",
                request: None,
                status: 200,
                bytes: Some(0),
                referer: None,
                agent: None,
                user: None,
            },
            false,
        ),
        case(
            "empty quoted fields are empty strings",
            COMBINED,
            r#"45.1.2.3 - - [28/Nov/2026:02:56:24 +0000] "GET / HTTP/1.1" 499 0 "" """#,
            Clf {
                ip: "45.1.2.3",
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", "/", "HTTP/1.1")),
                status: 499,
                bytes: Some(0),
                referer: Some(""),
                agent: Some(""),
                user: None,
            },
            true,
        ),
        case(
            "user with a space",
            COMMON,
            r#"45.1.2.3 - John Doe [28/Nov/2026:02:56:24 +0000] "GET / HTTP/1.1" 200 0"#,
            Clf {
                ip: "45.1.2.3",
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", "/", "HTTP/1.1")),
                status: 200,
                bytes: Some(0),
                referer: None,
                agent: None,
                user: Some("John Doe"),
            },
            true,
        ),
        case(
            "ident is dropped",
            COMMON,
            r#"45.1.2.3 identd-user - [28/Nov/2026:02:56:24 +0000] "GET / HTTP/1.1" 200 0"#,
            Clf {
                ip: "45.1.2.3",
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", "/", "HTTP/1.1")),
                status: 200,
                bytes: Some(0),
                referer: None,
                agent: None,
                user: None,
            },
            false,
        ),
        case(
            "nginx main: extra x-forwarded-for is ignored",
            COMBINED,
            r#"45.1.2.3 - - [28/Nov/2026:02:56:24 +0000] "GET / HTTP/1.1" 200 0 "-" "curl/8" "10.0.0.1, 10.0.0.2""#,
            Clf {
                ip: "45.1.2.3",
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", "/", "HTTP/1.1")),
                status: 200,
                bytes: Some(0),
                referer: None,
                agent: Some("curl/8"),
                user: None,
            },
            false,
        ),
        case("combined line read as common ignores referer and agent", COMMON, NGINX_LINE, NGINX, false),
        case(
            "leap second reads as the next minute",
            COMBINED,
            r#"45.1.2.3 - - [31/Dec/2016:23:59:60 +0000] "GET / HTTP/1.1" 200 0 "-" "-""#,
            Clf {
                ip: "45.1.2.3",
                time: "01/Jan/2017:00:00:00 +0000",
                request: Some(("GET", "/", "HTTP/1.1")),
                status: 200,
                bytes: Some(0),
                referer: None,
                agent: None,
                user: None,
            },
            false,
        ),
        case(
            "-0000 offset is +0000",
            COMBINED,
            r#"45.1.2.3 - - [28/Nov/2026:02:56:24 -0000] "GET / HTTP/1.1" 200 0 "-" "-""#,
            Clf {
                ip: "45.1.2.3",
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", "/", "HTTP/1.1")),
                status: 200,
                bytes: Some(0),
                referer: None,
                agent: None,
                user: None,
            },
            false,
        ),
        case(
            "byte count with leading zeros",
            COMMON,
            r#"45.1.2.3 - - [28/Nov/2026:02:56:24 +0000] "GET / HTTP/1.1" 200 0012"#,
            Clf {
                ip: "45.1.2.3",
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", "/", "HTTP/1.1")),
                status: 200,
                bytes: Some(12),
                referer: None,
                agent: None,
                user: None,
            },
            false,
        ),
        case(
            "escaped nul renders back",
            COMBINED,
            r#"45.1.2.3 - - [28/Nov/2026:02:56:24 +0000] "GET /\x00 HTTP/1.1" 200 0 "-" "a\x00b""#,
            Clf {
                ip: "45.1.2.3",
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", "/\0", "HTTP/1.1")),
                status: 200,
                bytes: Some(0),
                referer: None,
                agent: Some("a\0b"),
                user: None,
            },
            true,
        ),
        case(
            "raw nul and raw utf-8 parse but are kept raw",
            COMBINED,
            "45.1.2.3 - - [28/Nov/2026:02:56:24 +0000] \"GET /\0é HTTP/1.1\" 200 0 \"-\" \"a\0b\"",
            Clf {
                ip: "45.1.2.3",
                time: "28/Nov/2026:02:56:24 +0000",
                request: Some(("GET", "/\0é", "HTTP/1.1")),
                status: 200,
                bytes: Some(0),
                referer: None,
                agent: Some("a\0b"),
                user: None,
            },
            false,
        ),
        MustParse {
            name: "70 KB url",
            format: COMBINED,
            line: long_line.clone().into_bytes(),
            fields: Clf {
                ip: "198.51.100.2",
                time: "01/Jan/2024:00:00:00 +0000",
                request: Some(("GET", &long_url, "HTTP/1.1")),
                status: 200,
                bytes: Some(5),
                referer: None,
                agent: None,
                user: None,
            }
            .fields(),
            exact: true,
        },
    ];
    // CRLF: parsed as if the \r were absent; never reproduced.
    let mut crlf = NGINX_LINE.as_bytes().to_vec();
    crlf.push(b'\r');
    v.push(MustParse { name: "crlf", format: COMBINED, line: crlf, fields: NGINX.fields(), exact: false });
    v
}

#[test]
fn must_parse_vectors_parse_and_render_as_documented() {
    for case in must_parse_vectors() {
        let fields = parse(case.format, &case.line).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(fields, case.fields, "{}", case.name);
        let rendered = render_fields(case.format, &fields);
        assert_eq!(
            rendered.as_deref() == Some(&case.line[..]),
            case.exact,
            "{}: {:?}",
            case.name,
            rendered.map(String::from_utf8)
        );
        // Whatever is rendered parses back to the same fields.
        if let Some(line) = rendered {
            assert_eq!(parse(case.format, &line).as_ref(), Ok(&fields), "{}", case.name);
        }
        // The record-level API agrees, and storage drops raw exactly when exact.
        let record = Record::from_parse(7, 0, "test", case.format, case.line.clone(), Ok(fields));
        let mut scratch = Vec::new();
        assert_eq!(reproduces_raw(&record, &mut scratch), case.exact, "{}", case.name);
        assert_eq!(render_line(&record).as_deref() == Some(&case.line[..]), case.exact, "{}", case.name);
    }
}

#[test]
fn must_fail_vectors() {
    let t = "[28/Nov/2026:02:56:24 +0000]";
    let vectors: Vec<(LineFormat, Vec<u8>, ParseErrorKind, &str)> = vec![
        (
            COMBINED,
            b"1.2.3.4 - - [28/Nov/2026:02:56:24 +0000] \"GET /\xff HTTP/1.1\" 200 0 \"-\" \"-\"".to_vec(),
            ParseErrorKind::InvalidUtf8,
            "invalid utf-8 at byte 47",
        ),
        (COMMON, b"\xc3\x28".to_vec(), ParseErrorKind::InvalidUtf8, "invalid utf-8 at byte 0"),
        (
            COMBINED,
            br#"1.2.3.4 - - [10/Foo/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 0 "-" "-""#.to_vec(),
            ParseErrorKind::BadTime,
            r#"bad month name "Foo" in time field"#,
        ),
        (
            COMBINED,
            br#"1.2.3.4 - - [31/Jun/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 0 "-" "-""#.to_vec(),
            ParseErrorKind::BadTime,
            "day 31 out of range",
        ),
        (
            COMBINED,
            br#"1.2.3.4 - - [10/Oct/2000:13:55:36] "GET / HTTP/1.1" 200 0 "-" "-""#.to_vec(),
            ParseErrorKind::BadTime,
            "expected dd/Mon/yyyy",
        ),
        (
            COMBINED,
            format!(r#"www.example.com - - {t} "GET / HTTP/1.1" 200 0 "-" "-""#).into_bytes(),
            ParseErrorKind::BadAddress,
            r#"bad client address "www.example.com" at byte 0"#,
        ),
        (
            COMBINED,
            format!(r#"fe80::1%eth0 - - {t} "GET / HTTP/1.1" 200 0 "-" "-""#).into_bytes(),
            ParseErrorKind::BadAddress,
            "bad client address",
        ),
        (
            COMBINED,
            format!(r#"1.2.3.4 - - {t} "GET / HTTP/1.1" 2x0 0 "-" "-""#).into_bytes(),
            ParseErrorKind::BadStatus,
            r#"bad status "2x0" at byte"#,
        ),
        (
            COMBINED,
            format!(r#"1.2.3.4 - - {t} "GET / HTTP/1.1" 2000 0 "-" "-""#).into_bytes(),
            ParseErrorKind::BadStatus,
            "bad status",
        ),
        (
            COMMON,
            format!(r#"1.2.3.4 - - {t} "GET / HTTP/1.1" 200 12a"#).into_bytes(),
            ParseErrorKind::BadNumber,
            r#"bad byte count "12a""#,
        ),
        (
            COMMON,
            format!(r#"1.2.3.4 - - {t} "GET / HTTP/1.1" 200 99999999999999999999"#).into_bytes(),
            ParseErrorKind::BadNumber,
            "bad byte count",
        ),
        (
            COMBINED,
            format!(r#"1.2.3.4 - - {t} "GET / HTTP/1.1" 200 0"#).into_bytes(),
            ParseErrorKind::Truncated,
            "line ends after byte count",
        ),
        (
            COMBINED,
            format!(r#"1.2.3.4 - - {t} "GET / HTTP/1.1" 200 0 "-" "curl"#).into_bytes(),
            ParseErrorKind::Truncated,
            "quoted user agent opened at byte 68 never closes",
        ),
        (
            COMBINED,
            format!(r#"1.2.3.4 - - {t} "GET / HTTP/1.1" 200 0 "-" "curl\""#).into_bytes(),
            ParseErrorKind::Truncated,
            "never closes",
        ),
        (
            COMBINED,
            format!(r#"1.2.3.4 - - {t} "GET / HTTP/1.1"#).into_bytes(),
            ParseErrorKind::Truncated,
            "quoted request",
        ),
        (COMBINED, b"1.2.3.4 - - 28/Nov/2026:02:56:24 +0000".to_vec(), ParseErrorKind::Truncated, "before time field"),
        (
            COMBINED,
            b"1.2.3.4 - - [28/Nov/2026:02:56:24 +0000".to_vec(),
            ParseErrorKind::Truncated,
            "time field opened at byte 12 never closes",
        ),
        (COMBINED, Vec::new(), ParseErrorKind::Truncated, "client address"),
        (COMMON, b"hello".to_vec(), ParseErrorKind::Truncated, "client address"),
        (
            COMMON,
            format!(r#"1.2.3.4 - - {t}  "GET / HTTP/1.1" 200 0"#).into_bytes(),
            ParseErrorKind::Syntax,
            r#"expected '"' before request at byte 41"#,
        ),
        (
            COMMON,
            format!(r#"1.2.3.4 - - {t} "GET / HTTP/1.1"200 0"#).into_bytes(),
            ParseErrorKind::Syntax,
            "expected ' ' after request",
        ),
        (
            COMMON,
            format!(r#"1.2.3.4 - - {t} "GET / HTTP/1.1" 200  0"#).into_bytes(),
            ParseErrorKind::Syntax,
            "empty byte count",
        ),
        (
            COMBINED,
            format!(r#"1.2.3.4 - - {t} "GET / HTTP/1.1" 200 0 - "-""#).into_bytes(),
            ParseErrorKind::Syntax,
            "before referer",
        ),
        (JSON, b"[1, 2]".to_vec(), ParseErrorKind::BadJson, "expected a json object, found an array"),
        (JSON, b"42".to_vec(), ParseErrorKind::BadJson, "found a number"),
        (JSON, NGINX_LINE.as_bytes().to_vec(), ParseErrorKind::BadJson, "invalid json"),
        (
            JSON,
            b"{\"remote_addr\": \"1.2.3.4\", \"http_user_agent\": \"\xe9\"}".to_vec(),
            ParseErrorKind::InvalidUtf8,
            "invalid utf-8 at byte 47",
        ),
        (
            JSON,
            br#"{"status": "abc"}"#.to_vec(),
            ParseErrorKind::BadStatus,
            r#"bad status "abc" in json field "status""#,
        ),
        (
            JSON,
            br#"{"level": "info", "msg": "hi"}"#.to_vec(),
            ParseErrorKind::MissingField,
            "none of the mapped fields",
        ),
    ];
    for (format, line, kind, needle) in vectors {
        let shown = String::from_utf8_lossy(&line).into_owned();
        let err = parse(format, &line).expect_err(&shown);
        assert_eq!(err.kind(), kind, "{shown}: {err}");
        assert!(err.to_string().contains(needle), "{shown}: {err:?} lacks {needle:?}");
    }
}

#[test]
fn combined_cut_at_every_byte_is_an_error() {
    for line in [NGINX_LINE, r#"::1 - bob [01/Jan/2024:00:00:00 +0000] "GET /\x22 HTTP/1.1" 200 - "" "\x5C""#] {
        for len in 0..line.len() {
            let prefix = &line.as_bytes()[..len];
            let err = parse(COMBINED, prefix).expect_err(&line[..len]);
            assert!(
                matches!(
                    err.kind(),
                    ParseErrorKind::Truncated
                        | ParseErrorKind::BadTime
                        | ParseErrorKind::BadAddress
                        | ParseErrorKind::BadStatus
                ),
                "{len}: {err}"
            );
        }
    }
}

#[test]
fn common_cut_at_every_byte_is_an_error_or_a_shorter_byte_count() {
    let line = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
    let bytes_at = line.len() - "2326".len();
    for len in 0..line.len() {
        let prefix = &line.as_bytes()[..len];
        match parse(COMMON, prefix) {
            Err(_) => assert!(len <= bytes_at, "{len}"),
            Ok(fields) => {
                assert!(len > bytes_at, "{len}");
                assert_eq!(fields.bytes_sent, line[bytes_at..len].parse().ok());
                assert_eq!(render_fields(COMMON, &fields).as_deref(), Some(prefix));
            }
        }
    }
    // Every cut of a combined line read as common: no panic, and the
    // renderer's output, whatever it is, parses back to the same fields.
    for len in 0..=NGINX_LINE.len() {
        if let Ok(fields) = parse(COMMON, &NGINX_LINE.as_bytes()[..len]) {
            let rendered = render_fields(COMMON, &fields).expect("renderable");
            assert_eq!(parse(COMMON, &rendered), Ok(fields));
        }
    }
}

#[test]
fn json_lines_with_the_default_mapping() {
    let line = br#"{"time_iso8601":"2026-11-28T08:26:24+05:30","remote_addr":"2001:db8::7","remote_user":"","request":"GET /a/b?c=d HTTP/1.1","status":"200","body_bytes_sent":"612","request_time":"0.123","http_referer":"-","http_user_agent":"curl/8.5.0 \"x\" \u00e9","request_id":"9f86d081","host":"example.com","http_host":"ignored"}"#;
    let fields = parse(JSON, line).expect("parses");
    assert_eq!(
        fields,
        ParsedFields {
            time: Some(EventTime { utc_micros: 1_795_834_584_000_000, offset_secs: 19_800 }),
            client_ip: Some(ip("2001:db8::7")),
            method: s("GET"),
            url: s("/a/b?c=d"),
            url_path: s("/a/b"),
            protocol: s("HTTP/1.1"),
            status: Some(200),
            bytes_sent: Some(612),
            duration_us: Some(123_000),
            referer: None,
            user_agent: s("curl/8.5.0 \"x\" é"),
            user_id: None,
            request_id: s("9f86d081"),
            host: s("example.com"),
        }
    );
    // JSON is never rendered: the raw bytes are always kept.
    let record = Record::from_parse(0, 0, "test", JSON, line.to_vec(), Ok(fields.clone()));
    assert_eq!(render_line(&record), None);
    assert_eq!(render_fields(JSON, &fields), None);

    // Separate method/uri/protocol win over request; CLF time; msec; http_host fallback.
    let line = br#"{"msec":1764298584.5,"remote_addr":"10.1.2.3","request_method":"PUT","request_uri":"/x?y","server_protocol":"HTTP/2.0","request":"GET /ignored HTTP/1.0","status":201,"bytes_sent":0,"request_time":2,"http_host":"h.example","time_local":"10/Oct/2000:13:55:36 -0700"}"#;
    let fields = parse(JSON, line).expect("parses");
    assert_eq!(fields.time, Some(time("10/Oct/2000:13:55:36 -0700")));
    assert_eq!(
        (fields.method.as_deref(), fields.url.as_deref(), fields.url_path.as_deref()),
        (Some("PUT"), Some("/x?y"), Some("/x"))
    );
    assert_eq!(fields.protocol.as_deref(), Some("HTTP/2.0"));
    assert_eq!((fields.status, fields.bytes_sent, fields.duration_us), (Some(201), Some(0), Some(2_000_000)));
    assert_eq!(fields.host.as_deref(), Some("h.example"));
    let line = br#"{"msec":1764298584.5,"remote_addr":"10.1.2.3"}"#;
    assert_eq!(
        parse(JSON, line).expect("parses").time,
        Some(EventTime { utc_micros: 1_764_298_584_500_000, offset_secs: 0 })
    );
    // A request that is not three parts leaves method/url/protocol empty.
    let fields = parse(JSON, br#"{"request":"\u0016\u0003\u0001","status":400}"#).expect("parses");
    assert_eq!((fields.method, fields.url, fields.protocol), (None, None, None));
    // CRLF and NUL.
    let fields = parse(JSON, b"{\"remote_user\":\"a\\u0000b\"}\r").expect("parses");
    assert_eq!(fields.user_id.as_deref(), Some("a\0b"));
}

#[test]
fn json_lines_with_a_custom_mapping() {
    let mapping: JsonMapping = serde_json::from_str(
        r#"{"client_ip":["client","ip"],"time":["ts"],"request":["req"],"status":["code"],"bytes_sent":["size"],
            "duration":["dur"],"user_agent":["ua"],"host":["vhost"],"user_id":["user"],"request_id":[]}"#,
    )
    .expect("mapping");
    let line = br#"{"ip":"::1","ts":"2026-11-28T02:56:24.5Z","req":"DELETE /x HTTP/1.1","code":204,"size":"0","dur":"0.0005","ua":"k6","vhost":"t1","user":"42","request_id":"not mapped","remote_addr":"9.9.9.9"}"#;
    let fields = parse_line(JSON, line, &mapping).expect("parses");
    assert_eq!(
        fields,
        ParsedFields {
            time: Some(EventTime { utc_micros: 1_795_834_584_500_000, offset_secs: 0 }),
            client_ip: Some(ip("::1")),
            method: s("DELETE"),
            url: s("/x"),
            url_path: s("/x"),
            protocol: s("HTTP/1.1"),
            status: Some(204),
            bytes_sent: Some(0),
            duration_us: Some(500),
            user_agent: s("k6"),
            user_id: s("42"),
            host: s("t1"),
            ..ParsedFields::default()
        }
    );
    let err = serde_json::from_str::<JsonMapping>(r#"{"client_ip":["ip"],"user_agnet":["ua"]}"#).expect_err("misspelt");
    assert!(err.to_string().contains("unknown field `user_agnet`"), "{err}");
}

#[test]
fn every_format_survives_hostile_lines() {
    let hostile: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\r".to_vec(),
        b"\r\r".to_vec(),
        b"\0\0\0".to_vec(),
        b" [".to_vec(),
        b"- - [".to_vec(),
        b"1.2.3.4 - - [".to_vec(),
        b"1.2.3.4 - - []".to_vec(),
        b"1.2.3.4 - - [] \"\\".to_vec(),
        b"1.2.3.4 - - [28/Nov/2026:02:56:24 +0000] \"\\\"".to_vec(),
        b"1.2.3.4 - - [28/Nov/2026:02:56:24 +0000] \"\\x\" 200 0 \"\\x4\" \"\\".to_vec(),
        b"{".to_vec(),
        b"{\"remote_addr\":".to_vec(),
        "[28/Nov/2026:02:56:24 +0000]".repeat(3).into_bytes(),
        "\"".repeat(1000).into_bytes(),
        "\\".repeat(1000).into_bytes(),
        "[".repeat(1000).into_bytes(),
        vec![b'{'; 10_000],
        vec![b'['; 10_000],
    ];
    for line in hostile {
        for format in LineFormat::ALL {
            if let Ok(fields) = parse(format, &line)
                && let Some(rendered) = render_fields(format, &fields)
            {
                assert_eq!(parse(format, &rendered), Ok(fields));
            }
        }
    }
}

#[test]
fn clf_time_format_is_the_inverse_of_parse() {
    for text in ["10/Oct/2000:13:55:36 -0700", "01/Jan/2024:00:00:00 +0000", "29/Feb/2024:23:59:59 +0530"] {
        assert_eq!(format_clf_time(time(text)), text);
    }
}

// ---------------------------------------------------------------------------
// Property tests.

/// Characters chosen to hit every special case of the format.
fn tricky_char() -> BoxedStrategy<char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        1 => Just(' '),
        1 => Just('['),
        1 => Just(']'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('-'),
        1 => Just('x'),
        1 => Just('?'),
        1 => Just('\0'),
        1 => Just('\r'),
        1 => Just('\u{7f}'),
        1 => Just('é'),
        1 => Just('✓'),
        1 => any::<char>(),
    ]
    .boxed()
}

fn tricky_string(max: usize) -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::collection::vec(tricky_char(), 0..max).prop_map(|v| v.into_iter().collect::<String>()),
        1 => prop::sample::select(vec!["-", "", " [", "a [b", "\\x22", "\\\"", "x\\", "- ", " -"]).prop_map(str::to_owned),
    ]
    .boxed()
}

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
        any::<[u8; 4]>().prop_map(|o| IpAddr::V6(Ipv4Addr::from(o).to_ipv6_mapped())),
        prop::sample::select(vec![
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            "2001:db8::".parse().expect("ip"),
            "::1.2.3.4".parse().expect("ip"),
        ]),
    ]
}

/// First and last second of the year range, 0000-01-01 and 9999-12-31.
const MIN_SECS: i64 = -62_167_219_200;
const MAX_SECS: i64 = 253_402_300_799;

/// Times a CLF line can carry: whole seconds, offsets in whole minutes
/// within ±23:59, local year 0000–9999.
fn clf_time() -> impl Strategy<Value = EventTime> {
    (MIN_SECS..=MAX_SECS, -1439i32..=1439).prop_map(|(local, minutes)| EventTime {
        utc_micros: (local - i64::from(minutes) * 60) * 1_000_000,
        offset_secs: minutes * 60,
    })
}

fn any_time() -> impl Strategy<Value = EventTime> {
    prop_oneof![
        4 => clf_time(),
        1 => (any::<i64>(), any::<i32>()).prop_map(|(utc_micros, offset_secs)| EventTime { utc_micros, offset_secs }),
        1 => (clf_time(), 1i64..1_000_000).prop_map(|(t, us)| EventTime { utc_micros: t.utc_micros + us, ..t }),
        1 => (clf_time(), 1i32..60).prop_map(|(t, s)| EventTime { offset_secs: t.offset_secs + s, ..t }),
    ]
}

type Request = Option<(String, String, String)>;

fn request(part: BoxedStrategy<String>) -> impl Strategy<Value = Request> {
    prop_oneof![1 => Just(None), 4 => (part.clone(), part.clone(), part).prop_map(Some)]
}

fn no_space(max: usize) -> BoxedStrategy<String> {
    prop::collection::vec(tricky_char().prop_filter("no space", |c| *c != ' '), 0..max)
        .prop_map(|v| v.into_iter().collect::<String>())
        .boxed()
}

#[expect(clippy::too_many_arguments, reason = "one argument per field of the line")]
fn fields_from(
    ip: IpAddr,
    time: EventTime,
    request: Request,
    status: u16,
    bytes: Option<u64>,
    user: Option<String>,
    referer: Option<String>,
    agent: Option<String>,
) -> ParsedFields {
    let (method, url, protocol) = match request {
        Some((m, u, p)) => (Some(m), Some(u), Some(p)),
        None => (None, None, None),
    };
    ParsedFields {
        time: Some(time),
        client_ip: Some(ip),
        url_path: url.as_deref().map(|u| u.split('?').next().unwrap_or(u).to_owned()),
        method,
        url,
        protocol,
        status: Some(status),
        bytes_sent: bytes,
        referer,
        user_agent: agent,
        user_id: user,
        ..ParsedFields::default()
    }
}

/// Fields a `format` line can carry, by construction.
fn representable_fields(format: LineFormat) -> impl Strategy<Value = ParsedFields> {
    let user = prop::option::of(tricky_string(12).prop_filter("not - and no ' ['", |u| u != "-" && !u.contains(" [")));
    let quoted = prop::option::of(tricky_string(24).prop_filter("not -", |t| t != "-"));
    let combined = format == LineFormat::Combined;
    (
        any_ip(),
        clf_time(),
        request(no_space(16)),
        0u16..=999,
        prop::option::of(any::<u64>()),
        user,
        quoted.clone(),
        quoted,
    )
        .prop_map(move |(ip, time, request, status, bytes, user, referer, agent)| {
            let (referer, agent) = if combined { (referer, agent) } else { (None, None) };
            fields_from(ip, time, request, status, bytes, user, referer, agent)
        })
}

/// Any fields at all, mostly near the edge of what lines can carry.
fn any_fields() -> impl Strategy<Value = ParsedFields> {
    (
        (
            any_ip(),
            any_time(),
            request(prop_oneof![3 => no_space(16), 1 => tricky_string(16)].boxed()),
            prop_oneof![4 => 0u16..=999, 1 => any::<u16>()],
            prop::option::of(any::<u64>()),
            prop::option::of(tricky_string(12)),
            prop::option::of(tricky_string(24)),
            prop::option::of(tricky_string(24)),
        ),
        // Perturbations: a missing ip/time/status, a partial request, a
        // wrong url_path, a field the format has no place for.
        0u8..30,
        tricky_string(8),
    )
        .prop_map(|((ip, time, request, status, bytes, user, referer, agent), perturb, text)| {
            let mut f = fields_from(ip, time, request, status, bytes, user, referer, agent);
            match perturb {
                0 => f.client_ip = None,
                1 => f.time = None,
                2 => f.status = None,
                3 => f.method = None,
                4 => f.url_path = Some(text),
                5 => f.url_path = None,
                6 => f.host = Some(text),
                7 => f.duration_us = Some(1),
                8 => f.request_id = Some(text),
                _ => {}
            }
            f
        })
}

/// An independent statement of which fields a line can carry (the render
/// module's list), to check the renderer refuses exactly those.
fn representable(format: LineFormat, f: &ParsedFields) -> bool {
    let time_ok = f.time.is_some_and(|t| {
        let local = t.utc_micros.div_euclid(1_000_000) + i64::from(t.offset_secs);
        t.utc_micros % 1_000_000 == 0
            && t.offset_secs % 60 == 0
            && t.offset_secs.abs() <= 1439 * 60
            && (MIN_SECS..=MAX_SECS).contains(&local)
    });
    let request_ok = match (&f.method, &f.url, &f.protocol) {
        (None, None, None) => f.url_path.is_none(),
        (Some(m), Some(u), Some(p)) => {
            f.url_path.as_deref() == Some(u.split('?').next().unwrap_or(u))
                && ![m, u, p].iter().any(|x| x.contains(' '))
        }
        _ => false,
    };
    let quoted_ok = |q: &Option<String>| q.as_deref() != Some("-");
    let tail_ok = match format {
        LineFormat::Combined => quoted_ok(&f.referer) && quoted_ok(&f.user_agent),
        _ => f.referer.is_none() && f.user_agent.is_none(),
    };
    format != LineFormat::Json
        && f.client_ip.is_some()
        && time_ok
        && f.status.is_some_and(|s| s <= 999)
        && request_ok
        && f.user_id.as_deref().is_none_or(|u| u != "-" && !u.contains(" ["))
        && tail_ok
        && f.duration_us.is_none()
        && f.request_id.is_none()
        && f.host.is_none()
}

/// nginx's escaping of a logged variable (`ngx_http_log_escape`).
fn nginx_escape(out: &mut Vec<u8>, value: &[u8]) {
    for &b in value {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            out.extend_from_slice(format!("\\x{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
}

/// A raw header or request value as a client might send it: text, or bytes.
fn raw_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => tricky_string(24).prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..24),
        1 => (no_space(8), no_space(24), no_space(8)).prop_map(|(m, u, p)| format!("{m} {u} {p}").into_bytes()),
        1 => Just(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec()),
    ]
}

/// A line exactly as nginx's combined format writes it from raw values.
#[expect(clippy::too_many_arguments, reason = "one argument per field of the line")]
fn nginx_line(
    ip: IpAddr,
    user: Option<&[u8]>,
    time: EventTime,
    request: &[u8],
    status: u16,
    bytes: u64,
    referer: Option<&[u8]>,
    agent: Option<&[u8]>,
) -> Vec<u8> {
    let mut line = format!("{ip} - ").into_bytes();
    match user {
        Some(u) => nginx_escape(&mut line, u),
        None => line.push(b'-'),
    }
    line.extend_from_slice(format!(" [{}] \"", format_clf_time(time)).as_bytes());
    nginx_escape(&mut line, request);
    line.extend_from_slice(format!("\" {status} {bytes}").as_bytes());
    for value in [referer, agent] {
        line.extend_from_slice(b" \"");
        match value {
            Some(v) => nginx_escape(&mut line, v),
            None => line.push(b'-'),
        }
        line.push(b'"');
    }
    line
}

/// The checks every parsed line must pass, whatever it is.
fn check_parsed_line(format: LineFormat, line: &[u8]) -> Result<(), TestCaseError> {
    let Ok(fields) = parse(format, line) else {
        return Ok(());
    };
    match render_fields(format, &fields) {
        Some(rendered) => {
            // What the renderer writes parses back to exactly the fields:
            // storage may then drop raw exactly when rendered == raw.
            prop_assert_eq!(parse(format, &rendered), Ok(fields.clone()));
            let record = Record::from_parse(0, 0, "p", format, line.to_vec(), Ok(fields));
            prop_assert_eq!(reproduces_raw(&record, &mut Vec::new()), rendered == line);
        }
        None => prop_assert!(format == LineFormat::Json || !representable(format, &fields)),
    }
    Ok(())
}

fn valid_lines() -> Vec<&'static str> {
    vec![
        NGINX_LINE,
        r#"::ffff:1.2.3.4 - j\xC3\xB6rg [10/Oct/2000:13:55:36 -0700] "GET /a\x22b?c HTTP/1.1" 304 - "" "x\x5Cy""#,
        r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
        r#"{"remote_addr":"1.2.3.4","time_iso8601":"2026-11-28T02:56:24+00:00","request":"GET / HTTP/1.1","status":200}"#,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(line in prop::collection::vec(any::<u8>(), 0..200)) {
        for format in LineFormat::ALL {
            check_parsed_line(format, &line)?;
        }
    }

    #[test]
    fn edited_valid_lines_never_panic_and_render_consistently(
        which in 0usize..4,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(b" [\"\\-]x0\r\n\x00\xc3\xa9".to_vec())), 1..5),
    ) {
        let mut line = valid_lines()[which].as_bytes().to_vec();
        for (at, op, byte) in edits {
            let i = at.index(line.len() + 1);
            match op {
                0 => line.insert(i, byte),
                1 if i < line.len() => { line.remove(i); }
                _ if i < line.len() => line[i] = byte,
                _ => line.push(byte),
            }
        }
        for format in LineFormat::ALL {
            check_parsed_line(format, &line)?;
        }
    }

    #[test]
    fn representable_fields_render_and_parse_back(
        (format, fields) in prop::sample::select(vec![LineFormat::Combined, LineFormat::Common])
            .prop_flat_map(|format| (Just(format), representable_fields(format))),
    ) {
        let line = render_fields(format, &fields);
        prop_assert!(line.is_some(), "{:?}", fields);
        prop_assert_eq!(parse(format, &line.unwrap_or_default()), Ok(fields));
    }

    #[test]
    fn any_fields_render_only_when_they_parse_back(
        format in prop::sample::select(LineFormat::ALL.to_vec()),
        fields in any_fields(),
    ) {
        let line = render_fields(format, &fields);
        prop_assert_eq!(line.is_some(), representable(format, &fields), "{:?}", fields);
        if let Some(line) = line {
            prop_assert_eq!(parse(format, &line), Ok(fields));
        }
    }

    #[test]
    fn nginx_output_renders_back_exactly(
        ip in any_ip(),
        user in prop::option::of(raw_value()),
        time in clf_time(),
        request in prop_oneof![
            3 => (no_space(8), no_space(24), no_space(8)).prop_map(|(m, u, p)| format!("{m} {u} {p}").into_bytes()),
            1 => raw_value(),
        ],
        status in 100u16..=599,
        bytes in any::<u64>(),
        referer in prop::option::of(raw_value()),
        agent in prop::option::of(raw_value()),
    ) {
        prop_assume!(user.as_ref().is_none_or(|u| !u.windows(2).any(|w| w == b" [")));
        let line = nginx_line(ip, user.as_deref(), time, &request, status, bytes, referer.as_deref(), agent.as_deref());
        let fields = parse(COMBINED, &line);
        prop_assert!(fields.is_ok(), "{:?}: {:?}", String::from_utf8_lossy(&line), fields);
        let fields = fields.unwrap_or_default();
        let utf8 = |v: &Option<Vec<u8>>| v.as_deref().is_none_or(|v| std::str::from_utf8(v).is_ok());
        let request_text = std::str::from_utf8(&request).ok();
        let request_ok = request_text.is_some_and(|r| r == "-" || r.split(' ').count() == 3);
        let exact = utf8(&user) && utf8(&referer) && utf8(&agent) && request_ok;
        let rendered = render_fields(COMBINED, &fields);
        prop_assert_eq!(rendered.as_deref() == Some(&line[..]), exact, "{:?}", String::from_utf8_lossy(&line));
        if exact {
            // And the fields are the values nginx was given.
            let text = |v: &Option<Vec<u8>>| v.as_deref().map(|v| String::from_utf8_lossy(v).into_owned()).filter(|t| t != "-");
            prop_assert_eq!(&fields.user_id, &text(&user));
            prop_assert_eq!(&fields.referer, &text(&referer));
            prop_assert_eq!(&fields.user_agent, &text(&agent));
            prop_assert_eq!(fields.time, Some(time));
            prop_assert_eq!(fields.client_ip, Some(ip));
            let parts = request_text.filter(|r| *r != "-").map(|r| r.split(' ').map(str::to_owned).collect::<Vec<_>>());
            prop_assert_eq!(parts.as_ref().map(|p| p[1].clone()), fields.url.clone());
        }
        if let Some(rendered) = rendered {
            prop_assert_eq!(parse(COMBINED, &rendered), Ok(fields));
        }
    }

    #[test]
    fn json_never_panics_on_objects_of_tricky_values(
        keys in prop::collection::vec(prop::sample::select(vec![
            "remote_addr", "time_iso8601", "time_local", "msec", "request", "request_method", "request_uri",
            "server_protocol", "status", "body_bytes_sent", "request_time", "http_referer", "http_user_agent",
            "remote_user", "request_id", "host", "other",
        ]), 0..8),
        values in prop::collection::vec(prop_oneof![
            tricky_string(20).prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
            Just(serde_json::json!([1])),
            Just(serde_json::Value::from("2026-11-28T02:56:24.999999999-23:59")),
            Just(serde_json::Value::from("31/Dec/9999:23:59:59 -2359")),
            Just(serde_json::Value::from("0.000001")),
        ], 8),
    ) {
        let object: serde_json::Map<String, serde_json::Value> =
            keys.iter().zip(values).map(|(k, v)| ((*k).to_owned(), v)).collect();
        let line = serde_json::to_vec(&object).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Ok(fields) = parse(JSON, &line) {
            prop_assert_eq!(render_fields(JSON, &fields), None);
            if let Some(url) = &fields.url {
                prop_assert_eq!(fields.url_path.as_deref(), url.split('?').next());
            }
        }
    }
}
