//! The world the explorer walks: one slot per node id (a real [`RingState`]
//! once started) and the message legs in flight. Every change is one
//! [`Action`]; applying it is deterministic, so a trace of actions replays.

use chord_node::id::Id;
use chord_node::ring::{Outbound, Peer, Response, RingOptions, RingState};
use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

/// Most nodes a model may have.
pub const MAX_NODES: usize = 5;

/// Node number `i` of the model: address `nII:7000`, id = SHA-1 of it.
pub fn peer(i: usize) -> Peer {
    peers()[i].clone()
}

/// The id of node number `i`.
pub fn id(i: usize) -> Id {
    peers()[i].id
}

/// The model's peers, hashed once: the checks look ids up all the time.
fn peers() -> &'static [Peer] {
    static PEERS: OnceLock<Vec<Peer>> = OnceLock::new();
    PEERS.get_or_init(|| {
        (0..MAX_NODES)
            .map(|i| Peer::from_addr(&format!("n{i:02}:7000")))
            .collect()
    })
}

/// What happened to one node id.
#[derive(Clone)]
pub enum Slot {
    /// Not started yet (a connection to it is refused).
    Absent,
    /// A running process.
    Up {
        /// Its ring state machine (boxed: it is large, the other slots tiny).
        state: Box<RingState>,
        /// Called `leave()`: it answers `NotReady` and no longer ticks.
        leaving: bool,
        /// The member it joins through (`None` for the founder).
        seed: Option<usize>,
    },
    /// Crashed: connections to it are refused, its pending answers vanish.
    Crashed,
}

/// How an exchange's answer leg ends.
#[derive(Clone, Debug, Hash)]
pub enum Reply {
    /// The target answered.
    Answer(Response),
    /// The request or its answer was lost: the caller times out.
    Timeout,
    /// Nobody listens at the target's address.
    Refused,
}

/// One leg of an exchange in flight.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// `out` from node `from` has not reached its target yet.
    Request {
        /// Sender's node number.
        from: usize,
        /// What it sent, and why.
        out: Outbound,
    },
    /// The outcome is on its way back to node `to`.
    Response {
        /// Caller's node number.
        to: usize,
        /// The request it answers.
        out: Outbound,
        /// The outcome.
        reply: Reply,
    },
}

/// One step of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A maintenance tick of the node.
    Tick(usize),
    /// Deliver message leg number `k` (index into [`World::msgs`]).
    Deliver(usize),
    /// Lose message leg number `k`: its caller will time out.
    Lose(usize),
    /// The node's process dies.
    Crash(usize),
    /// The node leaves gracefully.
    Leave(usize),
    /// The node starts and will join through member `via`.
    Join {
        /// The joining node.
        node: usize,
        /// The member it asks.
        via: usize,
    },
}

/// Faults still allowed on this path (part of the state: they shape its future).
#[derive(Clone, Copy, Debug, Hash)]
pub struct Budget {
    /// Crashes plus graceful leaves still allowed.
    pub departures: u32,
    /// Message legs that may still be lost.
    pub losses: u32,
}

/// All nodes and the network between them.
#[derive(Clone)]
pub struct World {
    /// Ring options every node runs with.
    pub opts: RingOptions,
    /// Slot `i` is node `peer(i)`.
    pub slots: Vec<Slot>,
    /// Message legs in flight, in no particular order (any may go next).
    pub msgs: Vec<Msg>,
    /// Faults left.
    pub budget: Budget,
}

impl World {
    /// `n` nodes, none started.
    pub fn new(n: usize, opts: RingOptions, budget: Budget) -> World {
        World {
            opts,
            slots: vec![Slot::Absent; n],
            msgs: Vec::new(),
            budget,
        }
    }

    /// The node number of `p` (every peer the model hands out is one of ours).
    pub fn index_of(&self, p: &Peer) -> usize {
        (0..self.slots.len())
            .find(|i| id(*i) == p.id)
            .unwrap_or_else(|| panic!("{} is not a model node", p.addr))
    }

