//! The versioned in-memory map, ordered by key id (pure: time is passed in).
//!
//! Every entry carries the [`Version`] its owner assigned. [`Store::apply`]
//! keeps only the newest version, so re-sent replicas, retries and repairs are
//! idempotent and order-independent. A delete is a tombstone (an entry without
//! a value) that replicates like a write and is purged after a grace period.

use crate::id::Id;
pub use chord_proto::entry::{Entry, Version};
use std::collections::BTreeMap;

/// A hybrid logical clock: never goes backwards, and stays ahead of every
/// version it has seen, so an owner that takes over a range issues versions
/// newer than the ones it inherited even if its wall clock lags.
#[derive(Clone, Debug)]
pub struct Clock {
    last: u64,
    node: u64,
}

impl Clock {
    /// A clock that tags its versions with `node`.
    pub fn new(node: u64) -> Clock {
        Clock { last: 0, node }
    }

    /// The next version at wall-clock time `now_ms`.
    pub fn next(&mut self, now_ms: u64) -> Version {
        let physical = now_ms << 16;
        self.last = physical.max(self.last.saturating_add(1));
        Version {
            ts: self.last,
            node: self.node,
        }
    }

    /// Moves the clock past a version seen from elsewhere.
    pub fn observe(&mut self, v: Version) {
        self.last = self.last.max(v.ts);
    }
}

