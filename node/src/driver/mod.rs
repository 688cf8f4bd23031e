//! The async driver: owns the ring state and the store, runs the maintenance
//! ticks and repair rounds, routes client operations hop by hop and
//! coordinates writes at the owner.
//!
//! Locks are `std` mutexes held only for short synchronous sections, never
//! across an `.await` (the protocol logic under them is pure and fast).
//!
//! The work is split by where it happens: `maintenance` keeps the ring
//! (ticks and ring RPCs), `routed` carries client operations hop by hop with
//! direct replies, `owner` executes them where the key lives (quorum writes,
//! reads with fallback), and `replica` serves replica traffic, runs repair
//! rounds and hands data off on leave.

use crate::absence::Settling;
use crate::config::Options;
use crate::dedup::{Begin, Executed, InFlight, Recent};
use crate::digest::Digest;
use crate::id::Id;
use crate::location::LocationCache;
use crate::metrics::Metrics;
use crate::peer::{CallError, PeerClient};
use crate::pending::Pending;
use crate::placement::replica_targets;
use crate::range::Range;
use crate::replication::{batches, diff, split_range, Leases};
pub use crate::request::ClientReply;
use crate::ring::{Outbound, Peer, Request, Response, RingOptions, RingState};
use crate::store::{Clock, Entry, Store, Version};
use crate::terms::Terms;
use crate::wire::{KvOp, KvOutcome, ReplicaRequest, ReplicaResponse, ReplyMsg, RouteMsg};
pub use chord_proto::api::Status;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, Notify};

mod batch;
mod in_flight;
mod maintenance;
mod owner;
mod replica;
mod routed;
pub use routed::RouteAnswer;

/// Key-value side of the node, behind one mutex.
struct Data {
    store: Store,
    clock: Clock,
    leases: Leases,
    /// Outcomes of recent routed writes by request id.
    recent: Recent,
    /// Routed writes being executed now, with retries of them waiting for the outcome.
    in_flight: InFlight,
    /// Orphans (copies outside our range that no other owner confirmed) handed
    /// to their owner: the version handed and when. Each is offered once.
    handed_off: HashMap<Id, (Version, u64)>,
    /// The replica holders the last repair round synced with (to release
    /// the ones that dropped out).
    last_targets: Vec<Peer>,
}

struct Shared {
    opts: Options,
    me: Peer,
    /// `me.addr` as a ready-made header value (`X-Chord-Owner` of local answers).
    addr_header: warp::http::HeaderValue,
    ring: Mutex<RingState>,
    data: Mutex<Data>,
    /// Owners' ranges learned from replies. May be taken while holding
    /// `ring`; `ring` is never taken while holding it.
    location: Mutex<LocationCache>,
    pending: Pending,
    peers: PeerClient,
    repairing: AtomicBool,
    repair_now: Notify,
    /// Routed requests this node may be handling at once (see `route_slot`).
    route_slots: Arc<tokio::sync::Semaphore>,
    /// When this node's neighbours last changed (or it found it had been
    /// frozen), in ms: data may still be on its way to the new holders.
    view_changed_ms: AtomicU64,
    /// When any entry of the successor list last changed, beyond the
    /// holders too, in ms: a node there may hold an orphan of our range
    /// (see [`Node::view_settling`]).
    list_changed_ms: AtomicU64,
    /// When the maintenance loop last ticked, in ms (0: not yet). A tick
    /// long overdue means this process was frozen or starved and has not
    /// noticed yet (see [`Node::view_settling`]).
    last_tick_ms: AtomicU64,
    /// When the last repair round that synced our range with every holder
    /// began, in ms (see [`Node::view_settling`]).
    synced_ms: AtomicU64,
    /// What `GET /metrics` exports.
    metrics: Metrics,
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

/// How late a maintenance tick must be before the process counts as having
/// been frozen (or starved): well past scheduling jitter on a busy machine.
fn tick_overdue_ms(stabilize_ms: u64) -> u64 {
    4 * stabilize_ms + 1000
}

/// `d` in whole milliseconds, the unit of this module's timestamps.
fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Sections under these locks do not leave state half-updated on panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Node {
    /// A node advertised as `me`, configured by `opts` (not started yet).
    ///
    /// Panics if `opts` fails [`Options::validate`].
    pub fn new(me: Peer, opts: Options) -> Node {
        let peers = PeerClient::new(opts.rpc_timeout, opts.cluster_key.as_deref());
        Node::with_client(me, opts, peers)
    }

    /// A node like [`Node::new`] calling its peers through `peers` (the
    /// positions of one host share one connection pool).
    ///
    /// Panics if `opts` fails [`Options::validate`].
    pub fn with_client(me: Peer, opts: Options, peers: PeerClient) -> Node {
        // A programming error in an embedder or test, not user input: the
        // binary's flags are validated (with a clear message) before this.
        if let Err(why) = opts.validate() {
            panic!("invalid node options: {why}");
        }
        let ring_opts = RingOptions {
            successor_list_len: opts.successors as usize,
            // Drawn per process: a node restarted at its old address that
            // founds a ring founds a new one, which probes never merge.
            ring_nonce: rand::random::<u64>() | 1,
            ..RingOptions::default()
        };
        let seeds = &opts.join;
        let others: Vec<Peer> = seeds
            .iter()
            .filter(|a| **a != me.addr)
            .map(|a| Peer::from_addr(a))
            .collect();
        let ring = if others.is_empty() {
            // No join target, or only our own address: found the ring.
            RingState::new_ring(me.clone(), ring_opts)
        } else {
            // Listed first among the seeds: found the ring if no other seed
            // is in one (see `RingState::seeding`).
            let founder = seeds.first() == Some(&me.addr);
            RingState::seeding(me.clone(), others, founder, ring_opts)
        };
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
                    recent: Recent::new(ms(opts.tuning.recent_window), opts.tuning.recent_cap),
                    handed_off: HashMap::new(),
                    last_targets: Vec::new(),
                    in_flight: InFlight::default(),
                }),
                location: Mutex::new(LocationCache::new(opts.location_cache)),
                pending: Pending::default(),
                peers,
                repairing: AtomicBool::new(false),
                repair_now: Notify::new(),
                view_changed_ms: AtomicU64::new(0),
                list_changed_ms: AtomicU64::new(0),
                last_tick_ms: AtomicU64::new(0),
                synced_ms: AtomicU64::new(0),
                metrics: Metrics::new(),
                route_slots: Arc::new(tokio::sync::Semaphore::new(
                    opts.tuning.max_routed_in_flight,
                )),
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

