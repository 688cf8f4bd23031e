//! What the picture shows, taken from the nodes' statuses: the live ring
//! positions in ring order (one per node without virtual nodes, V per node
//! with `--vnodes V`) with their key-space spans, key counts and successor
//! pointers, judged by the same ring check as `chordctl ring`; which
//! separate ring each belongs to when the successor pointers form more
//! than one; and, when the caller knows them, the nodes that are down.

use anyhow::{bail, Result};

use chord_proto::api::Status;
use chord_proto::id::Id;

use super::trace::Trace;
use crate::check::{self, RingInput};

/// One live ring position as drawn: a node, or one of its virtual nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    /// Position name: the node's name, `name/v{i}` for its position i > 0.
    pub name: String,
    /// The node it belongs to, numbered from 0 in the order nodes first
    /// appear in ring order (positions of one node share a colour).
    pub host: usize,
    /// Ring id.
    pub id: Id,
    /// Open end of the key space it owns, `(from, id]`: the previous id in
    /// ring order (its own id when alone, for the whole ring); `None` when
    /// another node has the same id, so it owns nothing.
    pub span_from: Option<Id>,
    /// Live keys in its primary range, as it reports.
    pub keys_owned: usize,
    /// Its first successor as it reports it.
    pub successor: Option<Id>,
    /// Whether that successor is the next node in ring order.
    pub successor_ok: bool,
    /// Which ring it is on: nodes joined by successor pointers share a
    /// number; 0 is the ring of the first node in id order.
    pub ring: usize,
}

/// A node the runtime lists that did not answer (or does not run), drawn
/// in the warning colour where its id puts it.
#[derive(Debug, Clone, PartialEq)]
pub struct DownView {
    /// Node name.
    pub name: String,
    /// Its ring id as last seen, or as derived from its address.
    pub id: Id,
}

/// The node whose fingers are drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    /// Its name.
    pub name: String,
    /// Its ring id.
    pub id: Id,
    /// Its distinct fingers, in finger order, as it reports them.
    pub fingers: Vec<Id>,
}

/// Everything the picture shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RingView {
    /// Live nodes in ring order (by id).
    pub nodes: Vec<NodeView>,
    /// The node chosen with `--node`, if any.
    pub selected: Option<Selected>,
    /// A lookup's path to draw, if any (`ring --trace KEY`, `chordctl ui`).
    pub trace: Option<Trace>,
    /// Nodes that are down (empty unless the caller adds them).
    pub down: Vec<DownView>,
}

impl RingView {
    /// The view of the nodes that answered, as `(name, status)`; `selected`
    /// names the node whose fingers are drawn and must be one of them.
    pub fn new(statuses: &[(&str, &Status)], selected: Option<&str>) -> Result<RingView> {
        let inputs: Vec<RingInput> = statuses
            .iter()
            .flat_map(|(name, s)| RingInput::from_status(name, s))
            .collect();
        // The position rows of the ring check are in ring order, and say
        // which successor pointers agree with it: the same verdict as `ring`.
        let report = check::ring(&inputs);
        let rows = &report.positions;
        let n = rows.len();
        let mut hosts: Vec<&str> = Vec::new();
        let nodes = rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let status = statuses
                    .iter()
                    .find(|(name, _)| *name == row.node)
                    .and_then(|(_, s)| check::positions_of(s).get(row.position))
                    .expect("every row comes from a status");
                let prev = rows[(i + n - 1) % n].id;
                let host = hosts
                    .iter()
                    .position(|h| *h == row.node)
                    .unwrap_or_else(|| {
                        hosts.push(&row.node);
                        hosts.len() - 1
                    });
                NodeView {
                    name: row.name.clone(),
                    host,
                    id: row.id,
                    span_from: (n == 1 || prev != row.id).then_some(prev),
                    keys_owned: status.keys_owned,
                    successor: status.successors.first().map(|p| p.id),
                    successor_ok: row.successor_ok,
                    ring: 0,
                }
            })
            .collect::<Vec<NodeView>>();
        let mut nodes = nodes;
        for (node, ring) in rings(&nodes).into_iter().enumerate() {
            nodes[node].ring = ring;
        }
        let selected = match selected {
            None => None,
            Some(want) => {
                let Some((name, s)) = statuses.iter().find(|(name, _)| *name == want) else {
                    bail!("node {want:?} did not answer, so its fingers cannot be drawn");
                };
                Some(Selected {
                    name: name.to_string(),
                    id: s.id,
                    fingers: s.fingers.iter().map(|p| p.id).collect(),
                })
            }
        };
        Ok(RingView {
            nodes,
            selected,
            trace: None,
            down: Vec::new(),
        })
    }

    /// How many nodes the positions belong to.
    pub fn node_count(&self) -> usize {
        self.nodes.iter().map(|n| n.host + 1).max().unwrap_or(0)
    }

    /// Whether some node takes more than one position.
    pub fn has_vnodes(&self) -> bool {
        self.nodes.len() > self.node_count()
    }

    /// How many separate rings the successor pointers form.
    pub fn ring_count(&self) -> usize {
        self.nodes.iter().map(|n| n.ring + 1).max().unwrap_or(0)
    }

    /// The name of the node with `id`, if it is in the view.
    pub fn name_of(&self, id: &Id) -> Option<&str> {
        self.nodes
            .iter()
            .find(|n| n.id == *id)
            .map(|n| n.name.as_str())
    }

    /// Keys owned over all nodes.
    pub fn total_keys(&self) -> usize {
        self.nodes.iter().map(|n| n.keys_owned).sum()
    }

    /// The node owning the most keys (the first in ring order on a tie).
    pub fn busiest(&self) -> Option<&NodeView> {
        self.nodes
            .iter()
            .rev()
            .max_by_key(|n| n.keys_owned)
            .filter(|n| n.keys_owned > 0)
    }
}

