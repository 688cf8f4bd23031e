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
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.from.0.iter().chain(&self.to.0).chain(owner.as_bytes()) {
            h = (h ^ u64::from(*b)).wrapping_mul(PRIME);
        }
        h
    }
}
