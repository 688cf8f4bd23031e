//! Where keys live (pure): the owner of a key, its holders, a node's fingers
//! and replica targets. The node, `chordctl check` and the simulator's test
//! vectors all use these functions, so placement has one definition.
//!
//! A key's **owner** is the first position clockwise from the key's id (its
//! id inclusive); its **holders** are the owner and the first positions
//! clockwise of the next `R − 1` distinct physical nodes ([`Peer::host`]).
//! With one position per node that is the next `R − 1` nodes; with virtual
//! nodes, positions of a host already holding the key are skipped, so the R
//! copies sit on R machines and one machine's death loses at most one.

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

/// The holders of `key` in a ring of positions `sorted` by id (ascending): its
/// owner and the first positions of the next `replicas − 1` distinct hosts
/// clockwise (fewer in a ring of fewer hosts). Indices into `sorted`.
pub fn holders_of(sorted: &[Peer], key: &Id, replicas: usize) -> Vec<usize> {
    let ids: Vec<Id> = sorted.iter().map(|p| p.id).collect();
    let Some(owner) = successor_of(&ids, key) else {
        return Vec::new();
    };
    let mut out: Vec<usize> = Vec::new();
    for k in 0..sorted.len() {
        if out.len() >= replicas {
            break;
        }
        let i = (owner + k) % sorted.len();
        if out.iter().all(|j| sorted[*j].host() != sorted[i].host()) {
            out.push(i);
        }
    }
    out
}

/// The full finger table of `me` in a ring of `sorted` ids: finger `i` is the
/// successor of `me + 2^i` (index into `sorted`).
pub fn finger_table(sorted: &[Id], me: &Id) -> Vec<usize> {
    (0..BITS)
        .filter_map(|i| successor_of(sorted, &me.finger_start(i)))
        .collect()
}

/// The first `count` entries of `list` on hosts other than `me`'s and not
/// repeating a host, in order: the distinct successors a node's view offers
/// (a successor list can name a node twice, or the node itself, in a small
/// or healing ring, and with virtual nodes it names other positions of the
/// same host, which die with `me`).
pub fn distinct_successors(me: &Peer, list: &[Peer], count: usize) -> Vec<Peer> {
    let mut out: Vec<Peer> = Vec::new();
    for p in list {
        if out.len() >= count {
            break;
        }
        if p.id != me.id && p.host() != me.host() && out.iter().all(|q| q.host() != p.host()) {
            out.push(p.clone());
        }
    }
    out
}

/// The peers that hold copies of what `me` owns: its first `replicas − 1`
/// distinct successors.
pub fn replica_targets(me: &Peer, successors: &[Peer], replicas: usize) -> Vec<Peer> {
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
        let peers: Vec<Peer> = [10u8, 20, 30].iter().map(|n| peer(*n)).collect();
        let sorted: Vec<Id> = peers.iter().map(|p| p.id).collect();
        assert_eq!(successor_of(&sorted, &key(10)), Some(1));
        assert_eq!(successor_of(&sorted, &peer(10).id), Some(0));
        assert_eq!(successor_of(&sorted, &key(30)), Some(0));
        assert_eq!(successor_of(&[], &key(30)), None);
        assert_eq!(holders_of(&peers, &key(25), 3), vec![2, 0, 1]);
        assert_eq!(holders_of(&peers, &key(25), 5), vec![2, 0, 1]);
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
            distinct_successors(&me, &list, 5),
            vec![b.clone(), c.clone()]
        );
        assert_eq!(distinct_successors(&me, &list, 1), vec![b.clone()]);
        assert_eq!(replica_targets(&me, &list, 3), vec![b.clone(), c]);
        assert_eq!(replica_targets(&me, &list, 1), vec![]);
        assert_eq!(replica_targets(&me, &list, 0), vec![]);
    }

    fn at(n: u8, host: &str) -> Peer {
        Peer {
            id: peer(n).id,
            addr: format!("{host}/v{n}"),
        }
    }

    #[test]
    fn copies_skip_other_positions_of_a_host_already_holding_them() {
        // Positions 10 (a), 20 (a), 30 (b), 40 (a), 50 (c): a key at 15 is
        // owned by a's 20; a's 40 is skipped for c's 50.
        let ring = [
            at(10, "a"),
            at(20, "a"),
            at(30, "b"),
            at(40, "a"),
            at(50, "c"),
        ];
        assert_eq!(holders_of(&ring, &key(15), 3), vec![1, 2, 4]);
        // Two hosts: two copies, however many positions.
        assert_eq!(holders_of(&ring[..4], &key(15), 3), vec![1, 2]);
        let me = at(20, "a");
        assert_eq!(
            replica_targets(&me, &ring[2..], 3),
            vec![at(30, "b"), at(50, "c")]
        );
        assert_eq!(distinct_successors(&me, &ring[3..4], 3), vec![]);
    }
}
