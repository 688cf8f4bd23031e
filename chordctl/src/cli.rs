//! The command line: clap definitions close to what the user types, and
//! [`Cli::into_plan`], which validates them into a [`Plan`] before anything
//! touches Docker, a process or the network.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

pub use crate::client::PutOptions;
use crate::duration::DurationArg;
use crate::exit;

/// Longest key the nodes accept, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// Image used when `--image` is not given.
pub const DEFAULT_IMAGE: &str = "chord-node:latest";

/// The most ring positions a node takes (the node's own limit for
/// `--vnodes`).
pub const MAX_VNODES: u32 = 64;

/// Start, drive and break a Chord ring of chord-node containers or processes.
#[derive(Debug, Parser)]
#[command(
    name = "chordctl",
    version,
    about = "Start, drive and break a Chord ring of chord-node containers or processes",
    long_about = "Start, drive and break a Chord ring of chord-node containers (default) \
or local processes (--runtime process).\n\n\
Example:\n  chordctl up 16\n  chordctl put user:1 '{\"name\":\"Ada\"}'\n  chordctl get user:1\n  \
chordctl kill --random 3\n  chordctl check --wait 30\n  chordctl down",
    after_help = "See `chordctl --help` for the exit codes.",
    after_long_help = exit::HELP
)]
pub struct Cli {
    /// Where nodes run: Docker containers or local processes.
    #[arg(long, global = true, value_enum, default_value_t = RuntimeKind::Docker, env = "CHORDCTL_RUNTIME")]
    pub runtime: RuntimeKind,

    /// Name of the cluster to act on.
    #[arg(
        long,
        global = true,
        default_value = "default",
        env = "CHORDCTL_CLUSTER"
    )]
    pub cluster: String,

    /// Output format of commands that print data (`svg`: `ring` only).
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// Act on a ring started by Docker Compose (compose/compose.yaml), found
    /// by its Compose labels; PROJECT defaults to the only such project.
    /// Overrides --runtime and --cluster. Nodes: the seed is 0, node-N is N.
    #[arg(
        long,
        global = true,
        value_name = "PROJECT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    pub compose: Option<String>,

    /// Act on a ring deployed on Docker Swarm (compose/stack.yaml), found by
    /// its stack label; STACK defaults to the only such stack. Overrides
    /// --runtime and --cluster. Nodes: the seed is 0, a node task its slot.
    #[arg(
        long,
        global = true,
        value_name = "STACK",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        conflicts_with = "compose"
    )]
    pub swarm: Option<String>,

    /// Path of the chord-node executable (static build for the image).
    #[arg(long, global = true, env = "CHORDCTL_NODE_BIN", value_name = "PATH")]
    pub node_bin: Option<PathBuf>,

    /// Say more: owner and hops for put/get/delete.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the nodes of a cluster run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeKind {
    /// One container per node on a Docker bridge network.
    Docker,
    /// One local process per node on 127.0.0.1.
    Process,
    /// Containers of a Docker Compose project (chosen with `--compose`).
    #[value(skip)]
    Compose,
    /// Task containers of a Docker Swarm stack (chosen with `--swarm`).
    #[value(skip)]
    Swarm,
}