    /// The state of node `i` if its process runs (leaving or not).
    pub fn state(&self, i: usize) -> Option<&RingState> {
        match &self.slots[i] {
            Slot::Up { state, .. } => Some(state),
            _ => None,
        }
    }

    /// Whether node `i` runs and has not started to leave.
    pub fn active(&self, i: usize) -> bool {
        matches!(self.slots[i], Slot::Up { leaving: false, .. })
    }

    /// Zave's members: running, joined and not leaving.
    pub fn is_member(&self, i: usize) -> bool {
        self.active(i) && self.state(i).is_some_and(RingState::is_joined)
    }

    /// Whether node `i` runs, has not joined, and its seed is no member any
    /// more: it cannot join (a real node is given several seeds for that).
    pub fn stranded(&self, i: usize) -> bool {
        match &self.slots[i] {
            Slot::Up {
                state,
                seed: Some(via),
                ..
            } => !state.is_joined() && !self.is_member(*via),
            _ => false,
        }
    }

    /// Node numbers of the members, ascending.
    pub fn members(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|i| self.is_member(*i))
            .collect()
    }

    /// Whether an exchange node `i` started is still in flight.
    pub fn busy(&self, i: usize) -> bool {
        self.msgs.iter().any(|m| match m {
            Msg::Request { from, .. } => *from == i,
            Msg::Response { to, .. } => *to == i,
        })
    }

    /// Node `i` founds a ring on its own (only for building start states).
    pub fn found(&mut self, i: usize) {
        let state = Box::new(RingState::new_ring(peer(i), self.opts.clone()));
        self.slots[i] = Slot::Up {
            state,
            leaving: false,
            seed: None,
        };
    }

    /// Applies one action. The caller checks that it is enabled.
    pub fn apply(&mut self, a: Action) {
        match a {
            Action::Tick(i) => {
                let outs = self.state_mut(i).tick();
                self.send(i, outs);
            }
            Action::Deliver(k) => {
                let m = self.msgs.swap_remove(k);
                self.deliver(m);
            }
            Action::Lose(k) => {
                self.budget.losses -= 1;
                let (to, out) = match self.msgs.swap_remove(k) {
                    Msg::Request { from, out } => (from, out),
                    Msg::Response { to, out, .. } => (to, out),
                };
                let reply = Reply::Timeout;
                self.msgs.push(Msg::Response { to, out, reply });
            }
            Action::Crash(i) => {
                self.budget.departures -= 1;
                self.slots[i] = Slot::Crashed;
            }
            Action::Leave(i) => {
                self.budget.departures -= 1;
                let outs = self.state_mut(i).leave();
                if let Slot::Up { leaving, .. } = &mut self.slots[i] {
                    *leaving = true;
                }
                self.send(i, outs);
            }
            Action::Join { node, via } => {
                let state = Box::new(RingState::joining(peer(node), peer(via), self.opts.clone()));
                self.slots[node] = Slot::Up {
                    state,
                    leaving: false,
                    seed: Some(via),
                };
            }
        }
    }

    fn state_mut(&mut self, i: usize) -> &mut RingState {
        match &mut self.slots[i] {
            Slot::Up { state, .. } => state,
            _ => panic!("node {i} does not run"),
        }
    }

    fn send(&mut self, from: usize, outs: Vec<Outbound>) {
        self.msgs
            .extend(outs.into_iter().map(|out| Msg::Request { from, out }));
    }

    /// One leg arrives: the target answers a request (or the connection is
    /// refused); the caller acts on an answer, as the driver does
    /// (`node/src/node/maintenance.rs`): a refusal drops the peer at once.
    fn deliver(&mut self, m: Msg) {
        match m {
            Msg::Request { from, out } => {
                let to = self.index_of(&out.to);
                let reply = match &mut self.slots[to] {
                    Slot::Up { state, .. } => Reply::Answer(state.on_request(&out.request)),
                    Slot::Absent | Slot::Crashed => Reply::Refused,
                };
                self.msgs.push(Msg::Response {
                    to: from,
                    out,
                    reply,
                });
            }
            Msg::Response { to, out, reply } => {
                let Slot::Up { state, .. } = &mut self.slots[to] else {
                    return; // the caller died; its connection with it
                };
                let resp = match reply {
                    Reply::Answer(r) => Some(r),
                    Reply::Timeout => None,
                    Reply::Refused => {
                        state.on_unreachable(&out.to.id);
                        None
                    }
                };
                let more = state.on_response(&out.to, out.purpose, resp);
                self.send(to, more);
            }
        }
    }

    /// A hash of everything that shapes the future: each node's
    /// [`RingState::fingerprint`], which nodes run, leave or died, the
    /// messages in flight as a multiset, and the fault budget.
    pub fn fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        for s in &self.slots {
            match s {
                Slot::Absent => 0u8.hash(&mut h),
                Slot::Crashed => 1u8.hash(&mut h),
                Slot::Up {
                    state,
                    leaving,
                    seed,
                } => {
                    (2u8, leaving, seed).hash(&mut h);
                    state.fingerprint(&mut h);
                }
            }
        }
        // Delivery order is free, so the order of the list is not state.
        let mut ms: Vec<u64> = self
            .msgs
            .iter()
            .map(|m| {
                let mut mh = DefaultHasher::new();
                m.hash(&mut mh);
                mh.finish()
            })
            .collect();
        ms.sort_unstable();
        ms.hash(&mut h);
        self.budget.hash(&mut h);
        h.finish()
    }

    /// Describes action `a` as it would apply to this world (for traces).
    pub fn describe(&self, a: Action) -> String {
        let name = |i: usize| format!("n{i:02}");
        match a {
            Action::Tick(i) => format!("tick {}", name(i)),
            Action::Deliver(k) => format!("deliver {}", self.describe_msg(&self.msgs[k])),
            Action::Lose(k) => format!("lose {}", self.describe_msg(&self.msgs[k])),
            Action::Crash(i) => format!("crash {}", name(i)),
            Action::Leave(i) => format!("leave {}", name(i)),
            Action::Join { node, via } => format!("join {} via {}", name(node), name(via)),
        }
    }

    fn describe_msg(&self, m: &Msg) -> String {
        match m {
            Msg::Request { from, out } => format!(
                "n{from:02} -> n{:02} {:?} ({:?})",
                self.index_of(&out.to),
                out.request,
                out.purpose
            ),
            Msg::Response { to, out, reply } => format!(
                "n{:02} -> n{to:02} {reply:?} (to {:?}, {:?})",
                self.index_of(&out.to),
                out.request,
                out.purpose
            ),
        }
    }
}

impl fmt::Display for World {
    /// One line per node (successors, predecessor, joined) and the messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |p: &Peer| format!("n{:02}", self.index_of(p));
        for (i, s) in self.slots.iter().enumerate() {
            write!(f, "  n{i:02} {}: ", id(i).short())?;
            match s {
                Slot::Absent => writeln!(f, "not started")?,
                Slot::Crashed => writeln!(f, "crashed")?,
                Slot::Up { state, leaving, .. } => {
                    let succ: Vec<String> = state.successors().iter().map(name).collect();
                    let pred = state.predecessor().map_or("-".to_string(), name);
                    writeln!(
                        f,
                        "{}{} succ [{}] pred {}",
                        if state.is_joined() {
                            "joined"
                        } else {
                            "joining"
                        },
                        if *leaving { ", leaving" } else { "" },
                        succ.join(" "),
                        pred
                    )?;
                }
            }
        }
        for m in &self.msgs {
            writeln!(f, "  in flight: {}", self.describe_msg(m))?;
        }
        Ok(())
    }
}
