//! What is explored: the nodes, the ring options, the fault assumptions, the
//! start state and, for every world, the actions enabled in it.
//!
//! # Fault assumptions
//! * **Crashes and leaves** together at most `departures` per run, and
//!   `departures ≤ L − 1` (L = successor-list length). Only a member that has
//!   not started to leave crashes or leaves, and only from a *stable base*:
//!   every member's successor list holds L members (so the ring has at least
//!   L + 1; the ring module's caveats), and each keeps a live successor
//!   whatever departs. A leave counts like a crash here because its
//!   announcements may be lost. Without a stable base a node can adopt a
//!   successor that answered and died before the answer arrived, and be
//!   left with no live one until its next stabilize drops it (a 2-node ring;
//!   or a founder whose joiners are mid-join): a dead end the model flags.
//!   A crashed process refuses connections (the driver then drops the peer at
//!   once); its pending answers vanish. No restarts.
//! * **Message loss**: at most `losses` legs per run, fewer than
//!   `suspect_after`, so loss alone never evicts a live neighbour (the
//!   implementation's documented promise). A lost request never reaches its
//!   target; a lost answer was acted on by the target. A request to a dead
//!   node may also be "lost", which models a host that is down (timeout)
//!   rather than a process that is gone (refused).
//! * **Ticks**: a node ticks only when none of its own exchanges is in
//!   flight, i.e. every call ends (answer or timeout) before its next tick.
//!   The real driver lets exchanges overlap ticks (RPC timeout 1 s, tick
//!   250 ms); the model leaves that overlap out to stay small.
//! * **Joins**: every node not started may start once, through any member.
//! * **Network**: any leg in flight may be delivered next (no FIFO order), no
//!   duplication, no partitions.

use crate::world::{id, Action, Budget, Msg, Reply, Slot, World, MAX_NODES};
use chord_node::ring::RingOptions;

/// Which world the search starts from.
#[derive(Clone, Copy, Debug)]
pub enum Start {
    /// Node 0 has founded a ring alone; all others may join.
    Founder,
    /// Nodes `0..n-1` form a converged ring (built fault-free); the last
    /// node may join.
    RingOfAllButOne,
}

/// One model-checking configuration.
#[derive(Clone, Debug)]
pub struct Model {
    /// Number of node ids (3 to 5).
    pub nodes: usize,
    /// Successor-list length L.
    pub successor_list_len: usize,
    /// Where the search starts.
    pub start: Start,
    /// Actions per path explored from the start.
    pub depth: u32,
    /// Crashes plus leaves per path.
    pub departures: u32,
    /// Lost message legs per path.
    pub losses: u32,
    /// Fault-free rounds a state gets to become a correct ring.
    pub converge_rounds: usize,
}

impl Model {
    /// The options every node runs with: the defaults but for L.
    pub fn ring_options(&self) -> RingOptions {
        RingOptions {
            successor_list_len: self.successor_list_len,
            ..RingOptions::default()
        }
    }

    /// Checks the configuration against the fault assumptions above.
    pub fn validate(&self) {
        let opts = self.ring_options();
        assert!((3..=MAX_NODES).contains(&self.nodes), "3 to 5 nodes");
        assert!(
            self.departures < self.successor_list_len as u32,
            "departures must stay below L"
        );
        assert!(
            self.losses < opts.suspect_after,
            "losses must stay below suspect_after"
        );
        let mut by_id: Vec<usize> = (0..self.nodes).collect();
        by_id.sort_by_key(|i| id(*i));
        assert_ne!(
            by_id,
            (0..self.nodes).collect::<Vec<_>>(),
            "ring order must differ from join order"
        );
    }

    /// The start world.
    pub fn initial(&self) -> World {
        let budget = Budget {
            departures: self.departures,
            losses: self.losses,
        };
        let mut w = World::new(self.nodes, self.ring_options(), budget);
        w.found(0);
        if let Start::RingOfAllButOne = self.start {
            for i in 1..self.nodes - 1 {
                w.apply(Action::Join {
                    node: i,
                    via: i - 1,
                });
                crate::checks::settle_rounds(&mut w, self.converge_rounds)
                    .expect("the start ring converges");
            }
        }
        w
    }

    /// Every action enabled in `w`, in a fixed order.
    pub fn enabled(&self, w: &World) -> Vec<Action> {
        let n = w.slots.len();
        let members = w.members();
        let mut out = Vec::new();
        for i in 0..n {
            if w.active(i) && !w.busy(i) {
                out.push(Action::Tick(i));
            }
        }
        for k in 0..w.msgs.len() {
            out.push(Action::Deliver(k));
            let losable = match &w.msgs[k] {
                Msg::Request { .. } => true,
                Msg::Response { reply, .. } => matches!(reply, Reply::Answer(_)),
            };
            if losable && w.budget.losses > 0 {
                out.push(Action::Lose(k));
            }
        }
        if w.budget.departures > 0 && stable_base(w, self.successor_list_len) {
            for &i in &members {
                out.push(Action::Crash(i));
                out.push(Action::Leave(i));
            }
        }
        for i in 0..n {
            if matches!(w.slots[i], Slot::Absent) {
                for &via in &members {
                    out.push(Action::Join { node: i, via });
                }
            }
        }
        out
    }
}

/// Whether every member's successor list holds at least `l` members: a
/// departure then leaves each of them a live successor, even one that
/// adopts an answer sent before it (Zave's stable base).
fn stable_base(w: &World, l: usize) -> bool {
    w.members().into_iter().all(|j| {
        let succ = w.state(j).expect("member runs").successors();
        succ.iter().filter(|p| w.is_member(w.index_of(p))).count() >= l
    })
}
