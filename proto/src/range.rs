//! A key range on the ring.

use crate::id::{in_half_open, Id};
use serde::{Deserialize, Serialize};

/// A key range `(from, to]` on the ring; `from == to` is the whole ring.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Range {
    /// Exclusive start.
    pub from: Id,
    /// Inclusive end.
    pub to: Id,
}

impl Range {
    /// Whether `id` lies in the range.
    pub fn contains(&self, id: &Id) -> bool {
        in_half_open(id, &self.from, &self.to)
    }

    /// A 64-bit fingerprint of the range as held by the owner at `owner`
    /// (its address): what an entry node sends instead of a range it already
    /// holds ([`crate::wire::RouteMsg::range_tag`]). FNV-1a over both ends
    /// and the address, so a range that moved to another address (a restart
    /// elsewhere with the same id) tags differently and is sent again; two
    /// different ranges share a tag with a chance of about 2^-64.
    pub fn tag(&self, owner: &str) -> u64 {
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        // One loop per part: a chained iterator took four times the
        // instructions (callgrind), on every request an owner answers.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in [&self.from.0[..], &self.to.0[..], owner.as_bytes()] {
            for b in part {
                h = (h ^ u64::from(*b)).wrapping_mul(PRIME);
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_fnv_1a_of_start_end_and_address() {
        // Nodes of different versions compare tags: the function is part of
        // the wire. The value is FNV-1a 64 of the 43 bytes, computed apart.
        let r = Range {
            from: Id([1; 20]),
            to: Id([2; 20]),
        };
        assert_eq!(r.tag("a:1"), 0x6433_fa7b_24c4_83f5);
        assert_ne!(r.tag("a:2"), r.tag("a:1"));
    }
}
