//! `chordctl bench`: a generated workload against a running ring, measured.
//!
//! The pieces, pure ones first:
//! - [`args`]: the flags, validated into a [`BenchPlan`] before anything runs
//! - [`workload`]: which operation and which key comes next (uniform or
//!   Zipf), and the value written
//! - [`histogram`]: latencies: an HdrHistogram for the percentiles, with
//!   the exact mean and extremes
//! - [`tally`]: how each request counts (ok, not found, error by kind),
//!   latency and hops, per worker
//! - [`report`]: the final report, as JSON or as tables
//! - [`run`]: the only part that touches the network, the clock and the
//!   terminal: entry nodes, preload, the worker loops, the progress bar
//!
//! # The workload
//!
//! Keys are `bench-0` … `bench-{N-1}`. Each request goes to an entry node
//! chosen at random among the live nodes (those answering `/readyz` when
//! the run starts), which routes it to the key's owner; the node's
//! `X-Chord-Hops` header tells how many hops that took. Values are JSON
//! strings of exactly `--value-size` bytes, quotes included. With
//! `--preload`, every key is written once before the clock starts, so that
//! gets find their key and a 404 is an error, not a miss.
//!
//! # Closed and open loop
//!
//! Without `--rate`, `--concurrency` workers each send a request, wait for
//! the answer and send the next one (closed loop): the load adapts to the
//! ring's speed and latency is measured from the moment a request is sent.
//!
//! With `--rate R`, request `i` is due at `start + i/R` (open loop). The
//! `--concurrency` workers take the due slots in order; when all of them
//! are busy a slot waits, and its latency still counts from the time it was
//! *due*, not from when it could be sent. Without that correction a slow
//! ring would quietly lower the offered load and hide its own slowness
//! ("coordinated omission"). The report says how late sends were and how
//! many slots could not be sent before the end (`missed`).
//!
//! # Caveats
//!
//! - The entry nodes are chosen once, at the start: a node killed during
//!   the run shows up as connection errors, a node added is not used.
//! - Latency covers every request that got an HTTP answer, whatever its
//!   status; timeouts and connection errors are counted, not timed.
//! - The keys stay in the ring after the run (`chordctl check` counts them).

mod args;
mod histogram;
mod report;
mod run;
mod tally;
mod workload;

pub use args::{BenchArgs, BenchPlan, LONG_ABOUT};
pub use run::{on_cluster, on_targets};