/// The ring number of each node (same order as `nodes`): nodes linked by
/// a successor pointer, either way, share one, numbered in the order the
/// rings first appear. A pointer to a node not in the view links nothing,
/// so a node whose successor just died stays on its predecessor's ring.
fn rings(nodes: &[NodeView]) -> Vec<usize> {
    // Union-find over node positions; a few hundred nodes at most.
    let mut parent: Vec<usize> = (0..nodes.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, node) in nodes.iter().enumerate() {
        let Some(succ) = node.successor else { continue };
        if let Some(j) = nodes.iter().position(|n| n.id == succ) {
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut numbers: Vec<usize> = Vec::new();
    (0..nodes.len())
        .map(|i| {
            let r = root(&mut parent, i);
            match numbers.iter().position(|&seen| seen == r) {
                Some(n) => n,
                None => {
                    numbers.push(r);
                    numbers.len() - 1
                }
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chord_proto::peer::Peer;

    /// A ready node's status with these pointers (addresses from the id).
    pub(crate) fn status(id: Id, successor: Id, keys_owned: usize, fingers: &[Id]) -> Status {
        let peer = |id: Id| Peer {
            addr: format!("10.0.0.1:{}", id.prefix_u64() % 60_000),
            id,
        };
        Status {
            id,
            addr: peer(id).addr,
            predecessor: None,
            successors: vec![peer(successor)],
            fingers: fingers.iter().map(|&f| peer(f)).collect(),
            keys: keys_owned,
            keys_owned,
            keys_replica: 0,
            tombstones: 0,
            repairing: false,
            replicas: 3,
            write_quorum: 2,
            ready: true,
            positions: Vec::new(),
        }
    }

    /// `n` nodes spread evenly over the ring, pointers all correct, node
    /// `i` named `n<i>` and owning `i` keys.
    pub(crate) fn even_ring(n: usize) -> Vec<(String, Status)> {
        let ids: Vec<Id> = (0..n)
            .map(|i| super::super::geometry::id_at(i as f64 / n as f64))
            .collect();
        (0..n)
            .map(|i| {
                let fingers = [ids[(i + 1) % n], ids[(i + n / 2) % n]];
                (
                    format!("n{i}"),
                    status(ids[i], ids[(i + 1) % n], i, &fingers),
                )
            })
            .collect()
    }

    pub(crate) fn borrowed(ring: &[(String, Status)]) -> Vec<(&str, &Status)> {
        ring.iter().map(|(n, s)| (n.as_str(), s)).collect()
    }

    #[test]
    fn nodes_come_in_ring_order_with_the_span_from_the_previous_id() {
        let mut ring = even_ring(3);
        ring.reverse();
        let view = RingView::new(&borrowed(&ring), Some("n1")).unwrap();
        let names: Vec<&str> = view.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["n0", "n1", "n2"]);
        assert_eq!(view.nodes[0].span_from, Some(view.nodes[2].id));
        assert_eq!(view.nodes[1].span_from, Some(view.nodes[0].id));
        assert!(view.nodes.iter().all(|n| n.successor_ok));
        let sel = view.selected.unwrap();
        assert_eq!((sel.name.as_str(), sel.fingers.len()), ("n1", 2));
    }

    #[test]
    fn a_wrong_successor_is_flagged_and_a_missing_selected_node_is_an_error() {
        let mut ring = even_ring(3);
        // n0 skips n1.
        ring[0].1.successors[0].id = ring[2].1.id;
        let view = RingView::new(&borrowed(&ring), None).unwrap();
        let ok: Vec<bool> = view.nodes.iter().map(|n| n.successor_ok).collect();
        assert_eq!(ok, [false, true, true]);
        let err = RingView::new(&borrowed(&ring), Some("n9")).unwrap_err();
        assert!(err.to_string().contains("n9"), "{err}");
    }

    #[test]
    fn a_lone_node_spans_the_whole_ring_and_twins_span_nothing() {
        let one = even_ring(1);
        let view = RingView::new(&borrowed(&one), None).unwrap();
        assert_eq!(view.nodes[0].span_from, Some(view.nodes[0].id));
        let mut twins = even_ring(2);
        twins[1].1.id = twins[0].1.id;
        let view = RingView::new(&borrowed(&twins), None).unwrap();
        assert!(view.nodes.iter().all(|n| n.span_from.is_none()));
    }

    #[test]
    fn a_split_ring_is_numbered_as_two_rings() {
        let mut ring = even_ring(6);
        assert_eq!(
            RingView::new(&borrowed(&ring), None).unwrap().ring_count(),
            1
        );
        // n0 -> n2 -> n4 -> n0 and n1 -> n3 -> n5 -> n1.
        for i in 0..6 {
            ring[i].1.successors[0].id = ring[(i + 2) % 6].1.id;
        }
        let view = RingView::new(&borrowed(&ring), None).unwrap();
        let numbers: Vec<usize> = view.nodes.iter().map(|n| n.ring).collect();
        assert_eq!(numbers, [0, 1, 0, 1, 0, 1]);
        assert_eq!(view.ring_count(), 2);
        // A successor that is not in the view links nothing.
        let mut ring = even_ring(3);
        ring[0].1.successors[0].id = Id::hash(b"gone");
        let view = RingView::new(&borrowed(&ring), None).unwrap();
        assert_eq!(view.ring_count(), 1, "n2 -> n0 still links n0");
        assert_eq!(RingView::default().ring_count(), 0);
    }

    #[test]
    fn busiest_is_the_node_with_most_keys() {
        let view = RingView::new(&borrowed(&even_ring(4)), None).unwrap();
        assert_eq!(view.total_keys(), 6);
        assert_eq!(view.busiest().unwrap().name, "n3");
        let view = RingView::new(&borrowed(&even_ring(1)), None).unwrap();
        assert!(view.busiest().is_none(), "no keys, no busiest node");
    }
    #[test]
    fn with_vnodes_every_position_is_drawn_coloured_by_its_node() {
        let ring = crate::check::tests::vnode_ring(3, 4);
        let view = RingView::new(&borrowed(&ring), Some("n2")).unwrap();
        assert_eq!((view.nodes.len(), view.node_count()), (12, 3));
        assert!(view.has_vnodes());
        assert!(view
            .nodes
            .iter()
            .all(|n| n.successor_ok && n.span_from.is_some()));
        assert_eq!(view.ring_count(), 1);
        // Positions of a node share its number, and names say the node.
        for n in &view.nodes {
            let host = n.name.split('/').next().unwrap();
            let first = view
                .nodes
                .iter()
                .find(|m| m.name.starts_with(host))
                .unwrap();
            assert_eq!(n.host, first.host, "{}", n.name);
        }
        assert_eq!(view.total_keys(), 12, "each position owns its own");
        assert_eq!(view.selected.unwrap().id, ring[1].1.id);
        let plain = RingView::new(&borrowed(&even_ring(3)), None).unwrap();
        assert!(!plain.has_vnodes());
    }
}
