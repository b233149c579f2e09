//! The canonical encoding of a record (format v1): deterministic,
//! length-prefixed binary, the input of every record commitment.
//!
//! Fields are written in a fixed order without tags. Integers are
//! big-endian and fixed-width; strings and bytes are a `u32` big-endian
//! length followed by the bytes; an optional value is `0x00` (absent) or
//! `0x01` followed by the value. An IP address is `0x04` + 4 octets or
//! `0x06` + 16 octets. The layout is specified in `docs/FORMAT.md` §4 and
//! pinned by the test vectors below; changing it means a new format version.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{Error, ErrorKind};
use crate::record::{EventTime, LineFormat, Record};

/// Appends the canonical encoding of `record` to `out`.
///
/// # Panics
///
/// Never in practice: a field longer than 4 GiB cannot be encoded and
/// panics; lines are capped far below that by every caller.
pub fn encode_into(record: &Record, out: &mut Vec<u8>) {
    out.extend_from_slice(&record.seq.to_be_bytes());
    out.extend_from_slice(&record.received_at.to_be_bytes());
    put_bytes(out, record.source.as_bytes());
    put_opt(out, record.format, |out, f: LineFormat| out.push(f.code()));
    put_opt(out, record.time, |out, t| {
        out.extend_from_slice(&t.utc_micros.to_be_bytes());
        out.extend_from_slice(&t.offset_secs.to_be_bytes());
    });
    put_opt(out, record.client_ip, |out, ip| match ip {
        IpAddr::V4(v4) => {
            out.push(4);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.push(6);
            out.extend_from_slice(&v6.octets());
        }
    });
    put_opt_str(out, record.method.as_deref());
    put_opt_str(out, record.url.as_deref());
    put_opt_str(out, record.url_path.as_deref());
    put_opt_str(out, record.protocol.as_deref());
    put_opt(out, record.status, |out, s| out.extend_from_slice(&s.to_be_bytes()));
    put_opt(out, record.bytes_sent, |out, b| out.extend_from_slice(&b.to_be_bytes()));
    put_opt(out, record.duration_us, |out, d| out.extend_from_slice(&d.to_be_bytes()));
    put_opt_str(out, record.referer.as_deref());
    put_opt_str(out, record.user_agent.as_deref());
    put_opt_str(out, record.user_id.as_deref());
    put_opt_str(out, record.request_id.as_deref());
    put_opt_str(out, record.host.as_deref());
    put_bytes(out, &record.raw);
    put_opt_str(out, record.parse_error.as_deref());
}

/// The canonical encoding of `record` as a new vector.
pub fn encode(record: &Record) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + record.raw.len());
    encode_into(record, &mut out);
    out
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("record field longer than 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_opt<T>(out: &mut Vec<u8>, value: Option<T>, put: impl FnOnce(&mut Vec<u8>, T)) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put(out, v);
        }
    }
}

fn put_opt_str(out: &mut Vec<u8>, value: Option<&str>) {
    put_opt(out, value, |out, s| put_bytes(out, s.as_bytes()));
}

