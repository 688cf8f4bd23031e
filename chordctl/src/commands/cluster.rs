//! Commands that change membership or break things: `up`, `down`, `add`,
//! `restart`, `kill`, `partition`, `heal`, and `logs`.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::future::join_all;
use futures_util::StreamExt;
use rand::seq::IndexedRandom;
use serde_json::json;

use super::inspect::{print_names, print_status, status_report, wait_for_ring};
use super::{died, random_key, terminated, Ctx};
use crate::cli::KillSelection;
use crate::client::Client;
use crate::output::{print_json, println, Progress};
use crate::poll::{self, Look, POLL};
use crate::runtime::{ClusterSpec, NodeInfo, Runtime};

/// How often (in polls) a start-up wait asks the runtime whether the node
/// is still alive, so a crashing node fails fast instead of at the deadline.
const LIVENESS_EVERY: u32 = 8;

/// Polls `/readyz` of a freshly started node until it answers 200.
async fn wait_ready<R: Runtime>(
    ctx: &Ctx<'_, R>,
    client: &Client,
    node: &NodeInfo,
    deadline: Instant,
) -> Result<()> {
    let endpoint = node
        .endpoint
        .as_deref()
        .with_context(|| format!("{} has no endpoint", node.name))?;
    let mut polls = 0u32;
    let ready = poll::try_until(
        deadline,
        POLL,
        async || -> Result<Look<(), ()>> {
            if client.ready(endpoint).await {
                return Ok(Look::Done(()));
            }
            polls += 1;
            if polls % LIVENESS_EVERY == 0 {
                still_running(ctx, node).await?;
            }
            Ok(Look::NotYet(()))
        },
        |_| {},
    )
    .await?;
    if ready.done().is_none() {
        // A node that died says so, rather than "not ready".
        still_running(ctx, node).await?;
        bail!(
            "{} did not become ready (GET /readyz at {endpoint})",
            node.name
        );
    }
    Ok(())
}

/// Fails with the node's last log lines if it exited during start-up.
async fn still_running<R: Runtime>(ctx: &Ctx<'_, R>, node: &NodeInfo) -> Result<()> {
    if !ctx.rt.is_running(ctx.cluster, node).await? {
        return Err(died(ctx, node, "exited during start-up").await);
    }
    Ok(())
}

/// Nodes started at once: enough that `up 64` is not a queue, few enough
/// that the Docker daemon is not asked for dozens of containers at once.
const STARTS_AT_ONCE: usize = 16;

/// Starts nodes `indices`, each joining through `join`, and waits for each
/// to be ready. A new ring (`join` is `None`) is founded by the first node
/// alone; the others then start together, all joining through it. Chord's
/// joins are safe concurrently (stabilize and rectify sort them out; the
/// ring model check explores concurrent joins), and the caller waits once
/// for the whole ring to be correct. Returns the names in index order.
async fn start_nodes<R: Runtime>(
    ctx: &Ctx<'_, R>,
    spec: &ClusterSpec,
    indices: &[u32],
    mut join: Option<String>,
    deadline: Instant,
    progress: &Progress,
) -> Result<Vec<String>> {
    let client = Client::new(&spec.key)?;
    let total = indices.len();
    let mut names = Vec::with_capacity(total);
    let mut rest = indices;
    if join.is_none() {
        let Some((&first, others)) = indices.split_first() else {
            return Ok(names);
        };
        progress.stage(format!("starting nodes 1/{total}"));
        let node = ctx.rt.start_node(spec, first, None).await?;
        wait_ready(ctx, &client, &node, deadline).await?;
        join = Some(node.advertise.clone());
        names.push(node.name);
        rest = others;
    }
    let join = join.as_deref();
    let mut started = names.len();
    let mut ready = futures_util::stream::iter(rest)
        .map(|&index| {
            let client = &client;
            async move {
                let node = ctx.rt.start_node(spec, index, join).await?;
                wait_ready(ctx, client, &node, deadline).await?;
                Ok::<_, anyhow::Error>(node.name)
            }
        })
        .buffered(STARTS_AT_ONCE);
    while let Some(name) = ready.next().await {
        // The first failure ends the start; `up` rolls back what was made.
        names.push(name?);
        started += 1;
        progress.stage(format!("starting nodes {started}/{total}"));
    }
    Ok(names)
}

