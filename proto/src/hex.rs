//! Lowercase hex by hand, for the fixed-width numbers every message carries
//! (ring ids, versions, ETags, request ids).
//!
//! Why not `format!("{:x}")` and `from_str_radix`: a 1-hop GET writes and
//! reads about a dozen of these, and `core::fmt` with its allocation cost
//! 1–2.5 k instructions each (callgrind), a tenth of a 0-hop GET.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Marks a byte that is no hex digit in [`VALUES`].
const NOT_HEX: u8 = 0xff;

/// Every byte's value as a hex digit (either case), or [`NOT_HEX`]: one load
/// per digit where a `match` took a chain of range tests, and a reply parses
/// about 150 digits (its version and its owner's range).
const VALUES: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// The value of one hex digit (either case), or `None`.
pub fn digit(c: u8) -> Option<u8> {
    match VALUES[c as usize] {
        NOT_HEX => None,
        v => Some(v),
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
    // Every digit first, one test at the end: a bad digit has a high bit
    // set (NOT_HEX), which survives the OR.
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let (hi, lo) = (VALUES[pair[0] as usize], VALUES[pair[1] as usize]);
        bad |= hi | lo;
        *o = hi << 4 | lo;
    }
    (bad & 0xf0 == 0).then_some(())
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

    #[test]
    fn every_byte_is_a_digit_exactly_when_the_standard_library_says_so() {
        for b in 0..=255u8 {
            let want = (b as char).to_digit(16);
            assert_eq!(digit(b).map(u32::from), want, "byte {b}");
            // And a pair with it decodes only then, in either position.
            let mut out = [0u8; 1];
            let ok = want.is_some().then_some(());
            assert_eq!(decode_into(&[b, b'0'], &mut out), ok, "byte {b} first");
            assert_eq!(decode_into(&[b'0', b], &mut out), ok, "byte {b} second");
        }
    }
}
