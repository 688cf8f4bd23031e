//! The commands, written once against [`Runtime`] and run with whichever
//! runtime the plan names.
//!
//! - [`cluster`]: up, down, add, restart, kill, partition, heal, logs
//! - [`data`]: put, get, delete
//! - [`inspect`]: status, ring, and waiting for a correct ring
//! - [`verify`]: the `check` command
//!
//! `chaos` lives in [`crate::chaos`].

mod cluster;
pub mod data;
pub mod inspect;
pub mod verify;

use anyhow::{anyhow, Result};
use clap::CommandFactory;
use rand::Rng;

use crate::cli::{Action, Cli, OutputFormat, Plan, RuntimeKind};
use crate::runtime::compose::ComposeRuntime;
use crate::runtime::docker::DockerRuntime;
use crate::runtime::process::ProcessRuntime;
use crate::runtime::swarm::SwarmRuntime;
use crate::runtime::{Cluster, NodeInfo, Runtime};

/// What every command needs besides its own arguments.
pub struct Ctx<'a, R: Runtime> {
    /// Where the nodes run.
    pub rt: &'a R,
    /// The cluster's name.
    pub cluster: &'a str,
    /// Output format.
    pub output: OutputFormat,
    /// Owner and hops for key operations.
    pub verbose: bool,
}

impl<R: Runtime> Ctx<'_, R> {
    /// The cluster, or an error telling how to create it.
    pub async fn existing(&self) -> Result<Cluster> {
        let c = self.cluster;
        let start = match self.rt.kind() {
            "process" => format!("`chordctl --runtime process --cluster {c} up N`"),
            "compose" => format!("`docker compose -p {c} up -d` in compose/"),
            "swarm" => format!("`docker stack deploy -c compose/stack.yaml {c}`"),
            _ => format!("`chordctl --cluster {c} up N`"),
        };
        self.rt.find(c).await?.ok_or_else(|| {
            anyhow!(
                "no {} cluster named {c:?}; start one with {start}",
                self.rt.kind()
            )
        })
    }

    /// Whether JSON output was asked for.
    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }
}

/// Runs a validated plan.
pub async fn run(plan: Plan) -> Result<()> {
    if let Action::Completion(shell) = plan.action {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "chordctl", &mut out);
        return crate::output::print(&String::from_utf8_lossy(&out));
    }
    // Explicit node addresses need no runtime (and no Docker).
    if let Action::Bench(bench) = &plan.action {
        if !bench.targets.is_empty() {
            return crate::bench::on_targets(bench, plan.output).await;
        }
    }
    match plan.runtime {
        RuntimeKind::Docker => {
            let rt = DockerRuntime::connect(plan.node_bin.clone()).await?;
            dispatch(&rt, plan).await
        }
        RuntimeKind::Process => {
            let rt = ProcessRuntime::new(plan.node_bin.clone())?;
            dispatch(&rt, plan).await
        }
        RuntimeKind::Compose => {
            let rt = ComposeRuntime::connect().await?;
            let cluster = rt.resolve_project(&plan.cluster).await?;
            dispatch(&rt, Plan { cluster, ..plan }).await
        }
        RuntimeKind::Swarm => {
            let rt = SwarmRuntime::connect().await?;
            let cluster = rt.resolve_stack(&plan.cluster).await?;
            dispatch(&rt, Plan { cluster, ..plan }).await
        }
    }
}

async fn dispatch<R: Runtime>(rt: &R, plan: Plan) -> Result<()> {
    let ctx = Ctx {
        rt,
        cluster: &plan.cluster,
        output: plan.output,
        verbose: plan.verbose,
    };
    match plan.action {
        Action::Up {
            nodes,
            replicas,
            vnodes,
            image,
            timeout,
        } => cluster::up(&ctx, nodes, replicas, vnodes, image, timeout).await,
        Action::Down => cluster::down(&ctx).await,
        Action::Add { nodes, timeout } => cluster::add(&ctx, nodes, timeout).await,
        Action::Restart { node, timeout } => cluster::restart(&ctx, &node, timeout).await,
        Action::Kill(selection) => cluster::kill(&ctx, selection).await,
        Action::Partition(groups) => cluster::partition(&ctx, &groups).await,
        Action::Heal => cluster::heal(&ctx).await,
        Action::Logs { node, follow, tail } => cluster::logs(&ctx, &node, follow, tail).await,
        Action::Put {
            key,
            value,
            opts,
            target,
            trace,
        } => data::put(&ctx, &key, &value, &opts, &target, trace).await,
        Action::Get { key, target, trace } => data::get(&ctx, &key, &target, trace).await,
        Action::GetMany { keys, target } => data::get_many(&ctx, &keys, &target).await,
        Action::Delete { key, target, trace } => data::delete(&ctx, &key, &target, trace).await,
        Action::Exists { key, target, trace } => data::exists(&ctx, &key, &target, trace).await,
        Action::Status => inspect::status(&ctx).await,
        Action::Ring { svg, node, trace } => {
            inspect::ring(&ctx, svg.as_deref(), node.as_deref(), trace.as_deref()).await
        }
        Action::Check { wait } => verify::check(&ctx, wait).await,
        Action::Bench(bench) => crate::bench::on_cluster(&ctx, &bench).await,
        Action::Chaos(chaos) => crate::chaos::run(&ctx, &chaos).await,
        Action::Ui(ui) => crate::ui::serve(&ctx, &ui).await,
        Action::Completion(_) => unreachable!("handled before connecting"),
    }
}

/// A fresh random cluster key: 128 bits as 32 hex digits.
pub fn random_key() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// The error for a node that died while we waited on it: what happened, and
/// the last lines of its log, which usually say why.
pub async fn died<R: Runtime>(ctx: &Ctx<'_, R>, node: &NodeInfo, what: &str) -> anyhow::Error {
    let log = ctx
        .rt
        .log_tail(ctx.cluster, node, 20)
        .await
        .unwrap_or_default();
    anyhow!("{} {what}; its last log lines:\n{log}", node.name)
}

/// Completes when the process gets SIGTERM (never, if it cannot be watched),
/// so `up` rolls back a half-made cluster then too, not only on Ctrl-C, and
/// `ui` stops cleanly under a service manager.
pub async fn terminated() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            term.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}
