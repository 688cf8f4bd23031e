//! What configures a running node: [`Options`] (what operators set, one flag
//! each in the binary's `cli.rs`) and [`Tuning`] (sizes and limits that were
//! constants; tests shrink them to reach a rare case with little data).
//!
//! Plain data with a real [`Default`]: the library never reads the command
//! line or the environment, so an embedding or a test writes
//! `Options { replicas: 2, ..Options::default() }`.

use crate::id::Id;
use chord_proto::deadline::{DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_RPC_TIMEOUT_MS};
use std::net::SocketAddr;
use std::time::Duration;

/// Everything that configures a running node. Defaults are the flags' defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// `host:port` other nodes reach this one at; `None`: the listen address,
    /// or `$HOSTNAME:port` when listening on all interfaces.
    pub advertise: Option<String>,
    /// Ring members to join through, tried in turn; empty (or only this
    /// node's own address) starts a new ring. The seed listed first founds a
    /// new ring only when every other seed is certainly absent (see
    /// `RingState::seeding`), so it rejoins its ring when it restarts.
    pub join: Vec<String>,
    /// Ring id; `None`: SHA-1 of the advertised address. Only with one
    /// position ([`Options::vnodes`] = 1).
    pub id: Option<Id>,
    /// Positions this node takes on the ring (virtual nodes): position `i`
    /// at `SHA-1(advertise + "#" + i)` (see `chord_proto::peer`). 1: the node
    /// itself at `SHA-1(advertise)`.
    pub vnodes: u32,
    /// Length of the successor list.
    pub successors: u32,
    /// Replication factor R: copies of each key (owner + R−1 successors).
    pub replicas: u32,
    /// Write quorum W as asked for; `None`: R (see [`Options::write_quorum`]).
    pub write_quorum: Option<u32>,
    /// Shared secret every internal `/chord/*` call must carry as `Authorization: Bearer`.
    pub cluster_key: Option<String>,
    /// Ring maintenance period (stabilize, check predecessor, fix fingers).
    pub stabilize: Duration,
    /// Anti-entropy period: owners compare digests with their replica holders.
    pub repair: Duration,
    /// How long the entry node waits for the owner's reply before retrying once.
    pub request_timeout: Duration,
    /// Timeout of one node-to-node call; a peer that misses it counts as dead.
    pub rpc_timeout: Duration,
    /// Largest accepted request body in bytes.
    pub max_body: usize,
    /// How long tombstones are kept; must outlast repair so deletes stick.
    pub tombstone_grace: Duration,
    /// Hop ceiling: a request still travelling after this many hops fails (503).
    pub max_hops: u32,
    /// Owners' ranges the entry node remembers to send requests straight to
    /// the owner (see `crate::location`); 0 turns the cache off.
    pub location_cache: usize,
    /// Sizes and limits operators rarely touch.
    pub tuning: Tuning,
}

/// The longest successor list a position keeps.
pub const MAX_SUCCESSORS: u32 = 64;

/// Positions per node when `--vnodes` is not given.
pub const DEFAULT_VNODES: u32 = 1;

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([0, 0, 0, 0], 7000)),
            advertise: None,
            join: Vec::new(),
            id: None,
            vnodes: DEFAULT_VNODES,
            successors: 8,
            replicas: 3,
            write_quorum: None,
            cluster_key: None,
            stabilize: Duration::from_millis(250),
            repair: Duration::from_millis(1000),
            request_timeout: Duration::from_millis(DEFAULT_REQUEST_TIMEOUT_MS),
            rpc_timeout: Duration::from_millis(DEFAULT_RPC_TIMEOUT_MS),
            max_body: 1 << 20,
            tombstone_grace: Duration::from_millis(600_000),
            max_hops: 32,
            location_cache: crate::location::DEFAULT_CAPACITY,
            tuning: Tuning::default(),
        }
    }
}

