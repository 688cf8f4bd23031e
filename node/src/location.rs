//! The location cache (pure): owners' ranges, learned from their direct
//! replies, so that the entry node can send a request straight to a key's
//! owner instead of routing it through fingers.
//!
//! An owner's reply names the range it holds, `(its predecessor, itself]`
//! (`ReplyMsg::range`). The entry keeps up to `capacity` such ranges and,
//! when a later key falls in one whose owner is not suspected, asks that
//! owner first, with the owner hint (`request::Relay`'s `first`). The Chord
//! paper suggests this location caching; with it the path length stops
//! growing with the ring after warm-up (one hop, as in one-hop DHTs).
//!
//! The cache is only ever a guess, so it needs no invalidation protocol:
//! * a guess that is no longer the owner (a node joined in front of it, or
//!   took over a neighbour's range) routes the request on from there as
//!   today (the owner-hint rule sends it back to a joined predecessor), and
//!   the real owner's reply replaces every cached range it overlaps;
//! * a guess that is gone fails its call, the relay asks the ring's next hop
//!   as if there had been no cache, and the driver forgets the node.
//!
//! Ranges in the cache never overlap: learning one removes every range it
//! intersects, older knowledge of that stretch of the ring being stale by
//! definition. Eviction is least recently used, found by a scan: it only runs
//! when a new range arrives at a full cache (a ring of more than `capacity`
//! nodes), and a scan of 4096 entries costs a few microseconds, less than
//! keeping a second ordered index up to date on every hit.
//!
//! Memory: about 160 bytes per range (a B-tree slot with two 20-byte ids,
//! the owner's address as a `String` of ~16 bytes plus its 24-byte header,
//! the range's tag, the use stamp, and the tree's per-node overhead), so
//! the default 4096 ranges cost about 0.65 MiB when full and nothing on a ring that small.

use crate::id::{in_half_open, Id};
use crate::range::Range;
use chord_proto::peer::Peer;
use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Included, Unbounded};

/// The default number of ranges kept (`--location-cache`).
pub const DEFAULT_CAPACITY: usize = 4096;

/// One cached range; the map's key is its end, the owner's id.
#[derive(Clone, Debug)]
struct Cached {
    /// Exclusive start: the owner's predecessor when it replied.
    from: Id,
    /// The owner.
    owner: Peer,
    /// [`Range::tag`] of the range and the owner's address, computed once
    /// when learned: it is read for every request sent to the owner.
    tag: u64,
    /// The cache's clock at the last learn or hit (for eviction).
    used: u64,
}

/// Owners' ranges by their end; see the module doc.
#[derive(Clone, Debug)]
pub struct LocationCache {
    capacity: usize,
    by_end: BTreeMap<Id, Cached>,
    clock: u64,
}

impl LocationCache {
    /// An empty cache of at most `capacity` ranges (0: off, it learns nothing).
    pub fn new(capacity: usize) -> LocationCache {
        LocationCache {
            capacity,
            by_end: BTreeMap::new(),
            clock: 0,
        }
    }

    /// Ranges held now.
    pub fn len(&self) -> usize {
        self.by_end.len()
    }

    /// Whether it holds no range.
    pub fn is_empty(&self) -> bool {
        self.by_end.is_empty()
    }

    /// The cached owner of `key`, if a cached range holds it (and marks that
    /// range used).
    pub fn lookup(&mut self, key: &Id) -> Option<Peer> {
        self.clock += 1;
        let clock = self.clock;
        // The range holding `key` is the one with the first end at or after
        // it, wrapping to the lowest end past the top of the ring.
        let end = *self
            .by_end
            .range(key..)
            .next()
            .or_else(|| self.by_end.iter().next())?
            .0;
        let c = self.by_end.get_mut(&end)?;
        if !covers(c.from, end, key) {
            return None;
        }
        c.used = clock;
        Some(c.owner.clone())
    }

    /// The [`Range::tag`] of the range and address cached for the owner
    /// whose id is `owner` (a range ends at its owner's id), without counting
    /// as a use.
    pub fn tag_of(&self, owner: &Id) -> Option<u64> {
        self.by_end.get(owner).map(|c| c.tag)
    }

    /// `owner` answered as the owner of `range` (`range.to` is its id):
    /// remember it, dropping every cached range it overlaps.
    pub fn learn(&mut self, range: Range, owner: Peer) {
        if self.capacity == 0 || owner.id != range.to {
            // An owner's range ends at its own id; anything else is not a
            // range this cache can key, and is ignored rather than trusted.
            return;
        }
        self.clock += 1;
        // The common case, a reply from an owner already cached with this
        // range: only its use is new. (Cached ranges never overlap, so there
        // is nothing else to remove.)
        if let Some(c) = self.by_end.get_mut(&range.to) {
            if c.from == range.from && c.owner.addr == owner.addr {
                c.used = self.clock;
                return;
            }
        }
        self.remove_overlapping(range);
        if self.by_end.len() >= self.capacity {
            self.evict_one();
        }
        self.by_end.insert(
            range.to,
            Cached {
                from: range.from,
                tag: range.tag(&owner.addr),
                owner,
                used: self.clock,
            },
        );
    }

