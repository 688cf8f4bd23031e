//! Command line and environment: every flag is also `CHORD_<FLAG>`.
//!
//! [`Flags`] stays close to what the user typed (times in milliseconds, the
//! seed list as one string); `Options::try_from` turns it into the library's
//! plain [`Options`], checking what clap cannot. Only the binary parses flags:
//! the library never reads the command line or the environment.

use anyhow::Context;
use chord_node::config::{Options, Tuning};
use chord_node::id::Id;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::time::Duration;

/// `chord-node`: a node of a Chord-based in-memory key-value store.
#[derive(Parser, Debug, Clone)]
#[command(name = "chord-node", version, about, long_about = None)]
pub struct Cli {
    /// Node flags (used when no subcommand is given).
    #[command(flatten)]
    pub flags: Flags,
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

// The defaults below are written out (not read from `Options::default()`):
// `--help` shows them, and deploy/tests reads them from this file. A unit
// test keeps the two in step.

/// The node's flags as given. Times are in milliseconds.
#[derive(Args, Debug, Clone)]
pub struct Flags {
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
    /// Positions on the ring (virtual nodes): position i at
    /// SHA-1(advertise + "#" + i), answering under /v{i}; 1 is the node
    /// itself at SHA-1(advertise). Copies of a key go to distinct nodes.
    #[arg(long, env = "CHORD_VNODES", default_value_t = chord_node::config::DEFAULT_VNODES, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub vnodes: u32,
    /// Length of the successor list (of each position; with vnodes > 1 each
    /// position keeps this many plus vnodes, so that its list spans R nodes).
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
    #[arg(long, env = "CHORD_REQUEST_TIMEOUT_MS", default_value_t = chord_proto::deadline::DEFAULT_REQUEST_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
    /// Timeout of one node-to-node call; a peer that misses it counts as dead.
    #[arg(long, env = "CHORD_RPC_TIMEOUT_MS", default_value_t = chord_proto::deadline::DEFAULT_RPC_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
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
    /// Owners' ranges remembered so that requests go straight to a key's
    /// owner, learned from the owners' replies; 0 turns the cache off.
    #[arg(long, env = "CHORD_LOCATION_CACHE", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub location_cache: u32,
    /// `(id, version)` pairs per sync list message; a range holding more is
    /// compared in sub-ranges. Hidden: for tests that split ranges of a few keys.
    #[arg(long, env = "CHORD_SYNC_LIST_MAX", default_value_t = 4096, hide = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub sync_list_max: u32,
}

impl TryFrom<Flags> for Options {
    type Error = anyhow::Error;

    /// The options these flags ask for (`threads` is the binary's, for the
    /// runtime, and not part of them); fails on an `--id` that is not an id.
    fn try_from(f: Flags) -> anyhow::Result<Options> {
        let id = match f.id {
            Some(hex) => Some(
                Id::from_hex(&hex)
                    .with_context(|| format!("--id must be 40 hex digits, got {hex:?}"))?,
            ),
            None => None,
        };
        let opts = Options {
            listen: f.listen,
            advertise: f.advertise,
            join: seed_list(f.join.as_deref().unwrap_or("")),
            id,
            vnodes: f.vnodes,
            successors: f.successors,
            replicas: f.replicas,
            write_quorum: f.write_quorum,
            cluster_key: f.cluster_key,
            stabilize: Duration::from_millis(f.stabilize_ms),
            repair: Duration::from_millis(f.repair_ms),
            request_timeout: Duration::from_millis(f.request_timeout_ms),
            rpc_timeout: Duration::from_millis(f.rpc_timeout_ms),
            max_body: f.max_body,
            tombstone_grace: Duration::from_millis(f.tombstone_grace_ms),
            max_hops: f.max_hops,
            location_cache: f.location_cache as usize,
            tuning: Tuning {
                sync_list_max: f.sync_list_max as usize,
                ..Tuning::default()
            },
        };
        // The flags' ranges already hold; this keeps the two lists honest.
        opts.validate().map_err(anyhow::Error::msg)?;
        Ok(opts)
    }
}

/// The join targets in `--join`: split at commas, blanks dropped.
fn seed_list(join: &str) -> Vec<String> {
    join.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Flags given explicitly for every argument with a declared default, so
    /// `CHORD_*` variables in the test's environment cannot change the result.
    fn defaults_spelled_out() -> Vec<String> {
        let cmd = Cli::command();
        let mut args = vec!["chord-node".to_string()];
        for arg in cmd.get_arguments() {
            let (Some(long), [value]) = (arg.get_long(), arg.get_default_values()) else {
                continue;
            };
            args.push(format!("--{long}"));
            args.push(value.to_string_lossy().into_owned());
        }
        args
    }

    #[test]
    fn the_flags_defaults_are_the_options_defaults() {
        let flags = Cli::parse_from(defaults_spelled_out()).flags;
        let parsed = Options::try_from(flags).unwrap();
        // The flags without a default are `None` in both unless the
        // environment sets them; compare the rest.
        let want = Options {
            advertise: parsed.advertise.clone(),
            join: parsed.join.clone(),
            id: parsed.id,
            write_quorum: parsed.write_quorum,
            cluster_key: parsed.cluster_key.clone(),
            ..Options::default()
        };
        assert_eq!(parsed, want);
    }

    #[test]
    fn times_are_milliseconds_and_seeds_a_list() {
        let flags = Cli::parse_from([
            "chord-node",
            "--stabilize-ms",
            "100",
            "--tombstone-grace-ms",
            "5000",
            "--join",
            " a:1, ,b:2,",
            "--sync-list-max",
            "50",
        ])
        .flags;
        let o = Options::try_from(flags).unwrap();
        assert_eq!(o.stabilize, Duration::from_millis(100));
        assert_eq!(o.tombstone_grace, Duration::from_secs(5));
        assert_eq!(o.join, ["a:1", "b:2"]);
        assert_eq!(o.tuning.sync_list_max, 50);
    }

    #[test]
    fn an_id_must_be_forty_hex_digits() {
        let hex = "ab".repeat(20);
        let flags = Cli::parse_from(["chord-node", "--id", &hex]).flags;
        let id = Options::try_from(flags).unwrap().id;
        assert_eq!(id, Id::from_hex(&hex));
        let flags = Cli::parse_from(["chord-node", "--id", "xyz"]).flags;
        let err = Options::try_from(flags).unwrap_err();
        assert_eq!(err.to_string(), r#"--id must be 40 hex digits, got "xyz""#);
    }

    #[test]
    fn the_sync_list_flag_is_hidden_and_checked() {
        let help = Cli::command().render_help().to_string();
        assert!(!help.contains("sync-list-max"), "{help}");
        assert!(Cli::try_parse_from(["chord-node", "--sync-list-max", "0"]).is_err());
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