/// Decodes a canonical encoding back into a record (the agent's
/// write-ahead log stores records this way). Every byte must be consumed;
/// any malformation is an error, never a panic.
pub fn decode(bytes: &[u8]) -> Result<Record, Error> {
    let mut r = Reader { bytes, at: 0 };
    let record = Record {
        seq: r.u64()?,
        received_at: r.i64()?,
        source: r.string()?,
        format: r.opt(|r| {
            let code = r.u8()?;
            LineFormat::from_code(code).ok_or_else(|| r.bad(&format!("unknown line format code {code}")))
        })?,
        time: r.opt(|r| Ok(EventTime { utc_micros: r.i64()?, offset_secs: r.i32()? }))?,
        client_ip: r.opt(|r| match r.u8()? {
            4 => Ok(IpAddr::V4(Ipv4Addr::from(r.array::<4>()?))),
            6 => Ok(IpAddr::V6(Ipv6Addr::from(r.array::<16>()?))),
            other => Err(r.bad(&format!("unknown address family {other}"))),
        })?,
        method: r.opt(Reader::string)?,
        url: r.opt(Reader::string)?,
        url_path: r.opt(Reader::string)?,
        protocol: r.opt(Reader::string)?,
        status: r.opt(|r| Ok(u16::from_be_bytes(r.array::<2>()?)))?,
        bytes_sent: r.opt(Reader::u64)?,
        duration_us: r.opt(Reader::u64)?,
        referer: r.opt(Reader::string)?,
        user_agent: r.opt(Reader::string)?,
        user_id: r.opt(Reader::string)?,
        request_id: r.opt(Reader::string)?,
        host: r.opt(Reader::string)?,
        raw: r.bytes()?.to_vec(),
        parse_error: r.opt(Reader::string)?,
    };
    if r.at != bytes.len() {
        return Err(r.bad("trailing bytes"));
    }
    Ok(record)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bad(&self, why: &str) -> Error {
        Error::new(ErrorKind::Malformed, format!("canonical record at byte {}: {why}", self.at))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len()).ok_or_else(|| self.bad("truncated"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, Error> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, Error> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn bytes(&mut self) -> Result<&'a [u8], Error> {
        let len = u32::from_be_bytes(self.array()?) as usize;
        self.take(len)
    }

    fn string(&mut self) -> Result<String, Error> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.bad("string is not UTF-8"))
    }

    fn opt<T>(&mut self, value: impl FnOnce(&mut Self) -> Result<T, Error>) -> Result<Option<T>, Error> {
        match self.u8()? {
            0 => Ok(None),
            1 => value(self).map(Some),
            other => Err(self.bad(&format!("presence byte {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed record whose encoding is pinned: if this test changes, the
    /// format version must change (and `docs/FORMAT.md` with it).
    #[test]
    fn encoding_vector_is_stable() {
        let record = Record {
            seq: 7,
            received_at: 1_700_000_000_000_000,
            source: "file:a.log".into(),
            format: Some(LineFormat::Combined),
            time: Some(EventTime { utc_micros: 1_699_999_999_000_000, offset_secs: -25_200 }),
            client_ip: Some("192.0.2.1".parse().unwrap()),
            method: Some("GET".into()),
            url: Some("/a?b".into()),
            url_path: Some("/a".into()),
            protocol: Some("HTTP/1.1".into()),
            status: Some(200),
            bytes_sent: Some(512),
            duration_us: None,
            referer: None,
            user_agent: Some("curl/8".into()),
            user_id: None,
            request_id: None,
            host: None,
            raw: b"raw line".to_vec(),
            parse_error: None,
        };
        let expected = concat!(
            "0000000000000007", // seq
            "00060a24181e4000", // received_at
            "0000000a",
            "66696c653a612e6c6f67", // source "file:a.log"
            "01",
            "01", // format: combined
            "01",
            "00060a24180efdc0",
            "ffff9d90", // time, offset -07:00
            "01",
            "04",
            "c0000201", // client_ip 192.0.2.1
            "01",
            "00000003",
            "474554", // method "GET"
            "01",
            "00000004",
            "2f613f62", // url "/a?b"
            "01",
            "00000002",
            "2f61", // url_path "/a"
            "01",
            "00000008",
            "485454502f312e31", // protocol "HTTP/1.1"
            "01",
            "00c8", // status 200
            "01",
            "0000000000000200", // bytes_sent 512
            "00",               // duration_us
            "00",               // referer
            "01",
            "00000006",
            "6375726c2f38", // user_agent "curl/8"
            "00",
            "00",
            "00", // user_id, request_id, host
            "00000008",
            "726177206c696e65", // raw "raw line"
            "00",               // parse_error
        );
        assert_eq!(hex::encode(encode(&record)), expected);
    }

    #[test]
    fn decode_inverts_encode_and_refuses_damage() {
        let mut record = Record {
            seq: 9,
            source: "s".into(),
            format: Some(LineFormat::Json),
            time: Some(EventTime { utc_micros: -5, offset_secs: 3600 }),
            client_ip: Some("2001:db8::1".parse().unwrap()),
            url: Some("/é?x".into()),
            status: Some(404),
            raw: vec![0, 255, b'\n'],
            ..Record::default()
        };
        assert_eq!(decode(&encode(&record)).unwrap(), record);
        record.client_ip = Some("192.0.2.1".parse().unwrap());
        let bytes = encode(&record);
        assert_eq!(decode(&bytes).unwrap(), record);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        assert!(decode(&[bytes.as_slice(), &[0]].concat()).is_err());
    }

    #[test]
    fn absent_and_empty_strings_differ() {
        let mut a = Record::default();
        let mut b = Record::default();
        a.user_id = None;
        b.user_id = Some(String::new());
        assert_ne!(encode(&a), encode(&b));
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let mut a = Record::default();
        let mut b = Record::default();
        a.method = Some("GE".into());
        a.url = Some("T/".into());
        b.method = Some("GET".into());
        b.url = Some("/".into());
        assert_ne!(encode(&a), encode(&b));
    }
}