/// How data is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON document for programs.
    Json,
    /// A picture of the ring as SVG (`ring` only).
    Svg,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a cluster of N nodes and wait until the ring is correct.
    Up(UpArgs),
    /// Remove the cluster's nodes (and network); does nothing if there are none.
    Down,
    /// One row per node: address, ring id, state, neighbours, keys.
    #[command(visible_alias = "ls")]
    Status,
    /// Nodes in ring order, their share of the key space (summed over their
    /// positions with virtual nodes), pointer agreement, and the balance
    /// (busiest share / mean); `--svg FILE` (or `-o svg`) also draws them.
    Ring(RingArgs),
    /// Store a JSON value under KEY.
    Put(PutArgs),
    /// Print the JSON value stored under KEY (a 503 is asked again for up to
    /// 10 s); with several keys, one multi-get printing `{"key": value, …}`.
    Get(GetArgs),
    /// Delete KEY.
    Delete(KeyArgs),
    /// Whether KEY exists (HEAD): prints `exists` (exit 0) or `absent`
    /// (exit 1), and the key's ETag on stderr.
    Exists(KeyArgs),
    /// Kill nodes with SIGKILL.
    Kill(KillArgs),
    /// Stop a node gracefully (if running) and start it again.
    Restart(RestartArgs),
    /// Cut the network: each GROUP of nodes (e.g. `1,2,3`) reaches only its
    /// own members; the nodes in no group stay together. Docker runtime only.
    Partition(PartitionArgs),
    /// Undo `partition`: every node back on the cluster's network.
    Heal,
    /// Add N nodes to the running cluster.
    Add(AddArgs),
    /// Print a node's log.
    Logs(LogsArgs),
    /// Verify the ring and the placement of every key; non-zero exit on any problem.
    Check(CheckArgs),
    /// Measure throughput, latency and hops under a generated workload.
    #[command(long_about = crate::bench::LONG_ABOUT)]
    Bench(crate::bench::BenchArgs),
    /// Jepsen-style run: clients under a seeded nemesis, then a check of
    /// the recorded history (lost writes, resurrected deletes, lost reads).
    Chaos(crate::chaos::ChaosArgs),
    /// Serve a live view of the ring in the browser (loopback only, unless
    /// --public): the ring every second, per-node counts, a get/put/delete
    /// form that draws the request's path.
    Ui(crate::ui::UiArgs),
    /// Print a shell completion script.
    Completion(CompletionArgs),
}

/// Arguments of `up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Number of nodes.
    #[arg(default_value_t = 3)]
    pub nodes: u32,
    /// Copies of each key (owner included).
    #[arg(long, default_value_t = 3)]
    pub replicas: u32,
    /// Ring positions (virtual nodes) each node takes, 1 to 64, passed to
    /// every node it starts (also later by `add` and `restart`) as
    /// `CHORD_VNODES`; without it the node's default applies.
    #[arg(long, value_name = "V")]
    pub vnodes: Option<u32>,
    /// Image to run (built from the chord-node binary if missing or older). Docker only.
    #[arg(long)]
    pub image: Option<String>,
    /// How long to wait for the whole cluster (e.g. 90s, 5m; a bare number is
    /// seconds); a half-made cluster is removed after that.
    #[arg(long, default_value = "2m", value_name = "DURATION", value_parser = DurationArg::secs(1, 86_400))]
    pub timeout: Duration,
}

/// Arguments of `ring`.
#[derive(Debug, Args)]
pub struct RingArgs {
    /// Also write a picture of the ring to FILE as SVG: nodes on the
    /// identifier circle, key space shaded by keys owned, successor
    /// pointers (`-o svg` prints the picture instead of the table).
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Draw this node's fingers in the picture (by name or index).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Draw the path of a traced GET of KEY (through a random running node)
    /// in the picture.
    #[arg(long, value_name = "KEY")]
    pub trace: Option<String>,
}

/// Arguments of `put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// The key (any UTF-8, 1 to 1024 bytes).
    pub key: String,
    /// The value, a JSON document (quote it for the shell).
    #[arg(allow_negative_numbers = true)]
    pub json: String,
    /// Write only if the key's current ETag is ETAG (as `put`, `get -v` or
    /// `exists` print it; `*`: only if the key exists). A failed condition
    /// changes nothing and exits 1.
    #[arg(long, value_name = "ETAG", conflicts_with = "create")]
    pub if_match: Option<String>,
    /// Create only: write only if the key does not exist (a deleted or
    /// expired key does not). Exits 1 if it does.
    #[arg(long)]
    pub create: bool,
    /// The value expires this long after the write (30, 30s, 5m, 2h; plain
    /// digits are seconds): then the key reads as absent. Approximate: up to a repair
    /// interval plus the nodes' clock skew. A put without --ttl makes the
    /// key permanent again.
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,
    /// Send the request to this node instead of a random live one.
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Ask for the request's path and print it to stderr: node names, each
    /// hop's reason, the owner's direct reply (stdout is unchanged).
    #[arg(long)]
    pub trace: bool,
}

/// Arguments of `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The key; several keys are read in one multi-get (POST
    /// /kv:batchGet) and printed as one JSON object of the keys found
    /// (missing ones on stderr, exit 3; unreadable ones exit 1).
    #[arg(required = true, num_args = 1..)]
    pub keys: Vec<String>,
    /// Send the request to this node instead of a random live one.
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Ask for the request's path and print it to stderr: node names, each
    /// hop's reason, the owner's direct reply (stdout is unchanged). One
    /// key only.
    #[arg(long)]
    pub trace: bool,
}

