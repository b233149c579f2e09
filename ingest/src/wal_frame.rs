//! The payload of one WAL frame (segment version 2): a record, written
//! as compactly as replay allows.
//!
//! A record that parsed cleanly as `combined` or `common` is stored as
//! its line and envelope only — `0x00 ‖ seq: u64 BE ‖ received_at: i64 BE
//! ‖ format: u8 ‖ source ‖ raw` (each of the last two a `u32` BE length
//! and bytes) — and its fields are parsed again on replay. That is less
//! than half the bytes of the full record, and writing the WAL (the
//! kernel copying it into the page cache) is a large part of the agent's
//! CPU. Those two formats need no configuration to parse, so replay does
//! not depend on the config. Every other record (JSON, or one with a
//! parse error) is `0x01 ‖ canonical encoding`. Version 1 segments hold
//! canonical encodings only.
//!
//! Replay gives the record the parser of the running version makes of
//! the line; the record's commitment is computed when it is sealed, so
//! it always matches what is sealed.

use logseal_core::parse::{JsonMapping, parse_line};
use logseal_core::{LineFormat, Record, canonical};

const REPARSE: u8 = 0;
const CANONICAL: u8 = 1;

/// Whether replaying `raw` with its format gives back `record`'s fields.
fn reparses(record: &Record) -> bool {
    matches!(record.format, Some(LineFormat::Combined | LineFormat::Common)) && record.parse_error.is_none()
}

/// Appends the frame payload of `record` to `out`.
pub fn encode_into(record: &Record, out: &mut Vec<u8>) {
    match record.format {
        Some(format) if reparses(record) => {
            debug_assert_eq!(
                decode(&encoded_reparse(record, format)).ok().as_ref(),
                Some(record),
                "fields come from the line"
            );
            put_reparse(record, format, out);
        }
        _ => {
            out.push(CANONICAL);
            canonical::encode_into(record, out);
        }
    }
}

fn encoded_reparse(record: &Record, format: LineFormat) -> Vec<u8> {
    let mut out = Vec::new();
    put_reparse(record, format, &mut out);
    out
}

