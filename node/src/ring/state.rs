//! The ring-maintenance state machine: inbound requests, responses and ticks in,
//! outbound requests out. No sockets, no clock: see the module essay in `ring`.

use super::passive::PassiveList;
use crate::id::{in_open, Id, BITS};
use crate::ring::{Request, Response};
use crate::routing::{Hop, RouteView};
use chord_proto::peer::Peer;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// Sizes that shape ring maintenance (timing lives in the driver's options).
#[derive(Clone, Debug)]
pub struct RingOptions {
    /// Length L of the successor list.
    pub successor_list_len: usize,
    /// How many fingers one tick refreshes.
    pub fingers_per_tick: usize,
    /// Lookups longer than this many steps are abandoned (views disagree).
    pub max_lookup_steps: u32,
    /// A peer is dropped after unanswered requests in this many ticks in a
    /// row (with no answer between); one lost message, slow answer or burst
    /// of timeouts must not evict it.
    pub suspect_after: u32,
    /// Peers kept in the passive list (ring merging); 0 turns merging off.
    pub passive_len: usize,
    /// One passive peer is probed every this many ticks.
    pub probe_every: u64,
    /// A passive peer not heard from for this many ticks is forgotten (a
    /// partition longer than this is not healed by probing).
    pub forget_after: u64,
    /// A passive peer found to be in our own ring is not probed again for
    /// this many ticks.
    pub quiet_after_same_ring: u64,
    /// The nonce of the ring this node founds if it starts one (the driver
    /// draws it at random; joiners take their ring's). Rings merge only
    /// when their nonces match: a node that restarted at a known address
    /// and founded a new ring is not pulled into the old one.
    pub ring_nonce: u64,
    /// A founding seed (see [`RingState::seeding`]) that heard no ring
    /// member among the other seeds for this many ticks founds a new ring.
    pub found_after: u64,
    /// Remote finger lookups that find the table unchanged double the ticks
    /// between them, up to this many; any change of the view brings them
    /// back to every tick. 1 turns the backoff off.
    pub finger_backoff_max: u64,
}

impl Default for RingOptions {
    fn default() -> Self {
        RingOptions {
            successor_list_len: 8,
            fingers_per_tick: 4,
            max_lookup_steps: 32,
            suspect_after: 3,
            passive_len: 32,
            probe_every: 4,
            // 10 minutes at the default 250 ms tick.
            forget_after: 2400,
            // 5 s at the default 250 ms tick: well past a restart's gap.
            found_after: 20,
            quiet_after_same_ring: 200,
            ring_nonce: 0,
            // 4 s at the default 250 ms tick: a 48-node ring's ~7 remote
            // lookups per sweep then take under 30 s to notice a better
            // finger, while costing one lookup per 4 s when idle.
            finger_backoff_max: 16,
        }
    }
}

/// Why an outbound request was sent: it comes back with the response, so the
/// state machine keeps no table of requests in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Join lookup step `step` for our successor.
    JoinLookup {
        /// Steps taken so far.
        step: u32,
    },
    /// Fetch the found successor's list to adopt it (join).
    JoinAdopt,
    /// Stabilize: notify our first successor and ask for its neighbours in
    /// one request.
    Stabilize,
    /// Stabilize against a successor that answered the one-request form
    /// with a bare `Ack` (an older node): ask for its neighbours, then notify
    /// it, in two requests.
    Neighbors,
    /// Stabilize found a closer node; it must answer before we switch.
    Candidate,
    /// Tell our successor about us.
    Notify,
    /// Is our predecessor alive?
    CheckPredecessor,
    /// Lookup step for finger `index`.
    Finger {
        /// Finger index (0..160).
        index: usize,
        /// Steps taken so far.
        step: u32,
    },
    /// Graceful-leave announcement; the answer does not matter.
    Leave,
    /// Is this passive-list peer alive, and in our ring?
    Probe,
    /// Ring merging: where would `peer` (a live node from the passive list)
    /// sit in our ring? Lookup step `step` for its id.
    MergeLookup {
        /// The probed node.
        peer: Peer,
        /// Steps taken so far.
        step: u32,
    },
    /// A `Consider` passed on to another node; the answer does not matter.
    Consider,
}

/// A request the driver must send; its outcome goes back through [`RingState::on_response`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Outbound {
    /// Destination.
    pub to: Peer,
    /// What to send.
    pub request: Request,
    /// Why (returned with the response).
    pub purpose: Purpose,
}

/// A peer's unanswered requests since its last answer.
#[derive(Clone, Copy, Debug)]
struct Misses {
    /// Ticks in which a request to it went unanswered.
    ticks: u32,
    /// The last of those ticks.
    last_tick: u64,
}

/// What the ring state has seen since start, for metrics: monotonic counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingCounters {
    /// Misses counted against peers (at most one per peer and tick).
    pub suspected: u64,
    /// Peers forgotten as dead (refused, or too many misses) that some
    /// pointer (predecessor, successor or finger) still named.
    pub dropped: u64,
    /// Merge lookups that found a node of another ring (a split being healed).
    pub merges: u64,
}

/// One node's view of the ring.
#[derive(Clone, Debug)]
pub struct RingState {
    me: Peer,
    predecessor: Option<Peer>,
    successors: Vec<Peer>,
    fingers: Vec<Option<Peer>>,
    next_finger: usize,
    joined: bool,
    /// Whom to join through, tried in turn, one per tick, until joined.
    bootstraps: Vec<Peer>,
    /// Which bootstrap the next join attempt asks.
    next_bootstrap: usize,
    /// Set on a founding seed until it has joined: the tick after which it
    /// founds a ring of its own. Every sign that a ring may exist (a member
    /// answered, or a seed was merely silent) moves it `found_after` ticks on.
    found_at_tick: Option<u64>,
    /// The peer last found certainly absent (refused, or not a member) while
    /// joining: its failed join step proves no ring there.
    join_refused: Option<Id>,
    opts: RingOptions,
    /// Unanswered requests per peer, counted once per tick (reset by any answer).
    misses: BTreeMap<Id, Misses>,
    /// The last non-empty successor list: whom to ask when we end up isolated.
    remembered: Vec<Peer>,
    /// Which remembered peer the next re-merge attempt asks.
    next_remembered: usize,
    /// Right after joining: the range we now own and who held it, for the
    /// driver to pull the keys from (`take_join_pull`).
    join_pull: Option<(Id, Peer)>,
    /// Peers seen, probed to find the other half of a split ring.
    passive: PassiveList,
    /// Ticks since start (the passive list's clock).
    ticks: u64,
    /// `Consider` requests received, acted on at the next tick (answering a
    /// request sends nothing): candidates to check, or to pass on.
    considering: Vec<(Peer, u8)>,
    /// The nonce of the ring we belong to (see [`RingOptions::ring_nonce`]).
    ring: u64,
    /// Set until the first join: the ring we join gives us its nonce.
    takes_ring_nonce: bool,
    /// Monotonic counts for metrics.
    counters: RingCounters,
    /// The predecessor that notified us since our last tick: it is alive, so
    /// this tick's ping to it is skipped.
    pred_heard: Option<Id>,
    /// Ticks between remote finger lookups now (1 up to
    /// [`RingOptions::finger_backoff_max`]).
    finger_wait: u64,
    /// The tick from which the next remote finger lookup may go.
    finger_due: u64,
    /// A digest of the predecessor and successor list at the last tick, to
    /// notice a change of the view (which resets the finger backoff).
    view_digest: u64,
    /// Nodes that notified us lately, with the tick they last did: for the
    /// `closer` hint of our answers (see [`RingState::closer_for`]).
    notifiers: Vec<(Peer, u64)>,
    /// Successors this tick may still adopt and stabilize with at once
    /// (see [`WALK_STEPS`]).
    walk_left: u32,
}