/// Arguments of `delete` and `exists`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The key.
    pub key: String,
    /// Send the request to this node instead of a random live one.
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Ask for the request's path and print it to stderr: node names, each
    /// hop's reason, the owner's direct reply (stdout is unchanged).
    #[arg(long)]
    pub trace: bool,
}

/// Arguments of `kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Kill K random running nodes.
    #[arg(
        long,
        value_name = "K",
        conflicts_with = "nodes",
        required_unless_present = "nodes"
    )]
    pub random: Option<u32>,
    /// Nodes to kill, by name (or by index, e.g. `3`).
    #[arg(value_name = "NODE")]
    pub nodes: Vec<String>,
}

/// Arguments of `partition`.
#[derive(Debug, Args)]
pub struct PartitionArgs {
    /// A group of nodes, by name or index, separated by commas.
    #[arg(value_name = "GROUP", required = true)]
    pub groups: Vec<String>,
}

/// Arguments of `restart`.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Node to restart, by name or index.
    pub node: String,
    /// How long to wait for the node to be back in the ring (e.g. 30s, 2m;
    /// a bare number is seconds).
    #[arg(long, default_value = "1m", value_name = "DURATION", value_parser = DurationArg::secs(1, 86_400))]
    pub timeout: Duration,
}

/// Arguments of `add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Number of nodes to add (at most 1000).
    #[arg(value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub nodes: u32,
    /// How long to wait for the new nodes to be in the ring (e.g. 90s, 5m;
    /// a bare number is seconds).
    #[arg(long, default_value = "2m", value_name = "DURATION", value_parser = DurationArg::secs(1, 86_400))]
    pub timeout: Duration,
}

/// Arguments of `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Node whose log to print, by name or index.
    pub node: String,
    /// Keep printing new lines until the node stops (or Ctrl-C).
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    pub tail: Option<u32>,
}

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Re-check until clean or until this long has passed (e.g. 60s, 2m,
    /// 500ms; a bare number is seconds). Useful right after a kill.
    #[arg(long, value_name = "DURATION", value_parser = DurationArg::secs(0, 86_400).sub_second())]
    pub wait: Option<Duration>,
}

/// Arguments of `completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// A validated command, ready to run.
#[derive(Debug)]
pub struct Plan {
    /// Where nodes run.
    pub runtime: RuntimeKind,
    /// The cluster's name (valid as part of a container name).
    pub cluster: String,
    /// Output format.
    pub output: OutputFormat,
    /// Explicit chord-node path, if given.
    pub node_bin: Option<PathBuf>,
    /// Print owner and hops for key operations.
    pub verbose: bool,
    /// What to do.
    pub action: Action,
}

/// Which node serves a key request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A random running node (another one is tried if it does not answer).
    Random,
    /// The node given with `--node`.
    Node(String),
}