fn put_reparse(record: &Record, format: LineFormat, out: &mut Vec<u8>) {
    out.push(REPARSE);
    out.extend_from_slice(&record.seq.to_be_bytes());
    out.extend_from_slice(&record.received_at.to_be_bytes());
    out.push(format.code());
    put_bytes(out, record.source.as_bytes());
    put_bytes(out, &record.raw);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("WAL frames are capped far below 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Decodes a version 2 frame payload.
pub fn decode(payload: &[u8]) -> Result<Record, String> {
    match payload.split_first() {
        Some((&CANONICAL, rest)) => canonical::decode(rest).map_err(|e| e.to_string()),
        Some((&REPARSE, rest)) => decode_reparse(rest),
        Some((kind, _)) => Err(format!("unknown frame kind {kind}")),
        None => Err("empty frame".into()),
    }
}

fn decode_reparse(bytes: &[u8]) -> Result<Record, String> {
    let (seq, rest) = take::<8>(bytes)?;
    let (received_at, rest) = take::<8>(rest)?;
    let (code, rest) = take::<1>(rest)?;
    let (source, rest) = take_bytes(rest)?;
    let (raw, rest) = take_bytes(rest)?;
    if !rest.is_empty() {
        return Err("trailing bytes".into());
    }
    let format = LineFormat::from_code(code[0])
        .filter(|f| matches!(f, LineFormat::Combined | LineFormat::Common))
        .ok_or_else(|| format!("line format code {} cannot be parsed again", code[0]))?;
    let source = std::str::from_utf8(source).map_err(|e| format!("source is not UTF-8: {e}"))?;
    let parsed = parse_line(format, raw, &JsonMapping::default()).map_err(|e| e.to_string());
    Ok(Record::from_parse(
        u64::from_be_bytes(seq),
        i64::from_be_bytes(received_at),
        source,
        format,
        raw.to_vec(),
        parsed,
    ))
}

fn take<const N: usize>(bytes: &[u8]) -> Result<([u8; N], &[u8]), String> {
    let (head, rest) = bytes.split_first_chunk::<N>().ok_or("frame cut short")?;
    Ok((*head, rest))
}

fn take_bytes(bytes: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let (len, rest) = take::<4>(bytes)?;
    let len = u32::from_be_bytes(len) as usize;
    if rest.len() < len {
        return Err("frame cut short".into());
    }
    Ok(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn roundtrip(record: &Record) -> Record {
        let mut out = Vec::new();
        encode_into(record, &mut out);
        decode(&out).unwrap()
    }

    const COMBINED: &[u8] =
        br#"192.0.2.1 - bob [28/Nov/2026:10:00:00 +0100] "GET /a?b=c HTTP/1.1" 200 12 "https://r.example/" "curl/8""#;

    #[test]
    fn clean_combined_lines_are_stored_as_the_line_and_come_back_whole() {
        let record = crate::lines::record(COMBINED, LineFormat::Combined, &JsonMapping::default(), "client-1", 77);
        let record = Record { seq: 5, ..record };
        let mut out = Vec::new();
        encode_into(&record, &mut out);
        assert_eq!(out[0], REPARSE);
        assert!(out.len() < canonical::encode(&record).len(), "{} bytes", out.len());
        assert_eq!(roundtrip(&record), record);
    }

    #[test]
    fn json_and_unparsed_records_are_stored_whole() {
        let mapping = JsonMapping::default();
        for record in [
            crate::lines::record(br#"{"remote_addr":"192.0.2.1"}"#, LineFormat::Json, &mapping, "s", 1),
            crate::lines::record(b"not an access log", LineFormat::Combined, &mapping, "s", 1),
            crate::lines::record(b"\xff\xfe", LineFormat::Common, &mapping, "s", 1),
            Record { seq: 3, source: "s".into(), raw: b"x".to_vec(), ..Record::default() },
        ] {
            let mut out = Vec::new();
            encode_into(&record, &mut out);
            assert_eq!(out[0], CANONICAL);
            assert_eq!(roundtrip(&record), record);
        }
    }

    #[test]
    fn malformed_payloads_are_errors() {
        let record = crate::lines::record(COMBINED, LineFormat::Combined, &JsonMapping::default(), "s", 1);
        let mut good = Vec::new();
        encode_into(&record, &mut good);
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(&[good.as_slice(), b"x"].concat()).is_err(), "trailing byte");
        let mut unknown_kind = good.clone();
        unknown_kind[0] = 9;
        assert!(decode(&unknown_kind).is_err());
        let mut json_code = good.clone();
        json_code[17] = LineFormat::Json.code();
        assert!(decode(&json_code).unwrap_err().contains("cannot be parsed again"));
    }

    proptest! {
        #[test]
        fn any_line_in_any_format_comes_back_as_it_was(
            line in proptest::collection::vec(any::<u8>(), 0..300),
            ip in any::<[u8; 4]>(),
            status in 100u16..600,
            path in "[a-z/%.?=&]{0,40}",
            format in prop_oneof![Just(LineFormat::Combined), Just(LineFormat::Common), Just(LineFormat::Json)],
            seq in any::<u64>(),
            received_at in any::<i64>(),
        ) {
            let mapping = JsonMapping::default();
            let [a, b, c, d] = ip;
            let plausible = format!(r#"{a}.{b}.{c}.{d} - - [28/Nov/2026:10:00:00 +0000] "GET /{path} HTTP/1.1" {status} 5 "-" "ua""#);
            for bytes in [line.as_slice(), plausible.as_bytes()] {
                let record = Record { seq, ..crate::lines::record(bytes, format, &mapping, "src", received_at) };
                if format == LineFormat::Combined && bytes == plausible.as_bytes() {
                    prop_assert!(record.parse_error.is_none(), "{:?}", record.parse_error);
                }
                prop_assert_eq!(roundtrip(&record), record);
            }
        }
    }
}