/// `up`: creates the cluster, waits for a correct ring, prints it. On any
/// failure, timeout or Ctrl-C, removes whatever it had created.
pub async fn up<R: Runtime>(
    ctx: &Ctx<'_, R>,
    nodes: u32,
    replicas: u32,
    vnodes: Option<u32>,
    image: String,
    timeout: Duration,
) -> Result<()> {
    if let Some(existing) = ctx.rt.find(ctx.cluster).await? {
        bail!(
            "cluster {:?} already exists ({} nodes, {} running); see `chordctl status`, \
             add nodes with `chordctl add N`, or remove it with `chordctl down`",
            ctx.cluster,
            existing.nodes.len(),
            existing.running().len()
        );
    }
    let progress = Progress::new(ctx.output);
    let mut spec = ClusterSpec {
        name: ctx.cluster.to_string(),
        key: random_key(),
        replicas,
        vnodes,
        program: image,
    };
    let deadline = Instant::now() + timeout;
    let result = tokio::select! {
        r = tokio::time::timeout(timeout, create(ctx, &mut spec, nodes, deadline, &progress)) => {
            r.unwrap_or_else(|_| Err(anyhow!("timed out after {}s (see --timeout)", timeout.as_secs())))
        }
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        _ = terminated() => Err(anyhow!("terminated")),
    };
    if let Err(err) = result {
        progress.stage("rolling back");
        let rollback = ctx.rt.remove_cluster(ctx.cluster).await;
        progress.finish();
        return Err(match rollback {
            Ok(removed) if removed.nodes.is_empty() && removed.other.is_empty() => err,
            Ok(_) => err.context(format!(
                "up failed; the half-made cluster {:?} was removed",
                ctx.cluster
            )),
            Err(e) => err.context(format!(
                "up failed, and removing the half-made cluster failed too ({e:#}); run `chordctl down`"
            )),
        });
    }
    progress.finish();
    let cluster = ctx.existing().await?;
    print_status(&status_report(ctx, &cluster).await?, ctx.json())
}

async fn create<R: Runtime>(
    ctx: &Ctx<'_, R>,
    spec: &mut ClusterSpec,
    nodes: u32,
    deadline: Instant,
    progress: &Progress,
) -> Result<()> {
    progress.stage("preparing");
    ctx.rt.prepare(spec, progress).await?;
    let indices: Vec<u32> = (1..=nodes).collect();
    let names = start_nodes(ctx, spec, &indices, None, deadline, progress).await?;
    progress.stage("waiting for ring");
    let client = Client::new(&spec.key)?;
    wait_for_ring(ctx, &client, &names, deadline, progress).await
}

/// `down`: removes everything of the cluster; fine if there is nothing.
pub async fn down<R: Runtime>(ctx: &Ctx<'_, R>) -> Result<()> {
    let removed = ctx.rt.remove_cluster(ctx.cluster).await?;
    if ctx.json() {
        return print_json(&removed);
    }
    if removed.nodes.is_empty() && removed.other.is_empty() {
        return println(&format!(
            "no cluster named {:?}; nothing to remove",
            ctx.cluster
        ));
    }
    print_names("removed", &removed.nodes)?;
    print_names("removed", &removed.other)
}

/// `add`: starts more nodes joining through a random running one.
pub async fn add<R: Runtime>(ctx: &Ctx<'_, R>, nodes: u32, timeout: Duration) -> Result<()> {
    let cluster = ctx.existing().await?;
    let join = cluster
        .running()
        .choose(&mut rand::rng())
        .map(|n| n.advertise.clone())
        .with_context(|| format!("no node of {:?} is running to join through", ctx.cluster))?;
    let first = cluster.next_index();
    let indices: Vec<u32> = (first..first + nodes).collect();
    let deadline = Instant::now() + timeout;
    let progress = Progress::new(ctx.output);
    let started = async {
        let names = start_nodes(
            ctx,
            &cluster.spec,
            &indices,
            Some(join),
            deadline,
            &progress,
        )
        .await?;
        progress.stage("waiting for ring");
        let client = Client::new(&cluster.spec.key)?;
        wait_for_ring(ctx, &client, &names, deadline, &progress).await
    };
    if let Err(err) = started.await {
        // A failed `add` takes back the nodes it started.
        progress.stage("removing the new nodes");
        if let Ok(now) = ctx.existing().await {
            for n in now.nodes.iter().filter(|n| indices.contains(&n.index)) {
                let _ = ctx.rt.remove_node(ctx.cluster, n).await;
            }
        }
        progress.finish();
        return Err(err);
    }
    progress.finish();
    let cluster = ctx.existing().await?;
    print_status(&status_report(ctx, &cluster).await?, ctx.json())
}