/// A validated action.
#[derive(Debug)]
pub enum Action {
    /// Create a cluster.
    Up {
        /// Number of nodes, at least 1.
        nodes: u32,
        /// Replication factor, at least 1.
        replicas: u32,
        /// Positions per node, 1 to 64; `None` leaves the node's default.
        vnodes: Option<u32>,
        /// Image to run (docker runtime).
        image: String,
        /// Deadline for the whole start-up.
        timeout: Duration,
    },
    /// Remove the cluster.
    Down,
    /// Per-node table.
    Status,
    /// Ring-order table (or picture, with `-o svg`).
    Ring {
        /// Where to write the picture as well, if anywhere.
        svg: Option<PathBuf>,
        /// Whose fingers the picture draws (name or index).
        node: Option<String>,
        /// A key whose traced GET the picture draws.
        trace: Option<String>,
    },
    /// Store a value (already checked to be JSON).
    Put {
        /// The key.
        key: String,
        /// The JSON text exactly as given.
        value: String,
        /// Conditions (checked to be well-formed).
        opts: PutOptions,
        /// Node to ask.
        target: Target,
        /// Print the request's path (`--trace`).
        trace: bool,
    },
    /// Read several values at once (`get K1 K2 …`).
    GetMany {
        /// The keys, distinct, in the order given.
        keys: Vec<String>,
        /// Node to ask.
        target: Target,
    },
    /// Read a value.
    Get {
        /// The key.
        key: String,
        /// Node to ask.
        target: Target,
        /// Print the request's path (`--trace`).
        trace: bool,
    },
    /// Delete a key.
    Delete {
        /// The key.
        key: String,
        /// Node to ask.
        target: Target,
        /// Print the request's path (`--trace`).
        trace: bool,
    },
    /// Whether a key exists.
    Exists {
        /// The key.
        key: String,
        /// Node to ask.
        target: Target,
        /// Print the request's path (`--trace`).
        trace: bool,
    },
    /// Kill nodes.
    Kill(KillSelection),
    /// Cut the network into these groups (node names or indexes).
    Partition(Vec<Vec<String>>),
    /// Undo every partition.
    Heal,
    /// Restart one node.
    Restart {
        /// Node name or index.
        node: String,
        /// Deadline to be back in the ring.
        timeout: Duration,
    },
    /// Add nodes.
    Add {
        /// How many, at least 1.
        nodes: u32,
        /// Deadline for the ring to include them.
        timeout: Duration,
    },
    /// Print a log.
    Logs {
        /// Node name or index.
        node: String,
        /// Follow new output.
        follow: bool,
        /// Last N lines only.
        tail: Option<u32>,
    },
    /// Verify ring and data.
    Check {
        /// Keep re-checking this long until clean.
        wait: Option<Duration>,
    },
    /// Run a benchmark.
    Bench(crate::bench::BenchPlan),
    /// Run a chaos test.
    Chaos(crate::chaos::ChaosPlan),
    /// Serve the live view.
    Ui(crate::ui::UiPlan),
    /// Print a completion script.
    Completion(Shell),
}

/// Which nodes `kill` hits.
#[derive(Debug, PartialEq, Eq)]
pub enum KillSelection {
    /// This many random running nodes.
    Random(u32),
    /// These nodes.
    Named(Vec<String>),
}

