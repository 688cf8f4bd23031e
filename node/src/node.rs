//! The async driver: owns the ring state and the store, runs the maintenance
//! ticks and repair rounds, routes client operations hop by hop and
//! coordinates writes at the owner.
//!
//! Locks are `std` mutexes held only for short synchronous sections, never
//! across an `.await` (the protocol logic under them is pure and fast).

use crate::config::Options;
use crate::dedup::{Begin, InFlight, Recent};
use crate::id::Id;
use crate::peer::{CallError, PeerClient};
use crate::pending::Pending;
use crate::replication::{batches, diff, replica_targets, split_range, Digest, Leases};
use crate::ring::{Outbound, Peer, Request, Response, RingOptions, RingState};
use crate::routing::Hop;
use crate::store::{Clock, Entry, Store, Version};
use crate::wire::{DataRequest, DataResponse, Op, Outcome, Range, ReplyMsg, RouteMsg};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, Notify};

/// Routed requests handled at once; more are refused (429) rather than queued,
/// so a flood on `/chord/route` cannot exhaust memory.
const MAX_ROUTED_IN_FLIGHT: usize = 10_000;
/// Versions more than this far ahead of our wall clock are refused.
const MAX_CLOCK_LEAD_MS: u64 = 3_600_000;
/// Bytes of values per replicate message during repair and hand-off.
const BATCH_BYTES: usize = 4 << 20;
/// `(id, version)` pairs per sync list message.
const SYNC_LIST_MAX: usize = 4096;
/// How long the owner remembers a request's outcome, so a retried delete still
/// reports "deleted" and a retried put is not counted twice.
const RECENT_MS: u64 = 60_000;
/// At most this many remembered outcomes (bounds memory under heavy write load).
const RECENT_CAP: usize = 200_000;

/// The answer a client gets: what happened, where, and how far it travelled.
#[derive(Clone, Debug)]
pub struct ClientReply {
    /// What happened.
    pub outcome: Outcome,
    /// `host:port` of the owner that answered; `None` when this node did.
    pub owner: Option<String>,
    /// Forwarding steps after the entry node.
    pub hops: u32,
}

/// Why one attempt of a write did not succeed.
enum WriteError {
    /// A holder has a newer version of the key than the one we assigned.
    Superseded(Version),
    /// Too few holders applied it.
    Failed(Outcome),
}

/// A routed write this node is executing (see [`InFlight`]). Dropped before
/// [`Executing::finish`], because the future running the write was dropped
/// part-way, it abandons the write: copies waiting for it get an error.
struct Executing<'a> {
    node: &'a Node,
    req: &'a str,
    done: bool,
}

impl Executing<'_> {
    /// Hands `out` to the waiting copies and remembers it for later ones.
    fn finish(mut self, out: &Outcome) {
        let now = now_ms();
        let mut data = lock(&self.node.inner.data);
        data.in_flight.finish(self.req, out);
        if matches!(out, Outcome::Stored | Outcome::Deleted) {
            data.recent.insert(self.req, out.clone(), now);
        }
        self.done = true;
    }
}

impl Drop for Executing<'_> {
    fn drop(&mut self) {
        if !self.done {
            lock(&self.node.inner.data).in_flight.abandon(self.req);
        }
    }
}

/// Key-value side of the node, behind one mutex.
struct Data {
    store: Store,
    clock: Clock,
    leases: Leases,
    /// Outcomes of recent routed writes by request id.
    recent: Recent,
    /// Routed writes being executed now, with retries of them waiting for the outcome.
    in_flight: InFlight,
    /// The predecessor seen by the last repair round (to notice a shrinking range).
    last_predecessor: Option<Id>,
}

/// A snapshot for `GET /status`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Status {
    /// This node's id (40 hex).
    pub id: Id,
    /// Advertised address.
    pub addr: String,
    /// Current predecessor.
    pub predecessor: Option<Peer>,
    /// Successor list.
    pub successors: Vec<Peer>,
    /// Distinct fingers in finger order.
    pub fingers: Vec<Peer>,
    /// Live keys stored here (owned and replicas).
    pub keys: usize,
    /// Live keys in this node's primary range.
    pub keys_owned: usize,
    /// Live keys held as a replica.
    pub keys_replica: usize,
    /// Tombstones held.
    pub tombstones: usize,
    /// Whether the last repair round moved data.
    pub repairing: bool,
    /// Replication factor R.
    pub replicas: usize,
    /// Write quorum W.
    pub write_quorum: usize,
    /// Whether the node has joined a ring.
    pub ready: bool,
}

