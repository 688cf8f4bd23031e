//! Verifying a cluster from what its live nodes report: pure functions over
//! fetched statuses and key listings, so every rule is unit-tested here.
//!
//! Ring rule: sort the live nodes' ids; each node's first successor must be
//! the next id clockwise and its predecessor the previous one.
//!
//! Data rule: the expected holders of a key are its owner (the first live
//! node clockwise from the key's id, inclusive) and the next R−1 live nodes,
//! as the node's own placement function (`chord_proto::placement`) says.
//! For each key seen on any live node, whose newest copy is not a tombstone:
//! - lost: no expected holder has any copy;
//! - under-replicated: fewer expected holders than min(R, live nodes) have
//!   the newest version (missing or stale copies);
//! - misplaced: a live node outside the expected holders has a copy.
//!
//! Caveat: only keys that still exist on some live node can be known. A key
//! whose every copy was on nodes that are now dead leaves no trace and is
//! not reported; chordctl keeps no record of puts.

use std::collections::BTreeMap;

use serde::Serialize;

use chord_proto::api::{KeyEntry, Status};
use chord_proto::entry::Version;
use chord_proto::id::{ring_fraction, Id};
use chord_proto::peer::Peer;
use chord_proto::placement::holders_of;

/// A live node's ring pointers, as ids.
#[derive(Debug, Clone)]
pub struct RingInput {
    /// Node name.
    pub name: String,
    /// Ring id.
    pub id: Id,
    /// Whether the node says it has joined.
    pub ready: bool,
    /// Predecessor id.
    pub predecessor: Option<Id>,
    /// First successor id.
    pub successor: Option<Id>,
}

impl RingInput {
    /// The pointers of a node that answered with `status`.
    pub fn from_status(name: &str, status: &Status) -> RingInput {
        RingInput {
            name: name.to_string(),
            id: status.id,
            ready: status.ready,
            predecessor: status.predecessor.as_ref().map(|p| p.id),
            successor: status.successors.first().map(|p| p.id),
        }
    }
}

/// One node in ring order.
#[derive(Debug, Clone, Serialize)]
pub struct RingRow {
    /// Node name.
    pub name: String,
    /// Ring id.
    pub id: Id,
    /// Percentage of the key space it owns: (predecessor, id].
    pub share: f64,
    /// Its successor pointer: a node name, a short id, or `none`.
    pub successor: String,
    /// Its predecessor pointer: a node name, a short id, or `none`.
    pub predecessor: String,
    /// Name of the node that should be its successor.
    pub expected_successor: String,
    /// Name of the node that should be its predecessor.
    pub expected_predecessor: String,
    /// Whether its successor pointer is the expected one.
    pub successor_ok: bool,
    /// Whether its predecessor pointer is the expected one.
    pub predecessor_ok: bool,
}

/// The ring verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RingReport {
    /// Live nodes in ring order.
    pub rows: Vec<RingRow>,
    /// Everything wrong, one sentence each; empty when the ring is correct.
    pub problems: Vec<String>,
}

/// Checks the ring pointers of the live nodes.
pub fn ring(nodes: &[RingInput]) -> RingReport {
    let mut sorted: Vec<&RingInput> = nodes.iter().collect();
    sorted.sort_by_key(|a| a.id);
    let mut problems = Vec::new();
    for pair in sorted.windows(2) {
        if pair[0].id == pair[1].id {
            problems.push(format!(
                "{} and {} have the same id",
                pair[0].name, pair[1].name
            ));
        }
    }
    let name_of = |id: &Option<Id>| -> String {
        match id {
            None => "none".to_string(),
            Some(id) => sorted
                .iter()
                .find(|n| &n.id == id)
                .map_or_else(|| id.short(), |n| n.name.clone()),
        }
    };
    let n = sorted.len();
    let mut rows = Vec::with_capacity(n);
    for (i, node) in sorted.iter().enumerate() {
        let next = sorted[(i + 1) % n];
        let prev = sorted[(i + n - 1) % n];
        // A lone node names no successor and may not have learnt that it is
        // its own predecessor (its successor list never holds itself).
        let successor_ok = node.successor == Some(next.id) || (n == 1 && node.successor.is_none());
        let predecessor_ok =
            node.predecessor == Some(prev.id) || (n == 1 && node.predecessor.is_none());
        if !node.ready {
            problems.push(format!("{} has not joined (not ready)", node.name));
        }
        if !successor_ok {
            problems.push(format!(
                "{}: successor is {}, expected {}",
                node.name,
                name_of(&node.successor),
                next.name
            ));
        }
        if !predecessor_ok {
            problems.push(format!(
                "{}: predecessor is {}, expected {}",
                node.name,
                name_of(&node.predecessor),
                prev.name
            ));
        }
        rows.push(RingRow {
            name: node.name.clone(),
            id: node.id,
            share: if n == 1 {
                100.0
            } else {
                share(&prev.id, &node.id)
            },
            successor: name_of(&node.successor),
            predecessor: name_of(&node.predecessor),
            expected_successor: next.name.clone(),
            expected_predecessor: prev.name.clone(),
            successor_ok,
            predecessor_ok,
        });
    }
    RingReport { rows, problems }
}