impl Cli {
    /// Checks everything that can be checked without the cluster and turns
    /// the arguments into a [`Plan`]. Errors carry exit code 2.
    pub fn into_plan(self) -> anyhow::Result<Plan> {
        let (runtime, cluster) = match (self.compose, self.swarm) {
            (Some(project), _) => (RuntimeKind::Compose, project),
            (None, Some(stack)) => (RuntimeKind::Swarm, stack),
            (None, None) => (self.runtime, self.cluster),
        };
        let found_later = matches!(runtime, RuntimeKind::Compose | RuntimeKind::Swarm);
        if !found_later || !cluster.is_empty() {
            validate_cluster_name(&cluster)?;
        }
        let action = match self.command {
            Command::Up(args) => {
                if args.nodes == 0 || args.nodes > 1000 {
                    return Err(exit::usage("up: the number of nodes must be 1 to 1000"));
                }
                if args.replicas == 0 {
                    return Err(exit::usage("up: --replicas must be at least 1"));
                }
                if args.vnodes.is_some_and(|v| !(1..=MAX_VNODES).contains(&v)) {
                    return Err(exit::usage(format!(
                        "up: --vnodes must be 1 to {MAX_VNODES}"
                    )));
                }
                if args.image.is_some() && runtime == RuntimeKind::Process {
                    return Err(exit::usage("up: --image only applies to --runtime docker"));
                }
                Action::Up {
                    nodes: args.nodes,
                    replicas: args.replicas,
                    vnodes: args.vnodes,
                    image: args.image.unwrap_or_else(|| DEFAULT_IMAGE.to_string()),
                    timeout: args.timeout,
                }
            }
            Command::Down => Action::Down,
            Command::Status => Action::Status,
            Command::Ring(args) => {
                let drawn = args.svg.is_some() || self.output == OutputFormat::Svg;
                if args.node.is_some() && !drawn {
                    return Err(exit::usage(
                        "ring: --node picks whose fingers the picture draws; \
                         add --svg FILE or -o svg",
                    ));
                }
                if let Some(key) = &args.trace {
                    if !drawn {
                        return Err(exit::usage(
                            "ring: --trace draws a lookup's path in the picture; \
                             add --svg FILE or -o svg",
                        ));
                    }
                    validate_key(key)?;
                }
                Action::Ring {
                    svg: args.svg,
                    node: args.node,
                    trace: args.trace,
                }
            }
            Command::Put(args) => {
                validate_key(&args.key)?;
                validate_json(&args.key, &args.json)?;
                if let Some(tag) = &args.if_match {
                    chord_proto::etag::condition(Some(tag), None, false)
                        .map_err(|e| exit::usage(format!("put: --if-match: {e}")))?;
                }
                if let Some(ttl) = &args.ttl {
                    chord_proto::ttl::parse(ttl)
                        .map_err(|e| exit::usage(format!("put: --ttl: {e}")))?;
                }
                Action::Put {
                    key: args.key,
                    value: args.json,
                    opts: PutOptions {
                        if_match: args.if_match,
                        create: args.create,
                        ttl: args.ttl,
                    },
                    target: target(args.node),
                    trace: args.trace,
                }
            }
            Command::Get(mut args) if args.keys.len() == 1 => {
                let key = args.keys.remove(0);
                validate_key(&key)?;
                Action::Get {
                    key,
                    target: target(args.node),
                    trace: args.trace,
                }
            }
            Command::Get(args) => {
                if args.trace {
                    return Err(exit::usage(
                        "get: --trace follows one key's path; give one key",
                    ));
                }
                for key in &args.keys {
                    validate_key(key)?;
                }
                let mut seen = std::collections::HashSet::new();
                let keys = (args.keys.into_iter())
                    .filter(|k| seen.insert(k.clone()))
                    .collect();
                Action::GetMany {
                    keys,
                    target: target(args.node),
                }
            }
            Command::Delete(args) => {
                validate_key(&args.key)?;
                Action::Delete {
                    key: args.key,
                    target: target(args.node),
                    trace: args.trace,
                }
            }
            Command::Exists(args) => {
                validate_key(&args.key)?;
                Action::Exists {
                    key: args.key,
                    target: target(args.node),
                    trace: args.trace,
                }
            }
            Command::Kill(args) => Action::Kill(match args.random {
                Some(0) => return Err(exit::usage("kill: --random must be at least 1")),
                Some(k) => KillSelection::Random(k),
                None => KillSelection::Named(dedup(args.nodes)),
            }),
            Command::Partition(args) => Action::Partition(partition_groups(&args.groups)?),
            Command::Heal => Action::Heal,
            Command::Restart(args) => Action::Restart {
                node: args.node,
                timeout: args.timeout,
            },
            Command::Add(args) => {
                if args.nodes == 0 {
                    return Err(exit::usage("add: the number of nodes must be at least 1"));
                }
                Action::Add {
                    nodes: args.nodes,
                    timeout: args.timeout,
                }
            }
            Command::Logs(args) => Action::Logs {
                node: args.node,
                follow: args.follow,
                tail: args.tail,
            },
            Command::Check(args) => Action::Check { wait: args.wait },
            Command::Bench(args) => Action::Bench(args.into_plan()?),
            Command::Chaos(args) => Action::Chaos(args.into_plan()?),
            Command::Ui(args) => Action::Ui(args.into_plan()?),
            Command::Completion(args) => Action::Completion(args.shell),
        };
        // `-o svg` is a picture of the ring; the other commands print tables
        // or JSON, and are stopped here, before they could run half-way.
        if self.output == OutputFormat::Svg && !matches!(action, Action::Ring { .. }) {
            return Err(exit::usage(
                "-o svg only applies to `ring` (a picture of the ring); \
                 use -o table or -o json here",
            ));
        }
        match runtime {
            RuntimeKind::Compose => refuse_lifecycle(
                &action,
                "a Compose-started ring",
                "`docker compose up -d`, `docker compose up -d --scale node=N`, \
                 `docker compose restart` or `docker compose down` in compose/ \
                 (`docker-compose` with Compose 1.x)",
            )?,
            RuntimeKind::Swarm => refuse_lifecycle(
                &action,
                "a ring on Docker Swarm",
                "`docker stack deploy -c compose/stack.yaml STACK`, `docker service scale \
                 STACK_node=N`, `docker service update --force STACK_node` or \
                 `docker stack rm STACK`",
            )?,
            RuntimeKind::Docker | RuntimeKind::Process => {}
        }
        Ok(Plan {
            runtime,
            cluster,
            output: self.output,
            node_bin: self.node_bin,
            verbose: self.verbose,
            action,
        })
    }
}

