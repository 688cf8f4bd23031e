//! Where nodes run. [`Runtime`] is the small set of operations the commands
//! need; [`docker::DockerRuntime`] keeps nodes in containers (state in
//! container labels), [`process::ProcessRuntime`] keeps them as local
//! processes (state in a JSON file per cluster), and
//! [`compose::ComposeRuntime`] reads a ring that Docker Compose started, and
//! [`swarm::SwarmRuntime`] one that `docker stack deploy` put on Docker Swarm
//! (what those two share, reading through the engine and refusing what the
//! orchestrator manages, is in [`orchestrated`]).
//!
//! Neither runtime knows anything about Chord beyond the node's command-line
//! contract: waiting for the ring and checking it live in the commands.

pub mod compose;
pub mod docker;
pub mod orchestrated;
pub mod process;
pub mod swarm;

use std::path::PathBuf;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::output::Progress;

/// Why the process runtime cannot cut a network, for its error messages.
pub const NO_PARTITION_HERE: &str = "partitions need separate networks: local processes \
share the loopback interface, so use the Docker runtime (the default)";

/// The node's environment variable for `--vnodes`.
pub const VNODES_ENV: &str = "CHORD_VNODES";

/// Port every node listens on inside its container.
pub const NODE_PORT: u16 = 7000;

/// Everything needed to start another node of a cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// Cluster name.
    pub name: String,
    /// Secret shared by the nodes for their internal API.
    pub key: String,
    /// Replication factor passed to every node.
    pub replicas: u32,
    /// Ring positions (virtual nodes) passed to every node as
    /// [`VNODES_ENV`]; `None` passes nothing, so the node's default applies
    /// (and state files written before vnodes still load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnodes: Option<u32>,
    /// What nodes are started from: an image reference (docker) or the
    /// path of the chord-node executable (process).
    pub program: String,
}

/// One node as the runtime sees it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    /// Name users type (`chord-<cluster>-<index>`).
    pub name: String,
    /// Position in creation order, from 1.
    pub index: u32,
    /// Address other nodes reach it at (what it advertises).
    pub advertise: String,
    /// `127.0.0.1:port` where chordctl reaches it, while it runs.
    pub endpoint: Option<String>,
    /// Whether its container or process is alive.
    pub running: bool,
}

/// A cluster found by a runtime.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// How to start more nodes like these.
    pub spec: ClusterSpec,
    /// The nodes, sorted by index.
    pub nodes: Vec<NodeInfo>,
}

impl Cluster {
    /// Finds a node by full name or by index (`3` means `chord-<cluster>-3`).
    pub fn node(&self, name_or_index: &str) -> Result<&NodeInfo> {
        let found = self.nodes.iter().find(|n| {
            n.name == name_or_index || name_or_index.parse::<u32>().ok() == Some(n.index)
        });
        found.ok_or_else(|| {
            let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
            anyhow::anyhow!(
                "no node {name_or_index:?} in cluster {:?} (nodes: {})",
                self.spec.name,
                names.join(", ")
            )
        })
    }

    /// Running nodes that have an endpoint.
    pub fn running(&self) -> Vec<&NodeInfo> {
        self.nodes
            .iter()
            .filter(|n| n.running && n.endpoint.is_some())
            .collect()
    }

    /// The next free index.
    pub fn next_index(&self) -> u32 {
        self.nodes.iter().map(|n| n.index).max().unwrap_or(0) + 1
    }
}

/// The name of node `index` of `cluster`; the same scheme in both runtimes
/// so that commands and scripts work unchanged.
pub fn node_name(cluster: &str, index: u32) -> String {
    format!("chord-{cluster}-{index}")
}

/// What `remove_cluster` removed.
#[derive(Debug, Default, Serialize)]
pub struct Removed {
    /// Nodes removed (running or not).
    pub nodes: Vec<String>,
    /// Other resources removed (network, state file).
    pub other: Vec<String>,
}

/// Operations on the nodes of a cluster.
///
/// Used through generics, not `dyn`, so the methods can be plain `async fn`.
#[allow(async_fn_in_trait)] // only used inside this crate, on one task
pub trait Runtime {
    /// Human name for messages ("docker", "process").
    fn kind(&self) -> &'static str;

