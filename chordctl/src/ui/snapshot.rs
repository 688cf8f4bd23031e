//! What the page shows, as chordctl last saw it: the cluster as the runtime
//! lists it and every node's `/status`, turned into the side panel's table
//! ([`ViewDoc`]) and the picture's model ([`Snapshot::ring_view`]). Pure:
//! the polling is in [`super::serve`].

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use chord_proto::api::Status;
use chord_proto::id::Id;

use crate::commands::inspect::{ring_report, Observed};
use crate::ringview::{DownView, RingView, Trace};
use crate::runtime::Cluster;

/// One look at the cluster.
#[derive(Default)]
pub struct Snapshot {
    /// Runtime name (`process`, `docker`, `compose`, `swarm`).
    pub runtime: &'static str,
    /// The cluster, unless the runtime no longer finds it.
    pub cluster: Option<Cluster>,
    /// Every listed node with its status, if it answered.
    pub observed: Vec<Observed>,
    /// Why the last look failed, if it did.
    pub error: Option<String>,
    /// The last id each node reported, by name: where a node that is down
    /// is drawn (its `--id` may differ from the hash of its address).
    pub known_ids: BTreeMap<String, Id>,
}

impl Snapshot {
    /// A snapshot of `observed`, remembering the ids of `previous`.
    pub fn new(
        runtime: &'static str,
        cluster: Cluster,
        observed: Vec<Observed>,
        previous: &Snapshot,
    ) -> Snapshot {
        let mut known_ids = previous.known_ids.clone();
        for o in &observed {
            if let Some(s) = &o.status {
                known_ids.insert(o.node.name.clone(), s.id);
            }
        }
        Snapshot {
            runtime,
            cluster: Some(cluster),
            observed,
            error: None,
            known_ids,
        }
    }

    /// A failed look: the error, and the ids known so far.
    pub fn failed(runtime: &'static str, error: String, previous: &Snapshot) -> Snapshot {
        Snapshot {
            runtime,
            error: Some(error),
            known_ids: previous.known_ids.clone(),
            ..Snapshot::default()
        }
    }

    fn statuses(&self) -> Vec<(&str, &Status)> {
        self.observed
            .iter()
            .filter_map(|o| Some((o.node.name.as_str(), o.status.as_ref()?)))
            .collect()
    }

    /// The nodes that are listed but did not answer, where they sit on the
    /// ring: the id they last reported, else the SHA-1 of their advertised
    /// address (what a node without `--id` takes).
    pub fn down(&self) -> Vec<DownView> {
        self.observed
            .iter()
            .filter(|o| o.status.is_none())
            .map(|o| DownView {
                name: o.node.name.clone(),
                id: self
                    .known_ids
                    .get(&o.node.name)
                    .copied()
                    .unwrap_or_else(|| Id::hash(o.node.advertise.as_bytes())),
            })
            .collect()
    }

    /// The picture's model: live nodes, the nodes that are down, and
    /// `trace` if given.
    pub fn ring_view(&self, trace: Option<Trace>) -> Result<RingView> {
        let mut view = RingView::new(&self.statuses(), None)?;
        view.down = self.down();
        view.trace = trace;
        Ok(view)
    }

    /// The id of the position advertising `addr` (a node's, or one of its
    /// virtual nodes'): the one it reports, else the SHA-1 of the address.
    pub fn id_of_addr(&self, addr: &str) -> Id {
        self.observed
            .iter()
            .filter_map(|o| o.status.as_ref())
            .flat_map(crate::check::positions_of)
            .find(|s| s.addr == addr)
            .map_or_else(|| Id::hash(addr.as_bytes()), |s| s.id)
    }

    /// The name of the node (or virtual node) at `addr`, if it is one of ours.
    pub fn name_of_addr(&self, addr: &str) -> Option<String> {
        crate::commands::data::name_of(self.cluster.as_ref()?, addr)
    }

    /// The side panel's document.
    pub fn doc(&self) -> ViewDoc {
        let report = ring_report(&self.observed);
        let nodes: Vec<NodeRow> = self.observed.iter().map(NodeRow::of).collect();
        let rings = self.ring_view(None).map_or(0, |v| v.ring_count());
        ViewDoc {
            cluster: self.cluster.as_ref().map(|c| c.spec.name.clone()),
            runtime: self.runtime,
            error: self.error.clone(),
            healthy: self.error.is_none()
                && report.problems.is_empty()
                && !nodes.is_empty()
                && nodes.iter().all(|n| n.state == "up"),
            rings,
            problems: report.problems,
            nodes,
        }
    }
}

/// The side panel: the cluster's health and one row per node. It never
/// carries the cluster key.
#[derive(Debug, Serialize)]
pub struct ViewDoc {
    /// Cluster name.
    pub cluster: Option<String>,
    /// Runtime name.
    pub runtime: &'static str,
    /// Why the last look failed.
    pub error: Option<String>,
    /// Every node up and the ring pointers in order.
    pub healthy: bool,
    /// Separate rings the successor pointers form (1 when whole).
    pub rings: usize,
    /// The ring check's complaints.
    pub problems: Vec<String>,
    /// The nodes, in the runtime's order.
    pub nodes: Vec<NodeRow>,
}