/// Commands that create or remove nodes are the orchestrator's job on a
/// ring it owns: a usage error naming `ring` and what to `run` instead.
fn refuse_lifecycle(action: &Action, ring: &str, run: &str) -> anyhow::Result<()> {
    let verb = match action {
        Action::Up { .. } => "up",
        Action::Down => "down",
        Action::Add { .. } => "add",
        Action::Restart { .. } => "restart",
        _ => return Ok(()),
    };
    Err(exit::usage(format!(
        "`{verb}` does not apply to {ring}: run {run}"
    )))
}

fn target(node: Option<String>) -> Target {
    node.map_or(Target::Random, Target::Node)
}

/// Keeps the first occurrence of each name, so `kill a a` kills `a` once.
/// `["1,2", "3"]` as groups of names; a node in two groups or an empty
/// name is a usage error.
fn partition_groups(args: &[String]) -> anyhow::Result<Vec<Vec<String>>> {
    let mut seen = std::collections::HashSet::new();
    let mut groups = Vec::new();
    for arg in args {
        let mut group = Vec::new();
        for name in arg.split(',').map(str::trim) {
            if name.is_empty() {
                return Err(exit::usage(format!(
                    "partition: empty node name in group {arg:?} (write groups like 1,2,3)"
                )));
            }
            if !seen.insert(name.to_string()) {
                return Err(exit::usage(format!(
                    "partition: node {name:?} is in more than one group"
                )));
            }
            group.push(name.to_string());
        }
        groups.push(group);
    }
    Ok(groups)
}

