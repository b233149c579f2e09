//! Generator invariants: determinism, exact line counts, the malformed share,
//! the shape of every well-formed line, and the traffic mix.

use std::net::IpAddr;

use super::time::MONTHS;
use super::*;

fn config(format: Format, lines: u64, seed: u64, malformed_percent: f64) -> GenConfig {
    GenConfig { format, lines, seed, malformed_percent, ..GenConfig::default() }
}

fn run(cfg: &GenConfig) -> (Vec<u8>, GenStats) {
    let mut out = Vec::new();
    let stats = generate(cfg, &mut out).expect("writing to a Vec cannot fail");
    (out, stats)
}

/// Every line (terminator included) with the kind the generator reported.
fn lines(cfg: &GenConfig) -> Vec<(Vec<u8>, Option<MalformedKind>)> {
    let mut generator = Generator::new(cfg).expect("valid config");
    (0..cfg.lines)
        .map(|_| {
            let mut line = Vec::new();
            let kind = generator.next_line(&mut line);
            (line, kind)
        })
        .collect()
}

/// A byte cursor for regex-free parsing.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn lit(&mut self, expected: &[u8]) -> Result<(), String> {
        self.0 =
            self.0.strip_prefix(expected).ok_or_else(|| format!("expected {:?}", String::from_utf8_lossy(expected)))?;
        Ok(())
    }

    /// The bytes up to `stop`, which is consumed.
    fn until(&mut self, stop: u8) -> Result<&'a [u8], String> {
        let at = self.0.iter().position(|&c| c == stop).ok_or(format!("no {:?}", char::from(stop)))?;
        let token = &self.0[..at];
        self.0 = &self.0[at + 1..];
        Ok(token)
    }

    /// A `"`-quoted field; `backslash` says `\"` and `\\` may occur in it
    /// (Apache), where nginx writes `\x22` and `\x5C`.
    fn quoted(&mut self, backslash: bool) -> Result<&'a [u8], String> {
        self.lit(b"\"")?;
        let mut at = 0;
        while let Some(&c) = self.0.get(at) {
            match c {
                b'"' => {
                    let field = &self.0[..at];
                    self.0 = &self.0[at + 1..];
                    return Ok(field);
                }
                b'\\' if backslash => at += 2,
                _ => at += 1,
            }
        }
        Err("unterminated quoted field".into())
    }
}

fn digits(token: &[u8], len: usize) -> Result<u64, String> {
    if token.len() != len && len != 0 || token.is_empty() || !token.iter().all(u8::is_ascii_digit) {
        return Err(format!("not {len} digits: {:?}", String::from_utf8_lossy(token)));
    }
    Ok(token.iter().fold(0, |n, &c| n * 10 + u64::from(c - b'0')))
}

/// `28/Nov/2026:02:56:24 +0000` as a sortable `yyyymmddHHMMSS`.
fn check_time_local(t: &[u8]) -> Result<u64, String> {
    let shape_ok = t.len() == 26 && t[2] == b'/' && t[6] == b'/' && t[11] == b':' && t[20] == b' ';
    let month = MONTHS.iter().position(|m| t.get(3..6) == Some(m.as_bytes()));
    let (Some(month), true) = (month, shape_ok) else {
        return Err("bad $time_local".into());
    };
    let zone_ok = matches!(t[21], b'+' | b'-') && digits(&t[22..26], 4).is_ok();
    let (d, y) = (digits(&t[0..2], 2)?, digits(&t[7..11], 4)?);
    let (h, m, s) = (digits(&t[12..14], 2)?, digits(&t[15..17], 2)?, digits(&t[18..20], 2)?);
    if !zone_ok || t[14] != b':' || t[17] != b':' || d == 0 || d > 31 || h > 23 || m > 59 || s > 59 {
        return Err("bad $time_local".into());
    }
    Ok(((((y * 100 + month as u64 + 1) * 100 + d) * 100 + h) * 100 + m) * 100 + s)
}

/// The parts of a well-formed line the mix tests look at.
struct Parsed {
    time: u64,
    addr: IpAddr,
    method: String,
    uri: String,
    status: u64,
    referer: Option<String>,
}