/// Nearer successors adopted and asked at once per tick, before the rest
/// waits for the next tick: bounds the calls one tick can make while
/// walking back from a far successor.
const WALK_STEPS: u32 = 16;

/// Ticks a notifier stays a candidate for the `closer` hint after its last
/// notify: every live node notifies its successor each tick, so a notifier
/// older than this has moved on to another successor or died.
const NOTIFIER_TICKS: u64 = 4;

/// Notifiers kept at most (the most recent): a node whose position many
/// joiners hit at once hears one notify per joiner each tick.
const NOTIFIERS_KEPT: usize = 64;

/// What refreshing the next finger did.
enum FingerStep {
    /// Our own view answered: the finger is set, the cursor moved on.
    Local,
    /// A remote lookup is needed and may go: its first step.
    Remote(Box<Outbound>),
    /// A remote lookup is needed but the backoff holds it back; the cursor
    /// stays, so the same finger is looked up once it is due.
    Deferred,
}

/// At most this many `Consider` requests wait for the next tick; more are dropped.
const CONSIDER_QUEUE: usize = 16;
/// How often a `Consider` may be passed on to a predecessor.
const CONSIDER_TTL: u8 = 4;

impl RingState {
    /// A node that starts a new ring on its own: joined, alone.
    pub fn new_ring(me: Peer, opts: RingOptions) -> RingState {
        RingState {
            me,
            predecessor: None,
            successors: Vec::new(),
            fingers: vec![None; BITS],
            next_finger: 0,
            joined: true,
            bootstraps: Vec::new(),
            next_bootstrap: 0,
            found_at_tick: None,
            join_refused: None,
            misses: BTreeMap::new(),
            counters: RingCounters::default(),
            remembered: Vec::new(),
            next_remembered: 0,
            join_pull: None,
            passive: PassiveList::new(opts.passive_len, opts.forget_after),
            ticks: 0,
            considering: Vec::new(),
            ring: opts.ring_nonce,
            takes_ring_nonce: false,
            pred_heard: None,
            finger_wait: 1,
            finger_due: 0,
            view_digest: 0,
            notifiers: Vec::new(),
            walk_left: WALK_STEPS,
            opts,
        }
    }

    /// A node that will join through `bootstrap` on its first ticks.
    pub fn joining(me: Peer, bootstrap: Peer, opts: RingOptions) -> RingState {
        RingState::seeding(me, vec![bootstrap], false, opts)
    }

    /// A node that joins through any of `seeds` (asked in turn, one per
    /// tick). With `founder` set (the first of a list of seeds that names
    /// this node too), it founds a new ring once `found_after` ticks have
    /// passed without any seed answering as a ring member: at a cold start
    /// the first seed founds the ring the others join, and when it restarts
    /// later it rejoins that ring through another seed instead of founding a
    /// second one, which would never merge with the first (another nonce).
    pub fn seeding(me: Peer, seeds: Vec<Peer>, founder: bool, opts: RingOptions) -> RingState {
        let found_after = opts.found_after;
        let mut s = RingState::new_ring(me, opts);
        s.joined = false;
        s.takes_ring_nonce = true;
        for seed in &seeds {
            s.passive.saw(seed, 0);
        }
        s.bootstraps = seeds;
        s.found_at_tick = founder.then_some(found_after);
        s
    }

    /// A joined node that already has this view of its neighbours (driver
    /// tests and tools that need a node in a given position without a ring).
    pub fn with_view(
        me: Peer,
        predecessor: Option<Peer>,
        successors: Vec<Peer>,
        opts: RingOptions,
    ) -> RingState {
        let mut s = RingState::new_ring(me, opts);
        s.predecessor = predecessor;
        s.remembered = successors.clone();
        s.successors = successors;
        s
    }

    /// Fills the finger table from `known` alone, as if they were the whole
    /// ring (driver tests that need rule-4 candidates).
    #[cfg(test)]
    pub fn with_fingers(mut self, mut known: Vec<Peer>) -> RingState {
        known.sort_by_key(|p| p.id);
        let ids: Vec<Id> = known.iter().map(|p| p.id).collect();
        for (i, f) in self.fingers.iter_mut().enumerate() {
            let start = self.me.id.finger_start(i);
            *f = crate::placement::successor_of(&ids, &start).map(|k| known[k].clone());
        }
        self
    }

    /// What this state has seen since start (see [`RingCounters`]).
    pub fn counters(&self) -> RingCounters {
        self.counters
    }

    /// Feeds into `h` everything that shapes how this state reacts to future
    /// events, for a model checker to recognise a state it has seen before
    /// (`node/tests/ring_model`). Tick stamps are hashed relative to the
    /// current tick, because only their distance to it matters; the options
    /// (fixed for a run) and the metrics counters (never read back) are left
    /// out. Two states that hash alike behave alike, up to hash collisions.
    pub fn fingerprint<H: Hasher>(&self, h: &mut H) {
        self.me.hash(h);
        self.predecessor.hash(h);
        self.successors.hash(h);
        // Fingers come in long runs of one peer: hash each run once (where
        // it starts, and whom it names), which is much cheaper.
        for (i, f) in self.fingers.iter().enumerate() {
            if i == 0 || self.fingers[i - 1] != *f {
                (i, f).hash(h);
            }
        }
        self.next_finger.hash(h);
        self.joined.hash(h);
        self.bootstraps.hash(h);
        self.next_bootstrap.hash(h);
        // Founding compares `ticks > t`: only the distance counts.
        self.found_at_tick
            .map(|t| i128::from(t) - i128::from(self.ticks))
            .hash(h);
        self.join_refused.hash(h);
        for (id, m) in &self.misses {
            // A miss is compared with the current tick only for equality
            // ("already counted in this tick").
            (id, m.ticks, m.last_tick == self.ticks).hash(h);
        }
        self.remembered.hash(h);
        self.next_remembered.hash(h);
        self.join_pull.hash(h);
        if self.opts.passive_len > 0 {
            // The probe schedule runs on the tick count modulo `probe_every`.
            (self.ticks % self.opts.probe_every.max(1)).hash(h);
            self.passive.fingerprint(self.ticks, h);
        }
        self.considering.hash(h);
        self.ring.hash(h);
        self.takes_ring_nonce.hash(h);
        self.pred_heard.hash(h);
        self.finger_wait.hash(h);
        // Compared with the current tick only by `>=`.
        self.finger_due.saturating_sub(self.ticks).hash(h);
        self.view_digest.hash(h);
        for (p, t) in &self.notifiers {
            // Compared with the current tick only by age.
            (p, self.ticks.saturating_sub(*t)).hash(h);
        }
        self.walk_left.hash(h);
    }

