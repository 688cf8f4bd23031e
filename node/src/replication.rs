//! Who holds a key, how two holders find what differs, and when a copy may go (pure).
//!
//! * A key's holders are its owner and the owner's next `R − 1` successors.
//! * Each repair round an owner compares a [`Digest`](crate::digest::Digest) of its primary range
//!   `(predecessor, self]` with each replica holder; only on a mismatch do they
//!   exchange `(id, version)` lists and then the entries that differ ([`diff`]).
//! * A sync also renews the holder's **lease** on that range ([`Leases`]). A node
//!   drops a copy that is neither in its own primary range nor covered by a
//!   recent lease: it fell out of the key's replica set.

use crate::id::{in_half_open, Id};
use crate::range::Range;
use crate::store::{Entry, Version};
use std::collections::HashMap;

/// Splits `items` (in ring order within `range`) into consecutive sub-ranges of
/// at most `max` items each, so no sync message grows with the range's size.
/// The sub-ranges exactly cover `range`: the first starts at `range.from`, each
/// ends at its last item, and the last ends at `range.to`.
pub fn split_range(
    range: Range,
    items: &[(Id, Version)],
    max: usize,
) -> Vec<(Range, &[(Id, Version)])> {
    if items.len() <= max {
        return vec![(range, items)];
    }
    let chunks: Vec<&[(Id, Version)]> = items.chunks(max.max(1)).collect();
    let mut from = range.from;
    let mut out = Vec::with_capacity(chunks.len());
    for (i, chunk) in chunks.iter().enumerate() {
        let to = if i + 1 == chunks.len() {
            range.to
        } else {
            chunk[chunk.len() - 1].0
        };
        out.push((Range { from, to }, *chunk));
        from = to;
    }
    out
}

