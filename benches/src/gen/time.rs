//! Calendar arithmetic and timestamp text, without a date crate: RFC 3339
//! and zone offsets in, nginx `$time_local` / `$time_iso8601` out.

use std::fmt::Write as _;

use super::ConfigError;

/// English month abbreviations, as nginx and Apache write them.
pub(crate) const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Byte offset of the month name in a `$time_local` text.
pub(crate) const LOCAL_MONTH_AT: usize = 3;
/// Byte offset of the month digits in a `$time_iso8601` text.
pub(crate) const ISO_MONTH_AT: usize = 5;

/// `(year, month 1..=12, day)` of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date (inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses an RFC 3339 timestamp (`2026-01-01T00:00:00Z`,
/// `2026-01-01t01:00:00.25+01:00`) into Unix seconds, dropping any fraction.
pub fn parse_rfc3339(text: &str) -> Result<i64, ConfigError> {
    let bad = || ConfigError::StartTime(text.to_owned());
    let b = text.as_bytes();
    let num = |from: usize, to: usize| -> Option<i64> {
        b.get(from..to)?.iter().try_fold(0i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
    };
    let seps = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if b.len() < 20 || seps.iter().any(|&(i, c)| b[i] != c) || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad());
    }
    let (year, month, day) = (num(0, 4).ok_or_else(bad)?, num(5, 7).ok_or_else(bad)?, num(8, 10).ok_or_else(bad)?);
    let (hour, min, sec) = (num(11, 13).ok_or_else(bad)?, num(14, 16).ok_or_else(bad)?, num(17, 19).ok_or_else(bad)?);
    let month = u32::try_from(month).map_err(|_| bad())?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > i64::from(days_in_month(year, month))
        || hour > 23
        || min > 59
        || sec > 60
    {
        return Err(bad());
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ => i64::from(parse_tz_offset(rest).map_err(|_| bad())?) * 60,
    };
    let day = u32::try_from(day).map_err(|_| bad())?;
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset_secs)
}

/// Parses a zone offset, `+0100`, `-05:30` or `Z`, into minutes east of UTC.
pub fn parse_tz_offset(text: &str) -> Result<i32, ConfigError> {
    let bad = || ConfigError::TzOffset(text.to_owned());
    if matches!(text, "Z" | "z") {
        return Ok(0);
    }
    let digits: String = text.get(1..).ok_or_else(bad)?.chars().filter(|&c| c != ':').collect();
    let sign = match text.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(bad()),
    };
    let well_formed = digits.len() == 4
        && digits.bytes().all(|c| c.is_ascii_digit())
        && (text.len() == 5 || (text.len() == 6 && text.as_bytes()[3] == b':'));
    if !well_formed {
        return Err(bad());
    }
    let hours: i32 = digits[..2].parse().map_err(|_| bad())?;
    let mins: i32 = digits[2..].parse().map_err(|_| bad())?;
    if hours > 23 || mins > 59 {
        return Err(bad());
    }
    Ok(sign * (hours * 60 + mins))
}

/// Renders event seconds in one fixed zone, caching the text of the current
/// second (many lines share one).
pub(crate) struct Clock {
    offset_secs: i64,
    /// `+0100`, as `$time_local` ends.
    zone: String,
    /// `+01:00`, as `$time_iso8601` ends.
    iso_zone: String,
    second: Option<i64>,
    /// `28/Nov/2026:02:56:24 +0100`
    pub(crate) local: String,
    /// `2026-11-28T02:56:24+01:00`
    pub(crate) iso: String,
}

impl Clock {
    pub(crate) fn new(tz_offset_minutes: i32) -> Self {
        let sign = if tz_offset_minutes < 0 { '-' } else { '+' };
        let (h, m) = (tz_offset_minutes.unsigned_abs() / 60, tz_offset_minutes.unsigned_abs() % 60);
        Self {
            offset_secs: i64::from(tz_offset_minutes) * 60,
            zone: format!("{sign}{h:02}{m:02}"),
            iso_zone: format!("{sign}{h:02}:{m:02}"),
            second: None,
            local: String::new(),
            iso: String::new(),
        }
    }

    /// Points the clock at `unix` seconds.
    pub(crate) fn set(&mut self, unix: i64) {
        if self.second == Some(unix) {
            return;
        }
        self.second = Some(unix);
        let local = unix + self.offset_secs;
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400);
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        let name = MONTHS[month as usize - 1];
        self.local.clear();
        self.iso.clear();
        // Writing to a String cannot fail.
        let _ = write!(self.local, "{day:02}/{name}/{year:04}:{h:02}:{m:02}:{s:02} {}", self.zone);
        let _ = write!(self.iso, "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{}", self.iso_zone);
    }

    /// nginx error-log time, `2026/11/28 02:56:24`.
    pub(crate) fn error_log_time(&self) -> String {
        self.iso[..19].replace('-', "/").replace('T', " ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips() {
        for days in [-719_468, -1, 0, 19_782, 20_454, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_rfc3339("2026-01-01T00:00:00Z").ok(), Some(1_767_225_600));
        assert_eq!(parse_rfc3339("2026-01-01t01:00:00.999+01:00").ok(), Some(1_767_225_600));
        assert_eq!(parse_rfc3339("2025-12-31 19:00:00-05:00").ok(), Some(1_767_225_600));
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-01-01T00:00:00",
            "2026-1-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00.Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_tz_offsets() {
        assert_eq!(parse_tz_offset("+0100").ok(), Some(60));
        assert_eq!(parse_tz_offset("-05:30").ok(), Some(-330));
        assert_eq!(parse_tz_offset("Z").ok(), Some(0));
        for bad in ["0100", "+1", "+01000", "+2400", "+01:60", "+01-00"] {
            assert!(parse_tz_offset(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_nginx_times() {
        let mut clock = Clock::new(60);
        clock.set(parse_rfc3339("2026-11-28T01:56:24Z").unwrap_or_default());
        assert_eq!(clock.local, "28/Nov/2026:02:56:24 +0100");
        assert_eq!(clock.iso, "2026-11-28T02:56:24+01:00");
        assert_eq!(clock.error_log_time(), "2026/11/28 02:56:24");
        assert_eq!(&clock.local[LOCAL_MONTH_AT..LOCAL_MONTH_AT + 3], "Nov");
        assert_eq!(&clock.iso[ISO_MONTH_AT..ISO_MONTH_AT + 2], "11");
    }
}
