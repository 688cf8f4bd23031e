//! 160-bit ring identifiers and the modular arithmetic Chord needs (pure).
//!
//! An [`Id`] is a big-endian 160-bit unsigned integer. Big-endian byte arrays
//! compare lexicographically in numeric order, so `Ord` is derived and every
//! interval test reduces to at most two comparisons.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha1::{Digest, Sha1};
use std::fmt;

/// Number of bits in an identifier (SHA-1 output size): the ring has 2^160 points.
pub const BITS: usize = 160;

/// A point on the identifier ring: a 160-bit unsigned integer, big-endian.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Id(pub [u8; 20]);

impl Id {
    /// The identifier 0.
    pub const ZERO: Id = Id([0; 20]);
    /// The identifier 2^160 − 1.
    pub const MAX: Id = Id([0xff; 20]);

    /// SHA-1 of `bytes`: how node addresses and keys are placed on the ring.
    pub fn hash(bytes: &[u8]) -> Id {
        let digest = Sha1::digest(bytes);
        let mut out = [0u8; 20];
        out.copy_from_slice(&digest);
        Id(out)
    }

    /// Parses exactly 40 hex digits (either case).
    pub fn from_hex(s: &str) -> Option<Id> {
        let mut out = [0u8; 20];
        crate::hex::decode_into(s.as_bytes(), &mut out)?;
        Some(Id(out))
    }

    /// 40 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        crate::hex::as_str(&self.hex_digits()).to_string()
    }

    /// The digits of [`Id::to_hex`], without allocating.
    pub(crate) fn hex_digits(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        crate::hex::encode_into(&self.0, &mut out);
        out
    }

    /// `self + other` modulo 2^160.
    pub fn wrapping_add(&self, other: &Id) -> Id {
        let mut out = [0u8; 20];
        let mut carry = 0u16;
        for i in (0..20).rev() {
            let sum = self.0[i] as u16 + other.0[i] as u16 + carry;
            out[i] = sum as u8;
            carry = sum >> 8;
        }
        Id(out)
    }

    /// `self − other` modulo 2^160.
    pub fn wrapping_sub(&self, other: &Id) -> Id {
        let mut out = [0u8; 20];
        let mut borrow = 0i16;
        for i in (0..20).rev() {
            let mut diff = self.0[i] as i16 - other.0[i] as i16 - borrow;
            borrow = 0;
            if diff < 0 {
                diff += 256;
                borrow = 1;
            }
            out[i] = diff as u8;
        }
        Id(out)
    }

    /// 2^i for `i < 160`.
    pub fn pow2(i: usize) -> Id {
        assert!(i < BITS, "pow2 exponent {i} out of range");
        let mut out = [0u8; 20];
        out[19 - i / 8] = 1 << (i % 8);
        Id(out)
    }

    /// The start of finger `i`: `self + 2^i` modulo 2^160.
    pub fn finger_start(&self, i: usize) -> Id {
        self.wrapping_add(&Id::pow2(i))
    }

    /// Clockwise distance from `self` to `to`: `(to − self)` modulo 2^160.
    pub fn distance_to(&self, to: &Id) -> Id {
        to.wrapping_sub(self)
    }

    /// The first 8 bytes as an integer: a cheap, well-mixed tag (SHA-1 output).
    pub fn prefix_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(b)
    }

    /// Short form for logs and tables: the first 8 hex digits.
    pub fn short(&self) -> String {
        self.to_hex()[..8].to_string()
    }
}

/// `x ∈ (a, b)` on the ring. When `a == b` the interval is the whole ring but `a`.
pub fn in_open(x: &Id, a: &Id, b: &Id) -> bool {
    if a < b {
        a < x && x < b
    } else if a > b {
        x > a || x < b
    } else {
        x != a
    }
}

/// `x ∈ (a, b]` on the ring. When `a == b` the interval is the whole ring.
pub fn in_half_open(x: &Id, a: &Id, b: &Id) -> bool {
    if a < b {
        a < x && x <= b
    } else if a > b {
        x > a || x <= b
    } else {
        true
    }
}