/// Regex-free structural check of one `combined` (or `common`) line, `\n`
/// included.
fn check_text_line(line: &[u8], format: Format) -> Result<Parsed, String> {
    let body = line.strip_suffix(b"\n").ok_or("no \\n")?;
    if let Some(c) = body.iter().find(|&&c| !(0x20..0x7f).contains(&c)) {
        return Err(format!("unescaped byte {c:#04x}"));
    }
    let mut cur = Cursor(body);
    let addr = std::str::from_utf8(cur.until(b' ')?).map_err(|e| e.to_string())?;
    let addr: IpAddr = addr.parse().map_err(|_| format!("bad address {addr:?}"))?;
    cur.lit(b"- ")?;
    if cur.until(b' ')?.is_empty() {
        return Err("empty user".into());
    }
    cur.lit(b"[")?;
    let time = check_time_local(cur.until(b']')?)?;
    cur.lit(b" ")?;
    let request = String::from_utf8_lossy(cur.quoted(format == Format::Common)?).into_owned();
    let parts: Vec<&str> = request.split(' ').collect();
    let [method, uri, protocol] = parts[..] else {
        return Err(format!("request {request:?}"));
    };
    let method_ok = METHODS.iter().any(|m| m.0 == method);
    if !method_ok || !uri.starts_with('/') || !PROTOCOLS.iter().any(|p| p.0 == protocol) {
        return Err(format!("request {request:?}"));
    }
    cur.lit(b" ")?;
    let status = digits(cur.until(b' ').or_else(|_| Ok::<_, String>(std::mem::take(&mut cur.0)))?, 3)?;
    let referer = if format == Format::Common {
        if cur.0 != b"-" {
            digits(cur.0, 0)?;
        }
        None
    } else {
        digits(cur.until(b' ')?, 0)?;
        let referer = String::from_utf8_lossy(cur.quoted(false)?).into_owned();
        cur.lit(b" ")?;
        cur.quoted(false)?;
        if !cur.0.is_empty() {
            return Err("trailing bytes".into());
        }
        (referer != "-").then_some(referer)
    };
    Ok(Parsed { time, addr, method: method.into(), uri: uri.into(), status, referer })
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    for format in [Format::Combined, Format::Common, Format::Json] {
        let cfg = config(format, 20_000, 42, 5.0);
        let (first, stats) = run(&cfg);
        let (again, stats_again) = run(&cfg);
        assert!(first == again, "{format:?}: same seed, different bytes");
        assert_eq!(stats, stats_again);
        let (other, _) = run(&GenConfig { seed: 43, ..cfg });
        assert!(first != other, "{format:?}: different seeds, same bytes");
    }
}

#[test]
fn line_count_and_byte_count_are_exact() {
    for format in [Format::Combined, Format::Common, Format::Json] {
        for lines in [0, 1, 12_345] {
            let (out, stats) = run(&config(format, lines, 7, 30.0));
            assert_eq!(out.iter().filter(|&&c| c == b'\n').count() as u64, lines, "{format:?}");
            assert_eq!((stats.lines, stats.bytes), (lines, out.len() as u64));
        }
    }
}

#[test]
fn malformed_share_tracks_the_percentage() {
    for format in [Format::Combined, Format::Json] {
        let (_, stats) = run(&config(format, 100_000, 1, 2.0));
        let share = stats.malformed_total() as f64 / 1000.0;
        assert!((share - 2.0).abs() < 0.25, "{format:?}: {share}% malformed: {stats}");
        let kinds = if format == Format::Json { JSON_KINDS } else { TEXT_KINDS };
        let mean = (stats.malformed_total() - stats.malformed_of(MalformedKind::LongUrl)) as f64 / kinds.len() as f64;
        for &kind in kinds {
            let n = stats.malformed_of(kind) as f64;
            assert!(n > 0.7 * mean && n < 1.3 * mean, "{format:?}: {kind:?} {n} vs mean {mean}: {stats}");
        }
        assert!(stats.malformed_of(MalformedKind::LongUrl) <= 2, "{stats}");
        if format != Format::Json {
            assert_eq!(stats.malformed_of(MalformedKind::NotJson), 0);
        }
    }
    let (_, clean) = run(&config(Format::Combined, 50_000, 1, 0.0));
    assert_eq!(clean.malformed_total(), 0);
}

#[test]
fn well_formed_combined_lines_pass_the_structural_check() {
    let mut last_time = 0;
    let mut long_urls = 0;
    // Seed 1 draws a long URL within the first 100k lines.
    for (i, (line, kind)) in lines(&config(Format::Combined, 100_000, 1, 2.0)).iter().enumerate() {
        let checked = check_text_line(line, Format::Combined);
        match kind {
            None | Some(MalformedKind::LongUrl) => {
                let parsed = checked.unwrap_or_else(|e| panic!("line {i}: {e}: {}", String::from_utf8_lossy(line)));
                assert!(parsed.time >= last_time, "line {i}: time went backwards");
                last_time = parsed.time;
                if kind.is_some() {
                    long_urls += 1;
                    assert!(line.len() > LONG_URL_BYTES);
                }
            }
            Some(kind) => assert!(checked.is_err(), "line {i}: {kind:?} passes: {}", String::from_utf8_lossy(line)),
        }
    }
    assert_eq!(long_urls, 1);
}

