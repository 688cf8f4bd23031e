//! Verifying a cluster from what its live nodes report: pure functions over
//! fetched statuses and key listings, so every rule is unit-tested here.
//!
//! Both rules work over ring **positions**: a node started with `--vnodes V`
//! takes V of them (its `/status` lists them in `positions`), a node without
//! takes one, at its own id. A position is named like its address: the
//! node's name for position 0, `name/v{i}` for position i.
//!
//! Ring rule: sort the ids of all positions of all live nodes; each
//! position's first successor must be the next position clockwise and its
//! predecessor the previous one (a lone node's positions form a ring of
//! their own). A node's share of the key space is the sum of its
//! positions' intervals (previous position, position].
//!
//! Data rule: the expected holders of a key are its owner (the first live
//! position clockwise from the key's id, inclusive) and the first positions
//! of the next R−1 distinct live nodes, as the node's own placement function
//! (`chord_proto::placement`) says; a holder position stands for its node,
//! which reports its keys as a whole.
//! For each key seen on any live node, whose newest copy is not a tombstone:
//! - lost: no expected holder has any copy;
//! - under-replicated: fewer expected holders than min(R, live nodes) have
//!   the newest version (missing or stale copies);
//! - misplaced: a live node outside the expected holders has a copy.
//!
//! Caveat: only keys that still exist on some live node can be known. A key
//! whose every copy was on nodes that are now dead leaves no trace and is
//! not reported; chordctl keeps no record of puts.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;

use chord_proto::api::{KeyEntry, Status};
use chord_proto::entry::Version;
use chord_proto::id::{ring_fraction, Id};
use chord_proto::peer::{position_addr, Peer};
use chord_proto::placement::holders_of;

/// The positions a node's status describes, position 0 first: its
/// `positions` when it takes more than one, else the status itself.
pub fn positions_of(status: &Status) -> &[Status] {
    if status.positions.is_empty() {
        std::slice::from_ref(status)
    } else {
        &status.positions
    }
}

/// One ring position of a live node, its pointers as ids.
#[derive(Debug, Clone)]
pub struct RingInput {
    /// Name of the node the position belongs to.
    pub name: String,
    /// Which of the node's positions it is (0 for a node with one).
    pub position: usize,
    /// Ring id of the position.
    pub id: Id,
    /// Whether the node says it has joined.
    pub ready: bool,
    /// Predecessor id.
    pub predecessor: Option<Id>,
    /// First successor id.
    pub successor: Option<Id>,
}

impl RingInput {
    /// The positions of a node that answered with `status`, position 0
    /// first (one for a node without virtual nodes).
    pub fn from_status(name: &str, status: &Status) -> Vec<RingInput> {
        positions_of(status)
            .iter()
            .enumerate()
            .map(|(i, p)| RingInput {
                name: name.to_string(),
                position: i,
                id: p.id,
                // Readiness is the node's: positions join together.
                ready: status.ready,
                predecessor: p.predecessor.as_ref().map(|p| p.id),
                successor: p.successors.first().map(|p| p.id),
            })
            .collect()
    }

    /// The position's name in rows and problems, like its address: the
    /// node's name for position 0, `name/v{i}` for the others.
    pub fn label(&self) -> String {
        position_addr(&self.name, self.position)
    }
}

/// One position in ring order, judged.
#[derive(Debug, Clone, Serialize)]
pub struct PositionRow {
    /// The position's name (see [`RingInput::label`]).
    pub name: String,
    /// The node it belongs to.
    pub node: String,
    /// Which of the node's positions it is.
    pub position: usize,
    /// Ring id.
    pub id: Id,
    /// Percentage of the key space it owns: (previous position, id].
    pub share: f64,
    /// Its successor pointer: a position name, a short id, or `none`.
    pub successor: String,
    /// Its predecessor pointer: a position name, a short id, or `none`.
    pub predecessor: String,
    /// Name of the position that should be its successor.
    pub expected_successor: String,
    /// Name of the position that should be its predecessor.
    pub expected_predecessor: String,
    /// Whether its successor pointer is the expected one.
    pub successor_ok: bool,
    /// Whether its predecessor pointer is the expected one.
    pub predecessor_ok: bool,
}

