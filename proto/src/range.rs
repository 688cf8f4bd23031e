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

    /// A short fingerprint of the range, from the leading 64 bits of both
    /// ends: what an entry node sends instead of a range it already holds
    /// ([`crate::wire::RouteMsg::range_tag`]). Two different ranges share a
    /// tag only if both ends agree in their first 64 bits.
    pub fn tag(&self) -> u64 {
        self.from.prefix_u64() ^ self.to.prefix_u64().rotate_left(32)
    }
}