    /// `id` is gone or unreliable: forget the range it owned.
    pub fn forget(&mut self, id: &Id) {
        self.by_end.remove(id);
    }

    /// Removes every cached range that shares a key with `range`.
    fn remove_overlapping(&mut self, range: Range) {
        if range.from == range.to {
            // The whole ring (a lone owner): every range overlaps it.
            self.by_end.clear();
            return;
        }
        // Ranges ending inside `range`...
        let inside: Vec<Id> = if range.from < range.to {
            self.by_end
                .range((Excluded(range.from), Included(range.to)))
                .map(|(k, _)| *k)
                .collect()
        } else {
            self.by_end
                .range((Excluded(range.from), Unbounded))
                .chain(self.by_end.range(..=range.to))
                .map(|(k, _)| *k)
                .collect()
        };
        for k in inside {
            self.by_end.remove(&k);
        }
        // ...and the one range ending after it that reaches back into it.
        let after = self
            .by_end
            .range((Excluded(range.to), Unbounded))
            .next()
            .or_else(|| self.by_end.iter().next())
            .map(|(k, c)| (*k, c.from));
        if let Some((end, from)) = after {
            if covers(from, end, &range.to) {
                self.by_end.remove(&end);
            }
        }
    }

    /// Drops the least recently used range.
    fn evict_one(&mut self) {
        if let Some(oldest) = self
            .by_end
            .iter()
            .min_by_key(|(_, c)| c.used)
            .map(|(k, _)| *k)
        {
            self.by_end.remove(&oldest);
        }
    }
}

