//! Time conversions for access-log timestamps, written by hand.
//!
//! Owns the CLF time form (nginx `$time_local`, Apache `%t`:
//! `10/Oct/2000:13:55:36 -0700`) in both directions, RFC 3339 parsing (nginx
//! `$time_iso8601`) and the canonical RFC 3339 UTC form used for manifest
//! timestamps.
//!
//! Calendar arithmetic is proleptic Gregorian, using Howard Hinnant's
//! `days_from_civil` / `civil_from_days` algorithms
//! (<https://howardhinnant.github.io/date_algorithms.html>), in `i64` so
//! that no input can overflow.
//!
//! Rules, the same for every parser here:
//!
//! - Years 0000–9999 only (in the time's own offset); the fixed-width
//!   forms cannot express others.
//! - UTC offsets are whole minutes up to ±23:59 ([`MAX_OFFSET_SECS`]).
//! - Leap seconds: a seconds field of `60` is accepted and read the way
//!   POSIX time reads it, as the same instant as second 0 of the next
//!   minute (`23:59:60` = next day's `00:00:00`). Such a time therefore
//!   formats back as `:00` of the next minute, so a line holding one is not
//!   reproduced by the renderer and keeps its raw bytes; nothing is lost.

use crate::parse::{ParseError, ParseErrorKind, quote_bytes};
use crate::record::{EventTime, Micros};

const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// English month abbreviations as CLF writes them, January first.
const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// The largest UTC offset accepted either side of UTC, in seconds (23:59).
pub const MAX_OFFSET_SECS: i32 = 23 * 3600 + 59 * 60;

/// Seconds since the epoch of 9999-12-31T23:59:59Z, the last second of the
/// year range accepted.
const MAX_SECS: i64 = 253_402_300_799;

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
/// `days_from_civil`). `month` is 1..=12, `day` 1..=31.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = (i64::from(month) + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day number since 1970-01-01
/// (Hinnant's `civil_from_days`): `(year, month 1..=12, day 1..=31)`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// A broken-down time of day on a calendar date, in some offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Civil {
    fn from_secs(secs: i64) -> Civil {
        let (year, month, day) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
        let rem = secs.rem_euclid(SECS_PER_DAY) as u32;
        Civil { year, month, day, hour: rem / 3600, minute: rem / 60 % 60, second: rem % 60 }
    }

    /// Seconds since the epoch, with second 60 counting as the next
    /// minute's second 0.
    fn to_secs(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * SECS_PER_DAY
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// Checks every field's range; the error names the offending part.
    fn validate(self) -> Result<(), String> {
        if !(0..=9999).contains(&self.year) {
            return Err(format!("year {} out of range", self.year));
        }
        if !(1..=12).contains(&self.month) {
            return Err(format!("month {} out of range", self.month));
        }
        let last = days_in_month(self.year, self.month);
        if self.day < 1 || self.day > last {
            return Err(format!("day {} out of range for {}-{:02}", self.day, self.year, self.month));
        }
        if self.hour > 23 {
            return Err(format!("hour {} out of range", self.hour));
        }
        if self.minute > 59 {
            return Err(format!("minute {} out of range", self.minute));
        }
        if self.second > 60 {
            return Err(format!("second {} out of range", self.second));
        }
        Ok(())
    }
}