/// One node, its positions taken together, in the ring order of their
/// first positions.
#[derive(Debug, Clone, Serialize)]
pub struct RingRow {
    /// Node name.
    pub name: String,
    /// Ring id of its position 0.
    pub id: Id,
    /// How many positions it takes (1 without virtual nodes).
    pub positions: usize,
    /// Percentage of the key space it owns: the sum over its positions.
    pub share: f64,
    /// Position 0's successor pointer: a position name, a short id, or `none`.
    pub successor: String,
    /// Position 0's predecessor pointer: a position name, a short id, or `none`.
    pub predecessor: String,
    /// Name of the position that should be position 0's successor.
    pub expected_successor: String,
    /// Name of the position that should be position 0's predecessor.
    pub expected_predecessor: String,
    /// Whether every position's successor pointer is the expected one.
    pub successor_ok: bool,
    /// Whether every position's predecessor pointer is the expected one.
    pub predecessor_ok: bool,
    /// Positions with at least one wrong pointer.
    pub wrong_positions: usize,
}

/// How evenly the nodes share the key space.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Balance {
    /// The node with the largest share (the first in row order on a tie).
    pub busiest: String,
    /// Its share, percent.
    pub busiest_share: f64,
    /// The mean share, percent: 100 / nodes.
    pub mean_share: f64,
    /// busiest / mean: 1 for a perfectly even ring.
    pub ratio: f64,
}

impl fmt::Display for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "balance: busiest/mean {:.2} ({} holds {:.2} %, mean {:.2} %)",
            self.ratio, self.busiest, self.busiest_share, self.mean_share
        )
    }
}

/// The ring verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RingReport {
    /// Live nodes in the ring order of their position 0.
    pub rows: Vec<RingRow>,
    /// Every position of every live node in ring order; left out of JSON
    /// when each node takes one (the rows say it all then).
    #[serde(skip_serializing_if = "one_position_each")]
    pub positions: Vec<PositionRow>,
    /// The busiest node's share against the mean; `None` without nodes.
    pub balance: Option<Balance>,
    /// Everything wrong, one sentence each; empty when the ring is correct.
    pub problems: Vec<String>,
}

fn one_position_each(positions: &[PositionRow]) -> bool {
    positions.iter().all(|p| p.position == 0)
}

/// Checks the ring pointers of the live nodes' positions (all of them, of
/// every node, in any order).
pub fn ring(positions: &[RingInput]) -> RingReport {
    let mut sorted: Vec<&RingInput> = positions.iter().collect();
    sorted.sort_by_key(|a| a.id);
    let labels: Vec<String> = sorted.iter().map(|p| p.label()).collect();
    let mut problems = Vec::new();
    for pair in sorted.windows(2) {
        if pair[0].id == pair[1].id {
            problems.push(format!(
                "{} and {} have the same id",
                pair[0].label(),
                pair[1].label()
            ));
        }
    }
    // Pointers are named by position; with 64 positions on each of many
    // nodes a linear search per pointer would be quadratic.
    let label_of_id: HashMap<Id, &str> = sorted
        .iter()
        .zip(&labels)
        .rev() // the first of equal ids wins
        .map(|(p, l)| (p.id, l.as_str()))
        .collect();
    let name_of = |id: &Option<Id>| -> String {
        match id {
            None => "none".to_string(),
            Some(id) => label_of_id
                .get(id)
                .map_or_else(|| id.short(), |l| l.to_string()),
        }
    };
    let ids: Vec<Id> = sorted.iter().map(|p| p.id).collect();
    let shares = position_shares(&ids);
    let n = sorted.len();
    let mut rows = Vec::with_capacity(n);
    for (i, pos) in sorted.iter().enumerate() {
        let (next, prev) = ((i + 1) % n, (i + n - 1) % n);
        // A lone position names no successor and may not have learnt that it
        // is its own predecessor (its successor list never holds itself).
        let successor_ok = pos.successor == Some(ids[next]) || (n == 1 && pos.successor.is_none());
        let predecessor_ok =
            pos.predecessor == Some(ids[prev]) || (n == 1 && pos.predecessor.is_none());
        // Readiness is the node's: said once, at its position 0.
        if !pos.ready && pos.position == 0 {
            problems.push(format!("{} has not joined (not ready)", pos.name));
        }
        if !successor_ok {
            problems.push(format!(
                "{}: successor is {}, expected {}",
                labels[i],
                name_of(&pos.successor),
                labels[next]
            ));
        }
        if !predecessor_ok {
            problems.push(format!(
                "{}: predecessor is {}, expected {}",
                labels[i],
                name_of(&pos.predecessor),
                labels[prev]
            ));
        }
        rows.push(PositionRow {
            name: labels[i].clone(),
            node: pos.name.clone(),
            position: pos.position,
            id: pos.id,
            share: shares[i],
            successor: name_of(&pos.successor),
            predecessor: name_of(&pos.predecessor),
            expected_successor: labels[next].clone(),
            expected_predecessor: labels[prev].clone(),
            successor_ok,
            predecessor_ok,
        });
    }
    let nodes = node_rows(&rows);
    RingReport {
        balance: balance(&nodes),
        rows: nodes,
        positions: rows,
        problems,
    }
}

