//! A node's positions on the ring (virtual nodes) behind one listener.
//!
//! With `--vnodes V`, one process takes V positions: each is a whole Chord
//! node ([`Node`]: its own ring view, store, repair rounds and location
//! cache) at `SHA-1(advertise + "#" + i)`, answering its ring and data
//! traffic under `/v{i}` (position 0 at the bare address; see
//! `chord_proto::peer`). What the positions share is the process: the
//! listener, the runtime and the HTTP client's connection pool, and the
//! fact that they die together — which is why placement puts a key's copies
//! on distinct hosts, never on two positions of one.
//!
//! Keeping each position a whole node, rather than one node with V ranges,
//! keeps every proof about a node (joins, repair, authoritative misses,
//! partition merge) a proof about each position: the only rule that knows
//! about hosts is placement's (`chord_proto::placement`).
//!
//! The host decides which position a client request enters at ([`Host::entry_for`]),
//! and sums the positions into the node's one `/status`, `/metrics` and
//! `/chord/keys`.

use crate::config::Options;
use crate::driver::{Node, Status};
use crate::id::Id;
use crate::peer::PeerClient;
use crate::placement::successor_of;
use crate::ring::Peer;
use chord_proto::api::{KeyEntry, KeyListing};
use chord_proto::peer::{position_addr, position_id};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The positions of one node; cheap to clone.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Positions>,
}

struct Positions {
    /// Position `i` at index `i`.
    nodes: Vec<Node>,
    /// Indices into `nodes`, by position id ascending.
    by_id: Vec<usize>,
    /// The ids in `by_id`'s order.
    ids: Vec<Id>,
}

impl From<Node> for Host {
    /// A host of one position (a node without virtual nodes).
    fn from(node: Node) -> Host {
        Host::of(vec![node])
    }
}

impl Host {
    /// The positions of a node advertised as `advertise`, configured by
    /// `opts` (not started yet). With `opts.vnodes` = 1 this is the node of
    /// old: `me` at `opts.id` or `SHA-1(advertise)`.
    pub fn new(advertise: &str, opts: Options) -> Host {
        let v = opts.vnodes.max(1) as usize;
        if v == 1 {
            let id = opts.id.unwrap_or_else(|| Id::hash(advertise.as_bytes()));
            let me = Peer {
                id,
                addr: advertise.to_string(),
            };
            return Host::from(Node::new(me, opts));
        }
        let peers = PeerClient::new(opts.rpc_timeout, opts.cluster_key.as_deref());
        let nodes = (0..v)
            .map(|i| {
                let me = Peer {
                    id: position_id(advertise, i, v),
                    addr: position_addr(advertise, i),
                };
                Node::with_client(me, position_options(&opts, advertise, i), peers.clone())
            })
            .collect();
        Host::of(nodes)
    }

    fn of(nodes: Vec<Node>) -> Host {
        let mut by_id: Vec<usize> = (0..nodes.len()).collect();
        by_id.sort_by_key(|i| nodes[*i].me().id);
        let ids = by_id.iter().map(|i| nodes[*i].me().id).collect();
        Host {
            inner: Arc::new(Positions { nodes, by_id, ids }),
        }
    }

    /// Position 0: the node at the bare address.
    pub fn first(&self) -> &Node {
        &self.inner.nodes[0]
    }

    /// Position `i`, if this node has it.
    pub fn position(&self, i: usize) -> Option<&Node> {
        self.inner.nodes.get(i)
    }

    /// Every position, position 0 first.
    pub fn positions(&self) -> &[Node] {
        &self.inner.nodes
    }

    /// The position a client request for `key` enters at: the one that owns
    /// it if any does, else the one closest before it, whose successor list
    /// and fingers reach it in the fewest hops (and whose location cache
    /// then learns the keys after it, one cache per stretch of the ring).
    pub fn entry_for(&self, key: &Id) -> &Node {
        let p = &self.inner;
        if p.nodes.len() == 1 {
            return &p.nodes[0];
        }
        let Some(after) = successor_of(&p.ids, key) else {
            return &p.nodes[0];
        };
        let next = &p.nodes[p.by_id[after]];
        if next.owns(key) {
            return next;
        }
        let before = (after + p.ids.len() - 1) % p.ids.len();
        &p.nodes[p.by_id[before]]
    }

    /// Starts every position's maintenance and repair loops.
    pub fn start(&self) {
        for n in self.positions() {
            n.start();
        }
    }

    /// Leaves position by position, each handing its data to the nodes that
    /// take over; returns how many entries were handed over.
    ///
    /// One at a time, not all at once: a position's `Leaving` names its
    /// neighbours for the others to adopt, and those are often positions of
    /// this node. Left in turn, each names only positions still in the ring
    /// (the one before it has already told it its new predecessor), so the
    /// neighbours never point at a position that has gone.
    pub async fn leave(&self) -> usize {
        let mut handed = 0;
        for n in self.positions() {
            handed += n.leave().await;
        }
        handed
    }

