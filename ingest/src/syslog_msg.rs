//! Syslog message headers (RFC 5424 and RFC 3164): what precedes the
//! message body. The body — an access-log line — is what gets sealed; the
//! header is transport, like the TLS record around it.

/// Where the body of a syslog message starts, or why it has none.
pub fn body(msg: &[u8]) -> Result<&[u8], &'static str> {
    let rest = msg.strip_prefix(b"<").ok_or("does not start with <PRI>")?;
    let close = rest.iter().take(4).position(|b| *b == b'>').ok_or("no '>' after the priority")?;
    let pri = &rest[..close];
    if pri.is_empty() || !pri.iter().all(u8::is_ascii_digit) {
        return Err("the priority is not a number");
    }
    let rest = &rest[close + 1..];
    if rest.starts_with(b"1 ") { rfc5424(&rest[2..]) } else { Ok(rfc3164(rest)) }
}

/// Skips `n` space-separated fields.
fn skip_fields(mut rest: &[u8], n: usize) -> Result<&[u8], &'static str> {
    for _ in 0..n {
        let sp = rest.iter().position(|b| *b == b' ').ok_or("the RFC 5424 header is cut short")?;
        rest = &rest[sp + 1..];
    }
    Ok(rest)
}

/// After `1 `: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [SP MSG].
fn rfc5424(rest: &[u8]) -> Result<&[u8], &'static str> {
    let rest = skip_fields(rest, 5)?;
    let rest = if let Some(after) = rest.strip_prefix(b"-") {
        after
    } else if rest.starts_with(b"[") {
        skip_structured_data(rest)?
    } else {
        return Err("the structured data is neither '-' nor '['");
    };
    let msg = match rest {
        [] => rest,
        [b' ', msg @ ..] => msg,
        _ => return Err("no space after the structured data"),
    };
    // An optional UTF-8 byte-order mark starts the message.
    Ok(msg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(msg))
}

/// Skips `[id param="value"...]...`, honouring `\"`, `\\` and `\]` escapes.
fn skip_structured_data(mut rest: &[u8]) -> Result<&[u8], &'static str> {
    while let Some(inner) = rest.strip_prefix(b"[") {
        let mut i = 0;
        let mut quoted = false;
        loop {
            match inner.get(i) {
                None => return Err("unterminated structured data"),
                Some(b'\\') if quoted => i += 2,
                Some(b'"') => {
                    quoted = !quoted;
                    i += 1;
                }
                Some(b']') if !quoted => break,
                Some(_) => i += 1,
            }
        }
        rest = &inner[i + 1..];
    }
    Ok(rest)
}

/// After the priority of an RFC 3164 message: `Mmm dd hh:mm:ss HOST TAG: MSG`.
/// Anything that does not look like that header is all body.
fn rfc3164(rest: &[u8]) -> &[u8] {
    let months: [&[u8]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    let stamp_ok = rest.len() > 16
        && months.iter().any(|m| rest.starts_with(m))
        && rest[3] == b' '
        && rest[6] == b' '
        && rest[9] == b':'
        && rest[12] == b':'
        && rest[15] == b' ';
    if !stamp_ok {
        return rest;
    }
    let after_stamp = &rest[16..];
    let Some(sp) = after_stamp.iter().position(|b| *b == b' ') else { return rest };
    let after_host = &after_stamp[sp + 1..];
    // TAG: up to 32 characters of [A-Za-z0-9_./-], optional [pid], then ':'.
    let tag_end = after_host.iter().take(48).position(|b| *b == b':');
    match tag_end {
        Some(end) if after_host[..end].iter().all(|b| !b.is_ascii_whitespace()) => {
            let msg = &after_host[end + 1..];
            msg.strip_prefix(b" ").unwrap_or(msg)
        }
        _ => after_host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = br#"192.0.2.1 - - [28/Nov/2026:02:56:24 +0000] "GET / HTTP/1.1" 200 5 "-" "c""#;

    #[test]
    fn rfc5424_bodies() {
        let msg = [&b"<190>1 2026-11-28T02:56:24.123+00:00 web1 nginx 123 - - "[..], LINE].concat();
        assert_eq!(body(&msg).unwrap(), LINE);
        let msg = [&b"<190>1 2026-11-28T02:56:24Z web1 nginx - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"A\\\"pp]\"][x@1 a=\"b\"] \xEF\xBB\xBF"[..], LINE].concat();
        assert_eq!(body(&msg).unwrap(), LINE);
        assert_eq!(body(b"<13>1 - - - - - -").unwrap(), b"");
        assert!(body(b"<13>1 - - - -").is_err());
        assert!(body(b"<13>1 - - - - - [unterminated").is_err());
    }

    #[test]
    fn rfc3164_bodies() {
        let msg = [&b"<190>Nov 28 02:56:24 web1 nginx[812]: "[..], LINE].concat();
        assert_eq!(body(&msg).unwrap(), LINE);
        let msg = [&b"<190>Nov  8 02:56:24 web1 nginx: "[..], LINE].concat();
        assert_eq!(body(&msg).unwrap(), LINE);
        // Not the usual header: everything after the priority is the body.
        assert_eq!(body(b"<5>just text").unwrap(), b"just text");
    }

    #[test]
    fn not_syslog() {
        for bad in [&b"GET / HTTP/1.1"[..], b"<abc>1 x", b"<1234567>", b""] {
            assert!(body(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