/// One node in the side panel.
#[derive(Debug, Serialize, PartialEq)]
pub struct NodeRow {
    /// Node name.
    pub name: String,
    /// `up`, `down` (listed but silent, or not running) or `not-ready`
    /// (answers but has not joined).
    pub state: &'static str,
    /// Short ring id, when it answered.
    pub id: Option<String>,
    /// Keys in its primary range.
    pub keys_owned: Option<usize>,
    /// Keys it holds for other owners.
    pub keys_replica: Option<usize>,
    /// Whether anti-entropy is moving data.
    pub repairing: Option<bool>,
}

impl NodeRow {
    fn of(o: &Observed) -> NodeRow {
        let s = o.status.as_ref();
        NodeRow {
            name: o.node.name.clone(),
            state: match s {
                None => "down",
                Some(s) if !s.ready => "not-ready",
                Some(_) => "up",
            },
            id: s.map(|s| s.id.short()),
            keys_owned: s.map(|s| s.keys_owned),
            keys_replica: s.map(|s| s.keys_replica),
            repairing: s.map(|s| s.repairing),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::runtime::{ClusterSpec, NodeInfo};
    use chord_proto::peer::Peer;

    /// A ring of `n` process nodes at 127.0.0.1:7001.., node `i` owning
    /// `i` keys; the nodes in `down` did not answer.
    pub(crate) fn snapshot(n: u32, down: &[u32]) -> Snapshot {
        let addr = |i: u32| format!("127.0.0.1:{}", 7000 + i);
        let mut ids: Vec<(Id, u32)> = (1..=n).map(|i| (Id::hash(addr(i).as_bytes()), i)).collect();
        ids.sort();
        // The neighbour `step` places clockwise (len - 1: the previous one).
        let next = |i: u32, step: usize| {
            let at = ids.iter().position(|(_, j)| *j == i).unwrap();
            let (id, j) = ids[(at + step) % ids.len()];
            Peer { id, addr: addr(j) }
        };
        let nodes: Vec<NodeInfo> = (1..=n)
            .map(|i| NodeInfo {
                name: format!("n{i}"),
                index: i,
                advertise: addr(i),
                endpoint: Some(addr(i)),
                running: !down.contains(&i),
            })
            .collect();
        let observed = nodes
            .iter()
            .map(|node| Observed {
                node: node.clone(),
                status: node.running.then(|| Status {
                    id: Id::hash(node.advertise.as_bytes()),
                    addr: node.advertise.clone(),
                    predecessor: Some(next(node.index, ids.len() - 1)),
                    successors: vec![next(node.index, 1)],
                    fingers: vec![],
                    keys: node.index as usize,
                    keys_owned: node.index as usize,
                    keys_replica: 1,
                    tombstones: 0,
                    repairing: node.index == 2,
                    replicas: 3,
                    write_quorum: 2,
                    ready: true,
                    positions: Vec::new(),
                }),
            })
            .collect();
        let cluster = Cluster {
            spec: ClusterSpec {
                name: "t".into(),
                key: "secret-cluster-key".into(),
                replicas: 3,
                vnodes: None,
                program: "chord-node".into(),
            },
            nodes,
        };
        Snapshot::new("process", cluster, observed, &Snapshot::default())
    }

    #[test]
    fn the_doc_has_a_row_per_node_and_never_the_cluster_key() {
        let doc = snapshot(4, &[]).doc();
        assert_eq!(doc.nodes.len(), 4);
        assert!(doc.nodes.iter().all(|n| n.state == "up"));
        assert_eq!(doc.nodes[1].repairing, Some(true));
        assert_eq!(doc.nodes[2].keys_owned, Some(3));
        assert_eq!(doc.rings, 1);
        assert!(doc.healthy, "{doc:?}");
        let json = serde_json::to_string(&doc).unwrap();
        assert!(!json.contains("secret-cluster-key"), "{json}");
    }

    #[test]
    fn a_silent_node_is_down_and_drawn_where_it_was_last_seen() {
        let before = snapshot(4, &[]);
        let mut after = snapshot(4, &[3]);
        after.known_ids = before.known_ids.clone();
        let doc = after.doc();
        assert_eq!(doc.nodes[2].state, "down");
        assert_eq!(doc.nodes[2].keys_owned, None);
        assert!(!doc.healthy);
        // The id it reported before; it is also the hash of its address here.
        let down = after.down();
        assert_eq!(down.len(), 1);
        assert_eq!(down[0].name, "n3");
        assert_eq!(down[0].id, before.known_ids["n3"]);
        let never_seen = Snapshot {
            known_ids: BTreeMap::new(),
            ..snapshot(4, &[3])
        };
        assert_eq!(never_seen.down()[0].id, Id::hash(b"127.0.0.1:7003"));
        let view = after.ring_view(None).unwrap();
        assert_eq!((view.nodes.len(), view.down.len()), (3, 1));
    }

    #[test]
    fn a_failed_look_keeps_the_known_ids_and_says_why() {
        let good = snapshot(2, &[]);
        let bad = Snapshot::failed("process", "no cluster".into(), &good);
        assert_eq!(bad.known_ids.len(), 2);
        let doc = bad.doc();
        assert_eq!(doc.error.as_deref(), Some("no cluster"));
        assert!(doc.nodes.is_empty() && !doc.healthy);
    }

    #[test]
    fn addresses_map_to_names_and_ids() {
        let s = snapshot(3, &[]);
        assert_eq!(s.name_of_addr("127.0.0.1:7002").as_deref(), Some("n2"));
        assert_eq!(s.name_of_addr("10.9.9.9:1"), None);
        assert_eq!(s.id_of_addr("10.9.9.9:1"), Id::hash(b"10.9.9.9:1"));
    }
}
