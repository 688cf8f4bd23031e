//! Command line and environment: every flag is also `CHORD_<FLAG>`.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;

/// `chord-node`: a node of a Chord-based in-memory key-value store.
#[derive(Parser, Debug, Clone)]
#[command(name = "chord-node", version, about, long_about = None)]
pub struct Cli {
    /// Node options (used when no subcommand is given).
    #[command(flatten)]
    pub options: Options,
    /// An optional subcommand.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands besides running a node.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Exit 0 if a node answers `GET /healthz` (for container health checks).
    Healthcheck {
        /// The node to ask.
        #[arg(long, env = "CHORD_HEALTHCHECK_ADDR", default_value = "127.0.0.1:7000")]
        addr: String,
    },
}

/// Everything that configures a running node. Times are in milliseconds.
#[derive(Args, Debug, Clone)]
pub struct Options {
    /// Address to listen on (port 0 picks a free port, printed at start).
    #[arg(long, env = "CHORD_LISTEN", default_value = "0.0.0.0:7000")]
    pub listen: SocketAddr,
    /// `host:port` other nodes reach this one at; default: the listen address,
    /// or `$HOSTNAME:port` when listening on all interfaces.
    #[arg(long, env = "CHORD_ADVERTISE")]
    pub advertise: Option<String>,
    /// `host:port` of any ring member to join through; none (or this node's
    /// own address) starts a new ring. A comma-separated list of seeds is
    /// tried in turn; the seed listed first founds a new ring only after 20
    /// maintenance ticks in which every other seed was certainly absent
    /// (refused, or not a member; a silent one postpones it), so it rejoins
    /// its ring through the others when it restarts.
    #[arg(long, env = "CHORD_JOIN")]
    pub join: Option<String>,
    /// Ring id as 40 hex digits instead of SHA-1 of the advertised address.
    #[arg(long, env = "CHORD_ID")]
    pub id: Option<String>,
    /// Length of the successor list.
    #[arg(long, env = "CHORD_SUCCESSORS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub successors: u32,
    /// Replication factor R: copies of each key (owner + R−1 successors).
    #[arg(long, env = "CHORD_REPLICAS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub replicas: u32,
    /// Write quorum W: holders that must apply a write before it is acknowledged
    /// (default R; capped at the number of nodes in the ring).
    #[arg(long, env = "CHORD_WRITE_QUORUM", value_parser = clap::value_parser!(u32).range(1..=16))]
    pub write_quorum: Option<u32>,
    /// Shared secret every internal `/chord/*` call must carry as `Authorization: Bearer`.
    #[arg(long, env = "CHORD_CLUSTER_KEY", hide_env_values = true)]
    pub cluster_key: Option<String>,
    /// Ring maintenance period (stabilize, check predecessor, fix fingers).
    #[arg(long, env = "CHORD_STABILIZE_MS", default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..))]
    pub stabilize_ms: u64,
    /// Anti-entropy period: owners compare digests with their replica holders.
    #[arg(long, env = "CHORD_REPAIR_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..))]
    pub repair_ms: u64,
    /// How long the entry node waits for the owner's reply before retrying once.
    #[arg(long, env = "CHORD_REQUEST_TIMEOUT_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
    /// Timeout of one node-to-node call; a peer that misses it counts as dead.
    #[arg(long, env = "CHORD_RPC_TIMEOUT_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub rpc_timeout_ms: u64,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "CHORD_MAX_BODY", default_value_t = 1 << 20)]
    pub max_body: usize,
    /// How long tombstones are kept; must outlast repair so deletes stick.
    #[arg(long, env = "CHORD_TOMBSTONE_GRACE_MS", default_value_t = 600_000)]
    pub tombstone_grace_ms: u64,
    /// Worker threads of the node's runtime (default: one per CPU). When many
    /// nodes share few cores, 1 saves cross-thread wake-ups on every hop.
    #[arg(long, env = "CHORD_THREADS", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: Option<u32>,
    /// Hop ceiling: a request still travelling after this many hops fails (503).
    #[arg(long, env = "CHORD_MAX_HOPS", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_hops: u32,
}

impl Options {
    /// The join targets: `--join` split at commas, blanks dropped.
    pub fn join_list(&self) -> Vec<String> {
        self.join
            .iter()
            .flat_map(|j| j.split(','))
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Effective write quorum W (defaults to R).
    pub fn write_quorum(&self) -> usize {
        self.write_quorum
            .unwrap_or(self.replicas)
            .min(self.replicas) as usize
    }

    /// How long a replica copy stays without its owner confirming it.
    ///
    /// A hung owner stops confirming, yet its holders are exactly where its
    /// keys must stay until the ring has handed its range to the successor
    /// (failure detection there and at the predecessor, then a repair round
    /// of the new owner, which confirms the holders again). So the lease
    /// outlasts that takeover several times over, however slow the RPC
    /// timeout makes detection; five repair periods alone did not, and lost
    /// a paused owner's keys (`a_paused_owner_keeps_its_keys…` in the tests).
    pub fn lease_ms(&self) -> u64 {
        5 * self.repair_ms + 4 * self.failure_detection_ms()
    }

    /// About how long the ring takes to give up on a hung peer: `suspect_after`
    /// unanswered calls in a row, each an RPC timeout plus a maintenance tick.
    pub fn failure_detection_ms(&self) -> u64 {
        let misses = crate::ring::RingOptions::default().suspect_after as u64;
        misses * (self.rpc_timeout_ms + self.stabilize_ms)
    }
}

/// The async runtime `--threads` asks for: by default one worker per CPU; with
/// one thread a current-thread runtime, which skips the work-stealing
/// scheduler's cross-thread bookkeeping on every wake-up (measured: about 10 %
/// more routed requests per second on a crowded 2-core machine).
pub fn runtime(threads: Option<u32>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n as usize);
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build()
}

impl Default for Options {
    fn default() -> Self {
        Cli::parse_from(["chord-node"]).options
    }
}