struct Shared {
    opts: Options,
    me: Peer,
    /// `me.addr` as a ready-made header value (`X-Chord-Owner` of local answers).
    addr_header: warp::http::HeaderValue,
    ring: Mutex<RingState>,
    data: Mutex<Data>,
    pending: Pending,
    peers: PeerClient,
    repairing: AtomicBool,
    repair_now: Notify,
    /// Routed requests this node may be handling at once (see `route_slot`).
    route_slots: Arc<tokio::sync::Semaphore>,
}

/// A running node's handle; cheap to clone.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Shared>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Sections under these locks do not leave state half-updated on panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Node {
    /// A node advertised as `me`, configured by `opts` (not started yet).
    pub fn new(me: Peer, opts: Options) -> Node {
        let ring_opts = RingOptions {
            successor_list_len: opts.successors as usize,
            ..RingOptions::default()
        };
        let ring = match &opts.join {
            Some(addr) if *addr != me.addr => {
                RingState::joining(me.clone(), Peer::from_addr(addr), ring_opts)
            }
            _ => RingState::new_ring(me.clone(), ring_opts),
        };
        let peers = PeerClient::new(
            Duration::from_millis(opts.rpc_timeout_ms),
            opts.cluster_key.as_deref(),
        );
        Node {
            inner: Arc::new(Shared {
                addr_header: warp::http::HeaderValue::from_str(&me.addr)
                    .unwrap_or(warp::http::HeaderValue::from_static("invalid")),
                me: me.clone(),
                ring: Mutex::new(ring),
                data: Mutex::new(Data {
                    store: Store::new(),
                    clock: Clock::new(me.id.prefix_u64()),
                    leases: Leases::default(),
                    recent: Recent::new(RECENT_MS, RECENT_CAP),
                    last_predecessor: None,
                    in_flight: InFlight::default(),
                }),
                pending: Pending::default(),
                peers,
                repairing: AtomicBool::new(false),
                repair_now: Notify::new(),
                route_slots: Arc::new(tokio::sync::Semaphore::new(MAX_ROUTED_IN_FLIGHT)),
                opts,
            }),
        }
    }

    /// This node.
    pub fn me(&self) -> &Peer {
        &self.inner.me
    }

    /// This node's address as a header value.
    pub fn addr_header(&self) -> &warp::http::HeaderValue {
        &self.inner.addr_header
    }

    /// The options it runs with.
    pub fn options(&self) -> &Options {
        &self.inner.opts
    }

    /// Whether it has joined a ring.
    pub fn is_ready(&self) -> bool {
        lock(&self.inner.ring).is_joined()
    }

    /// Whether this node lost every neighbour it had (see `RingState::is_isolated`).
    fn is_isolated(&self) -> bool {
        lock(&self.inner.ring).is_isolated()
    }

    /// Starts the maintenance and repair loops (they stop when the runtime does).
    pub fn start(&self) {
        let node = self.clone();
        tokio::spawn(async move { node.maintenance_loop().await });
        let node = self.clone();
        tokio::spawn(async move { node.repair_loop().await });
    }

    // ----- ring maintenance ---------------------------------------------------

    async fn maintenance_loop(self) {
        let mut every = tokio::time::interval(Duration::from_millis(self.inner.opts.stabilize_ms));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let outs = lock(&self.inner.ring).tick();
            for out in outs {
                let node = self.clone();
                tokio::spawn(async move { node.run_ring_exchange(out).await });
            }
        }
    }

    /// Sends `first` and every follow-up the state machine asks for, in order.
    async fn run_ring_exchange(&self, first: Outbound) {
        let mut queue = vec![first];
        while let Some(out) = queue.pop() {
            let resp = match self.inner.peers.ring(&out.to.addr, &out.request).await {
                Ok(r) => Some(r),
                Err(CallError::Refused(_)) => {
                    // Nobody listens there: no need to wait for more misses.
                    self.with_ring(|ring| ring.on_unreachable(&out.to.id));
                    None
                }
                Err(_) => None,
            };
            let (more, pull) = self.with_ring(|ring| {
                let more = ring.on_response(&out.to, out.purpose, resp);
                (more, ring.take_join_pull())
            });
            if let Some((from, holder)) = pull {
                let node = self.clone();
                tokio::spawn(async move { node.pull_range(from, holder).await });
            }
            queue.extend(more);
        }
    }

    /// Runs `f` on the ring state, logging membership changes it causes.
    fn with_ring<R>(&self, f: impl FnOnce(&mut RingState) -> R) -> R {
        let mut ring = lock(&self.inner.ring);
        let view = |ring: &RingState| {
            (
                ring.predecessor().map(|p| p.id),
                ring.successors().first().map(|p| p.id),
                ring.is_joined(),
            )
        };
        let before = view(&ring);
        let r = f(&mut ring);
        let after = view(&ring);
        if before == after {
            return r; // the common case: nothing to log, nothing to copy
        }
        let pred = ring.predecessor().map(|p| p.addr.clone());
        let succ = ring.successors().first().map(|p| p.addr.clone());
        drop(ring);
        if before.2 != after.2 && after.2 {
            tracing::info!(successor = ?succ, "joined the ring");
        }
        if before.0 != after.0 {
            tracing::info!(predecessor = ?pred, "predecessor changed");
            self.inner.repair_now.notify_one();
        }
        if before.1 != after.1 {
            tracing::info!(successor = ?succ, "successor changed");
            self.inner.repair_now.notify_one();
        }
        r
    }

    /// Answers a ring-maintenance request from a peer.
    pub fn handle_ring(&self, req: &Request) -> Response {
        self.with_ring(|ring| ring.on_request(req))
    }

    /// A data-plane call to `peer` failed: forget it at once if nobody listens
    /// there, else count a miss (it is dropped after a few in a row).
    fn peer_failed(&self, peer: &Peer, err: &CallError) {
        tracing::debug!(peer = %peer.addr, error = %err, "peer call failed");
        match err {
            CallError::Refused(_) => self.with_ring(|ring| ring.on_unreachable(&peer.id)),
            CallError::Unreachable(_) => {
                self.with_ring(|ring| ring.suspect(&peer.id));
            }
            CallError::Rejected(_) => {}
        }
    }

    /// A status snapshot.
    pub fn status(&self) -> Status {
        let (pred, succs, fingers, ready) = {
            let ring = lock(&self.inner.ring);
            (
                ring.predecessor().cloned(),
                ring.successors().to_vec(),
                ring.distinct_fingers(),
                ring.is_joined(),
            )
        };
        let me = &self.inner.me;
        let (mut owned, mut replica, mut tombstones) = (0, 0, 0);
        {
            let data = lock(&self.inner.data);
            for (id, e) in data.store.iter() {
                if e.is_tombstone() {
                    tombstones += 1;
                } else if pred.is_none() && !succs.is_empty() {
                    replica += 1;
                } else if succs.is_empty()
                    || crate::id::in_half_open(id, &pred.as_ref().map_or(me.id, |p| p.id), &me.id)
                {
                    owned += 1;
                } else {
                    replica += 1;
                }
            }
        }
        Status {
            id: me.id,
            addr: me.addr.clone(),
            predecessor: pred,
            successors: succs,
            fingers,
            keys: owned + replica,
            keys_owned: owned,
            keys_replica: replica,
            tombstones,
            repairing: self.inner.repairing.load(Ordering::Relaxed),
            replicas: self.inner.opts.replicas as usize,
            write_quorum: self.inner.opts.write_quorum(),
            ready,
        }
    }

    /// Every entry held, tombstones included (for placement checks).
    pub fn entries(&self) -> Vec<(Id, Entry)> {
        let data = lock(&self.inner.data);
        data.store.iter().map(|(id, e)| (*id, e.clone())).collect()
    }

    // ----- client operations --------------------------------------------------

    /// Runs a client operation that arrived at this node (the entry node).
    pub async fn client_op(&self, key: String, op: Op) -> ClientReply {
        let id = Id::hash(key.as_bytes());
        if !self.is_ready() {
            return self.local_failure(503, "node has not joined a ring yet");
        }
        if lock(&self.inner.ring).view().owns(&id) {
            // The common case on a small ring or a single node: no routing state.
            let outcome = self.execute(&key, id, op, None).await;
            return ClientReply {
                outcome,
                owner: None,
                hops: 0,
            };
        }
        let req = Pending::new_id();
        let mut avoid: Option<Id> = None;
        for attempt in 0..2 {
            // Dropping the guard (return, timeout, or the client going away
            // mid-wait) forgets the request id.
            let (_waiting, mut reply) = self.inner.pending.wait_for(&req);
            // The first hop is sent by a task of its own, so this task waits for
            // the owner's reply alone: the hop's 202 is not on the request's
            // path, and the owner often replies before that 202 even arrives.
            // The task ends when the hop acknowledges or every candidate has
            // failed (each bounded by the RPC timeout), so it does not outlive
            // this attempt; it does outlive a client that goes away, like a
            // request already on the wire would.
            let (sent_tx, mut sent) = oneshot::channel();
            let msg = RouteMsg {
                req: req.clone(),
                origin: self.inner.me.addr.clone(),
                key: key.clone(),
                op: op.clone(),
                hops: 1,
                owner_hint: false,
            };
            let node = self.clone();
            let avoid_now = avoid;
            tokio::spawn(async move {
                let _ = sent_tx.send(node.forward(msg, &id, avoid_now.as_ref(), false).await);
            });
            // The reply's deadline starts once a first hop has taken the request,
            // as when the entry waited for the 202 first: a slow or hung first
            // hop costs the forward its RPC timeout and a detour, not the attempt.
            let wait = Duration::from_millis(self.inner.opts.request_timeout_ms);
            let deadline = tokio::time::sleep(wait);
            tokio::pin!(deadline);
            let mut first_hop: Option<Peer> = None;
            loop {
                tokio::select! {
                    biased;
                    got = &mut reply => match got {
                        Ok(reply) => {
                            return ClientReply {
                                outcome: reply.outcome,
                                owner: Some(reply.owner),
                                hops: reply.hops,
                            }
                        }
                        // Unreachable while `_waiting` holds the id; treat as lost.
                        Err(_) => break,
                    },
                    hop = &mut sent, if first_hop.is_none() => match hop {
                        Ok(Ok(Some(hop))) => {
                            first_hop = Some(hop);
                            deadline.as_mut().reset(tokio::time::Instant::now() + wait);
                        }
                        Ok(Ok(None)) => {
                            // The ring changed under us: this node owns the key now.
                            let outcome = self.execute(&key, id, op, Some(&req)).await;
                            return ClientReply {
                                outcome,
                                owner: None,
                                hops: 0,
                            };
                        }
                        Ok(Err(e)) => return self.local_failure(503, &e),
                        Err(_) => return self.local_failure(503, "forwarding task ended"),
                    },
                    _ = &mut deadline, if first_hop.is_some() => break,
                }
            }
            if attempt == 0 {
                tracing::debug!(via = ?first_hop.as_ref().map(|h| &h.addr), "no reply in time; retrying");
            }
            // Retry on another path: avoid the first hop that led nowhere.
            avoid = first_hop.map(|h| h.id);
        }
        self.local_failure(503, "no reply from the key's owner (after one retry)")
    }

    fn local_failure(&self, status: u16, error: &str) -> ClientReply {
        ClientReply {
            outcome: Outcome::Failed {
                status,
                error: error.to_string(),
            },
            owner: None,
            hops: 0,
        }
    }

    /// Forwards `msg` to the next hop for `id`, skipping dead candidates.
    /// `Ok(None)` when this node turns out to be the owner; an error when no
    /// candidate took it, or when `msg.hops` (the hop it would become) is over
    /// the `--max-hops` ceiling.
    async fn forward(
        &self,
        mut msg: RouteMsg,
        id: &Id,
        avoid: Option<&Id>,
        hinted: bool,
    ) -> Result<Option<Peer>, String> {
        let mut avoid_now = avoid.copied();
        for _ in 0..4 {
            let hop = {
                let ring = lock(&self.inner.ring);
                let view = ring.view();
                if view.owns(id) {
                    Hop::Local
                } else if hinted && ring.predecessor().is_none() {
                    // Our predecessor is unknown (just joined, or it died): the
                    // sender's view says we own the key, and nobody else can tell.
                    Hop::Local
                } else if hinted && ring.predecessor().map(|p| p.id) != avoid_now {
                    // Someone joined between the sender and us and took the key.
                    Hop::Owner(ring.predecessor().cloned().expect("checked above"))
                } else {
                    view.next_hop(id, avoid_now.as_ref())
                }
            };
            let (to, owner_hint) = match hop {
                Hop::Local => return Ok(None),
                Hop::Owner(p) => (p, true),
                Hop::Forward(p) => (p, false),
            };
            if msg.hops > self.inner.opts.max_hops {
                return Err(format!(
                    "routing did not converge within {} hops",
                    self.inner.opts.max_hops
                ));
            }
            msg.owner_hint = owner_hint;
            match self.inner.peers.route(&to.addr, &msg).await {
                Ok(()) => return Ok(Some(to)),
                Err(e @ CallError::Refused(_)) => self.peer_failed(&to, &e),
                Err(e @ CallError::Unreachable(_)) => {
                    // Suspect, not known dead: try another path this time.
                    self.peer_failed(&to, &e);
                    avoid_now = Some(to.id);
                }
                Err(e) => return Err(format!("forwarding to {} failed: {e}", to.addr)),
            }
        }
        Err("no live next hop towards the key's owner".to_string())
    }

    /// Handles a routed request (its 202 goes out after this task has had two
    /// scheduler turns): execute here or pass it on.
    pub async fn handle_route(&self, mut msg: RouteMsg) {
        let id = Id::hash(msg.key.as_bytes());
        if !self.is_ready() {
            let out = Outcome::Failed {
                status: 503,
                error: "a node on the path is not in the ring".into(),
            };
            return self.send_reply(&msg, out).await;
        }
        let hinted = msg.owner_hint;
        // The hop ceiling is applied in `forward`, where it is known whether
        // this node is the owner: the owner reached at the last allowed hop
        // answers; only a request that would travel further fails.
        let fwd = RouteMsg {
            hops: msg.hops.saturating_add(1),
            ..msg.clone()
        };
        match self.forward(fwd, &id, None, hinted).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let op = std::mem::replace(&mut msg.op, Op::Get);
                let out = self.execute(&msg.key, id, op, Some(&msg.req)).await;
                self.send_reply(&msg, out).await;
            }
            Err(e) => {
                let out = Outcome::Failed {
                    status: 503,
                    error: e,
                };
                self.send_reply(&msg, out).await;
            }
        }
    }

    async fn send_reply(&self, msg: &RouteMsg, outcome: Outcome) {
        let reply = ReplyMsg {
            req: msg.req.clone(),
            owner: self.inner.me.addr.clone(),
            hops: msg.hops,
            outcome,
        };
        if msg.origin == self.inner.me.addr {
            self.inner.pending.resolve(reply);
        } else if let Err(e) = self.inner.peers.reply(&msg.origin, &reply).await {
            tracing::debug!(origin = %msg.origin, error = %e, "reply not delivered");
        }
    }

    /// A permit to handle one more routed request, or `None` when this node
    /// already handles as many as it allows.
    pub fn route_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.route_slots.clone().try_acquire_owned().ok()
    }

    /// Delivers an owner's direct reply to the waiting client, if any.
    pub fn handle_reply(&self, reply: ReplyMsg) -> bool {
        self.inner.pending.resolve(reply)
    }

    // ----- at the owner -------------------------------------------------------

    /// Performs `op` on `key` as its owner.
    async fn execute(&self, key: &str, id: Id, op: Op, req: Option<&str>) -> Outcome {
        let is_write = !matches!(op, Op::Get);
        // Set while this call executes a routed write. If the call is dropped
        // part-way (the entry node executing for a client that went away), it
        // abandons the write, so a later copy is not left waiting for ever.
        let mut executing = None;
        if let (Some(req), true) = (req, is_write) {
            // A retry of a write we already did, or are doing, gets the same answer.
            let begun = {
                let mut data = lock(&self.inner.data);
                if let Some(out) = data.recent.get(req) {
                    return out.clone();
                }
                data.in_flight.begin(req)
            };
            match begun {
                Begin::Wait(rx) => {
                    return rx.await.unwrap_or(Outcome::Failed {
                        status: 503,
                        error: "the first attempt of this request was abandoned".into(),
                    })
                }
                Begin::First => {
                    executing = Some(Executing {
                        node: self,
                        req,
                        done: false,
                    })
                }
            }
        }
        let isolated = || Outcome::Failed {
            status: 503,
            error: "this node is cut off from its ring; its answer could be stale".into(),
        };
        let out = match op {
            // The common read is our own live copy: only its value (an `Arc`)
            // is cloned, not the whole entry with its key.
            Op::Get => match self.local_value(&id) {
                Some(v) => Outcome::Value(v),
                None => match self.newest(key, &id).await {
                    Some(Entry { value: Some(v), .. }) => Outcome::Value(v),
                    _ if self.is_isolated() => isolated(),
                    _ => Outcome::NotFound,
                },
            },
            Op::Put { value } => match self.write(key, id, Some(value)).await {
                Ok(()) => Outcome::Stored,
                Err(e) => e,
            },
            Op::Delete => match self.newest(key, &id).await {
                Some(Entry { value: Some(_), .. }) => match self.write(key, id, None).await {
                    Ok(()) => Outcome::Deleted,
                    Err(e) => e,
                },
                _ if self.is_isolated() => isolated(),
                _ => Outcome::NotFound,
            },
        };
        if let Some(executing) = executing {
            executing.finish(&out);
        }
        out
    }

    /// The value of our live copy of `id`, if we hold one.
    fn local_value(&self, id: &Id) -> Option<Arc<serde_json::value::RawValue>> {
        lock(&self.inner.data).store.get(id)?.value.clone()
    }

    /// Our copy if we have one; otherwise the newest copy among the other holders
    /// (we may have just taken over the range), kept locally as a read repair.
    async fn newest(&self, key: &str, id: &Id) -> Option<Entry> {
        if let Some(e) = lock(&self.inner.data).store.get(id) {
            return Some(e.clone());
        }
        let targets = self.replica_targets();
        let req = DataRequest::Fetch {
            key: key.to_string(),
        };
        let mut calls: FuturesUnordered<_> = targets
            .iter()
            .map(|p| self.inner.peers.data(&p.addr, &req))
            .collect();
        let mut best: Option<Entry> = None;
        while let Some(r) = calls.next().await {
            if let Ok(DataResponse::Entry(Some(e))) = r {
                if best.as_ref().is_none_or(|b| b.version < e.version) {
                    best = Some(e);
                }
            }
        }
        if let Some(e) = &best {
            let mut data = lock(&self.inner.data);
            data.clock.observe(e.version);
            data.store.apply(*id, e.clone());
        }
        best
    }

    fn replica_targets(&self) -> Vec<Peer> {
        let ring = lock(&self.inner.ring);
        replica_targets(
            &self.inner.me.id,
            ring.successors(),
            self.inner.opts.replicas as usize,
        )
    }

    /// Writes a new version (a value or a tombstone) and waits for W holders.
    async fn write(
        &self,
        key: &str,
        id: Id,
        value: Option<Arc<serde_json::value::RawValue>>,
    ) -> Result<(), Outcome> {
        // A holder may already have a newer version we never saw (a clock
        // ahead of ours, a range we just took over): then we move our clock
        // past it and write again, rather than acknowledge a write that the
        // older-but-higher version would silently replace.
        for _ in 0..3 {
            match self.write_once(key, id, value.clone()).await {
                Err(WriteError::Superseded(v)) => lock(&self.inner.data).clock.observe(v),
                Err(WriteError::Failed(out)) => return Err(out),
                Ok(()) => return Ok(()),
            }
        }
        Err(Outcome::Failed {
            status: 503,
            error: "the write kept meeting newer versions on its holders".into(),
        })
    }

    async fn write_once(
        &self,
        key: &str,
        id: Id,
        value: Option<Arc<serde_json::value::RawValue>>,
    ) -> Result<(), WriteError> {
        let entry = {
            let mut data = lock(&self.inner.data);
            let version = data.clock.next(now_ms());
            let entry = Entry {
                key: key.to_string(),
                value,
                version,
            };
            data.store.apply(id, entry.clone());
            entry
        };
        let (candidates, ring_size) = {
            let ring = lock(&self.inner.ring);
            let mut c: Vec<Peer> = Vec::new();
            for p in ring.successors() {
                if p.id != self.inner.me.id && c.iter().all(|q| q.id != p.id) {
                    c.push(p.clone());
                }
            }
            (c, ring.known_ring_size())
        };
        let r = self.inner.opts.replicas as usize;
        let w = self.inner.opts.write_quorum();
        // W is capped by the ring's size as this node has known it: a ring of
        // one node is its only holder, but a node cut off from a larger ring
        // must not accept writes on its own.
        let need = w.min(ring_size).saturating_sub(1);
        let slots = (r - 1).min(candidates.len());
        let req = Arc::new(DataRequest::Replicate {
            entries: vec![entry],
        });
        let mut next = slots;
        let mut calls = FuturesUnordered::new();
        for p in candidates.iter().take(slots) {
            calls.push(self.replicate_to(p.clone(), req.clone()));
        }
        let mut acks = 0;
        let mut superseded = None;
        while acks < need && superseded.is_none() {
            match calls.next().await {
                Some((_, Ok(DataResponse::Applied(_)))) => acks += 1,
                Some((_, Ok(DataResponse::Newer(v)))) => superseded = Some(v),
                Some((p, other)) => {
                    let err = match other {
                        Err(e) => e,
                        Ok(r) => CallError::Rejected(format!("unexpected {r:?}")),
                    };
                    self.peer_failed(&p, &err);
                    // Keep R−1 copies in flight: take the next successor instead.
                    if let Some(alt) = candidates.get(next) {
                        next += 1;
                        calls.push(self.replicate_to(alt.clone(), req.clone()));
                    }
                }
                None => break,
            }
        }
        if !calls.is_empty() {
            // The remaining copies finish in the background.
            tokio::spawn(async move { while calls.next().await.is_some() {} });
        }
        if let Some(v) = superseded {
            return Err(WriteError::Superseded(v));
        }
        if acks >= need {
            Ok(())
        } else {
            Err(WriteError::Failed(Outcome::Failed {
                status: 503,
                error: format!(
                    "write reached {} of {} required holders",
                    acks + 1,
                    need + 1
                ),
            }))
        }
    }

    fn replicate_to(
        &self,
        p: Peer,
        req: Arc<DataRequest>,
    ) -> impl std::future::Future<Output = (Peer, Result<DataResponse, CallError>)> + Send + 'static
    {
        let peers = self.inner.peers.clone();
        async move {
            let r = peers.data(&p.addr, &req).await;
            (p, r)
        }
    }

    // ----- replica traffic ------------------------------------------------------

    /// Answers a replica request from a peer.
    pub fn handle_data(&self, req: DataRequest) -> DataResponse {
        let now = now_ms();
        let mut data = lock(&self.inner.data);
        match req {
            DataRequest::Replicate { entries } => {
                if let [one] = entries.as_slice() {
                    // A single fresh write: say so if we hold something newer.
                    let held = data.store.get(&Id::hash(one.key.as_bytes()));
                    if let Some(h) = held.filter(|h| h.version > one.version) {
                        return DataResponse::Newer(h.version);
                    }
                }
                let mut applied = 0;
                // A version far in the future would pin our clock there and make
                // the key impossible to overwrite: refuse it (bad input, not data).
                let horizon = now.saturating_add(MAX_CLOCK_LEAD_MS);
                for e in entries
                    .into_iter()
                    .filter(|e| e.version.millis() <= horizon)
                {
                    data.clock.observe(e.version);
                    let id = Id::hash(e.key.as_bytes());
                    if data.store.apply(id, e) {
                        applied += 1;
                    }
                }
                DataResponse::Applied(applied)
            }
            DataRequest::Fetch { key } => {
                DataResponse::Entry(data.store.get(&Id::hash(key.as_bytes())).cloned())
            }
            DataRequest::SyncDigest {
                owner,
                range,
                digest,
            } => {
                data.leases.confirm(owner, range.from, range.to, now);
                let mine = data.store.range(&range.from, &range.to);
                let ours = Digest::of(mine.iter().map(|(i, e)| (i, *e)));
                DataResponse::InSync(ours == digest)
            }
            DataRequest::SyncList { range, items } => {
                let mine: Vec<(Id, Version)> = data
                    .store
                    .range(&range.from, &range.to)
                    .into_iter()
                    .map(|(i, e)| (i, e.version))
                    .collect();
                let (want, owner_needs) = diff(&items, &mine);
                let newer = owner_needs
                    .iter()
                    .filter_map(|i| data.store.get(i).cloned())
                    .collect();
                DataResponse::Delta { want, newer }
            }
        }
    }

    async fn repair_loop(self) {
        let period = Duration::from_millis(self.inner.opts.repair_ms);
        loop {
            // A membership change starts a round at once, rate-limited to one per 50 ms.
            let _ = tokio::time::timeout(period, self.inner.repair_now.notified()).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let moved = self.repair_round().await;
            self.inner.repairing.store(moved > 0, Ordering::Relaxed);
            if moved > 0 {
                tracing::info!(entries = moved, "repair moved entries");
            }
        }
    }

    /// One anti-entropy round; returns how many entries moved either way.
    pub async fn repair_round(&self) -> usize {
        let (pred, targets, joined) = {
            let ring = lock(&self.inner.ring);
            (
                ring.predecessor().cloned(),
                replica_targets(
                    &self.inner.me.id,
                    ring.successors(),
                    self.inner.opts.replicas as usize,
                ),
                ring.is_joined(),
            )
        };
        if !joined {
            return 0;
        }
        let me = self.inner.me.id;
        let now = now_ms();
        let lease = self.inner.opts.lease_ms();
        {
            let mut data = lock(&self.inner.data);
            let grace = self.inner.opts.tombstone_grace_ms;
            data.store.purge_tombstones(now.saturating_sub(grace));
            data.leases.expire(now, lease);
            let pred_id = pred.as_ref().map(|p| p.id);
            if let (Some(old), Some(new)) = (data.last_predecessor, pred_id) {
                if old != new {
                    // Our range changed. Keep what we owned under a lease of our
                    // own for a while: if a node joined in front of us, it still
                    // has to fetch that part from us (and its replicas from ours).
                    data.leases.confirm(me, old, me, now);
                }
            }
            if pred_id.is_some() {
                data.last_predecessor = pred_id;
            }
            if let Some(p) = &pred {
                // Drop copies we no longer hold: outside our range, unconfirmed, not fresh.
                let Data { store, leases, .. } = &mut *data;
                let dropped = store.retain(|id, e| {
                    crate::id::in_half_open(id, &p.id, &me)
                        || leases.covers(id, now, lease)
                        || now.saturating_sub(e.version.millis()) < lease
                });
                if dropped > 0 {
                    tracing::info!(dropped, "dropped copies no longer held here");
                }
            }
        }
        let Some(pred) = pred else {
            return 0;
        };
        let range = Range {
            from: pred.id,
            to: me,
        };
        let mut moved = 0;
        for t in targets {
            match self.sync_with(&t, range).await {
                Ok(n) => moved += n,
                Err(e) => self.peer_failed(&t, &e),
            }
        }
        moved
    }

    /// Brings `holder`'s copy of our primary `range` up to date, both ways.
    async fn sync_with(&self, holder: &Peer, range: Range) -> Result<usize, CallError> {
        let digest = {
            let data = lock(&self.inner.data);
            let entries = data.store.range(&range.from, &range.to);
            Digest::of(entries.iter().map(|(i, e)| (i, *e)))
        };
        let req = DataRequest::SyncDigest {
            owner: self.inner.me.id,
            range,
            digest,
        };
        if let DataResponse::InSync(true) = self.inner.peers.data(&holder.addr, &req).await? {
            return Ok(0);
        }
        let items: Vec<(Id, Version)> = {
            let data = lock(&self.inner.data);
            data.store
                .range(&range.from, &range.to)
                .into_iter()
                .map(|(i, e)| (i, e.version))
                .collect()
        };
        // Compare in sub-ranges so no message grows with the range.
        let mut moved = 0;
        for (sub, chunk) in split_range(range, &items, SYNC_LIST_MAX) {
            let req = DataRequest::SyncList {
                range: sub,
                items: chunk.to_vec(),
            };
            let DataResponse::Delta { want, newer } =
                self.inner.peers.data(&holder.addr, &req).await?
            else {
                return Err(CallError::Rejected("unexpected answer to SyncList".into()));
            };
            moved += newer.len();
            self.handle_data(DataRequest::Replicate { entries: newer });
            let entries: Vec<Entry> = {
                let data = lock(&self.inner.data);
                want.iter()
                    .filter_map(|i| data.store.get(i).cloned())
                    .collect()
            };
            moved += entries.len();
            self.send_entries(holder, entries).await?;
        }
        Ok(moved)
    }

    /// Fetches everything `holder` has in `(from, me]` (the range a join just
    /// gave us), so the new owner has its keys without waiting for repair.
    async fn pull_range(&self, from: Id, holder: Peer) {
        let range = Range {
            from,
            to: self.inner.me.id,
        };
        let req = DataRequest::SyncList {
            range,
            items: Vec::new(),
        };
        match self.inner.peers.data(&holder.addr, &req).await {
            Ok(DataResponse::Delta { newer, .. }) => {
                let n = newer.len();
                self.handle_data(DataRequest::Replicate { entries: newer });
                tracing::info!(entries = n, from = %holder.addr, "pulled the keys we now own");
            }
            Ok(other) => tracing::warn!(?other, "unexpected answer to the join pull"),
            Err(e) => tracing::warn!(error = %e, "join pull failed; repair will copy the keys"),
        }
    }

    /// Sends `entries` to `holder` in replicate messages of bounded size.
    async fn send_entries(&self, holder: &Peer, entries: Vec<Entry>) -> Result<(), CallError> {
        for batch in batches(entries, BATCH_BYTES) {
            let req = DataRequest::Replicate { entries: batch };
            self.inner.peers.data(&holder.addr, &req).await?;
        }
        Ok(())
    }

    // ----- leaving ---------------------------------------------------------------

    /// Graceful leave: hand every entry to the nodes that take over, then tell
    /// the neighbours. Returns how many entries were handed over.
    pub async fn leave(&self) -> usize {
        let (targets, announcements) = {
            let mut ring = lock(&self.inner.ring);
            let mut targets: Vec<Peer> = Vec::new();
            for p in ring.successors() {
                if targets.len() < self.inner.opts.replicas as usize
                    && targets.iter().all(|q| q.id != p.id)
                {
                    targets.push(p.clone());
                }
            }
            (targets, ring.leave())
        };
        let entries: Vec<Entry> = lock(&self.inner.data)
            .store
            .iter()
            .map(|(_, e)| e.clone())
            .collect();
        let mut handed = 0;
        for t in &targets {
            if self.send_entries(t, entries.clone()).await.is_ok() {
                handed += entries.len();
            }
        }
        for out in announcements {
            let _ = self.inner.peers.ring(&out.to.addr, &out.request).await;
        }
        tracing::info!(
            entries = entries.len(),
            holders = targets.len(),
            "left the ring"
        );
        handed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::value::RawValue;

    fn node() -> Node {
        let opts =
            crate::config::Cli::parse_from(["chord-node", "--listen", "127.0.0.1:0"]).options;
        Node::new(Peer::from_addr("127.0.0.1:1"), opts)
    }

    fn entry(ts: u64) -> Entry {
        Entry {
            key: "k".into(),
            value: Some(Arc::from(RawValue::from_string("1".into()).unwrap())),
            version: Version { ts, node: 1 },
        }
    }

    #[test]
    fn a_single_replicated_write_older_than_the_held_one_is_reported() {
        let n = node();
        let rep = |ts| DataRequest::Replicate {
            entries: vec![entry(ts)],
        };
        assert!(matches!(
            n.handle_data(rep(5 << 16)),
            DataResponse::Applied(1)
        ));
        match n.handle_data(rep(3 << 16)) {
            DataResponse::Newer(v) => assert_eq!(v.ts, 5 << 16),
            other => panic!("expected Newer, got {other:?}"),
        }
        // The same version again (a re-sent copy) is an ordinary no-op.
        assert!(matches!(
            n.handle_data(rep(5 << 16)),
            DataResponse::Applied(0)
        ));
    }

    #[test]
    fn versions_far_in_the_future_are_refused() {
        let n = node();
        let far = (now_ms() + 2 * MAX_CLOCK_LEAD_MS) << 16;
        let req = DataRequest::Replicate {
            entries: vec![entry(far)],
        };
        assert!(matches!(n.handle_data(req), DataResponse::Applied(0)));
        assert!(n.entries().is_empty());
    }
}