/// Groups `entries` into batches of at most `max_bytes` of values (and at least
/// one entry each), so one replicate message stays within the body limit.
pub fn batches(entries: Vec<Entry>, max_bytes: usize) -> Vec<Vec<Entry>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut size = 0;
    for e in entries {
        let n = e.wire_bytes();
        if !cur.is_empty() && size + n > max_bytes {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += n;
        cur.push(e);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Compares an owner's list with a holder's: returns (ids the holder lacks or
/// has older — the owner sends them; ids where the holder is newer or the owner
/// lacks them — the holder sends them).
pub fn diff(owner: &[(Id, Version)], holder: &[(Id, Version)]) -> (Vec<Id>, Vec<Id>) {
    let theirs: HashMap<&Id, &Version> = holder.iter().map(|(i, v)| (i, v)).collect();
    let ours: HashMap<&Id, &Version> = owner.iter().map(|(i, v)| (i, v)).collect();
    let holder_needs = owner
        .iter()
        .filter(|(i, v)| theirs.get(i).is_none_or(|hv| *hv < v))
        .map(|(i, _)| *i)
        .collect();
    let owner_needs = holder
        .iter()
        .filter(|(i, v)| ours.get(i).is_none_or(|ov| *ov < v))
        .map(|(i, _)| *i)
        .collect();
    (holder_needs, owner_needs)
}

/// Ranges owners recently confirmed this node holds replicas for.
///
/// One range per owner: a confirmation replaces the owner's earlier one, so
/// when an owner's range shrinks (a node joined in front of it, or a healed
/// partition gave part of it to another owner) the copies outside the new
/// range stop being covered at once. They are then orphans: handed to their
/// owner (which a join pull or repair may not have reached) and dropped a few
/// repair rounds later, instead of lingering for a whole lease.
#[derive(Debug, Default)]
pub struct Leases {
    confirmed: HashMap<(Id, Id, Id), u64>,
}

impl Leases {
    /// Records that `owner` confirmed our copy of `(a, b]` at `now_ms`.
    pub fn confirm(&mut self, owner: Id, a: Id, b: Id, now_ms: u64) {
        self.confirmed.retain(|(o, ..), _| *o != owner);
        self.confirmed.insert((owner, a, b), now_ms);
    }

    /// Whether `id` lies in a range confirmed within `lease_ms` of `now_ms`.
    pub fn covers(&self, id: &Id, now_ms: u64, lease_ms: u64) -> bool {
        self.confirmed
            .iter()
            .any(|((_, a, b), at)| now_ms.saturating_sub(*at) <= lease_ms && in_half_open(id, a, b))
    }

    /// Forgets what `owner` confirmed: we are no longer its replica holder.
    pub fn release(&mut self, owner: &Id) {
        self.confirmed.retain(|(o, ..), _| o != owner);
    }

    /// Whether `id` lies in a range some owner other than `me` confirmed within
    /// `lease_ms` of `now_ms`: we are one of its replica holders.
    pub fn covers_for_others(&self, id: &Id, me: &Id, now_ms: u64, lease_ms: u64) -> bool {
        self.confirmed.iter().any(|((owner, a, b), at)| {
            owner != me && now_ms.saturating_sub(*at) <= lease_ms && in_half_open(id, a, b)
        })
    }

    /// Forgets confirmations older than `lease_ms`.
    pub fn expire(&mut self, now_ms: u64, lease_ms: u64) {
        self.confirmed
            .retain(|_, at| now_ms.saturating_sub(*at) <= lease_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;
    use std::sync::Arc;

    fn e(ts: u64) -> Entry {
        Entry {
            key: "k".into(),
            value: Some(Arc::from(
                serde_json::value::RawValue::from_string("1".into()).unwrap(),
            )),
            version: Version { ts, node: 0 },
            expires_ms: None,
        }
    }

    #[test]
    fn digest_is_order_independent_and_version_sensitive() {
        let (i1, i2) = (Id::hash(b"1"), Id::hash(b"2"));
        let (a, b) = (e(1), e(2));
        let d1 = Digest::of([(&i1, &a), (&i2, &b)]);
        let d2 = Digest::of([(&i2, &b), (&i1, &a)]);
        assert_eq!(d1, d2);
        let b2 = e(3);
        assert_ne!(d1, Digest::of([(&i1, &a), (&i2, &b2)]));
    }

    #[test]
    fn diff_both_ways() {
        let (x, y, z) = (Id::hash(b"x"), Id::hash(b"y"), Id::hash(b"z"));
        let v = |ts| Version { ts, node: 0 };
        let owner = vec![(x, v(2)), (y, v(1))];
        let holder = vec![(x, v(1)), (y, v(5)), (z, v(1))];
        let (send, fetch) = diff(&owner, &holder);
        assert_eq!(send, vec![x]);
        assert_eq!(fetch, vec![y, z]);
    }

    #[test]
    fn split_ranges_cover_the_range_exactly() {
        let ids: Vec<Id> = (0..10u8)
            .map(|i| {
                let mut b = [0u8; 20];
                b[0] = i * 10 + 5;
                Id(b)
            })
            .collect();
        let items: Vec<(Id, Version)> = ids.iter().map(|i| (*i, Version::default())).collect();
        let range = Range {
            from: Id::ZERO,
            to: Id::MAX,
        };
        let parts = split_range(range, &items, 3);
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0].0.from, Id::ZERO);
        assert_eq!(parts[3].0.to, Id::MAX);
        for w in parts.windows(2) {
            assert_eq!(w[0].0.to, w[1].0.from, "no gap, no overlap");
        }
        for (r, chunk) in &parts {
            assert!(chunk.iter().all(|(i, _)| in_half_open(i, &r.from, &r.to)));
        }
        assert_eq!(split_range(range, &items, 10).len(), 1);
    }

    #[test]
    fn batches_respect_the_byte_budget() {
        let entries: Vec<Entry> = (0..10).map(e).collect();
        let b = batches(entries, 150);
        assert!(b.len() > 1 && b.iter().all(|x| !x.is_empty()));
        assert_eq!(b.iter().map(Vec::len).sum::<usize>(), 10);
    }

    #[test]
    fn a_shrunk_range_is_covered_only_as_confirmed_last() {
        let mut l = Leases::default();
        let owner = Id::hash(b"o");
        let other = Id::hash(b"x");
        let (p, n, o) = (Id([10; 20]), Id([20; 20]), Id([30; 20]));
        let between = Id([15; 20]);
        l.confirm(owner, p, o, 1000);
        assert!(l.covers(&between, 1100, 1000));
        l.confirm(owner, n, o, 1500); // a node joined at n: the owner's range shrank
        assert!(!l.covers(&between, 1600, 1000), "the old range is released");
        assert!(l.covers(&Id([25; 20]), 1600, 1000));
        // Another owner's confirmation is its own.
        l.confirm(other, p, n, 1500);
        assert!(l.covers_for_others(&between, &owner, 1600, 1000));
        assert!(!l.covers_for_others(&between, &other, 1600, 1000));
    }

    #[test]
    fn leases_expire() {
        let mut l = Leases::default();
        let (a, b) = (Id::hash(b"a"), Id::hash(b"b"));
        let k = Id::hash(b"k");
        let inside = if in_half_open(&k, &a, &b) {
            (a, b)
        } else {
            (b, a)
        };
        l.confirm(Id::hash(b"o"), inside.0, inside.1, 1000);
        assert!(l.covers(&k, 1500, 1000));
        assert!(!l.covers(&k, 2500, 1000));
        l.expire(2500, 1000);
        assert!(l.confirmed.is_empty());
    }
}
