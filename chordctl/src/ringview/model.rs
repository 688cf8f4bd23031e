//! What the picture shows, taken from the nodes' statuses: the live nodes in
//! ring order with their key-space spans, key counts and successor
//! pointers, judged by the same ring check as `chordctl ring`.

use anyhow::{bail, Result};

use chord_proto::api::Status;
use chord_proto::id::Id;

use super::trace::Trace;
use crate::check::{self, RingInput};

/// One live node as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    /// Node name.
    pub name: String,
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
    /// A lookup's path to draw, if any (`ring --trace KEY`).
    pub trace: Option<Trace>,
}

impl RingView {
    /// The view of the nodes that answered, as `(name, status)`; `selected`
    /// names the node whose fingers are drawn and must be one of them.
    pub fn new(statuses: &[(&str, &Status)], selected: Option<&str>) -> Result<RingView> {
        let inputs: Vec<RingInput> = statuses
            .iter()
            .map(|(name, s)| RingInput::from_status(name, s))
            .collect();
        // The rows of the ring check are in ring order, and say which
        // successor pointers agree with it: the same verdict as `ring`.
        let report = check::ring(&inputs);
        let n = report.rows.len();
        let nodes = report
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let status = statuses
                    .iter()
                    .find(|(name, _)| *name == row.name)
                    .map(|(_, s)| *s)
                    .expect("every row comes from a status");
                let prev = report.rows[(i + n - 1) % n].id;
                NodeView {
                    name: row.name.clone(),
                    id: row.id,
                    span_from: (n == 1 || prev != row.id).then_some(prev),
                    keys_owned: status.keys_owned,
                    successor: status.successors.first().map(|p| p.id),
                    successor_ok: row.successor_ok,
                }
            })
            .collect();
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
        })
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
    fn busiest_is_the_node_with_most_keys() {
        let view = RingView::new(&borrowed(&even_ring(4)), None).unwrap();
        assert_eq!(view.total_keys(), 6);
        assert_eq!(view.busiest().unwrap().name, "n3");
        let view = RingView::new(&borrowed(&even_ring(1)), None).unwrap();
        assert!(view.busiest().is_none(), "no keys, no busiest node");
    }
}
