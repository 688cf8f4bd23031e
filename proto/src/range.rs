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
}