    /// This node.
    pub fn me(&self) -> &Peer {
        &self.me
    }
    /// Current predecessor, if known.
    pub fn predecessor(&self) -> Option<&Peer> {
        self.predecessor.as_ref()
    }
    /// Current successor list, nearest first.
    pub fn successors(&self) -> &[Peer] {
        &self.successors
    }
    /// The finger table (160 entries, `None` where unknown).
    pub fn fingers(&self) -> &[Option<Peer>] {
        &self.fingers
    }
    /// How many nodes (hosts, see [`Peer::host`]) this node knows its ring to have, at least: itself plus
    /// its current successors, or the last non-empty list it had if that was
    /// longer (its neighbours may be unreachable rather than gone).
    pub fn known_ring_size(&self) -> usize {
        // Hosts, not positions: with virtual nodes the successor list names
        // other positions of the same hosts, and copies go to distinct hosts.
        let hosts =
            |list: &[Peer]| crate::placement::distinct_successors(&self.me, list, usize::MAX).len();
        1 + hosts(&self.successors).max(hosts(&self.remembered))
    }

    /// Whether the node had neighbours and now has none: it cannot tell whether
    /// they died or it is cut off.
    pub fn is_isolated(&self) -> bool {
        self.successors.is_empty() && self.predecessor.is_none() && !self.remembered.is_empty()
    }

    /// After a join: the start of the range we took over (exclusive; it ends at
    /// us) and the successor that held it. Returned once.
    pub fn take_join_pull(&mut self) -> Option<(Id, Peer)> {
        self.join_pull.take()
    }