    /// Whether `key` falls in the range this node owns, as it sees its ring now.
    pub fn owns(&self, key: &Id) -> bool {
        lock(&self.inner.ring).view().owns(key)
    }

    /// Whether it has joined a ring.
    pub fn is_ready(&self) -> bool {
        lock(&self.inner.ring).is_joined()
    }

    /// Whether this node lost every neighbour it had (see `RingState::is_isolated`).
    fn is_isolated(&self) -> bool {
        lock(&self.inner.ring).is_isolated()
    }

    /// Notes that this node's view of its neighbours just changed.
    fn view_changed(&self) {
        self.inner
            .view_changed_ms
            .store(now_ms(), Ordering::Release);
    }

    /// Notes that its successor list changed somewhere (maybe only beyond
    /// the holders).
    fn list_changed(&self) {
        self.inner
            .list_changed_ms
            .store(now_ms(), Ordering::Release);
    }

    /// How settled this node's view is (see [`crate::absence::view_settling`]);
    /// also wholly unsettled while it has neighbours but no predecessor (it
    /// just joined, or its predecessor died, and repair cannot run without one).
    /// How late a tick makes this node's own misses unproven (see
    /// [`crate::absence::miss_overdue_ms`]).
    fn miss_overdue_ms(&self) -> u64 {
        let opts = &self.inner.opts;
        let stabilize = ms(opts.stabilize);
        crate::absence::miss_overdue_ms(
            stabilize,
            ms(opts.rpc_timeout),
            RingOptions::default().suspect_after,
            tick_overdue_ms(stabilize),
        )
    }

    fn view_settling(&self) -> Settling {
        // The tick time first: the first tick after a thaw marks the view
        // changed and then stores its time, so a reader that sees the new
        // tick time also sees the new change time.
        let last_tick_ms = self.inner.last_tick_ms.load(Ordering::Acquire);
        let changed_ms = self.inner.view_changed_ms.load(Ordering::Acquire);
        let synced_ms = self.inner.synced_ms.load(Ordering::Acquire);
        let list_changed_ms = self.inner.list_changed_ms.load(Ordering::Acquire);
        let (no_predecessor, alone) = {
            let ring = lock(&self.inner.ring);
            let no_predecessor = ring.predecessor().is_none();
            (
                no_predecessor,
                no_predecessor && ring.successors().is_empty(),
            )
        };
        let opts = &self.inner.opts;
        let s = crate::absence::view_settling(crate::absence::ViewClock {
            now_ms: now_ms(),
            changed_ms,
            settle_ms: 3 * ms(opts.repair),
            last_tick_ms,
            overdue_ms: tick_overdue_ms(ms(opts.stabilize)),
            miss_overdue_ms: self.miss_overdue_ms(),
            synced_ms: (!alone).then_some(synced_ms),
            list_changed_ms,
        });
        let orphaned = no_predecessor && !alone;
        Settling {
            distrust_values: s.distrust_values || orphaned,
            no_proof: s.no_proof || orphaned,
            miss_needs_poll: s.miss_needs_poll || orphaned,
        }
    }