/// The percentage of the key space each position of `sorted` (ascending
/// ids) owns, (previous id, id]: the whole ring for a lone position (or ids
/// all equal), nothing for one whose id repeats the previous one (the key
/// goes to the first of equal ids). The one home of the share computation:
/// a node's share is the sum of its positions'.
pub fn position_shares(sorted: &[Id]) -> Vec<f64> {
    let n = sorted.len();
    (0..n)
        .map(|i| {
            if i > 0 && sorted[i - 1] == sorted[i] {
                0.0
            } else {
                share(&sorted[(i + n - 1) % n], &sorted[i])
            }
        })
        .collect()
}

/// The positions taken together per node, in the ring order of each
/// node's lowest-numbered position (its position 0): pointers as position
/// 0 has them, verdicts and shares over all its positions.
fn node_rows(positions: &[PositionRow]) -> Vec<RingRow> {
    let mut firsts: Vec<&PositionRow> = positions.iter().collect();
    // Stable: within a position number, ring order stays.
    firsts.sort_by_key(|p| p.position);
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut rows: Vec<RingRow> = Vec::new();
    for p in firsts {
        let ok = p.successor_ok && p.predecessor_ok;
        match index.get(p.node.as_str()) {
            Some(&k) => {
                let row = &mut rows[k];
                row.positions += 1;
                row.share += p.share;
                row.successor_ok &= p.successor_ok;
                row.predecessor_ok &= p.predecessor_ok;
                row.wrong_positions += usize::from(!ok);
            }
            None => {
                index.insert(p.node.as_str(), rows.len());
                rows.push(RingRow {
                    name: p.node.clone(),
                    id: p.id,
                    positions: 1,
                    share: p.share,
                    successor: p.successor.clone(),
                    predecessor: p.predecessor.clone(),
                    expected_successor: p.expected_successor.clone(),
                    expected_predecessor: p.expected_predecessor.clone(),
                    successor_ok: p.successor_ok,
                    predecessor_ok: p.predecessor_ok,
                    wrong_positions: usize::from(!ok),
                });
            }
        }
    }
    rows
}

