//! Range digests: an order-independent summary of `(id, version)` pairs, so
//! an owner and a replica holder find out in one message whether a range
//! differs.

use crate::entry::{Entry, Version};
use crate::id::Id;

/// An order-independent summary of a set of `(id, version)` pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Digest {
    /// Number of entries.
    pub count: u64,
    /// Wrapping sum of a mixed hash of each pair.
    pub hash: u64,
}

impl Digest {
    /// The digest of `entries`.
    pub fn of<'a>(entries: impl IntoIterator<Item = (&'a Id, &'a Entry)>) -> Digest {
        let mut d = Digest::default();
        for (id, e) in entries {
            d.count += 1;
            d.hash = d.hash.wrapping_add(mix(id, &e.version));
        }
        d
    }
}

/// splitmix64 finaliser over the pair: well spread, so sums rarely collide.
fn mix(id: &Id, v: &Version) -> u64 {
    let mut x = id.prefix_u64() ^ v.ts.rotate_left(17) ^ v.node.rotate_left(41);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d049bb133111eb);
    x ^ (x >> 31)
}