/// Whether the range `(from, to]` holds `key` (`from == to`: the whole ring).
fn covers(from: Id, to: Id, key: &Id) -> bool {
    in_half_open(key, &from, &to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(b: u8) -> Id {
        let mut x = [0u8; 20];
        x[0] = b;
        Id(x)
    }

    fn owner(b: u8) -> Peer {
        Peer {
            id: id(b),
            addr: format!("n{b}:1"),
        }
    }

    /// Node `b` restarted at another address (same id).
    fn elsewhere(b: u8) -> Peer {
        Peer {
            addr: "elsewhere:1".into(),
            ..owner(b)
        }
    }

    fn range(from: u8, to: u8) -> Range {
        Range {
            from: id(from),
            to: id(to),
        }
    }

    fn owner_of(c: &mut LocationCache, key: u8) -> Option<u8> {
        c.lookup(&id(key)).map(|p| p.id.0[0])
    }

    #[test]
    fn a_learned_range_answers_for_its_keys_only() {
        let mut c = LocationCache::new(8);
        assert_eq!(owner_of(&mut c, 15), None);
        c.learn(range(10, 20), owner(20));
        assert_eq!(owner_of(&mut c, 15), Some(20));
        assert_eq!(owner_of(&mut c, 20), Some(20), "the end is inclusive");
        assert_eq!(owner_of(&mut c, 10), None, "the start is exclusive");
        assert_eq!(owner_of(&mut c, 25), None, "a gap after it");
        assert_eq!(owner_of(&mut c, 5), None, "a gap before it");
    }

    #[test]
    fn a_range_wrapping_past_zero_holds_both_ends() {
        let mut c = LocationCache::new(8);
        c.learn(range(240, 10), owner(10));
        c.learn(range(100, 120), owner(120));
        assert_eq!(
            owner_of(&mut c, 250),
            Some(10),
            "after the top, before zero"
        );
        assert_eq!(owner_of(&mut c, 0), Some(10));
        assert_eq!(owner_of(&mut c, 5), Some(10));
        assert_eq!(owner_of(&mut c, 11), None);
        assert_eq!(owner_of(&mut c, 200), None);
        assert_eq!(owner_of(&mut c, 110), Some(120));
    }

    #[test]
    fn a_lone_owner_holds_the_whole_ring_and_replaces_everything() {
        let mut c = LocationCache::new(8);
        c.learn(range(10, 20), owner(20));
        c.learn(range(50, 50), owner(50));
        assert_eq!(c.len(), 1);
        for k in [0, 20, 50, 51, 255] {
            assert_eq!(owner_of(&mut c, k), Some(50), "key {k}");
        }
    }

    #[test]
    fn a_join_in_front_of_a_cached_owner_replaces_its_range() {
        // 30 owned (10, 30]; then 20 joined and answered for (10, 20].
        let mut c = LocationCache::new(8);
        c.learn(range(10, 30), owner(30));
        c.learn(range(10, 20), owner(20));
        assert_eq!(owner_of(&mut c, 15), Some(20));
        // The stale wider range is gone, not consulted for 25: a gap is
        // routed by the ring, which is never wrong for long.
        assert_eq!(owner_of(&mut c, 25), None);
        // 30's reply then brings the rest back.
        c.learn(range(20, 30), owner(30));
        assert_eq!(owner_of(&mut c, 25), Some(30));
        assert_eq!(owner_of(&mut c, 15), Some(20));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn a_departure_widens_the_next_range_over_the_old_ones() {
        // 20 left: 30 now owns (10, 30], covering 20's and its own old range.
        let mut c = LocationCache::new(8);
        c.learn(range(10, 20), owner(20));
        c.learn(range(20, 30), owner(30));
        c.learn(range(30, 40), owner(40));
        c.learn(range(10, 30), owner(30));
        assert_eq!(owner_of(&mut c, 15), Some(30));
        assert_eq!(owner_of(&mut c, 35), Some(40), "a neighbour untouched");
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn a_range_reaching_back_across_zero_is_replaced_too() {
        // Cached (240, 10]; learning (0, 5] overlaps it from inside.
        let mut c = LocationCache::new(8);
        c.learn(range(240, 10), owner(10));
        c.learn(range(0, 5), owner(5));
        assert_eq!(owner_of(&mut c, 3), Some(5));
        assert_eq!(owner_of(&mut c, 250), None);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn the_least_recently_used_range_is_evicted_when_full() {
        let mut c = LocationCache::new(2);
        c.learn(range(10, 20), owner(20));
        c.learn(range(30, 40), owner(40));
        // 20 is used; 40 is now the least recently used.
        assert_eq!(owner_of(&mut c, 15), Some(20));
        c.learn(range(50, 60), owner(60));
        assert_eq!(c.len(), 2);
        assert_eq!(owner_of(&mut c, 15), Some(20));
        assert_eq!(owner_of(&mut c, 35), None);
        assert_eq!(owner_of(&mut c, 55), Some(60));
    }

    #[test]
    fn learning_a_cached_range_again_counts_as_a_use_and_a_new_address_replaces() {
        let mut c = LocationCache::new(2);
        c.learn(range(10, 20), owner(20));
        c.learn(range(30, 40), owner(40));
        // The same range again: 20 is now the most recently used.
        c.learn(range(10, 20), owner(20));
        c.learn(range(50, 60), owner(60));
        assert_eq!(owner_of(&mut c, 15), Some(20));
        assert_eq!(owner_of(&mut c, 35), None, "40 was the least recently used");
        // The same id at another address (a restart elsewhere) is taken.
        let moved = elsewhere(20);
        c.learn(range(10, 20), moved);
        assert_eq!(
            c.lookup(&id(15)).map(|p| p.addr),
            Some("elsewhere:1".into())
        );
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn the_tag_names_the_cached_range_and_address_and_nothing_else() {
        let mut c = LocationCache::new(4);
        assert_eq!(c.tag_of(&id(20)), None);
        c.learn(range(10, 20), owner(20));
        let tag = c.tag_of(&id(20));
        assert_eq!(tag, Some(range(10, 20).tag("n20:1")));
        assert_ne!(tag, Some(range(11, 20).tag("n20:1")), "another start");
        // The same range learned at another address tags differently, so
        // the owner sends it again rather than leaving the old address be.
        let moved = elsewhere(20);
        c.learn(range(10, 20), moved);
        assert_ne!(c.tag_of(&id(20)), tag);
        c.forget(&id(20));
        assert_eq!(c.tag_of(&id(20)), None);
    }

    #[test]
    fn capacity_zero_learns_nothing() {
        let mut c = LocationCache::new(0);
        c.learn(range(10, 20), owner(20));
        assert!(c.is_empty());
        assert_eq!(owner_of(&mut c, 15), None);
    }

    #[test]
    fn a_range_not_ending_at_its_owner_is_ignored() {
        let mut c = LocationCache::new(8);
        c.learn(range(10, 20), owner(25));
        assert!(c.is_empty());
    }

    #[test]
    fn a_forgotten_owner_is_no_longer_offered() {
        let mut c = LocationCache::new(8);
        c.learn(range(10, 20), owner(20));
        c.learn(range(20, 30), owner(30));
        c.forget(&id(20));
        assert_eq!(owner_of(&mut c, 15), None);
        assert_eq!(owner_of(&mut c, 25), Some(30));
    }
}
