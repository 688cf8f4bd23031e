//! Verifying a cluster from what its live nodes report: pure functions over
//! fetched statuses and key listings, so every rule is unit-tested here.
//!
//! Ring rule: sort the live nodes' ids; each node's first successor must be
//! the next id clockwise and its predecessor the previous one.
//!
//! Data rule: the expected holders of a key are its owner (the first live
//! node clockwise from the key's id, inclusive) and the next R−1 live nodes.
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

use crate::client::KeyEntry;

/// A live node's ring pointers, as ids (lowercase hex).
#[derive(Debug, Clone)]
pub struct RingInput {
    /// Node name.
    pub name: String,
    /// Ring id.
    pub id: String,
    /// Whether the node says it has joined.
    pub ready: bool,
    /// Predecessor id.
    pub predecessor: Option<String>,
    /// First successor id.
    pub successor: Option<String>,
}

/// One node in ring order.
#[derive(Debug, Clone, Serialize)]
pub struct RingRow {
    /// Node name.
    pub name: String,
    /// Ring id.
    pub id: String,
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
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let mut problems = Vec::new();
    for pair in sorted.windows(2) {
        if pair[0].id == pair[1].id {
            problems.push(format!(
                "{} and {} have the same id",
                pair[0].name, pair[1].name
            ));
        }
    }
    let name_of = |id: &Option<String>| -> String {
        match id {
            None => "none".to_string(),
            Some(id) => sorted
                .iter()
                .find(|n| &n.id == id)
                .map_or_else(|| short_id(id).to_string(), |n| n.name.clone()),
        }
    };
    let n = sorted.len();
    let mut rows = Vec::with_capacity(n);
    for (i, node) in sorted.iter().enumerate() {
        let next = sorted[(i + 1) % n];
        let prev = sorted[(i + n - 1) % n];
        let successor_ok = node.successor.as_deref() == Some(next.id.as_str());
        // A lone node may not have learnt that it is its own predecessor.
        let predecessor_ok = node.predecessor.as_deref() == Some(prev.id.as_str())
            || (n == 1 && node.predecessor.is_none());
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
            id: node.id.clone(),
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

/// The first 8 hex digits of an id, for tables.
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Parses 40 hex digits into 20 big-endian bytes (missing digits count as 0).
fn id_bytes(id: &str) -> [u8; 20] {
    let mut out = [0u8; 20];
    let digits: Vec<u8> = id
        .bytes()
        .filter_map(|c| (c as char).to_digit(16).map(|d| d as u8))
        .collect();
    for (i, pair) in digits.chunks(2).take(20).enumerate() {
        out[i] = pair[0] << 4 | pair.get(1).copied().unwrap_or(0);
    }
    out
}

/// Percentage of the 160-bit ring in the interval (from, to].
pub fn share(from: &str, to: &str) -> f64 {
    let (a, b) = (id_bytes(from), id_bytes(to));
    // (b - a) mod 2^160, byte by byte from the least significant end.
    let mut diff = [0u8; 20];
    let mut borrow = 0i16;
    for i in (0..20).rev() {
        let mut d = i16::from(b[i]) - i16::from(a[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        diff[i] = d as u8;
    }
    if diff == [0u8; 20] {
        // from == to: a single node owns everything.
        return 100.0;
    }
    let fraction: f64 = diff
        .iter()
        .enumerate()
        .map(|(i, &byte)| f64::from(byte) * 256f64.powi(-(i as i32 + 1)))
        .sum();
    fraction * 100.0
}

/// What one live node holds.
#[derive(Debug, Clone)]
pub struct Holdings {
    /// Node name.
    pub name: String,
    /// Ring id.
    pub id: String,
    /// Its entries, tombstones included.
    pub entries: Vec<KeyEntry>,
}

/// A key with a placement problem.
#[derive(Debug, Clone, Serialize)]
pub struct KeyProblem {
    /// The key.
    pub key: String,
    /// Newest version seen anywhere.
    pub version: String,
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
    let mut ring: Vec<(&str, &str)> = nodes
        .iter()
        .map(|n| (n.id.as_str(), n.name.as_str()))
        .collect();
    ring.sort();
    let want = (replicas as usize).min(ring.len());

    // key -> (key id, node name -> (version, deleted))
    type Copies<'a> = BTreeMap<&'a str, (&'a str, bool)>;
    let mut keys: BTreeMap<&str, (&str, Copies)> = BTreeMap::new();
    for node in nodes {
        for e in &node.entries {
            let slot = keys
                .entry(e.key.as_str())
                .or_insert((e.id.as_str(), BTreeMap::new()));
            slot.1
                .insert(node.name.as_str(), (e.version.as_str(), e.deleted));
        }
    }

    let mut report = DataReport::default();
    for (key, (key_id, copies)) in keys {
        let (newest, newest_deleted) = copies
            .values()
            .max_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)))
            .copied()
            .unwrap_or(("", false));
        if newest_deleted {
            report.deleted += 1;
            continue;
        }
        report.keys += 1;
        let expected = expected_holders(&ring, key_id, want);
        let mut problem = KeyProblem {
            key: key.to_string(),
            version: newest.to_string(),
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

/// Owner (first id clockwise from `key_id`, inclusive) and the next
/// `count - 1` nodes of `ring` (sorted by id), as names.
pub fn expected_holders<'a>(ring: &[(&str, &'a str)], key_id: &str, count: usize) -> Vec<&'a str> {
    if ring.is_empty() {
        return Vec::new();
    }
    let start = ring.partition_point(|(id, _)| *id < key_id) % ring.len();
    (0..count.min(ring.len()))
        .map(|i| ring[(start + i) % ring.len()].1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: u8) -> String {
        format!("{b:02x}").repeat(20)
    }

    fn node(name: &str, id: u8, pred: u8, succ: u8) -> RingInput {
        RingInput {
            name: name.into(),
            id: hex(id),
            ready: true,
            predecessor: Some(hex(pred)),
            successor: Some(hex(succ)),
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
        let top = |b: u8| format!("{b:02x}{}", "0".repeat(38));
        assert!((share(&top(0x00), &top(0x80)) - 50.0).abs() < 1e-9);
        assert!((share(&top(0x80), &top(0x00)) - 50.0).abs() < 1e-9);
        assert!((share(&top(0xc0), &top(0x40)) - 50.0).abs() < 1e-9);
        assert!((share(&top(0x00), &top(0x01)) - 100.0 / 256.0).abs() < 1e-9);
    }

    #[test]
    fn holders_wrap_and_include_exact_match() {
        let ring = [("20", "a"), ("40", "b"), ("60", "c")];
        assert_eq!(expected_holders(&ring, "30", 2), ["b", "c"]);
        assert_eq!(expected_holders(&ring, "40", 2), ["b", "c"]);
        assert_eq!(expected_holders(&ring, "70", 2), ["a", "b"]);
        assert_eq!(expected_holders(&ring, "10", 5), ["a", "b", "c"]);
    }

    fn entry(key: &str, id: &str, version: &str, deleted: bool) -> KeyEntry {
        KeyEntry {
            key: key.into(),
            id: id.into(),
            version: version.into(),
            deleted,
        }
    }

    fn holdings(name: &str, id: &str, entries: Vec<KeyEntry>) -> Holdings {
        Holdings {
            name: name.into(),
            id: id.into(),
            entries,
        }
    }

    #[test]
    fn data_categories() {
        // Ring a=20, b=40, c=60; R=2.
        // k1 (id 30): expected b, c; both current -> fine.
        // k2 (id 50): expected c, a; only c, a stale -> under-replicated.
        // k3 (id 10): expected a, b; only on c -> lost and misplaced.
        // k4 (id 30): newest is a tombstone -> deleted, not checked.
        let nodes = [
            holdings("a", "20", vec![entry("k2", "50", "01", false)]),
            holdings(
                "b",
                "40",
                vec![
                    entry("k1", "30", "05", false),
                    entry("k4", "30", "09", true),
                ],
            ),
            holdings(
                "c",
                "60",
                vec![
                    entry("k1", "30", "05", false),
                    entry("k2", "50", "02", false),
                    entry("k3", "10", "01", false),
                    entry("k4", "30", "08", false),
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
            holdings("a", "20", vec![entry("k", "30", "01", false)]),
            holdings("b", "40", vec![entry("k", "30", "01", false)]),
        ];
        assert!(data(&nodes, 3).is_clean());
    }
}