    /// Whether the node has joined a ring (ready to serve).
    pub fn is_joined(&self) -> bool {
        self.joined
    }
    /// The routing view of this state.
    pub fn view(&self) -> RouteView<'_> {
        RouteView {
            me: &self.me,
            predecessor: self.predecessor.as_ref(),
            successors: &self.successors,
            fingers: &self.fingers,
        }
    }

    /// Distinct fingers in finger order (for status output).
    pub fn distinct_fingers(&self) -> Vec<Peer> {
        let mut out: Vec<Peer> = Vec::new();
        for f in self.fingers.iter().flatten() {
            if !out.iter().any(|p| p.id == f.id) {
                out.push(f.clone());
            }
        }
        out
    }

    /// One maintenance round: join if needed, else stabilize, check the
    /// predecessor and refresh some fingers.
    pub fn tick(&mut self) -> Vec<Outbound> {
        self.ticks += 1;
        let mut out = Vec::new();
        if !self.joined {
            if self.found_at_tick.is_some_and(|t| self.ticks > t) {
                // No seed answered as a member of a ring: there is none yet.
                self.joined = true;
                self.takes_ring_nonce = false;
                self.found_at_tick = None;
                return out;
            }
            if !self.bootstraps.is_empty() {
                let i = self.next_bootstrap % self.bootstraps.len();
                self.next_bootstrap = i + 1;
                out.push(Outbound {
                    to: self.bootstraps[i].clone(),
                    request: Request::FindSuccessor {
                        id: self.me.id.finger_start(0),
                    },
                    purpose: Purpose::JoinLookup { step: 0 },
                });
            }
            return out;
        }
        self.note_view();
        let now = self.ticks;
        self.notifiers
            .retain(|(_, t)| now.saturating_sub(*t) <= NOTIFIER_TICKS);
        self.walk_left = WALK_STEPS;
        if let Some(s0) = self.successors.first() {
            out.push(self.stabilize(s0.clone()));
        } else if let Some(p) = &self.predecessor {
            // Alone but notified: the notifier is our successor-to-be (2-node ring).
            out.push(self.send(p.clone(), Request::GetNeighbors, Purpose::Candidate));
        } else if !self.remembered.is_empty() {
            // Isolated after having had neighbours: they may all be dead, or we
            // may be cut off. Keep serving as a ring of one, but keep asking the
            // peers we last knew, so a split heals once they answer again.
            let i = self.next_remembered % self.remembered.len();
            self.next_remembered = i + 1;
            out.push(self.send(
                self.remembered[i].clone(),
                Request::FindSuccessor {
                    id: self.me.id.finger_start(0),
                },
                Purpose::JoinLookup { step: 0 },
            ));
        }
        if let Some(p) = &self.predecessor {
            // A predecessor that notified us since our last tick was alive
            // then: its stabilize traffic stands in for the ping. One that
            // fell silent is pinged at once, so a dead predecessor is
            // dropped at most one tick later than with a ping every tick.
            // A suspect one is pinged all the same: only an answer to our own
            // call clears its misses, and notifies alone would leave it
            // suspect for good (its misses adding up over hours, then a live
            // predecessor dropped).
            if self.pred_heard != Some(p.id) || self.is_suspect(&p.id) {
                out.push(self.send(p.clone(), Request::Ping, Purpose::CheckPredecessor));
            }
        }
        self.pred_heard = None;
        out.extend(self.fix_fingers());
        out.extend(self.merge_tick());
        out
    }

    /// The one-request stabilize: notify `s0` and ask for its neighbours.
    fn stabilize(&self, s0: Peer) -> Outbound {
        let req = Request::Notify {
            peer: self.me.clone(),
            neighbors: true,
        };
        self.send(s0, req, Purpose::Stabilize)
    }

    /// Resets the finger backoff when the predecessor or successor list
    /// changed since the last tick: a join, leave, death or merge near us is
    /// likely to have moved fingers too.
    fn note_view(&mut self) {
        let mut h = std::hash::DefaultHasher::new();
        self.predecessor.as_ref().map(|p| p.id).hash(&mut h);
        for p in &self.successors {
            p.id.hash(&mut h);
        }
        let digest = h.finish();
        if digest != self.view_digest {
            self.view_digest = digest;
            self.fingers_fast();
        }
    }

    /// Back to a remote finger lookup every tick, from this tick on.
    fn fingers_fast(&mut self) {
        self.finger_wait = 1;
        self.finger_due = self.ticks;
    }

    /// Refreshes up to `fingers_per_tick` fingers: local ones are free; at
    /// most one remote lookup goes, and only when the backoff lets it.
    fn fix_fingers(&mut self) -> Option<Outbound> {
        let remote_ok = self.ticks >= self.finger_due;
        for _ in 0..self.opts.fingers_per_tick {
            match self.fix_next_finger(remote_ok) {
                FingerStep::Local => {}
                FingerStep::Remote(o) => {
                    self.finger_due = self.ticks.saturating_add(self.finger_wait);
                    return Some(*o);
                }
                FingerStep::Deferred => return None,
            }
        }
        None
    }

    /// A remote finger lookup ended in `Found`: set the finger, and back off
    /// (double the wait) if that changed nothing, else refresh every tick.
    /// Fingers only shorten paths, so a stale one costs hops, not
    /// correctness; a dead one is dropped when a call to it fails, which
    /// changes the table and so brings the fast rate back.
    fn finger_found(&mut self, index: usize, peer: Peer) {
        if self.set_finger(index, peer) {
            self.fingers_fast();
        } else {
            let max = self.opts.finger_backoff_max.max(1);
            self.finger_wait = self.finger_wait.saturating_mul(2).min(max);
            self.finger_due = self.ticks.saturating_add(self.finger_wait);
        }
    }

    /// Ring merging, once per tick: act on the `Consider`s received, and every
    /// `probe_every` ticks remember the current view and probe one passive
    /// peer that is not in it.
    fn merge_tick(&mut self) -> Vec<Outbound> {
        let mut out = Vec::new();
        for (c, ttl) in std::mem::take(&mut self.considering) {
            if c.id == self.me.id {
                continue;
            }
            let succ_closer = match self.successors.first() {
                Some(s0) => in_open(&c.id, &self.me.id, &s0.id),
                None => true,
            };
            if succ_closer {
                // Zave: a candidate is adopted only once it has answered.
                out.push(self.send(c, Request::GetNeighbors, Purpose::Candidate));
            } else if let Some(p) = self.predecessor.clone() {
                if ttl > 0 && in_open(&c.id, &p.id, &self.me.id) {
                    let req = Request::Consider {
                        peer: c,
                        ttl: ttl - 1,
                    };
                    out.push(self.send(p, req, Purpose::Consider));
                }
            }
        }
        if self.opts.passive_len == 0 || self.ticks % self.opts.probe_every.max(1) != 0 {
            return out;
        }
        let now = self.ticks;
        let mut view: Vec<Peer> = self.successors.clone();
        view.extend(self.predecessor.clone());
        view.extend(self.distinct_fingers());
        for p in &view {
            self.passive.saw(p, now);
        }
        let me = self.me.id;
        let probe = self
            .passive
            .next_probe(now, |id| *id == me || view.iter().any(|p| p.id == *id));
        if let Some(p) = probe {
            out.push(self.send(p, Request::GetNeighbors, Purpose::Probe));
        }
        out
    }

    /// A passive peer `x` answered a probe and is a ring member: if it belongs
    /// right after us, it is our new successor (it answered: Zave's rule);
    /// otherwise find where our ring would put it.
    fn on_probe_answer(&mut self, x: Peer, theirs: &[Peer]) -> Vec<Outbound> {
        self.passive.saw(&x, self.ticks);
        let closer = match self.successors.first() {
            Some(s0) => x.id != s0.id && in_open(&x.id, &self.me.id, &s0.id),
            None => true,
        };
        if closer {
            self.adopt_successor(x, theirs);
            return self.notify_successor();
        }
        match self.find_successor_step(&x.id) {
            Response::Found { peer } => self.consider_pair(x, peer),
            Response::Next { peer } => {
                self.lookup_step(peer, x.id, Purpose::MergeLookup { peer: x, step: 0 }, 0)
            }
            _ => Vec::new(),
        }
    }

    /// Our ring says `y` succeeds `x`'s id. If `y` is `x`, `x` is one of us.
    /// Otherwise the two rings overlap here: `x` is told about `y` (its
    /// successor candidate) and `y` about `x` (which it passes to its
    /// predecessor, whose successor candidate `x` is).
    fn consider_pair(&mut self, x: Peer, y: Peer) -> Vec<Outbound> {
        if x.id == y.id {
            let until = self.ticks + self.opts.quiet_after_same_ring;
            self.passive.quiet(&x.id, until);
            return Vec::new();
        }
        self.counters.merges += 1;
        let mut out = Vec::new();
        if x.id != self.me.id {
            let req = Request::Consider {
                peer: y.clone(),
                ttl: CONSIDER_TTL,
            };
            out.push(self.send(x.clone(), req, Purpose::Consider));
        }
        if y.id == self.me.id {
            self.queue_consider(x, CONSIDER_TTL);
        } else {
            let req = Request::Consider {
                peer: x,
                ttl: CONSIDER_TTL,
            };
            out.push(self.send(y, req, Purpose::Consider));
        }
        out
    }

    fn queue_consider(&mut self, peer: Peer, ttl: u8) {
        if self.considering.len() < CONSIDER_QUEUE
            && self.considering.iter().all(|(p, _)| p.id != peer.id)
        {
            self.considering.push((peer, ttl));
        }
    }

    /// Answers a request from another node (synchronous, no outbound traffic).
    pub fn on_request(&mut self, req: &Request) -> Response {
        if !self.joined {
            // Not (or no longer) a member: not even alive as far as the ring goes,
            // so a leaving node is dropped as predecessor at once.
            return Response::NotReady;
        }
        match req {
            Request::Ping => Response::Pong,
            Request::GetNeighbors => self.neighbors(None),
            Request::Notify { peer, neighbors } => {
                self.rectify(peer);
                self.heard_notify(peer);
                match &self.predecessor {
                    Some(p) if p.id == peer.id => self.pred_heard = Some(peer.id),
                    // A node behind our predecessor believes it precedes us:
                    // it lost our predecessor (most often: found it dead, a
                    // refused stabilize) or has not learnt of it yet. Ping it
                    // at the next tick even if it notified us, so a killed
                    // predecessor is caught as early as its own predecessor
                    // noticed.
                    Some(p) if in_open(&p.id, &peer.id, &self.me.id) => self.pred_heard = None,
                    _ => {}
                }
                if *neighbors {
                    self.neighbors(self.closer_for(peer, self.predecessor.as_ref()))
                } else {
                    Response::Ack
                }
            }
            Request::FindSuccessor { id } => self.find_successor_step(id),
            Request::Leaving {
                peer,
                predecessor,
                successors,
            } => {
                self.on_leaving(peer, predecessor.as_ref(), successors);
                Response::Ack
            }
            Request::Consider { peer, ttl } => {
                self.queue_consider(peer.clone(), *ttl);
                Response::Ack
            }
        }
    }

    /// Our answer to `GetNeighbors`, and to a `Notify` that asks for it
    /// (with its `closer` hint).
    fn neighbors(&self, closer: Option<Peer>) -> Response {
        Response::Neighbors {
            me: self.me.clone(),
            predecessor: self.predecessor.clone(),
            successors: self.successors.clone(),
            ring: self.ring,
            closer,
        }
    }

    /// Remembers that `peer` notified us now (see `notifiers`).
    fn heard_notify(&mut self, peer: &Peer) {
        if peer.id == self.me.id {
            return;
        }
        self.notifiers.retain(|(p, _)| p.id != peer.id);
        if self.notifiers.len() >= NOTIFIERS_KEPT {
            // The oldest goes: entries are appended as heard.
            self.notifiers.remove(0);
        }
        self.notifiers.push((peer.clone(), self.ticks));
    }

    /// The `closer` hint for `notifier`: the node nearest after it that we
    /// heard from lately (a recent notifier) or list as a successor, if that
    /// lies between it and `predecessor` (or us, with none). Without it a
    /// node learns of a nearer successor from its successor's predecessor
    /// only, one node per round: nodes that joined at once all take the same
    /// successor and got sorted out one per round. With it each of them
    /// learns its own from here in a round or two. The notifier adopts it
    /// only once it has answered, as it would our predecessor (and checks
    /// that one too, so a hint that does not answer costs nothing).
    ///
    /// None when the notifier is our predecessor: nothing lies between (and
    /// `in_open(x, a, a)` would be the whole ring, handing out nodes far
    /// away, a restarted one of another ring among them). Fingers are not
    /// offered: a stale one (across a partition, say) would be offered
    /// every round, and the joins gain nothing from them.
    fn closer_for(&self, notifier: &Peer, predecessor: Option<&Peer>) -> Option<Peer> {
        let bound = predecessor.map_or(self.me.id, |p| p.id);
        if bound == notifier.id {
            return None;
        }
        let recent = self
            .notifiers
            .iter()
            .filter(|(_, t)| self.ticks.saturating_sub(*t) <= NOTIFIER_TICKS)
            .map(|(p, _)| p);
        recent
            .chain(&self.successors)
            .filter(|p| in_open(&p.id, &notifier.id, &bound))
            .min_by_key(|p| notifier.id.distance_to(&p.id))
            .cloned()
    }

    /// Feeds back the outcome of an [`Outbound`]: `None` means the peer did not
    /// answer (connection refused, timeout, or `NotReady`).
    pub fn on_response(
        &mut self,
        to: &Peer,
        purpose: Purpose,
        resp: Option<Response>,
    ) -> Vec<Outbound> {
        let resp = match resp {
            Some(Response::NotReady) => {
                // It said so itself: not (or no longer) a ring member.
                self.on_unreachable(&to.id);
                return self.on_failure(to, purpose);
            }
            None => return self.on_failure(to, purpose),
            Some(Response::Neighbors { me, .. }) if me.id != to.id => {
                // Someone else answers at that address (e.g. a forged pointer to
                // ourselves): adopt nothing from it.
                return Vec::new();
            }
            Some(Response::Neighbors { ring, .. })
                if ring != self.ring
                    && match purpose {
                        // A fresh joiner takes its ring's nonce; so does an
                        // isolated node rejoining through a remembered peer
                        // (all it has left: a founder restarted without
                        // `--join` must not strand it).
                        Purpose::JoinAdopt => !self.takes_ring_nonce && !self.is_isolated(),
                        // A candidate comes from a probe that checked, or
                        // from stabilization, which must keep working for a
                        // node pulled back in by old pointers (see below).
                        Purpose::Probe => true,
                        _ => false,
                    } =>
            {
                // A member of another ring (a node that restarted at a known
                // address and founded its own, or another cluster at a reused
                // address): never merged into ours. The ways in are checked
                // here; ordinary stabilization only meets our own members.
                return Vec::new();
            }
            Some(r) => r,
        };
        self.misses.remove(&to.id);
        if matches!(purpose, Purpose::JoinLookup { .. })
            && matches!(resp, Response::Next { .. } | Response::Found { .. })
        {
            // A ring member answered: join it, and found no other ring for
            // as long as members keep answering.
            self.postpone_founding();
        }
        match (purpose, resp) {
            (Purpose::JoinLookup { step }, Response::Next { peer }) => {
                let id = self.me.id.finger_start(0);
                self.lookup_step(peer, id, Purpose::JoinLookup { step: step + 1 }, step)
            }
            (Purpose::JoinLookup { .. }, Response::Found { peer }) => {
                if peer.id == self.me.id {
                    return Vec::new(); // a stale pointer to our old self; retry next tick
                }
                vec![self.send(peer, Request::GetNeighbors, Purpose::JoinAdopt)]
            }
            (
                Purpose::JoinAdopt,
                Response::Neighbors {
                    me,
                    predecessor,
                    successors,
                    ring,
                    ..
                },
            ) => {
                self.adopt_successor(me.clone(), &successors);
                self.joined = true;
                self.ring = ring;
                self.takes_ring_nonce = false;
                // Our successor held (its predecessor, us] until now: fetch it.
                self.join_pull = predecessor
                    .filter(|p| p.id != self.me.id)
                    .map(|p| (p.id, me.clone()));
                vec![self.send(
                    me,
                    Request::Notify {
                        peer: self.me.clone(),
                        neighbors: false,
                    },
                    Purpose::Notify,
                )]
            }
            (Purpose::Stabilize, Response::Ack) => {
                // An older successor: it rectified, but ignores the request
                // for neighbours. Ask for them the two-step way.
                vec![self.send(to.clone(), Request::GetNeighbors, Purpose::Neighbors)]
            }
            (
                purpose @ (Purpose::Stabilize | Purpose::Neighbors),
                Response::Neighbors {
                    me,
                    predecessor,
                    successors,
                    ring,
                    closer,
                },
            ) => {
                if self.successors.first().map(|s| s.id) != Some(me.id) {
                    return Vec::new(); // our successor changed meanwhile
                }
                let (my_id, succ_id) = (self.me.id, me.id);
                let between = |x: &Peer| x.id != my_id && in_open(&x.id, &my_id, &succ_id);
                // Its hint (see `closer_for`) lies nearer than its
                // predecessor; both are checked, so a hint that does not
                // answer (dead, cut off) never hides the predecessor.
                let hint = closer
                    .filter(|c| between(c) && predecessor.as_ref().is_none_or(|p| p.id != c.id));
                if ring != self.ring {
                    // One ring, two nonces: a node that founded a ring of its
                    // own was pulled back in by pointers to its address. The
                    // smaller nonce spreads backwards along the ring until
                    // every member has it again.
                    self.ring = self.ring.min(ring);
                }
                self.adopt_successor(me.clone(), &successors);
                let hinted = hint.map(|h| self.send(h, Request::GetNeighbors, Purpose::Candidate));
                let mut out: Vec<Outbound> = match predecessor {
                    Some(x) if between(&x) => {
                        // Zave: switch to x only once x has answered.
                        vec![self.send(x, Request::GetNeighbors, Purpose::Candidate)]
                    }
                    // The one-request form notified it already (it rectified
                    // before answering, so `predecessor` may be us by now).
                    _ if purpose == Purpose::Stabilize => Vec::new(),
                    _ => self.notify_successor(),
                };
                out.extend(hinted);
                out
            }
            (Purpose::Candidate, Response::Neighbors { me, successors, .. }) => {
                let closer = match self.successors.first() {
                    Some(s0) => in_open(&me.id, &self.me.id, &s0.id),
                    None => true,
                };
                if closer && me.id != self.me.id {
                    self.adopt_successor(me, &successors);
                    if self.walk_left > 0 {
                        // Stabilize with the new successor at once rather
                        // than at the next tick: a successor that was far
                        // (a founder's first one) is walked back in one
                        // tick, not one node per tick.
                        self.walk_left -= 1;
                        return self
                            .successors
                            .first()
                            .map(|s0| self.stabilize(s0.clone()))
                            .into_iter()
                            .collect();
                    }
                }
                self.notify_successor()
            }
            (Purpose::Finger { index, step }, Response::Next { peer }) => {
                let id = self.me.id.finger_start(index);
                self.lookup_step(
                    peer,
                    id,
                    Purpose::Finger {
                        index,
                        step: step + 1,
                    },
                    step,
                )
            }
            (Purpose::Finger { index, .. }, Response::Found { peer }) => {
                self.finger_found(index, peer);
                Vec::new()
            }
            (Purpose::Probe, Response::Neighbors { me, successors, .. }) => {
                self.on_probe_answer(me, &successors)
            }
            (Purpose::MergeLookup { peer, step }, Response::Next { peer: next }) => {
                let id = peer.id;
                self.lookup_step(
                    next,
                    id,
                    Purpose::MergeLookup {
                        peer,
                        step: step + 1,
                    },
                    step,
                )
            }
            (Purpose::MergeLookup { peer, .. }, Response::Found { peer: y }) => {
                self.consider_pair(peer, y)
            }
            _ => Vec::new(),
        }
    }

    /// A request to `id` went unanswered (timeout, lost): after misses in
    /// `suspect_after` ticks in a row the peer counts as dead and is forgotten.
    /// Returns whether it was.
    pub fn suspect(&mut self, id: &Id) -> bool {
        let now = self.ticks;
        let misses = self.misses.entry(*id).or_insert(Misses {
            ticks: 0,
            last_tick: u64::MAX,
        });
        // Count at most one miss per tick: a burst of requests that all time
        // out on a busy machine (a hundred reads routed through one slow
        // peer) is one observation of that peer, not a hundred. Evicting a
        // live peer after one burst splits its keys' ownership for seconds.
        if misses.last_tick != now {
            misses.ticks += 1;
            misses.last_tick = now;
            self.counters.suspected += 1;
        }
        if misses.ticks >= self.opts.suspect_after {
            self.on_unreachable(id);
            true
        } else {
            false
        }
    }

    /// A request went unanswered while this process was stalled itself (the
    /// driver saw the timeout far too late): the silence says nothing about
    /// the peer, so no miss is counted (counting even half of them evicted
    /// live peers under four busy loops: the frozen-node cluster test failed
    /// 5 of 10 runs that way, against 2 of 20 when they were ignored). A
    /// peer that is really gone is still dropped by the timeouts this node
    /// notices on time, and at once when it refuses. A founding seed counts
    /// it as a silent seed.
    pub fn on_stalled(&mut self) {
        self.postpone_founding();
    }

    /// A founding seed waits `found_after` more ticks before founding.
    fn postpone_founding(&mut self) {
        if let Some(t) = self.found_at_tick.as_mut() {
            *t = (*t).max(self.ticks + self.opts.found_after);
        }
    }

    /// Whether the last request to `id` went unanswered (it may be hung, or
    /// cut off, but has not been dropped yet).
    pub fn is_suspect(&self, id: &Id) -> bool {
        self.misses.get(id).is_some_and(|m| m.ticks > 0)
    }

    /// A peer is certainly gone (connection refused, or it said it is not in
    /// the ring): forget every pointer to it.
    pub fn on_unreachable(&mut self, id: &Id) {
        if !self.joined {
            self.join_refused = Some(*id);
        }
        self.misses.remove(id);
        self.notifiers.retain(|(p, _)| p.id != *id);
        let named = self.successors.len();
        self.successors.retain(|p| p.id != *id);
        let mut dropped = named != self.successors.len();
        let mut finger_dropped = false;
        for f in self.fingers.iter_mut() {
            if f.as_ref().is_some_and(|p| p.id == *id) {
                *f = None;
                finger_dropped = true;
            }
        }
        if finger_dropped {
            // A hole in the table: refill it at the fast rate.
            self.fingers_fast();
        }
        dropped |= finger_dropped;
        if self.predecessor.as_ref().is_some_and(|p| p.id == *id) {
            self.predecessor = None;
            dropped = true;
        }
        self.counters.dropped += u64::from(dropped);
    }

    /// Announcements to send before leaving gracefully.
    pub fn leave(&mut self) -> Vec<Outbound> {
        let msg = Request::Leaving {
            peer: self.me.clone(),
            predecessor: self.predecessor.clone(),
            successors: self.successors.clone(),
        };
        let mut targets: Vec<Peer> = self.successors.first().cloned().into_iter().collect();
        if let Some(p) = &self.predecessor {
            if targets.iter().all(|t| t.id != p.id) {
                targets.push(p.clone());
            }
        }
        self.joined = false;
        targets
            .into_iter()
            .map(|to| self.send(to, msg.clone(), Purpose::Leave))
            .collect()
    }

    fn send(&self, to: Peer, request: Request, purpose: Purpose) -> Outbound {
        Outbound {
            to,
            request,
            purpose,
        }
    }

    /// Notify our first successor, if we have one.
    fn notify_successor(&self) -> Vec<Outbound> {
        self.successors
            .first()
            .map(|s0| {
                let req = Request::Notify {
                    peer: self.me.clone(),
                    neighbors: false,
                };
                self.send(s0.clone(), req, Purpose::Notify)
            })
            .into_iter()
            .collect()
    }

    fn on_failure(&mut self, to: &Peer, purpose: Purpose) -> Vec<Outbound> {
        if matches!(purpose, Purpose::JoinLookup { .. } | Purpose::JoinAdopt) {
            // Only a certain absence (refused, not a member) counts towards
            // founding: a silent seed may be a slow member of a ring.
            if self.join_refused.take() != Some(to.id) {
                self.postpone_founding();
            }
            return Vec::new(); // retried on the next tick
        }
        if matches!(purpose, Purpose::Leave | Purpose::Probe | Purpose::Consider) {
            // Passive peers are not in our view; a lost hint is re-sent by
            // the next probe.
            return Vec::new();
        }
        let present = self.successors.iter().any(|p| p.id == to.id)
            || self.predecessor.as_ref().is_some_and(|p| p.id == to.id)
            || self.fingers.iter().flatten().any(|p| p.id == to.id);
        if present && !self.suspect(&to.id) {
            // Not dead yet: keep every pointer and try again next tick.
            if purpose == Purpose::Candidate && !self.successors.is_empty() {
                return self.notify_successor();
            }
            return Vec::new();
        }
        if matches!(purpose, Purpose::Stabilize | Purpose::Neighbors) {
            // Skip to the next live entry right away rather than waiting a tick.
            if let Some(s0) = self.successors.first() {
                return vec![self.stabilize(s0.clone())];
            }
        }
        if purpose == Purpose::Candidate && !self.successors.is_empty() {
            return self.notify_successor();
        }
        Vec::new()
    }

    /// Successor list := s :: its list, cut where it comes back round to us (in a
    /// ring smaller than L the rest would only repeat, and a dead node copied
    /// there would circulate forever), without duplicates, truncated to L.
    fn adopt_successor(&mut self, s: Peer, theirs: &[Peer]) {
        let mut list = vec![s];
        for p in theirs {
            if p.id == self.me.id {
                break;
            }
            if list.iter().all(|q| q.id != p.id) {
                list.push(p.clone());
            }
        }
        list.truncate(self.opts.successor_list_len);
        self.remembered = list.clone();
        self.successors = list;
    }

    /// Rectify (Zave): adopt `q` as predecessor if we have none or it is closer.
    fn rectify(&mut self, q: &Peer) {
        if q.id == self.me.id {
            return;
        }
        let closer = match &self.predecessor {
            None => true,
            Some(p) => in_open(&q.id, &p.id, &self.me.id),
        };
        if closer {
            self.predecessor = Some(q.clone());
        }
    }

    fn on_leaving(&mut self, peer: &Peer, pred: Option<&Peer>, succs: &[Peer]) {
        let was_pred = self.predecessor.as_ref().is_some_and(|p| p.id == peer.id);
        let was_succ = self.successors.first().is_some_and(|s| s.id == peer.id);
        self.on_unreachable(&peer.id);
        if was_pred {
            self.predecessor = pred.filter(|p| p.id != self.me.id).cloned();
        }
        if was_succ {
            if let Some((first, rest)) = succs.split_first() {
                if first.id != self.me.id {
                    self.adopt_successor(first.clone(), rest);
                }
            }
        }
    }

    /// One step of a lookup answered locally: `Found` when the id is within our
    /// successor span, else `Next` towards it.
    fn find_successor_step(&self, id: &Id) -> Response {
        let view = self.view();
        // Without successors, answer for every id (alone, or for the tick
        // it takes a new ring's founder to learn its successor). Routing
        // data (`RouteView::next_hop`) goes back through a predecessor
        // instead; a lookup that bounced that way would only fail the join
        // or finger refresh of that tick.
        if self.successors.is_empty() {
            return Response::Found {
                peer: self.me.clone(),
            };
        }
        if let Some(p) = &self.predecessor {
            if crate::placement::owns(&p.id, &self.me.id, id) {
                return Response::Found {
                    peer: self.me.clone(),
                };
            }
        }
        match view.next_hop(id, &[]) {
            Hop::Local => Response::Found {
                peer: self.me.clone(),
            },
            Hop::Owner(peer) => Response::Found { peer },
            Hop::Forward(peer) => Response::Next { peer },
        }
    }

    /// Continues an iterative lookup of `id` at `next`, unless it ran too long.
    fn lookup_step(&self, next: Peer, id: Id, purpose: Purpose, step: u32) -> Vec<Outbound> {
        if step + 1 >= self.opts.max_lookup_steps || next.id == self.me.id {
            return Vec::new();
        }
        vec![self.send(next, Request::FindSuccessor { id }, purpose)]
    }

    /// Refreshes the next finger: locally when our own view answers, else
    /// the first remote lookup step if `remote_ok`.
    fn fix_next_finger(&mut self, remote_ok: bool) -> FingerStep {
        let index = self.next_finger;
        let start = self.me.id.finger_start(index);
        match self.find_successor_step(&start) {
            Response::Found { peer } => {
                self.next_finger = (index + 1) % BITS;
                // A change seen locally (our successors moved) is already
                // a change of the view: no backoff bookkeeping here.
                self.set_finger(index, peer);
                FingerStep::Local
            }
            Response::Next { peer } if remote_ok => {
                self.next_finger = (index + 1) % BITS;
                FingerStep::Remote(Box::new(self.send(
                    peer,
                    Request::FindSuccessor { id: start },
                    Purpose::Finger { index, step: 0 },
                )))
            }
            _ => FingerStep::Deferred,
        }
    }

    /// Sets finger `index` and every later finger whose start `peer` also succeeds,
    /// then moves the round-robin cursor past them. Returns whether any
    /// finger changed.
    fn set_finger(&mut self, index: usize, peer: Peer) -> bool {
        let peer = if peer.id == self.me.id {
            None
        } else {
            Some(peer)
        };
        let mut i = index;
        let mut changed = false;
        while i < BITS {
            let start = self.me.id.finger_start(i);
            let covered = match &peer {
                Some(p) => crate::placement::owns(&self.me.id, &p.id, &start),
                None => i == index,
            };
            if !covered {
                break;
            }
            changed |= self.fingers[i].as_ref().map(|p| p.id) != peer.as_ref().map(|p| p.id);
            self.fingers[i] = peer.clone();
            i += 1;
        }
        if i > index + 1 {
            self.next_finger = i % BITS;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_reports_the_range_it_took_over_once() {
        let (a, b, n) = (
            Peer::from_addr("a:1"),
            Peer::from_addr("b:1"),
            Peer::from_addr("n:1"),
        );
        let mut st = RingState::joining(n, a.clone(), RingOptions::default());
        let found = Some(Response::Found { peer: b.clone() });
        let outs = st.on_response(&a, Purpose::JoinLookup { step: 0 }, found);
        assert_eq!(outs[0].purpose, Purpose::JoinAdopt);
        let neighbours = Some(Response::Neighbors {
            me: b.clone(),
            predecessor: Some(a.clone()),
            successors: vec![a.clone()],
            ring: 0,
            closer: None,
        });
        st.on_response(&b, Purpose::JoinAdopt, neighbours);
        assert!(st.is_joined());
        assert_eq!(st.take_join_pull(), Some((a.id, b)));
        assert_eq!(st.take_join_pull(), None);
    }

    /// A ring of `n` peers sorted by id, and node 0's state in it (its true
    /// predecessor and successor list, empty finger table).
    fn ring_of(n: usize, opts: RingOptions) -> (Vec<Peer>, RingState) {
        let mut peers: Vec<Peer> = (0..n)
            .map(|i| Peer::from_addr(&format!("n{i}:1")))
            .collect();
        peers.sort_by_key(|p| p.id);
        let succs = peers[1..n.min(1 + opts.successor_list_len)].to_vec();
        let st = RingState::with_view(peers[0].clone(), Some(peers[n - 1].clone()), succs, opts);
        (peers, st)
    }

    /// Ticks `st` once and answers its finger lookups as the full ring
    /// `peers` would (the true successor at once); returns whether a remote
    /// finger lookup went out.
    fn tick_answering_fingers(st: &mut RingState, peers: &[Peer]) -> bool {
        let ids: Vec<Id> = peers.iter().map(|p| p.id).collect();
        let mut looked_up = false;
        for out in st.tick() {
            if let (Purpose::Finger { .. }, Request::FindSuccessor { id }) =
                (&out.purpose, &out.request)
            {
                looked_up = true;
                let owner = peers[crate::placement::successor_of(&ids, id).unwrap()].clone();
                let found = Some(Response::Found { peer: owner });
                assert!(st.on_response(&out.to, out.purpose, found).is_empty());
            }
        }
        looked_up
    }

    /// The ticks (of `ticks` more) in which a remote finger lookup went out.
    fn lookup_ticks(st: &mut RingState, peers: &[Peer], ticks: u64) -> Vec<u64> {
        let mut out = Vec::new();
        for _ in 0..ticks {
            if tick_answering_fingers(st, peers) {
                out.push(st.ticks);
            }
        }
        out
    }

    #[test]
    fn finger_lookups_back_off_while_nothing_changes_and_reset_on_a_change() {
        let (peers, mut st) = ring_of(32, RingOptions::default());
        let first = lookup_ticks(&mut st, &peers, 300);
        let gaps: Vec<u64> = first.windows(2).map(|w| w[1] - w[0]).collect();
        // Filling the table goes at the full rate (a tick of local fingers
        // between remote ones: at most `fingers_per_tick` per tick); once
        // every answer confirms the table, the gaps double up to the cap and
        // stay there.
        assert!(gaps[0] <= 2, "{gaps:?}");
        assert!(gaps.windows(2).all(|w| w[0] <= w[1]), "{gaps:?}");
        assert!(gaps.windows(3).any(|w| w == [4, 8, 16]), "{gaps:?}");
        assert!(gaps[gaps.len() - 10..].iter().all(|g| *g == 16), "{gaps:?}");
        let table = st.fingers().to_vec();

        // A finger found dead (a failed data-plane call): the next tick
        // looks up again, and the rate is back to every tick.
        let dead = st.distinct_fingers().last().unwrap().clone();
        st.on_unreachable(&dead.id);
        let mut alive = peers.clone();
        alive.retain(|p| p.id != dead.id);
        let now = st.ticks;
        let after = lookup_ticks(&mut st, &alive, 4);
        assert_eq!(
            after.first(),
            Some(&(now + 1)),
            "{after:?} after tick {now}"
        );
        assert!(after.len() >= 2, "{after:?}: back to the full rate");

        // A change of the view (a new predecessor) resets it as well.
        let (peers, mut st) = ring_of(32, RingOptions::default());
        lookup_ticks(&mut st, &peers, 300);
        assert_eq!(st.fingers(), &table[..]);
        let newcomer = (0..)
            .map(|i| Peer::from_addr(&format!("new{i}:1")))
            .find(|p| in_open(&p.id, &peers[31].id, &peers[0].id))
            .unwrap();
        st.on_request(&Request::Notify {
            peer: newcomer,
            neighbors: false,
        });
        let now = st.ticks;
        let after = lookup_ticks(&mut st, &peers, 2);
        assert!(after.first().is_some_and(|t| *t <= now + 2), "{after:?}");
    }

    #[test]
    fn without_backoff_finger_lookups_never_slow_down() {
        let opts = RingOptions {
            finger_backoff_max: 1,
            ..RingOptions::default()
        };
        let (peers, mut st) = ring_of(32, opts);
        let warm = lookup_ticks(&mut st, &peers, 300).len();
        let (peers, mut st) = ring_of(32, RingOptions::default());
        let backing_off = lookup_ticks(&mut st, &peers, 300).len();
        // One remote lookup every other tick (a tick of local ones between).
        assert!(warm >= 150, "{warm}");
        assert!(backing_off * 5 < warm, "{backing_off} against {warm}");
    }

    fn is_ping(out: &Outbound) -> bool {
        out.purpose == Purpose::CheckPredecessor && out.request == Request::Ping
    }

    #[test]
    fn the_predecessor_ping_is_skipped_after_its_notify_and_resumes_when_it_falls_silent() {
        let (peers, mut st) = ring_of(4, RingOptions::default());
        let pred = peers[3].clone();
        assert!(st.tick().iter().any(is_ping), "nothing heard yet: ping");
        let heard = st.on_request(&Request::Notify {
            peer: pred.clone(),
            neighbors: true,
        });
        assert!(matches!(heard, Response::Neighbors { .. }));
        assert!(!st.tick().iter().any(is_ping), "it notified us: no ping");
        assert!(st.tick().iter().any(is_ping), "silent since: ping again");
        // A notify from a node we do not adopt says nothing about the
        // predecessor: the ping still goes.
        st.on_request(&Request::Notify {
            peer: peers[1].clone(),
            neighbors: false,
        });
        assert_eq!(st.predecessor(), Some(&pred));
        assert!(st.tick().iter().any(is_ping));
        // A notify from behind the predecessor (its own predecessor, which
        // found it dead) brings the ping back even right after it notified.
        st.on_request(&Request::Notify {
            peer: pred.clone(),
            neighbors: true,
        });
        st.on_request(&Request::Notify {
            peer: peers[2].clone(),
            neighbors: true,
        });
        assert_eq!(st.predecessor(), Some(&pred));
        assert!(st.tick().iter().any(is_ping));
    }

    #[test]
    fn a_suspect_predecessor_is_pinged_even_after_its_notify() {
        let (peers, mut st) = ring_of(4, RingOptions::default());
        let pred = peers[3].clone();
        // One of our calls to it went unanswered.
        st.suspect(&pred.id);
        assert!(st.is_suspect(&pred.id));
        st.on_request(&Request::Notify {
            peer: pred.clone(),
            neighbors: true,
        });
        let pings: Vec<Outbound> = st.tick().into_iter().filter(is_ping).collect();
        assert_eq!(pings.len(), 1, "suspect: pinged despite its notify");
        // Its answer clears the suspicion, and the skip applies again.
        st.on_response(&pred, pings[0].purpose.clone(), Some(Response::Pong));
        assert!(!st.is_suspect(&pred.id));
        st.on_request(&Request::Notify {
            peer: pred.clone(),
            neighbors: true,
        });
        assert!(!st.tick().iter().any(is_ping));
    }

    /// Ticks until node 0 drops its predecessor, which dies after tick
    /// `death`; until then it notifies before every tick if `notifies`.
    /// Pings to it are answered at once while it lives, and time out
    /// (`None`) `timeout` ticks after they were sent once it is dead.
    fn ticks_to_drop_a_dead_predecessor(notifies: bool, death: u64, timeout: u64) -> u64 {
        let (peers, mut st) = ring_of(4, RingOptions::default());
        let pred = peers[3].clone();
        let mut timeouts: Vec<(u64, Outbound)> = Vec::new();
        for t in 1..100 {
            let alive = t <= death;
            if alive && notifies {
                st.on_request(&Request::Notify {
                    peer: pred.clone(),
                    neighbors: true,
                });
            }
            for out in st.tick().into_iter().filter(is_ping) {
                if alive {
                    st.on_response(&pred, out.purpose, Some(Response::Pong));
                } else {
                    timeouts.push((t + timeout, out));
                }
            }
            let (due, later) = timeouts.into_iter().partition(|(at, _)| *at <= t);
            timeouts = later;
            for (_, out) in due {
                st.on_response(&out.to, out.purpose, None);
            }
            if st.predecessor().is_none() {
                return t - death;
            }
        }
        panic!("the dead predecessor was never dropped");
    }

    #[test]
    fn a_dead_predecessor_is_dropped_at_most_one_tick_later_than_with_a_ping_every_tick() {
        for timeout in [0, 1, 4] {
            // Never notified: a ping every tick, as before the skip.
            let every_tick = ticks_to_drop_a_dead_predecessor(false, 10, timeout);
            let skipping = ticks_to_drop_a_dead_predecessor(true, 10, timeout);
            assert_eq!(every_tick, timeout + 3, "misses in three ticks");
            assert!(
                skipping <= every_tick + 1,
                "timeout {timeout}: {skipping} ticks against {every_tick}"
            );
        }
    }

    #[test]
    fn stabilize_notifies_and_asks_for_neighbours_in_one_request() {
        let (peers, mut st) = ring_of(4, RingOptions::default());
        let (me, s0) = (peers[0].clone(), peers[1].clone());
        let out = st
            .tick()
            .into_iter()
            .find(|o| o.purpose == Purpose::Stabilize);
        let out = out.expect("a stabilize request");
        let ask = Request::Notify {
            peer: me.clone(),
            neighbors: true,
        };
        assert_eq!(
            (out.to.clone(), out.request.clone()),
            (s0.clone(), ask.clone())
        );

        // The successor rectifies before it answers, so it names us.
        let mut succ = RingState::with_view(
            s0.clone(),
            None,
            peers[2..].to_vec(),
            RingOptions::default(),
        );
        let answer = succ.on_request(&ask);
        assert_eq!(succ.predecessor(), Some(&me));
        let more = st.on_response(&s0, Purpose::Stabilize, Some(answer));
        assert!(more.is_empty(), "no second notify: {more:?}");

        // An older successor answers `Ack`: ask the two-step way, then notify.
        let more = st.on_response(&s0, Purpose::Stabilize, Some(Response::Ack));
        assert_eq!(more[0].request, Request::GetNeighbors);
        assert_eq!(more[0].purpose, Purpose::Neighbors);
        let answer = succ.on_request(&Request::GetNeighbors);
        let more = st.on_response(&s0, Purpose::Neighbors, Some(answer));
        let plain = Request::Notify {
            peer: me,
            neighbors: false,
        };
        assert_eq!(more[0].request, plain);
    }
}