/// The value of a run of ASCII digits, or `None` if any byte is not one.
fn digits(text: &[u8]) -> Option<u32> {
    text.iter().try_fold(0u32, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0')))
}

fn bad_time(message: String) -> ParseError {
    ParseError::new(ParseErrorKind::BadTime, message)
}

/// Parses a CLF time, the text between `[` and `]`:
/// `10/Oct/2000:13:55:36 -0700`.
///
/// Exactly that shape: two-digit day, English month abbreviation with that
/// capitalisation, four-digit year, `hh:mm:ss`, one space, a sign and four
/// offset digits. See the module docs for ranges and leap seconds.
///
/// # Errors
///
/// [`ParseErrorKind::BadTime`], naming what is wrong, e.g.
/// `bad month name "Foo" in time field`.
pub fn parse_clf_time(text: &[u8]) -> Result<EventTime, ParseError> {
    let shape_ok = text.len() == 26
        && text[2] == b'/'
        && text[6] == b'/'
        && text[11] == b':'
        && text[14] == b':'
        && text[17] == b':'
        && text[20] == b' '
        && matches!(text[21], b'+' | b'-');
    let shape =
        || bad_time(format!("bad time {} in time field, expected dd/Mon/yyyy:hh:mm:ss +hhmm", quote_bytes(text)));
    if !shape_ok {
        return Err(shape());
    }
    let month_text = &text[3..6];
    let month = MONTHS
        .iter()
        .position(|m| m.as_slice() == month_text)
        .ok_or_else(|| bad_time(format!("bad month name {} in time field", quote_bytes(month_text))))?;
    let (Some(day), Some(year), Some(hour), Some(minute), Some(second), Some(off_h), Some(off_m)) = (
        digits(&text[0..2]),
        digits(&text[7..11]),
        digits(&text[12..14]),
        digits(&text[15..17]),
        digits(&text[18..20]),
        digits(&text[22..24]),
        digits(&text[24..26]),
    ) else {
        return Err(shape());
    };
    let civil = Civil { year: i64::from(year), month: month as u32 + 1, day, hour, minute, second };
    civil.validate().map_err(|e| bad_time(format!("{e} in time field")))?;
    let offset_secs = offset_from_parts(text[21], off_h, off_m)
        .ok_or_else(|| bad_time(format!("bad utc offset {} in time field", quote_bytes(&text[21..]))))?;
    let utc_secs = civil.to_secs() - i64::from(offset_secs);
    Ok(EventTime { utc_micros: utc_secs * MICROS_PER_SEC, offset_secs })
}

/// Seconds east of UTC for a sign byte and hours/minutes, if in range.
fn offset_from_parts(sign: u8, hours: u32, minutes: u32) -> Option<i32> {
    if hours > 23 || minutes > 59 {
        return None;
    }
    let secs = (hours * 3600 + minutes * 60) as i32;
    Some(if sign == b'-' { -secs } else { secs })
}

/// Whether [`parse_clf_time`] can produce `time`, i.e. whether
/// [`format_clf_time`] gives text that parses back to it: whole seconds,
/// an offset of whole minutes within ±23:59, and a local year in
/// 0000–9999.
pub fn clf_time_representable(time: EventTime) -> bool {
    if time.utc_micros.rem_euclid(MICROS_PER_SEC) != 0
        || time.offset_secs % 60 != 0
        || time.offset_secs.unsigned_abs() > MAX_OFFSET_SECS.unsigned_abs()
    {
        return false;
    }
    let local = time.utc_micros / MICROS_PER_SEC + i64::from(time.offset_secs);
    (0..=9999).contains(&Civil::from_secs(local).year)
}

/// Formats a time in CLF form, the exact inverse of [`parse_clf_time`]:
/// `01/Jan/2024:00:00:00 +0000` (zero-padded day, four-digit offset).
///
/// Total: a time [`parse_clf_time`] cannot produce (see
/// [`clf_time_representable`]) still gives text of the same shape, with
/// the sub-second part and sub-minute offset dropped and the year printed
/// as it is, which does not parse back to the same time.
pub fn format_clf_time(time: EventTime) -> String {
    let mut out = Vec::with_capacity(26);
    write_clf_time(time, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends [`format_clf_time`]'s text to `out`, without allocating.
pub(crate) fn write_clf_time(time: EventTime, out: &mut Vec<u8>) {
    let offset = i64::from(time.offset_secs);
    let local = time.utc_micros.div_euclid(MICROS_PER_SEC).saturating_add(offset);
    let c = Civil::from_secs(local);
    push_padded(out, u64::from(c.day), 2);
    out.push(b'/');
    out.extend_from_slice(MONTHS[(c.month - 1) as usize]);
    out.push(b'/');
    push_year(out, c.year);
    for (sep, v) in [(b':', c.hour), (b':', c.minute), (b':', c.second)] {
        out.push(sep);
        push_padded(out, u64::from(v), 2);
    }
    out.push(b' ');
    out.push(if offset < 0 { b'-' } else { b'+' });
    let abs = offset.unsigned_abs();
    push_padded(out, abs / 3600, 2);
    push_padded(out, abs % 3600 / 60, 2);
}

fn push_year(out: &mut Vec<u8>, year: i64) {
    if year < 0 {
        out.push(b'-');
    }
    push_padded(out, year.unsigned_abs(), 4);
}

/// Appends `value` in decimal, left-padded with zeros to `width` digits.
pub(crate) fn push_padded(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let mut buf = [0u8; 20];
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    let len = buf.len() - start;
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(len)));
    out.extend_from_slice(&buf[start..]);
}

/// Parses an RFC 3339 timestamp into microseconds since the epoch and the
/// offset it was written with (seconds east of UTC).
///
/// Accepts `2026-11-28T02:56:24+00:00`, `…Z` (either case, as is `T`),
/// and a fraction of 1 to 9 digits, truncated to microseconds. Returns
/// `None` for anything else, including years outside 0000–9999 and
/// offsets beyond ±23:59. Second `60` is read as described in the module
/// docs.
pub fn parse_rfc3339(text: &str) -> Option<(Micros, i32)> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let civil = Civil {
        year: i64::from(digits(&b[0..4])?),
        month: digits(&b[5..7])?,
        day: digits(&b[8..10])?,
        hour: digits(&b[11..13])?,
        minute: digits(&b[14..16])?,
        second: digits(&b[17..19])?,
    };
    civil.validate().ok()?;
    let mut pos = 19;
    let mut micros = 0i64;
    if b[pos] == b'.' {
        pos += 1;
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            if pos - start < 6 {
                micros = micros * 10 + i64::from(b[pos] - b'0');
            }
            pos += 1;
        }
        let n = pos - start;
        if n == 0 || n > 9 {
            return None;
        }
        for _ in n..6 {
            micros *= 10;
        }
    }
    let offset_secs = match b.get(pos..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            offset_from_parts(*sign, digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)?
        }
        _ => return None,
    };
    let utc_secs = civil.to_secs() - i64::from(offset_secs);
    Some((utc_secs * MICROS_PER_SEC + micros, offset_secs))
}