/// The fraction of the ring in `(from, to]`, between 0 and 1; `from == to`
/// is the whole ring (a node alone owns everything).
pub fn ring_fraction(from: &Id, to: &Id) -> f64 {
    if from == to {
        return 1.0;
    }
    from.distance_to(to)
        .0
        .iter()
        .enumerate()
        .map(|(i, &byte)| f64::from(byte) * 256f64.powi(-(i as i32 + 1)))
        .sum()
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.short())
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(crate::hex::as_str(&self.hex_digits()))
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        crate::hex::deserialize_with(d, "expected 40 hex digits", Id::from_hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> Id {
        let mut b = [0u8; 20];
        b[12..].copy_from_slice(&n.to_be_bytes());
        Id(b)
    }

    #[test]
    fn sha1_of_known_strings() {
        // FIPS 180 test vector for "abc".
        assert_eq!(
            Id::hash(b"abc").to_hex(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            Id::hash(b"").to_hex(),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        let x = Id::hash(b"node-1:7000");
        assert_eq!(Id::from_hex(&x.to_hex()), Some(x));
        assert_eq!(Id::from_hex(&x.to_hex().to_uppercase()), Some(x));
        assert_eq!(Id::from_hex("abc"), None);
        assert_eq!(Id::from_hex(&"g".repeat(40)), None);
        assert_eq!(Id::from_hex(&"0".repeat(41)), None);
    }

    #[test]
    fn open_intervals_table() {
        // (x, a, b, expected)
        let cases = [
            (5, 1, 10, true),
            (1, 1, 10, false),
            (10, 1, 10, false),
            (0, 1, 10, false),
            // wrap-around: (10, 1) contains 11.. and 0
            (11, 10, 1, true),
            (0, 10, 1, true),
            (1, 10, 1, false),
            (5, 10, 1, false),
            // a == b: everything but a
            (3, 7, 7, true),
            (7, 7, 7, false),
        ];
        for (x, a, b, want) in cases {
            assert_eq!(in_open(&id(x), &id(a), &id(b)), want, "{x} in ({a},{b})");
        }
        assert!(in_open(&Id::MAX, &id(5), &id(1)));
        assert!(in_open(&Id::ZERO, &Id::MAX, &id(1)));
    }

    #[test]
    fn half_open_intervals_table() {
        let cases = [
            (5, 1, 10, true),
            (10, 1, 10, true),
            (1, 1, 10, false),
            (11, 1, 10, false),
            (0, 10, 1, true),
            (1, 10, 1, true),
            (10, 10, 1, false),
            (5, 10, 1, false),
            (7, 7, 7, true),
            (8, 7, 7, true),
        ];
        for (x, a, b, want) in cases {
            assert_eq!(
                in_half_open(&id(x), &id(a), &id(b)),
                want,
                "{x} in ({a},{b}]"
            );
        }
        assert!(in_half_open(&Id::ZERO, &Id::MAX, &Id::ZERO));
        assert!(!in_half_open(&Id::MAX, &Id::MAX, &Id::ZERO));
    }

    #[test]
    fn arithmetic_wraps() {
        assert_eq!(Id::MAX.wrapping_add(&id(1)), Id::ZERO);
        assert_eq!(Id::ZERO.wrapping_sub(&id(1)), Id::MAX);
        assert_eq!(id(300).wrapping_sub(&id(45)), id(255));
        assert_eq!(id(10).distance_to(&id(3)), Id::ZERO.wrapping_sub(&id(7)));
        assert_eq!(id(3).distance_to(&id(10)), id(7));
    }

    #[test]
    fn ring_fractions() {
        let half = Id::pow2(159);
        assert_eq!(ring_fraction(&Id::ZERO, &half), 0.5);
        assert_eq!(ring_fraction(&half, &Id::ZERO), 0.5, "wraps past zero");
        assert_eq!(ring_fraction(&id(5), &id(5)), 1.0);
        let quarter = Id::pow2(158);
        assert_eq!(ring_fraction(&half, &half.wrapping_add(&quarter)), 0.25);
        assert!(ring_fraction(&id(1), &id(2)) > 0.0);
    }

    #[test]
    fn finger_starts() {
        assert_eq!(id(0).finger_start(0), id(1));
        assert_eq!(id(0).finger_start(9), id(512));
        assert_eq!(Id::MAX.finger_start(0), Id::ZERO);
        let mut top = [0u8; 20];
        top[0] = 0x80;
        assert_eq!(Id::ZERO.finger_start(159), Id(top));
        // 2^159 + 2^159 wraps to 0.
        assert_eq!(Id(top).finger_start(159), Id::ZERO);
    }
}