/// Percentage of the 160-bit ring in the interval (from, to].
pub fn share(from: &Id, to: &Id) -> f64 {
    ring_fraction(from, to) * 100.0
}

/// What one live node holds.
#[derive(Debug, Clone)]
pub struct Holdings {
    /// Node name.
    pub name: String,
    /// Ring id.
    pub id: Id,
    /// Its entries, tombstones included.
    pub entries: Vec<KeyEntry>,
}

/// A key with a placement problem.
#[derive(Debug, Clone, Serialize)]
pub struct KeyProblem {
    /// The key.
    pub key: String,
    /// Newest version seen anywhere.
    pub version: Version,
    /// Nodes that should hold it, owner first.
    pub expected: Vec<String>,
    /// Expected holders with the newest version.
    pub current: Vec<String>,
    /// Expected holders with an older version.
    pub stale: Vec<String>,
    /// Other live nodes that hold a copy.
    pub elsewhere: Vec<String>,
}

/// The data verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DataReport {
    /// Distinct live keys seen.
    pub keys: usize,
    /// Distinct keys whose newest copy is a tombstone (not checked further).
    pub deleted: usize,
    /// Keys on no expected holder.
    pub lost: Vec<KeyProblem>,
    /// Keys with fewer up-to-date expected copies than required.
    pub under_replicated: Vec<KeyProblem>,
    /// Keys with copies outside their expected holders.
    pub misplaced: Vec<KeyProblem>,
}

impl DataReport {
    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.lost.is_empty() && self.under_replicated.is_empty() && self.misplaced.is_empty()
    }
}