/// `restart`: graceful stop (if running), start again joining through
/// another running node, wait until it is back in the ring.
pub async fn restart<R: Runtime>(ctx: &Ctx<'_, R>, name: &str, timeout: Duration) -> Result<()> {
    let cluster = ctx.existing().await?;
    let node = cluster.node(name)?.clone();
    let join = cluster
        .running()
        .into_iter()
        .filter(|n| n.index != node.index)
        .collect::<Vec<_>>()
        .choose(&mut rand::rng())
        .map(|n| n.advertise.clone());
    let deadline = Instant::now() + timeout;
    let progress = Progress::new(ctx.output);
    progress.stage(format!("stopping {}", node.name));
    ctx.rt.remove_node(ctx.cluster, &node).await?;
    let names = start_nodes(ctx, &cluster.spec, &[node.index], join, deadline, &progress).await?;
    progress.stage("waiting for ring");
    let client = Client::new(&cluster.spec.key)?;
    wait_for_ring(ctx, &client, &names, deadline, &progress).await?;
    progress.finish();
    if ctx.json() {
        print_json(&json!({ "restarted": names }))
    } else {
        print_names("restarted", &names)
    }
}

/// `kill`: SIGKILL, all selected nodes at the same moment.
pub async fn kill<R: Runtime>(ctx: &Ctx<'_, R>, selection: KillSelection) -> Result<()> {
    let cluster = ctx.existing().await?;
    let victims: Vec<NodeInfo> = match selection {
        KillSelection::Random(k) => {
            let running = cluster.running();
            if k as usize > running.len() {
                bail!("cannot kill {k} nodes: only {} are running", running.len());
            }
            running
                .choose_multiple(&mut rand::rng(), k as usize)
                .map(|n| (*n).clone())
                .collect()
        }
        KillSelection::Named(names) => {
            let mut picked = Vec::new();
            for name in &names {
                let node = cluster.node(name)?;
                if !node.running {
                    bail!("{} is not running", node.name);
                }
                picked.push(node.clone());
            }
            picked
        }
    };
    let results = join_all(victims.iter().map(|n| ctx.rt.kill(ctx.cluster, n))).await;
    let mut killed = Vec::new();
    let mut failures = Vec::new();
    for (node, result) in victims.iter().zip(results) {
        match result {
            Ok(()) => killed.push(node.name.clone()),
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    killed.sort_by_key(|n| cluster.nodes.iter().position(|c| &c.name == n));
    if ctx.json() {
        print_json(&json!({ "killed": killed }))?;
    } else {
        print_names("killed", &killed)?;
    }
    if !failures.is_empty() {
        bail!("could not kill every node: {}", failures.join("; "));
    }
    Ok(())
}

/// `logs`: a node's log, optionally followed.
pub async fn logs<R: Runtime>(
    ctx: &Ctx<'_, R>,
    name: &str,
    follow: bool,
    tail: Option<u32>,
) -> Result<()> {
    let cluster = ctx.existing().await?;
    let node = cluster.node(name)?;
    ctx.rt.logs(ctx.cluster, node, follow, tail).await
}

/// `partition`: each group on a network of its own; the rest stay together.
pub async fn partition<R: Runtime>(ctx: &Ctx<'_, R>, groups: &[Vec<String>]) -> Result<()> {
    let cluster = ctx.existing().await?;
    let mut picked: Vec<Vec<NodeInfo>> = Vec::new();
    for group in groups {
        let mut nodes = Vec::new();
        for name in group {
            let node = cluster.node(name)?;
            if picked
                .iter()
                .flatten()
                .chain(&nodes)
                .any(|n: &NodeInfo| n.name == node.name)
            {
                bail!("{} is in more than one group", node.name);
            }
            nodes.push(node.clone());
        }
        picked.push(nodes);
    }
    ctx.rt.partition(ctx.cluster, &picked).await?;
    let names = |g: &[NodeInfo]| g.iter().map(|n| n.name.clone()).collect::<Vec<_>>();
    let rest: Vec<String> = cluster
        .nodes
        .iter()
        .filter(|n| !picked.iter().flatten().any(|p| p.name == n.name))
        .map(|n| n.name.clone())
        .collect();
    let groups: Vec<Vec<String>> = picked.iter().map(|g| names(g)).collect();
    if ctx.json() {
        print_json(&json!({ "groups": groups, "rest": rest }))?;
    } else {
        for g in &groups {
            println(&format!("cut off {}", g.join(" ")))?;
        }
        if !rest.is_empty() {
            println(&format!("together {}", rest.join(" ")))?;
        }
    }
    Ok(())
}

/// `heal`: every node back on the cluster's network.
pub async fn heal<R: Runtime>(ctx: &Ctx<'_, R>) -> Result<()> {
    ctx.existing().await?;
    let moved = ctx.rt.heal(ctx.cluster).await?;
    if ctx.json() {
        print_json(&json!({ "healed": moved }))
    } else if moved.is_empty() {
        println("nothing to heal: the network is whole")
    } else {
        print_names("healed", &moved)
    }
}