/// The key → entry map, ordered by key id so key ranges are cheap to walk.
#[derive(Debug, Default)]
pub struct Store {
    map: BTreeMap<Id, Entry>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store::default()
    }

    /// The entry for `id`, tombstones included.
    pub fn get(&self, id: &Id) -> Option<&Entry> {
        self.map.get(id)
    }

    /// Stores `entry` unless an equal or newer version is already there.
    /// Returns whether it was applied.
    pub fn apply(&mut self, id: Id, entry: Entry) -> bool {
        match self.map.get(&id) {
            Some(cur) if cur.version >= entry.version => false,
            _ => {
                self.map.insert(id, entry);
                true
            }
        }
    }

    /// Number of entries, tombstones included.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of live (non-tombstone) entries.
    pub fn live_count(&self) -> usize {
        self.map.values().filter(|e| !e.is_tombstone()).count()
    }

    /// All entries in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&Id, &Entry)> {
        self.map.iter()
    }

    /// Entries whose id lies in the ring interval `(a, b]`, in ring order
    /// (clockwise from `a`; `(a, a]` is the whole ring).
    pub fn range(&self, a: &Id, b: &Id) -> Vec<(Id, &Entry)> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let mut out = Vec::new();
        if a < b {
            out.extend(
                self.map
                    .range((Excluded(*a), Included(*b)))
                    .map(|(k, v)| (*k, v)),
            );
        } else {
            // Wrapping: the part after `a`, then the part up to `b`.
            out.extend(
                self.map
                    .range((Excluded(*a), Unbounded))
                    .map(|(k, v)| (*k, v)),
            );
            out.extend(
                self.map
                    .range((Unbounded, Included(*b)))
                    .map(|(k, v)| (*k, v)),
            );
        }
        out
    }

    /// Removes the entry for `id`.
    pub fn remove(&mut self, id: &Id) -> Option<Entry> {
        self.map.remove(id)
    }

    /// Drops tombstones dead since before `cutoff_ms` (a delete's version
    /// time, an expired value's expiry); returns how many.
    pub fn purge_tombstones(&mut self, cutoff_ms: u64) -> usize {
        let before = self.map.len();
        self.map
            .retain(|_, e| !(e.is_tombstone() && e.dead_since_ms() < cutoff_ms));
        before - self.map.len()
    }

    /// Turns every value expired at `now_ms` into a tombstone of its
    /// version (see [`Entry::as_of`]); returns how many.
    pub fn expire(&mut self, now_ms: u64) -> usize {
        let mut n = 0;
        for e in self.map.values_mut() {
            if !e.is_tombstone() && e.is_expired(now_ms) {
                e.value = None;
                n += 1;
            }
        }
        n
    }

    /// Removes every entry for which `drop` returns true; returns how many.
    pub fn retain(&mut self, mut keep: impl FnMut(&Id, &Entry) -> bool) -> usize {
        let before = self.map.len();
        self.map.retain(|k, e| keep(k, e));
        before - self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;
    use std::sync::Arc;

    fn entry(key: &str, value: Option<&str>, ts: u64) -> Entry {
        Entry {
            key: key.into(),
            value: value.map(|v| Arc::from(RawValue::from_string(v.into()).unwrap())),
            version: Version { ts, node: 1 },
            expires_ms: None,
        }
    }

    #[test]
    fn newer_wins_in_any_order() {
        let id = Id::hash(b"k");
        let mut a = Store::new();
        assert!(a.apply(id, entry("k", Some("1"), 5)));
        assert!(a.apply(id, entry("k", Some("2"), 7)));
        assert!(!a.apply(id, entry("k", Some("1"), 5)));
        assert!(
            !a.apply(id, entry("k", Some("2"), 7)),
            "re-applying is a no-op"
        );
        let mut b = Store::new();
        b.apply(id, entry("k", Some("2"), 7));
        b.apply(id, entry("k", Some("1"), 5));
        assert_eq!(a.get(&id), b.get(&id));
    }

    #[test]
    fn tombstone_blocks_older_value_until_purged() {
        let id = Id::hash(b"k");
        let mut s = Store::new();
        s.apply(id, entry("k", None, 10 << 16));
        assert!(
            !s.apply(id, entry("k", Some("1"), 9 << 16)),
            "no resurrection"
        );
        assert_eq!(s.purge_tombstones(10), 0);
        assert_eq!(s.purge_tombstones(11), 1);
        assert!(s.is_empty());
    }

    #[test]
    fn expired_values_become_tombstones_purged_a_grace_after_expiry() {
        let id = Id::hash(b"k");
        let mut s = Store::new();
        let mut e = entry("k", Some("1"), 10 << 16);
        e.expires_ms = Some(100);
        s.apply(id, e);
        assert_eq!(s.expire(99), 0);
        assert_eq!(s.live_count(), 1);
        assert_eq!(s.expire(100), 1);
        assert_eq!(s.live_count(), 0);
        assert_eq!(
            s.get(&id).unwrap().version.ts,
            10 << 16,
            "the version stays"
        );
        // An older copy sent again (repair, hand-off) does not come back.
        assert!(!s.apply(id, entry("k", Some("0"), 9 << 16)));
        // Purged counting from the expiry, not from the write.
        assert_eq!(s.purge_tombstones(100), 0);
        assert_eq!(s.purge_tombstones(101), 1);
    }

    #[test]
    fn clock_is_monotonic_and_observes() {
        let mut c = Clock::new(3);
        let a = c.next(100);
        let b = c.next(100);
        assert!(b > a);
        c.observe(Version {
            ts: 500 << 16,
            node: 9,
        });
        assert!(c.next(100).ts > 500 << 16);
    }

    #[test]
    fn ranges_wrap() {
        let mut s = Store::new();
        let ids: Vec<Id> = (0..50)
            .map(|i| Id::hash(format!("k{i}").as_bytes()))
            .collect();
        for (i, id) in ids.iter().enumerate() {
            s.apply(*id, entry(&format!("k{i}"), Some("1"), 1));
        }
        let a = ids[3];
        let b = ids[7];
        let fwd = s.range(&a, &b).len();
        let back = s.range(&b, &a).len();
        assert_eq!(fwd + back, 50, "(a,b] and (b,a] partition the ring");
        assert_eq!(s.range(&a, &a).len(), 50);
        // Ring order: clockwise distances from the start only grow.
        for (x, y) in [(a, b), (b, a)] {
            let d: Vec<Id> = s
                .range(&x, &y)
                .iter()
                .map(|(i, _)| x.distance_to(i))
                .collect();
            assert!(d.windows(2).all(|w| w[0] < w[1]), "ring order");
        }
    }
}
