//! The three ways a web server escapes a value into a log line: nginx's
//! default (`\xNN`), Apache's `ap_escape_logitem`, and nginx `escape=json`.

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// Which escaping a format uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Escape {
    /// nginx default: `"`, `\`, bytes below 0x20 and from 0x7f up become
    /// `\xNN` with uppercase hex.
    Nginx,
    /// Apache: `\"`, `\\`, `\n`-style for a few controls, other controls and
    /// bytes from 0x7f up as `\xhh` with lowercase hex.
    Apache,
    /// nginx `escape=json`: `\"`, `\\`, `\n`-style or `\u00NN` for controls;
    /// bytes from 0x7f up pass through raw.
    Json,
}

/// Bytes nginx and Apache escape in a quoted field.
const LOG_SPECIAL: [bool; 256] = special(false);
/// Bytes nginx `escape=json` escapes.
const JSON_SPECIAL: [bool; 256] = special(true);

const fn special(json: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = c == b'"' as usize || c == b'\\' as usize || c < 0x20 || (!json && c >= 0x7f);
        c += 1;
    }
    table
}

/// Whether `value` passes through every escaping unchanged.
pub(crate) fn is_clean(value: &[u8]) -> bool {
    !value.iter().any(|&c| LOG_SPECIAL[usize::from(c)])
}

/// A field value, with whether it is known to be [clean](is_clean).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Text<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) clean: bool,
}

impl<'a> Text<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, clean: is_clean(bytes) }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl Escape {
    fn needs(self, c: u8) -> bool {
        match self {
            Self::Nginx | Self::Apache => LOG_SPECIAL[usize::from(c)],
            Self::Json => JSON_SPECIAL[usize::from(c)],
        }
    }

    /// Appends `text`, escaped, to `out`.
    pub(crate) fn push_text(self, out: &mut Vec<u8>, text: Text<'_>) {
        if text.clean {
            out.extend_from_slice(text.bytes);
        } else {
            self.push(out, text.bytes);
        }
    }

    /// Appends `value`, escaped, to `out`.
    pub(crate) fn push(self, out: &mut Vec<u8>, value: &[u8]) {
        if !value.iter().any(|&c| self.needs(c)) {
            out.extend_from_slice(value);
            return;
        }
        for &c in value {
            if !self.needs(c) {
                out.push(c);
                continue;
            }
            let short = match c {
                b'"' => Some(b'"'),
                b'\\' => Some(b'\\'),
                b'\n' => Some(b'n'),
                b'\r' => Some(b'r'),
                b'\t' => Some(b't'),
                0x08 => Some(b'b'),
                0x0b if self == Self::Apache => Some(b'v'),
                0x0c if self == Self::Json => Some(b'f'),
                _ => None,
            };
            match (self, short) {
                (Self::Apache | Self::Json, Some(s)) => out.extend_from_slice(&[b'\\', s]),
                (Self::Json, None) => {
                    out.extend_from_slice(b"\\u00");
                    out.extend_from_slice(&[HEX_UPPER[usize::from(c >> 4)], HEX_UPPER[usize::from(c & 15)]]);
                }
                (Self::Apache, None) => {
                    out.extend_from_slice(&[
                        b'\\',
                        b'x',
                        HEX_LOWER[usize::from(c >> 4)],
                        HEX_LOWER[usize::from(c & 15)],
                    ]);
                }
                (Self::Nginx, _) => {
                    out.extend_from_slice(&[
                        b'\\',
                        b'x',
                        HEX_UPPER[usize::from(c >> 4)],
                        HEX_UPPER[usize::from(c & 15)],
                    ]);
                }
            }
        }
    }
}

/// Appends `bytes` as lowercase hex.
pub(crate) fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.extend_from_slice(&[HEX_LOWER[usize::from(b >> 4)], HEX_LOWER[usize::from(b & 15)]]);
    }
}

/// Appends `n` in decimal.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(e: Escape, s: &[u8]) -> String {
        let mut out = Vec::new();
        e.push(&mut out, s);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn escapes_like_the_servers() {
        let raw = "/wiki/Café?q=\"a\\b\"\t\x01\x7f".as_bytes();
        assert_eq!(esc(Escape::Nginx, raw), r"/wiki/Caf\xC3\xA9?q=\x22a\x5Cb\x22\x09\x01\x7F");
        assert_eq!(esc(Escape::Apache, raw), r#"/wiki/Caf\xc3\xa9?q=\"a\\b\"\t\x01\x7f"#);
        assert_eq!(esc(Escape::Json, raw), "/wiki/Café?q=\\\"a\\\\b\\\"\\t\\u0001\x7f");
        assert_eq!(esc(Escape::Json, b"\x1f\x0c\x0b"), r"\u001F\f\u000B");
        assert_eq!(esc(Escape::Nginx, b"plain"), "plain");
        assert!(is_clean(b"/a?b=c%20d") && !is_clean(b"a\"b") && !is_clean("é".as_bytes()) && !is_clean(b"\x7f"));
    }

    #[test]
    fn writes_numbers_and_hex() {
        let mut out = Vec::new();
        push_u64(&mut out, 0);
        out.push(b' ');
        push_u64(&mut out, u64::MAX);
        out.push(b' ');
        push_hex(&mut out, &[0x0a, 0xff]);
        assert_eq!(out, b"0 18446744073709551615 0aff");
    }
}