/// The busiest node's share against the mean (`None` without nodes).
pub fn balance(rows: &[RingRow]) -> Option<Balance> {
    let busiest = rows
        .iter()
        .rev()
        .max_by(|a, b| a.share.total_cmp(&b.share))?;
    let mean_share = 100.0 / rows.len() as f64;
    Some(Balance {
        busiest: busiest.name.clone(),
        busiest_share: busiest.share,
        mean_share,
        ratio: busiest.share / mean_share,
    })
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
    /// Ring ids of its positions, position 0 first (one without virtual
    /// nodes).
    pub ids: Vec<Id>,
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
    let (positions, owners) = position_ring(nodes);

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
            .map(|i| nodes[owners[i]].name.as_str())
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

/// Every position of `nodes`, sorted by id, as peers whose host is the
/// node's index in `nodes` (so that placement tells nodes apart whatever
/// their names), with that index beside each.
fn position_ring(nodes: &[Holdings]) -> (Vec<Peer>, Vec<usize>) {
    let mut ring: Vec<(Peer, usize)> = nodes
        .iter()
        .enumerate()
        .flat_map(|(k, node)| {
            node.ids.iter().enumerate().map(move |(i, id)| {
                let peer = Peer {
                    id: *id,
                    addr: position_addr(&k.to_string(), i),
                };
                (peer, k)
            })
        })
        .collect();
    ring.sort_by_key(|(peer, _)| peer.id);
    ring.into_iter().unzip()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chord_proto::peer::position_id;

    /// The id whose first byte is `b` and the rest 0.
    fn at(b: u8) -> Id {
        let mut x = [0u8; 20];
        x[0] = b;
        Id(x)
    }

    fn node(name: &str, id: u8, pred: u8, succ: u8) -> RingInput {
        RingInput {
            name: name.into(),
            position: 0,
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
            ids: vec![at(id)],
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
    /// `hosts` nodes `n1`, `n2`, … advertised as `n{h}:7000`, with `v`
    /// positions each at the ids the node derives, every pointer correct
    /// (statuses as the node's contract has them: position 0 on top, every
    /// position in `positions` when `v > 1`).
    pub(crate) fn vnode_ring(hosts: usize, v: usize) -> Vec<(String, Status)> {
        let advertise = |h: usize| format!("n{h}:7000");
        let peer = |h: usize, i: usize| Peer {
            id: position_id(&advertise(h), i, v),
            addr: position_addr(&advertise(h), i),
        };
        let mut all: Vec<Peer> = (1..=hosts)
            .flat_map(|h| (0..v).map(move |i| peer(h, i)))
            .collect();
        all.sort_by_key(|p| p.id);
        let n = all.len();
        let status_of = |p: Peer| {
            let k = all.iter().position(|q| *q == p).unwrap();
            Status {
                id: p.id,
                addr: p.addr,
                predecessor: Some(all[(k + n - 1) % n].clone()),
                successors: vec![all[(k + 1) % n].clone()],
                fingers: Vec::new(),
                keys: 1,
                keys_owned: 1,
                keys_replica: 0,
                tombstones: 0,
                repairing: false,
                replicas: 3,
                write_quorum: 2,
                ready: true,
                positions: Vec::new(),
            }
        };
        (1..=hosts)
            .map(|h| {
                let positions: Vec<Status> = (0..v).map(|i| status_of(peer(h, i))).collect();
                let mut top = positions[0].clone();
                if v > 1 {
                    top.keys = v;
                    top.keys_owned = v;
                    top.positions = positions;
                }
                (format!("n{h}"), top)
            })
            .collect()
    }

    /// Every position of every node of `ring`, as the ring check takes them.
    pub(crate) fn inputs(ring: &[(String, Status)]) -> Vec<RingInput> {
        ring.iter()
            .flat_map(|(name, s)| RingInput::from_status(name, s))
            .collect()
    }

    #[test]
    fn a_vnode_ring_is_checked_over_positions_with_one_row_per_node() {
        let ring = vnode_ring(3, 4);
        let r = super::ring(&inputs(&ring));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.positions.len(), 12);
        let rows: Vec<(&str, usize)> = r
            .rows
            .iter()
            .map(|x| (x.name.as_str(), x.positions))
            .collect();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|(_, v)| *v == 4), "{rows:?}");
        // A node's share is the sum of its positions' intervals on the
        // ring of all positions, reckoned here independently.
        let mut sorted: Vec<(Id, &str)> = ring
            .iter()
            .flat_map(|(name, s)| s.positions.iter().map(move |p| (p.id, name.as_str())))
            .collect();
        sorted.sort();
        for row in &r.rows {
            let want: f64 = (0..sorted.len())
                .filter(|k| sorted[*k].1 == row.name)
                .map(|k| 100.0 * ring_fraction(&sorted[(k + 11) % 12].0, &sorted[k].0))
                .sum();
            assert!(
                (row.share - want).abs() < 1e-9,
                "{}: {} vs {want}",
                row.name,
                row.share
            );
            assert_eq!(
                row.id,
                ring.iter().find(|(n, _)| *n == row.name).unwrap().1.id
            );
        }
        let total: f64 = r.rows.iter().map(|x| x.share).sum();
        assert!((total - 100.0).abs() < 1e-9, "{total}");
        // Busiest over mean, from the rows.
        let b = r.balance.unwrap();
        let top = r.rows.iter().map(|x| x.share).fold(0.0, f64::max);
        assert_eq!(b.busiest_share, top);
        assert!((b.mean_share - 100.0 / 3.0).abs() < 1e-9);
        assert!((b.ratio - top * 3.0 / 100.0).abs() < 1e-9);
        assert!(b.ratio > 1.0);
    }

    #[test]
    fn balance_is_the_busiest_nodes_summed_share_over_the_mean() {
        // a at 0x40 and 0xc0, b at 0x80, c at 0x00: each position a
        // quarter, a half for a against a mean of a third.
        let pos = |name: &str, position: usize, id: u8, pred: u8, succ: u8| RingInput {
            position,
            ..node(name, id, pred, succ)
        };
        let r = ring(&[
            pos("a", 0, 0x40, 0x00, 0x80),
            pos("b", 0, 0x80, 0x40, 0xc0),
            pos("a", 1, 0xc0, 0x80, 0x00),
            pos("c", 0, 0x00, 0xc0, 0x40),
        ]);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let order: Vec<&str> = r.rows.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(order, ["c", "a", "b"], "ring order of position 0");
        assert_eq!(r.rows[1].share, 50.0);
        let b = r.balance.unwrap();
        assert_eq!(
            b.to_string(),
            "balance: busiest/mean 1.50 (a holds 50.00 %, mean 33.33 %)"
        );
        // An even ring of one position each: ratio 1, the first row named.
        let even = ring(&[node("x", 0x00, 0x80, 0x80), node("y", 0x80, 0x00, 0x00)]);
        let b = even.balance.unwrap();
        assert_eq!((b.busiest.as_str(), b.ratio), ("x", 1.0));
        assert!(ring(&[]).balance.is_none());
    }

    #[test]
    fn a_position_with_a_wrong_successor_is_named_by_position() {
        let mut ring = vnode_ring(3, 4);
        // n1's position 2 skips its successor for the one after it.
        let r0 = super::ring(&inputs(&ring));
        let k = r0.positions.iter().position(|p| p.name == "n1/v2").unwrap();
        let (skip, after) = (&r0.positions[(k + 1) % 12], &r0.positions[(k + 2) % 12]);
        ring[0].1.positions[2].successors[0].id = after.id;
        let r = super::ring(&inputs(&ring));
        assert_eq!(
            r.problems,
            [format!(
                "n1/v2: successor is {}, expected {}",
                after.name, skip.name
            )]
        );
        let n1 = r.rows.iter().find(|x| x.name == "n1").unwrap();
        assert_eq!(
            (n1.successor_ok, n1.predecessor_ok, n1.wrong_positions),
            (false, true, 1)
        );
        assert!(r
            .rows
            .iter()
            .filter(|x| x.name != "n1")
            .all(|x| x.wrong_positions == 0));
        // Only the top level (position 0) wrong is not enough to hide it: the
        // positions are what is checked.
        let mut top_only = vnode_ring(3, 4);
        top_only[0].1.successors[0].id = Id::hash(b"elsewhere");
        assert!(super::ring(&inputs(&top_only)).problems.is_empty());
    }

    #[test]
    fn a_lone_node_with_positions_is_a_ring_by_itself() {
        let lone = vnode_ring(1, 4);
        let r = ring(&inputs(&lone));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!((r.rows.len(), r.rows[0].positions), (1, 4));
        assert!((r.rows[0].share - 100.0).abs() < 1e-9);
        assert!((r.balance.unwrap().ratio - 1.0).abs() < 1e-9);
        // One position: the status itself, named by the node.
        let plain = vnode_ring(1, 1);
        assert_eq!(positions_of(&plain[0].1).len(), 1);
        assert_eq!(inputs(&plain)[0].label(), "n1");
        assert_eq!(inputs(&lone)[3].label(), "n1/v3");
    }

    #[test]
    fn data_expects_copies_on_distinct_nodes_over_positions() {
        // a at 0x10 and 0x20, b at 0x30, c at 0x40 and 0x50.
        let node = |name: &str, ids: &[u8], entries: Vec<KeyEntry>| Holdings {
            name: name.into(),
            ids: ids.iter().map(|b| at(*b)).collect(),
            entries,
        };
        let ring = |k: KeyEntry, on: &[&str]| {
            let has = |n: &str| {
                if on.contains(&n) {
                    vec![k.clone()]
                } else {
                    vec![]
                }
            };
            [
                node("a", &[0x10, 0x20], has("a")),
                node("b", &[0x30], has("b")),
                node("c", &[0x40, 0x50], has("c")),
            ]
        };
        // Owned by a's 0x10; a's 0x20 is the same node, so b is next.
        let k = entry("k", 0x05, 1, false);
        assert!(data(&ring(k.clone(), &["a", "b"]), 2).is_clean());
        let r = data(&ring(k.clone(), &["a"]), 2);
        assert_eq!(r.under_replicated[0].expected, ["a", "b"]);
        // Owned by c's 0x50 (wrapping past a's 0x10, b's 0x30 come next).
        let k = entry("k", 0x45, 1, false);
        let r = data(&ring(k, &["c", "a"]), 3);
        assert_eq!(r.under_replicated[0].expected, ["c", "a", "b"]);
        assert!(r.misplaced.is_empty());
        // Three copies on two nodes of three: b's is elsewhere.
        let k = entry("k", 0x15, 1, false);
        let r = data(&ring(k, &["a", "b", "c"]), 2);
        assert_eq!(r.misplaced[0].expected, ["a", "b"]);
        assert_eq!(r.misplaced[0].elsewhere, ["c"]);
    }
}