    /// The cluster's nodes, or `None` when it has none.
    async fn find(&self, cluster: &str) -> Result<Option<Cluster>>;

    /// Gets ready to start nodes of a new cluster (image, network, state
    /// file) and settles `spec.program` (the image given, or the located
    /// executable). `up` calls it once.
    async fn prepare(&self, spec: &mut ClusterSpec, progress: &Progress) -> Result<()>;

    /// Starts node `index`, joining through `join` (an advertise address)
    /// when given, and returns it with its endpoint.
    async fn start_node(
        &self,
        spec: &ClusterSpec,
        index: u32,
        join: Option<&str>,
    ) -> Result<NodeInfo>;

    /// Kills a node with SIGKILL. It stays listed, as not running.
    async fn kill(&self, cluster: &str, node: &NodeInfo) -> Result<()>;

    /// Stops a node gracefully (SIGTERM, then SIGKILL after a grace period)
    /// if it runs, so that `start_node` can start its index again.
    async fn remove_node(&self, cluster: &str, node: &NodeInfo) -> Result<()>;

    /// Whether the node is still alive.
    async fn is_running(&self, cluster: &str, node: &NodeInfo) -> Result<bool>;

    /// The node's log; with `follow`, keeps writing to stdout until the
    /// node stops.
    async fn logs(
        &self,
        cluster: &str,
        node: &NodeInfo,
        follow: bool,
        tail: Option<u32>,
    ) -> Result<()>;

    /// The last lines of a node's log, for error messages.
    async fn log_tail(&self, cluster: &str, node: &NodeInfo, lines: u32) -> Result<String>;

    /// Freezes a running node (Docker pause, SIGSTOP): it keeps its
    /// connections but answers nothing, like a hung process.
    async fn pause(&self, cluster: &str, node: &NodeInfo) -> Result<()>;

    /// Lets a paused node run again.
    async fn resume(&self, cluster: &str, node: &NodeInfo) -> Result<()>;

    /// Cuts the cluster's network: the nodes of each group reach only each
    /// other (nodes in no group stay together on the cluster's network).
    async fn partition(&self, cluster: &str, groups: &[Vec<NodeInfo>]) -> Result<()>;

    /// Undoes every partition; returns the nodes that were moved back.
    async fn heal(&self, cluster: &str) -> Result<Vec<String>>;

    /// Removes every node and resource of the cluster. Idempotent.
    async fn remove_cluster(&self, cluster: &str) -> Result<Removed>;
}

/// Where to look for chord-node, in order: `--node-bin`/`CHORDCTL_NODE_BIN`,
/// next to chordctl's own executable (and in the static-build folder of
/// the cargo target folder it is in), then the cargo output folders under
/// the current directory.
pub fn node_bin_candidates(explicit: Option<&PathBuf>) -> Vec<PathBuf> {
    if let Some(path) = explicit {
        return vec![path.clone()];
    }
    let mut out = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
    {
        out.push(dir.join("chord-node"));
        // chordctl run from target/debug or target/release: the static
        // build sits in the same target folder.
        if let Some(target) = dir.parent() {
            out.push(target.join("x86_64-unknown-linux-gnu/release/chord-node"));
        }
    }
    for sub in ["x86_64-unknown-linux-gnu/release", "release", "debug"] {
        out.push(PathBuf::from("target").join(sub).join("chord-node"));
    }
    out
}

/// The command that builds the static chord-node, for error messages.
pub const STATIC_BUILD_HINT: &str = "RUSTFLAGS='-C target-feature=+crt-static' cargo build \
--release --target x86_64-unknown-linux-gnu -p chord-node";

/// Log level given to nodes: `CHORDCTL_NODE_LOG`, else `info`.
pub fn node_log_level() -> String {
    std::env::var("CHORDCTL_NODE_LOG").unwrap_or_else(|_| "info".to_string())
}

/// The last `lines` lines of `text`.
pub fn last_lines(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