    /// Whether every position has joined a ring.
    pub fn is_ready(&self) -> bool {
        self.positions().iter().all(Node::is_ready)
    }

    /// The node's status: position 0's with the node's key totals and, with
    /// more than one position, each position's own status.
    pub fn status(&self) -> Status {
        let mut all: Vec<Status> = self.positions().iter().map(Node::status).collect();
        if all.len() == 1 {
            return all.remove(0);
        }
        let mut top = all[0].clone();
        top.keys = all.iter().map(|s| s.keys).sum();
        top.keys_owned = all.iter().map(|s| s.keys_owned).sum();
        top.keys_replica = all.iter().map(|s| s.keys_replica).sum();
        top.tombstones = all.iter().map(|s| s.tombstones).sum();
        top.repairing = all.iter().any(|s| s.repairing);
        top.ready = all.iter().all(|s| s.ready);
        top.positions = all;
        top
    }

    /// Everything the node holds: each key once, at the newest version any
    /// position holds (`GET /chord/keys`: a node is where copies live).
    pub fn listing(&self) -> KeyListing {
        listing(self.first().me(), self.positions())
    }

    /// The Prometheus text of the whole node: the positions' series summed.
    pub fn render_metrics(&self) -> String {
        let texts: Vec<String> = self.positions().iter().map(Node::render_metrics).collect();
        crate::metrics::sum_expositions(&texts)
    }
}

/// The options of position `i` of a node advertised as `advertise`.
fn position_options(opts: &Options, advertise: &str, i: usize) -> Options {
    let mut o = opts.clone();
    o.id = None;
    // Its list must reach R distinct hosts past runs of positions of the
    // same host (several in a row are likely in a small ring); one more
    // entry per position of a node is ample, and costs only bytes in the
    // stabilize answer, not calls.
    o.successors = (opts.successors + opts.vnodes).min(crate::config::MAX_SUCCESSORS);
    if i > 0 && opts.join.is_empty() {
        // A node founding a ring alone: position 0 founds it, the others
        // join through it.
        o.join = vec![advertise.to_string()];
    }
    o
}

/// The key listing of `nodes`, named as `me`: each key once, newest copy.
pub fn listing(me: &Peer, nodes: &[Node]) -> KeyListing {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut newest: BTreeMap<Id, KeyEntry> = BTreeMap::new();
    for (id, e) in nodes.iter().flat_map(Node::entries) {
        let entry = KeyEntry {
            // An expired value not swept yet is as good as deleted.
            deleted: !e.is_live(now),
            key: e.key,
            id,
            version: e.version,
        };
        match newest.get(&id) {
            Some(held) if held.version >= entry.version => {}
            _ => {
                newest.insert(id, entry);
            }
        }
    }
    KeyListing {
        id: me.id,
        addr: me.addr.clone(),
        entries: newest.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(vnodes: u32) -> Options {
        Options {
            vnodes,
            ..Options::default()
        }
    }

    #[test]
    fn one_position_is_the_node_of_old() {
        let h = Host::new("127.0.0.1:7000", opts(1));
        assert_eq!(h.positions().len(), 1);
        assert_eq!(h.first().me(), &Peer::from_addr("127.0.0.1:7000"));
        assert_eq!(h.first().options().successors, 8);
    }

    #[test]
    fn positions_take_the_hashed_ids_and_prefixed_addresses() {
        let h = Host::new("a:1", opts(4));
        let me: Vec<&Peer> = h.positions().iter().map(Node::me).collect();
        assert_eq!(me[0].addr, "a:1");
        assert_eq!(me[3].addr, "a:1/v3");
        assert_eq!(me[3].id, Id::hash(b"a:1#3"));
        assert!(me.iter().all(|p| p.host() == "a:1"));
        // Alone, position 0 founds the ring and the others join through it.
        assert!(h.first().options().join.is_empty());
        assert_eq!(h.positions()[2].options().join, vec!["a:1".to_string()]);
        assert_eq!(h.positions()[2].options().successors, 12);
    }

    #[test]
    fn a_request_enters_at_the_position_that_claims_its_key() {
        // Not started, no position knows a neighbour, so each claims every
        // key (as a node alone does): the entry is the first position at or
        // after the key, never one before it. (Entering before the key when
        // the next position does not own it is in `tests/vnodes.rs`.)
        let h = Host::new("a:1", opts(4));
        let mut ids: Vec<Id> = h.positions().iter().map(|n| n.me().id).collect();
        ids.sort();
        for (k, id) in ids.iter().enumerate() {
            let key = id.wrapping_add(&Id::pow2(0));
            let next = ids[(k + 1) % ids.len()];
            assert_eq!(
                h.entry_for(&key).me().id,
                next,
                "key just after position {k}"
            );
            assert_eq!(h.entry_for(id).me().id, *id, "key at position {k}");
        }
    }
}