/// Checks where every key lives against where it should live.
pub fn data(nodes: &[Holdings], replicas: u32) -> DataReport {
    let mut ring: Vec<(Id, &str)> = nodes.iter().map(|n| (n.id, n.name.as_str())).collect();
    ring.sort();
    let positions: Vec<Peer> = ring
        .iter()
        .map(|(id, name)| Peer {
            id: *id,
            addr: name.to_string(),
        })
        .collect();

    // key -> (key id, node name -> (version, deleted))
    type Copies<'a> = BTreeMap<&'a str, (Version, bool)>;
    let mut keys: BTreeMap<&str, (Id, Copies)> = BTreeMap::new();
    for node in nodes {
        for e in &node.entries {
            let slot = keys
                .entry(e.key.as_str())
                .or_insert((e.id, BTreeMap::new()));
            slot.1.insert(node.name.as_str(), (e.version, e.deleted));
        }
    }

    let mut report = DataReport::default();
    for (key, (key_id, copies)) in keys {
        let Some((newest, newest_deleted)) = copies.values().max().copied() else {
            continue;
        };
        if newest_deleted {
            report.deleted += 1;
            continue;
        }
        report.keys += 1;
        let expected: Vec<&str> = holders_of(&positions, &key_id, replicas as usize)
            .into_iter()
            .map(|i| ring[i].1)
            .collect();
        let want = expected.len();
        let mut problem = KeyProblem {
            key: key.to_string(),
            version: newest,
            expected: expected.iter().map(|s| s.to_string()).collect(),
            current: Vec::new(),
            stale: Vec::new(),
            elsewhere: Vec::new(),
        };
        for holder in &expected {
            match copies.get(holder) {
                Some((v, _)) if *v == newest => problem.current.push(holder.to_string()),
                Some(_) => problem.stale.push(holder.to_string()),
                None => {}
            }
        }
        for (name, (_, deleted)) in &copies {
            if !deleted && !expected.contains(name) {
                problem.elsewhere.push(name.to_string());
            }
        }
        if problem.current.is_empty() && problem.stale.is_empty() {
            report.lost.push(problem.clone());
        } else if problem.current.len() < want {
            report.under_replicated.push(problem.clone());
        }
        if !problem.elsewhere.is_empty() {
            report.misplaced.push(problem);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id whose first byte is `b` and the rest 0.
    fn at(b: u8) -> Id {
        let mut x = [0u8; 20];
        x[0] = b;
        Id(x)
    }

    fn node(name: &str, id: u8, pred: u8, succ: u8) -> RingInput {
        RingInput {
            name: name.into(),
            id: at(id),
            ready: true,
            predecessor: Some(at(pred)),
            successor: Some(at(succ)),
        }
    }

    #[test]
    fn correct_ring_has_no_problems() {
        let nodes = [
            node("a", 0x10, 0x90, 0x50),
            node("c", 0x90, 0x50, 0x10),
            node("b", 0x50, 0x10, 0x90),
        ];
        let r = ring(&nodes);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let order: Vec<&str> = r.rows.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(order, ["a", "b", "c"]);
        let total: f64 = r.rows.iter().map(|x| x.share).sum();
        assert!((total - 100.0).abs() < 1e-9, "{total}");
    }

    #[test]
    fn a_lone_node_with_no_pointers_is_a_correct_ring() {
        // What a lone node's /status says: no predecessor, no successors.
        let lone = RingInput {
            predecessor: None,
            successor: None,
            ..node("a", 0x10, 0x10, 0x10)
        };
        assert!(ring(std::slice::from_ref(&lone)).problems.is_empty());
        assert!(ring(&[node("a", 0x10, 0x10, 0x10)]).problems.is_empty());
        // Two nodes without pointers are not.
        let other = RingInput {
            name: "b".into(),
            id: at(0x50),
            ..lone.clone()
        };
        assert_eq!(ring(&[lone, other]).problems.len(), 4);
    }

    #[test]
    fn wrong_pointers_are_named() {
        let nodes = [
            node("a", 0x10, 0x90, 0x90),
            node("b", 0x50, 0x10, 0x90),
            node("c", 0x90, 0x50, 0x10),
        ];
        let r = ring(&nodes);
        assert_eq!(r.problems, ["a: successor is c, expected b"]);
        assert!(!r.rows[0].successor_ok && r.rows[0].predecessor_ok);
    }

    #[test]
    fn lone_node_without_predecessor_is_fine() {
        let mut n = node("a", 0x10, 0, 0x10);
        n.predecessor = None;
        let r = ring(&[n]);
        assert!(r.problems.is_empty());
        assert_eq!(r.rows[0].share, 100.0);
    }

    #[test]
    fn share_wraps_around() {
        assert!((share(&at(0x00), &at(0x80)) - 50.0).abs() < 1e-9);
        assert!((share(&at(0x80), &at(0x00)) - 50.0).abs() < 1e-9);
        assert!((share(&at(0xc0), &at(0x40)) - 50.0).abs() < 1e-9);
        assert!((share(&at(0x00), &at(0x01)) - 100.0 / 256.0).abs() < 1e-9);
    }

    fn entry(key: &str, id: u8, version: u64, deleted: bool) -> KeyEntry {
        KeyEntry {
            key: key.into(),
            id: at(id),
            version: Version {
                ts: version,
                node: 0,
            },
            deleted,
        }
    }

    fn holdings(name: &str, id: u8, entries: Vec<KeyEntry>) -> Holdings {
        Holdings {
            name: name.into(),
            id: at(id),
            entries,
        }
    }

    #[test]
    fn holders_wrap_and_include_exact_match() {
        let ring = |entries: Vec<KeyEntry>| {
            [
                holdings("a", 0x20, entries.clone()),
                holdings("b", 0x40, vec![]),
                holdings("c", 0x60, vec![]),
            ]
        };
        let expected = |key_id: u8, replicas: u32| {
            let r = data(&ring(vec![entry("k", key_id, 1, false)]), replicas);
            let p = r
                .misplaced
                .first()
                .or(r.under_replicated.first())
                .or(r.lost.first());
            p.map(|p| p.expected.clone()).unwrap_or_default()
        };
        // The copy is only on a, so a key a should not hold is misplaced and
        // names its expected holders; one a should hold is under-replicated.
        assert_eq!(expected(0x30, 2), ["b", "c"]);
        assert_eq!(expected(0x40, 2), ["b", "c"]);
        assert_eq!(expected(0x70, 2), ["a", "b"]);
        assert_eq!(expected(0x10, 5), ["a", "b", "c"]);
    }

    #[test]
    fn data_categories() {
        // Ring a=20, b=40, c=60; R=2.
        // k1 (id 30): expected b, c; both current -> fine.
        // k2 (id 50): expected c, a; only c, a stale -> under-replicated.
        // k3 (id 10): expected a, b; only on c -> lost and misplaced.
        // k4 (id 30): newest is a tombstone -> deleted, not checked.
        let nodes = [
            holdings("a", 0x20, vec![entry("k2", 0x50, 1, false)]),
            holdings(
                "b",
                0x40,
                vec![entry("k1", 0x30, 5, false), entry("k4", 0x30, 9, true)],
            ),
            holdings(
                "c",
                0x60,
                vec![
                    entry("k1", 0x30, 5, false),
                    entry("k2", 0x50, 2, false),
                    entry("k3", 0x10, 1, false),
                    entry("k4", 0x30, 8, false),
                ],
            ),
        ];
        let r = data(&nodes, 2);
        assert_eq!((r.keys, r.deleted), (3, 1));
        let names = |v: &[KeyProblem]| v.iter().map(|p| p.key.clone()).collect::<Vec<_>>();
        assert_eq!(names(&r.lost), ["k3"]);
        assert_eq!(names(&r.under_replicated), ["k2"]);
        assert_eq!(r.under_replicated[0].stale, ["a"]);
        assert_eq!(names(&r.misplaced), ["k3"]);
        assert!(!r.is_clean());
    }

    #[test]
    fn replicas_above_node_count_ask_for_every_node() {
        let nodes = [
            holdings("a", 0x20, vec![entry("k", 0x30, 1, false)]),
            holdings("b", 0x40, vec![entry("k", 0x30, 1, false)]),
        ];
        assert!(data(&nodes, 3).is_clean());
    }
}
