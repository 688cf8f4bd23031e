//! Lowercase hex by hand, for the fixed-width numbers every message carries
//! (ring ids, versions, ETags, request ids).
//!
//! Why not `format!("{:x}")` and `from_str_radix`: a 1-hop GET writes and
//! reads about a dozen of these, and `core::fmt` with its allocation cost
//! 1–2.5 k instructions each (callgrind), a tenth of a 0-hop GET.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The value of one hex digit (either case), or `None`.
pub fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Writes `bytes` as `2 × bytes.len()` lowercase digits into the front of `out`.
///
/// # Panics
/// If `out` is shorter than that (a caller's bug: the widths are fixed).
pub fn encode_into(bytes: &[u8], out: &mut [u8]) {
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[(b >> 4) as usize];
        out[2 * i + 1] = DIGITS[(b & 0xf) as usize];
    }
}

/// Reads exactly `2 × out.len()` digits (either case) into `out`; `None`
/// (and `out` unspecified) if the length or any digit is wrong.
pub fn decode_into(text: &[u8], out: &mut [u8]) -> Option<()> {
    if text.len() != 2 * out.len() {
        return None;
    }
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *o = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(())
}

/// `n` as exactly 16 lowercase digits.
pub fn u64_digits(n: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    encode_into(&n.to_be_bytes(), &mut out);
    out
}

/// Exactly 16 digits (either case) as a number.
pub fn parse_u64(text: &[u8]) -> Option<u64> {
    let mut b = [0u8; 8];
    decode_into(text, &mut b)?;
    Some(u64::from_be_bytes(b))
}

/// Lowercase digits as text. Every byte [`encode_into`] writes is ASCII, so
/// this never fails on its output; anything else reads as empty.
pub fn as_str(digits: &[u8]) -> &str {
    std::str::from_utf8(digits).unwrap_or_default()
}

/// Deserializes a string field through `parse`, borrowing the text where the
/// format allows (serde_json does for strings without escapes) instead of
/// copying it into a `String` first, as `Cow<str>` would: a reply carries
/// three of these, and the copies cost a tenth of its parse. `what` names the
/// expected form in the error.
pub fn deserialize_with<'de, D, T>(
    d: D,
    what: &'static str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Text<T> {
        what: &'static str,
        parse: fn(&str) -> Option<T>,
    }
    impl<T> serde::de::Visitor<'_> for Text<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(self.what)
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
            (self.parse)(s).ok_or_else(|| E::custom(self.what))
        }
    }
    d.deserialize_str(Text { what, parse })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_as_the_standard_formatter_writes_them() {
        for n in [0, 1, 0xabc, u64::MAX, 0x0123_4567_89ab_cdef] {
            let d = u64_digits(n);
            assert_eq!(as_str(&d), format!("{n:016x}"));
            assert_eq!(parse_u64(&d), Some(n));
            assert_eq!(parse_u64(format!("{n:016X}").as_bytes()), Some(n));
        }
    }

    #[test]
    fn wrong_lengths_and_digits_are_refused() {
        assert_eq!(parse_u64(b"123"), None);
        assert_eq!(parse_u64(b"00000000000000000"), None);
        assert_eq!(parse_u64(b"000000000000000g"), None);
        assert_eq!(parse_u64(b"+00000000000000f"), None);
        let mut out = [0u8; 2];
        assert_eq!(decode_into(b"zz00", &mut out), None);
        assert_eq!(decode_into(b"ff00", &mut out), Some(()));
        assert_eq!(out, [0xff, 0]);
    }
}