/// Formats an instant as RFC 3339 in UTC with exactly six fractional
/// digits: `2026-11-28T02:56:24.123456Z`. This is the canonical form of
/// timestamps in manifests; [`parse_rfc3339`] reads it back exactly.
///
/// Total: outside years 0000–9999 the year is printed with a sign or more
/// digits, which is not RFC 3339 and does not parse back.
pub fn format_rfc3339_utc(micros: Micros) -> String {
    let c = Civil::from_secs(micros.div_euclid(MICROS_PER_SEC));
    let mut out = Vec::with_capacity(27);
    push_year(&mut out, c.year);
    for (sep, v) in [(b'-', c.month), (b'-', c.day), (b'T', c.hour), (b':', c.minute), (b':', c.second)] {
        out.push(sep);
        push_padded(&mut out, u64::from(v), 2);
    }
    out.push(b'.');
    push_padded(&mut out, micros.rem_euclid(MICROS_PER_SEC) as u64, 6);
    out.push(b'Z');
    String::from_utf8_lossy(&out).into_owned()
}

/// Converts decimal seconds since the epoch (nginx `$msec`,
/// `1700000000.123`) to microseconds, truncating beyond six fractional
/// digits; `None` outside years 1970–9999 or if not `digits[.digits]`.
pub(crate) fn epoch_seconds_to_micros(text: &str) -> Option<Micros> {
    let micros = i64::try_from(decimal_to_micros(text)?).ok()?;
    (micros < (MAX_SECS + 1) * MICROS_PER_SEC).then_some(micros)
}