#[test]
fn well_formed_common_lines_pass_the_structural_check() {
    for (i, (line, kind)) in lines(&config(Format::Common, 30_000, 4, 2.0)).iter().enumerate() {
        if kind.is_none() {
            check_text_line(line, Format::Common)
                .unwrap_or_else(|e| panic!("line {i}: {e}: {}", String::from_utf8_lossy(line)));
        }
    }
}

#[test]
fn well_formed_json_lines_are_nginx_json_objects() {
    const KEYS: [&str; 14] = [
        "time_iso8601",
        "remote_addr",
        "remote_user",
        "request",
        "request_method",
        "request_uri",
        "server_protocol",
        "status",
        "body_bytes_sent",
        "request_time",
        "http_referer",
        "http_user_agent",
        "request_id",
        "host",
    ];
    for (i, (line, kind)) in lines(&config(Format::Json, 30_000, 5, 2.0)).iter().enumerate() {
        let parsed = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(line);
        match kind {
            None => {
                let object = parsed.unwrap_or_else(|e| panic!("line {i}: {e}: {}", String::from_utf8_lossy(line)));
                assert!(line.starts_with(b"{\"time_iso8601\":\"") && line.ends_with(b"\"}\n"));
                assert_eq!(object.len(), KEYS.len());
                let field = |k: &str| object.get(k).and_then(|v| v.as_str()).unwrap_or_else(|| panic!("line {i}: {k}"));
                let id = field("request_id");
                assert!(id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit()));
                let time = field("request_time");
                assert!(time.len() >= 5 && time.as_bytes()[time.len() - 4] == b'.', "{time}");
                assert_eq!(field("time_iso8601").len(), 25);
                let request =
                    format!("{} {} {}", field("request_method"), field("request_uri"), field("server_protocol"));
                assert_eq!(field("request"), request);
            }
            Some(MalformedKind::NotJson) => assert!(parsed.is_err()),
            Some(_) => {}
        }
    }
}

#[test]
fn traffic_mix_is_realistic() {
    let parsed: Vec<Parsed> = lines(&config(Format::Combined, 100_000, 6, 0.0))
        .iter()
        .map(|(line, _)| check_text_line(line, Format::Combined).expect("well-formed"))
        .collect();
    let share = |pred: &dyn Fn(&Parsed) -> bool| parsed.iter().filter(|p| pred(p)).count() as f64 / parsed.len() as f64;
    let mapped = |p: &Parsed| matches!(p.addr, IpAddr::V6(a) if a.to_ipv4_mapped().is_some());
    let (v4, mapped_share) = (share(&|p| p.addr.is_ipv4()), share(&mapped));
    let v6 = 1.0 - v4 - mapped_share;
    assert!(
        (v4 - 0.85).abs() < 0.03 && (v6 - 0.13).abs() < 0.03 && (mapped_share - 0.02).abs() < 0.01,
        "{v4} {v6} {mapped_share}"
    );
    let query = share(&|p| p.uri.contains('?'));
    assert!((query - 0.30).abs() < 0.04, "query share {query}");
    let no_referer = share(&|p| p.referer.is_none());
    assert!((no_referer - 0.40).abs() < 0.02, "no-referer share {no_referer}");
    assert!(share(&|p| p.method == "GET") > 0.85 && share(&|p| p.status == 200) > 0.6);
    assert!(share(&|p| p.uri.contains("\\x")) > 0.0, "no nginx-escaped URI");
    let span = parsed.last().map(|p| p.time).unwrap_or_default() - parsed[0].time;
    // 100k lines at 2000/s: 50 s of event time, i.e. 00:00:00 → 00:00:50.
    assert!((48..=52).contains(&span), "time span {span}");
}

#[test]
fn start_time_and_zone_are_honoured() {
    let start_unix = parse_rfc3339("2026-11-28T01:56:24Z").expect("valid");
    let cfg = GenConfig { start_unix, tz_offset_minutes: 60, malformed_percent: 0.0, lines: 1, ..GenConfig::default() };
    let (out, _) = run(&cfg);
    assert!(String::from_utf8_lossy(&out).contains(" [28/Nov/2026:02:56:24 +0100] "));
    let (json, _) = run(&GenConfig { format: Format::Json, ..cfg });
    assert!(json.starts_with(b"{\"time_iso8601\":\"2026-11-28T02:56:24+01:00\""));
}

#[test]
fn invalid_configs_are_rejected() {
    let base = GenConfig::default();
    for cfg in [
        GenConfig { rate: 0.0, ..base.clone() },
        GenConfig { malformed_percent: 100.5, ..base.clone() },
        GenConfig { path_pool: 0, ..base.clone() },
    ] {
        let err = generate(&cfg, &mut Vec::new()).expect_err("invalid");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