    /// Starts the maintenance and repair loops (they stop when the runtime does).
    pub fn start(&self) {
        let node = self.clone();
        tokio::spawn(async move { node.maintenance_loop().await });
        let node = self.clone();
        tokio::spawn(async move { node.repair_loop().await });
    }

    /// Replaces the ring view (driver tests: a node placed in a given ring).
    #[cfg(test)]
    fn set_ring(&self, ring: RingState) {
        *lock(&self.inner.ring) = ring;
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
        let (owned, replica, tombstones) = self.key_counts(pred.as_ref(), &succs);
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
            positions: Vec::new(),
        }
    }

    /// Live keys owned, live keys held as a replica, and tombstones, with
    /// ownership as `owns` decides it for this view.
    fn key_counts(&self, pred: Option<&Peer>, succs: &[Peer]) -> (usize, usize, usize) {
        let view = crate::routing::RouteView {
            me: &self.inner.me,
            predecessor: pred,
            successors: succs,
            fingers: &[],
        };
        let (mut owned, mut replica, mut tombstones) = (0, 0, 0);
        let now = now_ms();
        let data = lock(&self.inner.data);
        for (id, e) in data.store.iter() {
            // An expired value not swept yet counts as the tombstone it is.
            if !e.is_live(now) {
                tombstones += 1;
            } else if view.owns(id) {
                owned += 1;
            } else {
                replica += 1;
            }
        }
        (owned, replica, tombstones)
    }

    /// This node's metrics, to count into.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The Prometheus text exposition of this node's metrics, now.
    pub fn render_metrics(&self) -> String {
        let (pred, succs, counters) = {
            let ring = lock(&self.inner.ring);
            (
                ring.predecessor().cloned(),
                ring.successors().to_vec(),
                ring.counters(),
            )
        };
        let (owned, replica, tombstones) = self.key_counts(pred.as_ref(), &succs);
        // The share of the id circle the successor list spans.
        let span = succs.last().map_or(0.0, |last| {
            self.inner.me.id.distance_to(&last.id).prefix_u64() as f64 / 2f64.powi(64)
        });
        let slots = self.inner.opts.tuning.max_routed_in_flight;
        let snapshot = crate::metrics::Snapshot {
            owned,
            replica,
            tombstones,
            ring_size: crate::metrics::estimate_ring_size(
                1 + succs.len(),
                succs.len() >= self.inner.opts.successors as usize,
                span,
            ),
            routed_in_flight: slots - self.inner.route_slots.available_permits().min(slots),
            ring: counters,
        };
        self.inner.metrics.render(&snapshot)
    }

    /// Every entry held, tombstones included (for placement checks).
    pub fn entries(&self) -> Vec<(Id, Entry)> {
        let data = lock(&self.inner.data);
        data.store.iter().map(|(id, e)| (*id, e.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn node() -> Node {
        Node::new(Peer::from_addr("127.0.0.1:1"), Options::default())
    }

    fn entry(ts: u64) -> Entry {
        Entry {
            key: "k".into(),
            value: Some(Arc::from(RawValue::from_string("1".into()).unwrap())),
            version: Version { ts, node: 1 },
            expires_ms: None,
        }
    }

    #[test]
    fn a_single_replicated_write_older_than_the_held_one_is_reported() {
        let n = node();
        let rep = |ts| ReplicaRequest::Replicate {
            entries: vec![entry(ts)],
        };
        assert!(matches!(
            n.handle_data(rep(5 << 16)),
            ReplicaResponse::Applied(1)
        ));
        match n.handle_data(rep(3 << 16)) {
            ReplicaResponse::Newer(v) => assert_eq!(v.ts, 5 << 16),
            other => panic!("expected Newer, got {other:?}"),
        }
        // The same version again (a re-sent copy) is an ordinary no-op.
        assert!(matches!(
            n.handle_data(rep(5 << 16)),
            ReplicaResponse::Applied(0)
        ));
    }

    #[test]
    fn versions_far_in_the_future_are_refused() {
        let n = node();
        let far = (now_ms() + 2 * ms(n.options().tuning.max_clock_lead)) << 16;
        let req = ReplicaRequest::Replicate {
            entries: vec![entry(far)],
        };
        assert!(matches!(n.handle_data(req), ReplicaResponse::Applied(0)));
        assert!(n.entries().is_empty());
    }
}