/// Parses a non-negative decimal number of seconds (`12`, `0.123`, `.5`,
/// `3.`) into microseconds, truncating beyond six fractional digits.
pub(crate) fn decimal_to_micros(text: &str) -> Option<u64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut secs = 0u64;
    for b in int.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        secs = secs.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    let mut micros = 0u64;
    for (i, b) in frac.bytes().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        if i < 6 {
            micros += u64::from(b - b'0') * 10u64.pow(5 - i as u32);
        }
    }
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> EventTime {
        parse_clf_time(text.as_bytes()).expect(text)
    }

    #[test]
    fn civil_round_trips_over_the_whole_year_range() {
        let first = days_from_civil(0, 1, 1);
        let last = days_from_civil(9999, 12, 31);
        let mut expected = (0i64, 1u32, 1u32);
        for day in first..=last {
            assert_eq!(civil_from_days(day), expected, "day {day}");
            assert_eq!(days_from_civil(expected.0, expected.1, expected.2), day);
            let (y, m, d) = expected;
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn clf_time_known_values() {
        // 2000-10-10T20:55:36Z
        assert_eq!(
            t("10/Oct/2000:13:55:36 -0700"),
            EventTime { utc_micros: 971_211_336_000_000, offset_secs: -25_200 }
        );
        assert_eq!(t("01/Jan/1970:00:00:00 +0000"), EventTime { utc_micros: 0, offset_secs: 0 });
        assert_eq!(t("01/Jan/1970:05:30:00 +0530"), EventTime { utc_micros: 0, offset_secs: 19_800 });
        assert_eq!(t("01/Jan/1970:14:00:00 +1400"), EventTime { utc_micros: 0, offset_secs: 50_400 });
        assert_eq!(t("29/Feb/2024:12:00:00 +0000").utc_micros, 1_709_208_000_000_000);
        assert_eq!(t("01/Jan/0000:00:00:00 +0000").utc_micros, -62_167_219_200_000_000);
        assert_eq!(t("31/Dec/9999:23:59:59 +0000").utc_micros, MAX_SECS * MICROS_PER_SEC);
    }

    #[test]
    fn clf_time_formats_back_exactly() {
        for text in [
            "10/Oct/2000:13:55:36 -0700",
            "01/Jan/2024:00:00:00 +0000",
            "29/Feb/2000:23:59:59 +0530",
            "31/Dec/9999:23:59:59 -2359",
            "01/Jan/0000:00:00:00 +2359",
            "28/Nov/2026:02:56:24 +1400",
        ] {
            let time = t(text);
            assert!(clf_time_representable(time), "{text}");
            assert_eq!(format_clf_time(time), text);
        }
    }

    #[test]
    fn clf_time_rejects_out_of_range_and_bad_shapes() {
        for (text, needle) in [
            ("10/Foo/2000:13:55:36 -0700", r#"bad month name "Foo" in time field"#),
            ("10/oct/2000:13:55:36 -0700", "bad month name"),
            ("29/Feb/2023:00:00:00 +0000", "day 29 out of range"),
            ("29/Feb/1900:00:00:00 +0000", "day 29 out of range"),
            ("31/Apr/2023:00:00:00 +0000", "day 31"),
            ("00/Jan/2023:00:00:00 +0000", "day 0"),
            ("01/Jan/2023:24:00:00 +0000", "hour 24"),
            ("01/Jan/2023:00:60:00 +0000", "minute 60"),
            ("01/Jan/2023:00:00:61 +0000", "second 61"),
            ("01/Jan/2023:00:00:00 +2400", "bad utc offset"),
            ("01/Jan/2023:00:00:00 +0060", "bad utc offset"),
            ("01/Jan/2023:00:00:00 0000", "expected dd/Mon/yyyy"),
            ("1/Jan/2023:00:00:00 +0000", "expected dd/Mon/yyyy"),
            ("01/Jan/2023:00:00:00 +00a0", "expected dd/Mon/yyyy"),
            ("01/Jan/-023:00:00:00 +0000", "expected dd/Mon/yyyy"),
            ("", "expected dd/Mon/yyyy"),
        ] {
            let err = parse_clf_time(text.as_bytes()).expect_err(text);
            assert_eq!(err.kind(), ParseErrorKind::BadTime);
            assert!(err.message().contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn leap_second_is_the_next_minute() {
        let leap = t("31/Dec/2016:23:59:60 +0000");
        assert_eq!(leap, t("01/Jan/2017:00:00:00 +0000"));
        assert_eq!(format_clf_time(leap), "01/Jan/2017:00:00:00 +0000");
        assert_eq!(parse_rfc3339("2016-12-31T23:59:60Z"), parse_rfc3339("2017-01-01T00:00:00Z"));
    }

    #[test]
    fn unrepresentable_times_still_format() {
        for time in [
            EventTime { utc_micros: 1, offset_secs: 0 },
            EventTime { utc_micros: 0, offset_secs: 30 },
            EventTime { utc_micros: 0, offset_secs: i32::MIN },
            EventTime { utc_micros: i64::MAX, offset_secs: i32::MAX },
            EventTime { utc_micros: i64::MIN, offset_secs: 0 },
            EventTime { utc_micros: (MAX_SECS + 1) * MICROS_PER_SEC, offset_secs: 0 },
        ] {
            assert!(!clf_time_representable(time), "{time:?}");
            let text = format_clf_time(time);
            assert_ne!(parse_clf_time(text.as_bytes()).ok(), Some(time), "{text}");
        }
        // Year 10000 in UTC but 9999 in its own offset is fine.
        let edge = EventTime { utc_micros: (MAX_SECS + 60) * MICROS_PER_SEC, offset_secs: -120 };
        assert!(clf_time_representable(edge));
        assert_eq!(format_clf_time(edge), "31/Dec/9999:23:58:59 -0002");
    }

    #[test]
    fn rfc3339_parses_the_accepted_forms() {
        let base = 1_795_834_584_000_000; // 2026-11-28T02:56:24Z
        assert_eq!(parse_rfc3339("2026-11-28T02:56:24+00:00"), Some((base, 0)));
        assert_eq!(parse_rfc3339("2026-11-28T02:56:24Z"), Some((base, 0)));
        assert_eq!(parse_rfc3339("2026-11-28t02:56:24z"), Some((base, 0)));
        assert_eq!(parse_rfc3339("2026-11-28T08:26:24+05:30"), Some((base, 19_800)));
        assert_eq!(parse_rfc3339("2026-11-27T19:56:24-07:00"), Some((base, -25_200)));
        assert_eq!(parse_rfc3339("2026-11-28T02:56:24.1Z"), Some((base + 100_000, 0)));
        assert_eq!(parse_rfc3339("2026-11-28T02:56:24.123456Z"), Some((base + 123_456, 0)));
        assert_eq!(parse_rfc3339("2026-11-28T02:56:24.123456789Z"), Some((base + 123_456, 0)));
        for bad in [
            "2026-11-28T02:56:24",
            "2026-11-28T02:56:24.Z",
            "2026-11-28T02:56:24.1234567890Z",
            "2026-11-28 02:56:24Z",
            "2026-11-28T02:56:24+0000",
            "2026-11-28T02:56:24+24:00",
            "2026-02-30T02:56:24Z",
            "2026-13-01T02:56:24Z",
            "+2026-11-28T02:56:24Z",
            "2026-11-28T02:56:24ZZ",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc3339_utc_formats_canonically() {
        assert_eq!(format_rfc3339_utc(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(format_rfc3339_utc(1_795_834_584_123_456), "2026-11-28T02:56:24.123456Z");
        assert_eq!(format_rfc3339_utc(-1), "1969-12-31T23:59:59.999999Z");
        for micros in [0, -1, 1, 1_795_834_584_123_456, MAX_SECS * MICROS_PER_SEC + 999_999, -62_167_219_200_000_000] {
            assert_eq!(parse_rfc3339(&format_rfc3339_utc(micros)), Some((micros, 0)));
        }
        // Total, never panics.
        for micros in [i64::MIN, i64::MAX] {
            assert_eq!(parse_rfc3339(&format_rfc3339_utc(micros)), None);
        }
    }

    #[test]
    fn decimal_seconds() {
        assert_eq!(decimal_to_micros("0.123"), Some(123_000));
        assert_eq!(decimal_to_micros("12"), Some(12_000_000));
        assert_eq!(decimal_to_micros(".5"), Some(500_000));
        assert_eq!(decimal_to_micros("1.2345678"), Some(1_234_567));
        for bad in ["", ".", "-1", "1.2.3", "1e3", "abc", "99999999999999999999"] {
            assert_eq!(decimal_to_micros(bad), None, "{bad}");
        }
        assert_eq!(epoch_seconds_to_micros("1700000000.123"), Some(1_700_000_000_123_000));
        assert_eq!(epoch_seconds_to_micros("253402300800"), None);
    }
}
