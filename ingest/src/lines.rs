//! Turning received bytes into records: split into lines, parse each with
//! the listener's format, stamp the transport identity as `source`. Every
//! line becomes a record; a line that does not parse keeps its bytes and
//! its error.

use logseal_core::parse::{JsonMapping, ParseErrorKind, parse_line};
use logseal_core::{LineFormat, Micros, Record};

/// Parses one line into a record (its `seq` is assigned later, by the WAL).
pub fn record(line: &[u8], format: LineFormat, mapping: &JsonMapping, source: &str, received_at: Micros) -> Record {
    let parsed = parse_line(format, line, mapping);
    let kind = parsed.as_ref().err().map(|e| e.kind());
    if let Some(kind) = kind {
        metrics::counter!("logseal_parse_errors_total", "kind" => kind.as_str()).increment(1);
    }
    Record::from_parse(0, received_at, source, format, line.to_vec(), parsed.map_err(|e| e.to_string()))
}

/// The lines of a body: split on `\n`; a final line without one counts; a
/// body ending in `\n` has no empty last line.
pub fn split(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut parts = (!body.is_empty()).then(|| body.strip_suffix(b"\n").unwrap_or(body).split(|b| *b == b'\n'));
    std::iter::from_fn(move || parts.as_mut()?.next())
}

/// Parses a whole body. For NDJSON, a body in which no line is JSON at all
/// is refused with the first line's number and error (a client sending
/// the wrong thing), while single bad lines inside a body are kept.
pub fn records(
    body: &[u8],
    format: LineFormat,
    mapping: &JsonMapping,
    source: &str,
    received_at: Micros,
) -> Result<Vec<Record>, String> {
    let records: Vec<Record> = split(body).map(|line| record(line, format, mapping, source, received_at)).collect();
    if format == LineFormat::Json && !records.is_empty() {
        let not_json = |r: &Record| {
            r.parse_error.is_some()
                && logseal_core::parse::parse_line(format, &r.raw, mapping)
                    .is_err_and(|e| e.kind() == ParseErrorKind::BadJson)
        };
        if records.iter().all(not_json) {
            let first = &records[0];
            return Err(format!("line 1 is not JSON: {}", first.parse_error.as_deref().unwrap_or("")));
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_keeps_every_line() {
        let lines: Vec<&[u8]> = split(b"a\n\nb\n").collect();
        assert_eq!(lines, vec![&b"a"[..], b"", b"b"]);
        assert_eq!(split(b"x").count(), 1);
        assert_eq!(split(b"").count(), 0);
        assert_eq!(split(b"\n").count(), 1);
    }

    #[test]
    fn ndjson_that_is_not_json_at_all_is_refused_but_single_bad_lines_are_kept() {
        let mapping = JsonMapping::default();
        let err = records(b"hello\nworld\n", LineFormat::Json, &mapping, "s", 0).unwrap_err();
        assert!(err.starts_with("line 1 is not JSON"), "{err}");
        let ok = records(b"{\"remote_addr\":\"192.0.2.1\"}\nnot json\n", LineFormat::Json, &mapping, "s", 0).unwrap();
        assert_eq!(ok.len(), 2);
        assert!(ok[1].parse_error.is_some() && ok[1].raw == b"not json");
    }
}