fn dedup(names: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

/// Cluster names become parts of container, network and file names, so
/// they are held to Docker's container-name alphabet.
pub fn validate_cluster_name(name: &str) -> anyhow::Result<()> {
    let ok_first = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let ok_rest = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok_first || !ok_rest || name.len() > 40 {
        return Err(exit::usage(format!(
            "invalid cluster name {name:?}: use 1 to 40 letters, digits, '-', '_' or '.', \
             starting with a letter or digit"
        )));
    }
    Ok(())
}

/// Checks a key against the node's limits. `.` and `..` are refused because
/// HTTP clients normalise them (even percent-encoded) as path segments, so
/// no request could name them.
pub fn validate_key(key: &str) -> anyhow::Result<()> {
    if key.is_empty() {
        return Err(exit::usage("invalid key: it must not be empty"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(exit::usage(format!(
            "invalid key: it is {} bytes long, the limit is {MAX_KEY_BYTES} bytes of UTF-8",
            key.len()
        )));
    }
    if key == "." || key == ".." {
        return Err(exit::usage(format!(
            "invalid key {key:?}: '.' and '..' cannot be sent as a URL path segment"
        )));
    }
    Ok(())
}

/// Rejects a value that is not JSON before anything is sent.
pub fn validate_json(key: &str, text: &str) -> anyhow::Result<()> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| {
        exit::usage(format!(
            "the value for key {key:?} is not valid JSON ({e}); quote it for the shell, \
             e.g. '{{\"name\":\"Ada\"}}', and write strings as '\"text\"'"
        ))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::code_of;

    fn plan(args: &[&str]) -> anyhow::Result<Plan> {
        let mut argv = vec!["chordctl"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("clap accepts").into_plan()
    }

    #[test]
    fn partition_groups_parse_and_a_node_in_two_groups_is_a_usage_error() {
        let p = plan(&["partition", "1,2", "chord-default-3"]).unwrap();
        assert!(matches!(p.action, Action::Partition(ref g)
            if g == &[vec!["1".to_string(), "2".to_string()], vec!["chord-default-3".to_string()]]));
        let twice = plan(&["partition", "1,2", "2"]).unwrap_err();
        assert_eq!(code_of(&twice), 2, "{twice}");
        let empty = plan(&["partition", "1,,2"]).unwrap_err();
        assert_eq!(code_of(&empty), 2, "{empty}");
    }

    #[test]
    fn put_rejects_invalid_json_with_usage_code() {
        let err = plan(&["put", "k", "{name: Ada}"]).unwrap_err();
        assert_eq!(code_of(&err), 2);
        assert!(format!("{err:#}").contains("not valid JSON"));
    }

    #[test]
    fn put_keeps_json_text_as_given() {
        let p = plan(&["put", "user:1", "{ \"a\" : 1 }"]).unwrap();
        match p.action {
            Action::Put {
                key,
                value,
                target,
                trace,
                opts,
            } => {
                assert_eq!(opts, PutOptions::default());
                assert_eq!(key, "user:1");
                assert_eq!(value, "{ \"a\" : 1 }");
                assert_eq!(target, Target::Random);
                assert!(!trace);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn trace_is_off_unless_asked() {
        for (args, want) in [
            (&["get", "k"][..], false),
            (&["get", "k", "--trace"], true),
            (&["delete", "--trace", "k"], true),
            (&["put", "k", "1", "--trace"], true),
        ] {
            let trace = match plan(args).unwrap().action {
                Action::Get { trace, .. }
                | Action::Delete { trace, .. }
                | Action::Put { trace, .. } => trace,
                other => panic!("unexpected {other:?}"),
            };
            assert_eq!(trace, want, "{args:?}");
        }
    }

    #[test]
    fn get_with_several_keys_is_one_multi_get_of_distinct_keys() {
        match plan(&["get", "a", "b", "a"]).unwrap().action {
            Action::GetMany { keys, target } => {
                assert_eq!(keys, ["a", "b"]);
                assert_eq!(target, Target::Random);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            plan(&["get", "a"]).unwrap().action,
            Action::Get { .. }
        ));
        assert_eq!(code_of(&plan(&["get", "a", ""]).unwrap_err()), 2);
        assert_eq!(
            code_of(&plan(&["get", "a", "b", "--trace"]).unwrap_err()),
            2
        );
    }

    #[test]
    fn put_flags_are_checked_before_anything_is_sent() {
        let p = plan(&["put", "k", "1", "--create", "--ttl", "5m"]).unwrap();
        match p.action {
            Action::Put { opts, .. } => {
                assert!(opts.create && opts.if_match.is_none());
                assert_eq!(opts.ttl.as_deref(), Some("5m"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let tag = "\"0000000000000001-0000000000000002\"";
        let p = plan(&["put", "k", "1", "--if-match", tag]).unwrap();
        assert!(
            matches!(p.action, Action::Put { ref opts, .. } if opts.if_match.as_deref() == Some(tag))
        );
        for bad in [
            &["put", "k", "1", "--if-match", "v1"][..],
            &["put", "k", "1", "--ttl", "0"],
            &["put", "k", "1", "--ttl", "1d"],
        ] {
            assert_eq!(code_of(&plan(bad).unwrap_err()), 2, "{bad:?}");
        }
    }

    #[test]
    fn keys_are_checked() {
        assert!(validate_key("a/b c%").is_ok());
        assert!(validate_key("").is_err());
        assert!(validate_key("..").is_err());
        assert!(validate_key(&"x".repeat(MAX_KEY_BYTES)).is_ok());
        assert!(validate_key(&"x".repeat(MAX_KEY_BYTES + 1)).is_err());
    }

    #[test]
    fn cluster_names_are_checked() {
        assert!(plan(&["--cluster", "test-1", "down"]).is_ok());
        assert_eq!(
            code_of(&plan(&["--cluster", "a/b", "down"]).unwrap_err()),
            2
        );
        assert_eq!(code_of(&plan(&["--cluster=-x", "down"]).unwrap_err()), 2);
    }

    #[test]
    fn up_limits() {
        assert_eq!(code_of(&plan(&["up", "0"]).unwrap_err()), 2);
        assert_eq!(
            code_of(&plan(&["up", "3", "--replicas", "0"]).unwrap_err()),
            2
        );
        let err = plan(&["--runtime", "process", "up", "3", "--image", "x"]).unwrap_err();
        assert_eq!(code_of(&err), 2);
        for bad in ["0", "65"] {
            let err = plan(&["up", "3", "--vnodes", bad]).unwrap_err();
            assert_eq!(code_of(&err), 2, "--vnodes {bad}");
        }
        let vnodes = |args: &[&str]| match plan(args).unwrap().action {
            Action::Up { vnodes, .. } => vnodes,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(vnodes(&["up", "3", "--vnodes", "16"]), Some(16));
        assert_eq!(vnodes(&["up", "3"]), None, "the node's default applies");
    }

    #[test]
    fn time_flags_take_human_durations_and_bare_seconds() {
        let secs = Duration::from_secs;
        let timeout = |args: &[&str]| match plan(args).unwrap().action {
            Action::Up { timeout, .. }
            | Action::Add { timeout, .. }
            | Action::Restart { timeout, .. } => timeout,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(timeout(&["up", "3"]), secs(120));
        assert_eq!(timeout(&["up", "3", "--timeout", "90"]), secs(90));
        assert_eq!(timeout(&["up", "3", "--timeout", "1m30s"]), secs(90));
        assert_eq!(timeout(&["add", "2", "--timeout", "5m"]), secs(300));
        assert_eq!(timeout(&["restart", "1"]), secs(60));
        assert_eq!(timeout(&["restart", "1", "--timeout", "45s"]), secs(45));
        let wait = |args: &[&str]| match plan(args).unwrap().action {
            Action::Check { wait } => wait,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(wait(&["check"]), None);
        assert_eq!(wait(&["check", "--wait", "60"]), Some(secs(60)));
        assert_eq!(wait(&["check", "--wait", "2m"]), Some(secs(120)));
        assert_eq!(
            wait(&["check", "--wait", "500ms"]),
            Some(Duration::from_millis(500))
        );
        match plan(&["chaos", "--duration", "3m", "--interval", "10"])
            .unwrap()
            .action
        {
            Action::Chaos(c) => assert_eq!((c.duration, c.interval), (secs(180), secs(10))),
            other => panic!("unexpected {other:?}"),
        }
        for bad in [
            &["up", "3", "--timeout", "0"][..],
            &["up", "3", "--timeout", "soon"],
            &["up", "3", "--timeout", "500ms"],
            &["add", "1", "--timeout", "2d"],
            &["check", "--wait", "-1"],
            &["check", "--wait", "1x"],
            &["chaos", "--interval", "2h"],
        ] {
            let argv = std::iter::once("chordctl").chain(bad.iter().copied());
            let Err(err) = Cli::try_parse_from(argv) else {
                panic!("{bad:?} accepted")
            };
            assert_eq!(err.exit_code(), 2, "{bad:?}: {err}");
        }
        let err = plan(&["chaos", "--duration", "10s", "--interval", "1m"]).unwrap_err();
        assert_eq!(code_of(&err), 2);
        assert!(format!("{err}").contains("--interval 1m"), "{err}");
    }

    #[test]
    fn kill_needs_exactly_one_selection() {
        assert!(Cli::try_parse_from(["chordctl", "kill"]).is_err());
        assert!(Cli::try_parse_from(["chordctl", "kill", "--random", "2", "n1"]).is_err());
        let p = plan(&["kill", "a", "b", "a"]).unwrap();
        assert!(matches!(p.action, Action::Kill(KillSelection::Named(ref v)) if v == &["a", "b"]));
    }

    #[test]
    fn svg_output_is_for_ring_only() {
        for args in [
            &["-o", "svg", "ring"][..],
            &["ring", "--svg", "r.svg"],
            &["ring", "--svg", "r.svg", "--node", "3"],
            &["-o", "svg", "ring", "--node", "chord-default-3"],
            &["ring", "--svg", "r.svg", "--trace", "user:1"],
            &["-o", "svg", "ring", "--trace", "user:1"],
        ] {
            let p = plan(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
            assert!(matches!(p.action, Action::Ring { .. }), "{args:?}");
        }
        match plan(&["ring", "--svg", "r.svg", "--node", "3"])
            .unwrap()
            .action
        {
            Action::Ring { svg, node, trace } => {
                assert_eq!(svg, Some(PathBuf::from("r.svg")));
                assert_eq!(node.as_deref(), Some("3"));
                assert_eq!(trace, None);
            }
            other => panic!("unexpected {other:?}"),
        }
        for args in [
            &["-o", "svg", "status"][..],
            &["-o", "svg", "down"],
            &["--output", "svg", "check"],
            &["-o", "svg", "get", "k"],
            &["-o", "svg", "bench", "--target", "127.0.0.1:1"],
            &["ring", "--node", "3"],
            &["ring", "--trace", "k"],
            &["ring", "--svg", "r.svg", "--trace", ""],
        ] {
            let err = plan(args).unwrap_err();
            assert_eq!(code_of(&err), 2, "{args:?}: {err}");
        }
        let err = plan(&["-o", "svg", "status"]).unwrap_err();
        assert!(err.to_string().contains("only applies to `ring`"), "{err}");
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
