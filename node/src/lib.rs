//! `chord-node`: one node of a distributed in-memory key-value store on a Chord ring.
//!
//! The pieces, bottom up:
//! * From the shared contract crate `chord_proto` (re-exported here under
//!   the same names): [`id`], [`range`], [`placement`], [`entry`],
//!   [`digest`], [`wire`] — identifiers and ring arithmetic, who holds a key,
//!   and every message nodes exchange.
//! * [`ring`] — Chord ring maintenance (join, stabilize, rectify, fingers) as a
//!   pure state machine after Zave's corrected protocol; the module doc is the
//!   protocol essay.
//! * [`routing`] — the next hop for a key (pure), shared by lookups and requests.
//! * [`request`] — the data path's decisions (pure): the entry's attempts and
//!   its one retry, a hop's hedged hand-off, the owner's quorum write.
//! * [`location`] — the entry node's cache of owners' ranges (pure).
//! * [`absence`] — when an owner without a copy may answer "not found" (pure).
//! * [`store`] — the versioned in-memory map with tombstones and a hybrid clock.
//! * [`replication`] — holders of a key, range digests, diffs and leases (pure).
//! * [`config`] — `Options` (every interval, size and limit, with real defaults)
//!   and the runtime `--threads` asks for; the binary's `cli.rs` maps flags and
//!   `CHORD_*` variables onto them.
//! * [`peer`] — the one shared HTTP client nodes use to call each other, over
//!   [`conn_pool`]'s keep-alive connections and [`http1`]'s request and
//!   answer bytes (pure).
//! * [`pending`] — request ids waiting for the owner's direct reply.
//! * [`dedup`] — outcomes of recent routed writes, so retries are answered once.
//! * [`driver`] — the async driver: owns the state, runs ticks and repair rounds,
//!   routes client operations and coordinates writes.
//! * [`host`] — a node's positions on the ring (virtual nodes) behind one
//!   listener: where a client request enters, the node's summed status.
//! * [`server`] — the warp front: public `/kv`, `/status`, health; internal `/chord/*`.
//!
//! Only the I/O layer (`peer`, `conn_pool`, `driver`, `host`, `server`)
//! touches sockets or clocks.

#![warn(missing_docs)]

pub use chord_proto::{digest, entry, id, placement, range, wire};

pub mod absence;
pub mod batch;
pub mod config;
pub mod conn_pool;
pub mod dedup;
pub mod driver;
pub mod host;
pub mod http1;
pub mod location;
pub mod metrics;
pub mod peer;
pub mod pending;
pub mod replication;
pub mod request;
pub mod ring;
pub mod routing;
pub mod server;
pub mod store;
pub mod terms;