impl Options {
    /// Checks the ranges the flags enforce, for options built in code: a zero
    /// interval would panic the maintenance timer, zero replicas would
    /// acknowledge writes nobody holds, a zero sync list would never split.
    pub fn validate(&self) -> Result<(), String> {
        let checks: [(bool, &str); 14] = [
            ((1..=64).contains(&self.vnodes), "vnodes must be 1..=64"),
            (
                // It travels in a header, and is compared as sent.
                self.cluster_key
                    .as_deref()
                    .is_none_or(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_graphic())),
                "cluster_key must be visible ASCII without spaces",
            ),
            (
                // The part before a `/` is the node (see `chord_proto::peer`).
                self.advertise.as_deref().is_none_or(|a| !a.contains('/')),
                "advertise must be host:port, without a path",
            ),
            (
                self.vnodes == 1 || self.id.is_none(),
                "an explicit id needs vnodes = 1 (positions take their ids from the address)",
            ),
            (
                (1..=MAX_SUCCESSORS).contains(&self.successors),
                "successors must be 1..=64",
            ),
            ((1..=16).contains(&self.replicas), "replicas must be 1..=16"),
            (
                self.write_quorum.is_none_or(|w| (1..=16).contains(&w)),
                "write_quorum must be 1..=16",
            ),
            (!self.stabilize.is_zero(), "stabilize must be above zero"),
            (
                self.repair >= Duration::from_millis(10),
                "repair must be at least 10 ms",
            ),
            (
                !self.request_timeout.is_zero(),
                "request_timeout must be above zero",
            ),
            (
                !self.rpc_timeout.is_zero(),
                "rpc_timeout must be above zero",
            ),
            (
                (1..=1000).contains(&self.max_hops),
                "max_hops must be 1..=1000",
            ),
            (
                self.tuning.sync_list_max >= 1,
                "tuning.sync_list_max must be at least 1",
            ),
            (
                self.tuning.batch_bytes >= 1,
                "tuning.batch_bytes must be at least 1",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, why)) => Err((*why).to_string()),
            None => Ok(()),
        }
    }

    /// Effective write quorum W: as asked for, else R, and never above R.
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
    pub fn lease(&self) -> Duration {
        5 * self.repair + 4 * self.failure_detection()
    }

    /// About how long the ring takes to give up on a hung peer: `suspect_after`
    /// unanswered calls in a row, each an RPC timeout plus a maintenance tick.
    pub fn failure_detection(&self) -> Duration {
        let misses = crate::ring::RingOptions::default().suspect_after;
        misses * (self.rpc_timeout + self.stabilize)
    }
}

/// Sizes and limits of the data path. The defaults suit production; each says
/// what a deployment or a test would change it for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    /// Routed requests handled at once; more are refused (429) rather than
    /// queued, so a flood on `/chord/route` cannot exhaust memory. Raise it
    /// for a node with much memory and many concurrent clients.
    pub max_routed_in_flight: usize,
    /// Versions further than this ahead of our wall clock are refused (a
    /// version far in the future would pin the clock there). Clocks skewed by
    /// more need this raised, or better, fixed.
    pub max_clock_lead: Duration,
    /// Bytes of values per replicate message during repair and hand-off; keep
    /// it well below the receivers' `max_body`.
    pub batch_bytes: usize,
    /// `(id, version)` pairs per sync list message: a range holding more is
    /// compared in sub-ranges. Tests lower it to split ranges of a few keys.
    pub sync_list_max: usize,
    /// How long the owner remembers a request's outcome, so a retried delete
    /// still reports "deleted" and a retried put is not counted twice. Must
    /// outlast the entry node's retry (about two request timeouts).
    pub recent_window: Duration,
    /// At most this many remembered outcomes (bounds memory under heavy write load).
    pub recent_cap: usize,
    /// Owners one repair round hands orphans to (the rest wait for the next round).
    pub hand_off_owners: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            max_routed_in_flight: 10_000,
            max_clock_lead: Duration::from_secs(3600),
            batch_bytes: 4 << 20,
            sync_list_max: 4096,
            recent_window: Duration::from_secs(60),
            recent_cap: 200_000,
            hand_off_owners: 16,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_quorum_defaults_to_r_and_never_exceeds_it() {
        let o = |replicas, write_quorum| Options {
            replicas,
            write_quorum,
            ..Options::default()
        };
        assert_eq!(o(3, None).write_quorum(), 3);
        assert_eq!(o(3, Some(2)).write_quorum(), 2);
        assert_eq!(o(2, Some(5)).write_quorum(), 2);
    }

    #[test]
    fn the_lease_outlasts_failure_detection_several_times() {
        let o = Options::default();
        // suspect_after 3: 3 × (1 s + 250 ms); lease 5 × 1 s + 4 × that.
        assert_eq!(o.failure_detection(), Duration::from_millis(3750));
        assert_eq!(o.lease(), Duration::from_millis(20_000));
    }

    #[test]
    fn the_defaults_are_valid_and_out_of_range_values_are_named() {
        assert_eq!(Options::default().validate(), Ok(()));
        let bad = |f: fn(&mut Options)| {
            let mut o = Options::default();
            f(&mut o);
            o.validate().unwrap_err()
        };
        assert!(bad(|o| o.stabilize = Duration::ZERO).contains("stabilize"));
        assert!(bad(|o| o.advertise = Some("h:1/v2".into())).contains("advertise"));
        assert!(bad(|o| o.cluster_key = Some("two words".into())).contains("cluster_key"));
        assert!(bad(|o| o.cluster_key = Some("caf\u{e9}".into())).contains("cluster_key"));
        assert!(bad(|o| o.vnodes = 0).contains("vnodes"));
        assert!(bad(|o| o.vnodes = 65).contains("vnodes"));
        assert!(bad(|o| {
            o.vnodes = 2;
            o.id = Some(Id([1; 20]));
        })
        .contains("explicit id"));
        assert!(bad(|o| o.replicas = 0).contains("replicas"));
        assert!(bad(|o| o.write_quorum = Some(0)).contains("write_quorum"));
        assert!(bad(|o| o.tuning.sync_list_max = 0).contains("sync_list_max"));
        assert!(bad(|o| o.repair = Duration::from_millis(9)).contains("repair"));
    }
}
