//! Where keys live (pure): the owner of a key, its holders, a node's fingers
//! and replica targets. The node, `chordctl check` and the simulator's test
//! vectors all use these functions, so placement has one definition.
//!
//! A key's **owner** is the first node clockwise from the key's id (its id
//! inclusive); its **holders** are the owner and the next `R − 1` distinct
//! nodes clockwise.

use crate::id::{Id, BITS};
use crate::peer::Peer;

/// The successor of `id` among `sorted` ids (ascending): the first `>= id`, wrapping.
pub fn successor_of(sorted: &[Id], id: &Id) -> Option<usize> {
    if sorted.is_empty() {
        return None;
    }
    let i = sorted.partition_point(|x| x < id);
    Some(if i == sorted.len() { 0 } else { i })
}

/// The ownership rule: a node `me` whose predecessor is `pred` owns `key`
/// when `key ∈ (pred, me]`. (Which predecessor a node believes in, and what a
/// node without one owns, is the ring view's business: see the node's
/// `RouteView::owns`.)
pub fn owns(pred: &Id, me: &Id, key: &Id) -> bool {
    crate::id::in_half_open(key, pred, me)
}

/// The holders of `key` in a ring of `sorted` ids: its owner and the next
/// `replicas − 1` distinct nodes clockwise (fewer in a smaller ring).
pub fn holders_of(sorted: &[Id], key: &Id, replicas: usize) -> Vec<usize> {
    let Some(owner) = successor_of(sorted, key) else {
        return Vec::new();
    };
    (0..replicas.min(sorted.len()))
        .map(|k| (owner + k) % sorted.len())
        .collect()
}

/// The full finger table of `me` in a ring of `sorted` ids: finger `i` is the
/// successor of `me + 2^i` (index into `sorted`).
pub fn finger_table(sorted: &[Id], me: &Id) -> Vec<usize> {
    (0..BITS)
        .filter_map(|i| successor_of(sorted, &me.finger_start(i)))
        .collect()
}

/// The first `count` entries of `list` that are neither `me` nor a repeat, in
/// order: the distinct successors a node's view offers (a successor list can
/// name a node twice, or the node itself, in a small or healing ring).
pub fn distinct_successors(me: &Id, list: &[Peer], count: usize) -> Vec<Peer> {
    let mut out: Vec<Peer> = Vec::new();
    for p in list {
        if out.len() >= count {
            break;
        }
        if p.id != *me && out.iter().all(|q| q.id != p.id) {
            out.push(p.clone());
        }
    }
    out
}

/// The peers that hold copies of what `me` owns: its first `replicas − 1`
/// distinct successors.
pub fn replica_targets(me: &Id, successors: &[Peer], replicas: usize) -> Vec<Peer> {
    distinct_successors(me, successors, replicas.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u8) -> Peer {
        let mut b = [0u8; 20];
        b[0] = n;
        Peer {
            id: Id(b),
            addr: format!("n{n}"),
        }
    }

    fn key(n: u8) -> Id {
        let mut b = [0u8; 20];
        b[0] = n;
        b[19] = 1;
        Id(b)
    }

    #[test]
    fn owner_holders_and_fingers() {
        let sorted: Vec<Id> = [10u8, 20, 30].iter().map(|n| peer(*n).id).collect();
        assert_eq!(successor_of(&sorted, &key(10)), Some(1));
        assert_eq!(successor_of(&sorted, &peer(10).id), Some(0));
        assert_eq!(successor_of(&sorted, &key(30)), Some(0));
        assert_eq!(successor_of(&[], &key(30)), None);
        assert_eq!(holders_of(&sorted, &key(25), 3), vec![2, 0, 1]);
        assert_eq!(holders_of(&sorted, &key(25), 5), vec![2, 0, 1]);
        let table = finger_table(&sorted, &peer(10).id);
        assert_eq!(table.len(), 160);
        assert_eq!(table[0], 1);
        assert_eq!(table[159], 0); // 10<<152 + 2^159 = 138<<152, wraps to node 10
    }

    #[test]
    fn the_owner_a_ring_names_owns_the_key_by_the_rule() {
        let sorted: Vec<Id> = [10u8, 20, 30].iter().map(|n| peer(*n).id).collect();
        for k in [0u8, 9, 10, 15, 20, 25, 30, 31, 255] {
            for id in [key(k), peer(k).id] {
                let i = successor_of(&sorted, &id).unwrap();
                let pred = sorted[(i + sorted.len() - 1) % sorted.len()];
                assert!(owns(&pred, &sorted[i], &id), "key {k}");
                // And no other node claims it.
                for j in (0..sorted.len()).filter(|j| *j != i) {
                    let p = sorted[(j + sorted.len() - 1) % sorted.len()];
                    assert!(!owns(&p, &sorted[j], &id), "key {k} node {j}");
                }
            }
        }
    }

    #[test]
    fn distinct_successors_skip_me_and_repeats() {
        let (me, b, c) = (peer(1), peer(2), peer(3));
        let list = [b.clone(), me.clone(), b.clone(), c.clone()];
        assert_eq!(
            distinct_successors(&me.id, &list, 5),
            vec![b.clone(), c.clone()]
        );
        assert_eq!(distinct_successors(&me.id, &list, 1), vec![b.clone()]);
        assert_eq!(replica_targets(&me.id, &list, 3), vec![b.clone(), c]);
        assert_eq!(replica_targets(&me.id, &list, 1), vec![]);
        assert_eq!(replica_targets(&me.id, &list, 0), vec![]);
    }
}
