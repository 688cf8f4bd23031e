//! `status`, `ring` (and its picture), and the wait for a correct ring that `up`,
//! `add` and `restart` share. Fetching happens here; judging is in
//! [`crate::check`].

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use futures_util::future::join_all;
use rand::seq::IndexedRandom;
use serde::Serialize;

use super::{data, died, Ctx};
use crate::check::{self, RingInput, RingReport, RingRow};
use crate::cli::OutputFormat;
use crate::client::Client;
use crate::exit;
use crate::output::{print_json, println, Progress, Table};
use crate::pathview;
use crate::poll::{self, Look, POLL};
use crate::ringview::{self, RingView, Trace};
use crate::runtime::{Cluster, NodeInfo, Runtime};
use chord_proto::api::Status;
use chord_proto::id::Id;
use chord_proto::peer::Peer;

/// A node together with what it said about itself, if it answered.
pub struct Observed {
    /// The node as the runtime lists it.
    pub node: NodeInfo,
    /// Its `/status`, when it answered.
    pub status: Option<Status>,
}

/// Asks every running node for its status, all at once.
pub async fn observe(client: &Client, cluster: &Cluster) -> Vec<Observed> {
    join_all(cluster.nodes.iter().map(|node| async move {
        let status = match (&node.endpoint, node.running) {
            (Some(endpoint), true) => client.status(endpoint).await.ok(),
            _ => None,
        };
        Observed {
            node: node.clone(),
            status,
        }
    }))
    .await
}

/// The ring verdict over the nodes that answered.
pub fn ring_report(observed: &[Observed]) -> RingReport {
    let inputs: Vec<RingInput> = observed
        .iter()
        .filter_map(|o| Some(RingInput::from_status(&o.node.name, o.status.as_ref()?)))
        .flatten()
        .collect();
    check::ring(&inputs)
}

/// The name of the position a peer's address names (the node's name, with
/// `/v{i}` for its position i > 0), or the peer's short id.
fn peer_name(cluster: &Cluster, peer: Option<&Peer>) -> String {
    let Some(p) = peer else {
        return "-".to_string();
    };
    data::name_of(cluster, &p.addr).unwrap_or_else(|| p.id.short())
}

/// Polls until every node in `expect` is ready, every running node
/// answers, and the ring pointers agree; fails at `deadline`, or at once
/// when an expected node has exited (with its last log lines).
pub async fn wait_for_ring<R: Runtime>(
    ctx: &Ctx<'_, R>,
    client: &Client,
    expect: &[String],
    deadline: Instant,
    progress: &Progress,
) -> Result<()> {
    let ring = poll::try_until(
        deadline,
        POLL,
        async || -> Result<Look<(), Vec<String>>> {
            let cluster = ctx.existing().await?;
            for name in expect {
                let node = cluster.node(name)?;
                if !node.running {
                    return Err(died(ctx, node, "stopped while the ring formed").await);
                }
            }
            let observed = observe(client, &cluster).await;
            let report = ring_report(&observed);
            let silent = observed
                .iter()
                .filter(|o| o.node.running && o.status.is_none())
                .map(|o| format!("{} does not answer", o.node.name));
            let mut problems = report.problems;
            problems.extend(silent);
            Ok(if problems.is_empty() {
                Look::Done(())
            } else {
                Look::NotYet(problems)
            })
        },
        |problems| {
            progress.stage(format!(
                "waiting for ring ({} problems left)",
                problems.len()
            ))
        },
    )
    .await?;
    if let Look::NotYet(problems) = ring {
        bail!(
            "the ring was still not correct at the deadline: {}",
            problems.join("; ")
        );
    }
    Ok(())
}

/// One row of `status`.
#[derive(Debug, Serialize)]
pub struct StatusRow {
    name: String,
    index: u32,
    /// Where chordctl reaches it (127.0.0.1:port).
    address: Option<String>,
    /// What it advertises to other nodes.
    advertise: String,
    id: Option<Id>,
    /// `up`, `down` or `not in ring`.
    state: &'static str,
    predecessor: Option<String>,
    successor: Option<String>,
    keys: Option<usize>,
    keys_owned: Option<usize>,
    keys_replica: Option<usize>,
    repairing: Option<bool>,
}

/// The `status` document.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    cluster: String,
    runtime: &'static str,
    replicas: u32,
    healthy: bool,
    ring_problems: Vec<String>,
    nodes: Vec<StatusRow>,
}

/// Builds the status rows and verdict for a cluster.
pub async fn status_report<R: Runtime>(
    ctx: &Ctx<'_, R>,
    cluster: &Cluster,
) -> Result<StatusReport> {
    let client = Client::new(&cluster.spec.key)?;
    let observed = observe(&client, cluster).await;
    let report = ring_report(&observed);
    let live = observed.iter().filter(|o| o.status.is_some()).count();
    // Ids that some live position names as its first successor: a node
    // whose position 0 nobody points to is not (yet) part of the ring.
    let pointed_to: HashSet<Id> = observed
        .iter()
        .filter_map(|o| o.status.as_ref())
        .flat_map(check::positions_of)
        .filter_map(|p| p.successors.first())
        .map(|p| p.id)
        .collect();
    let nodes: Vec<StatusRow> = observed
        .iter()
        .map(|o| {
            let s = o.status.as_ref();
            let state = match s {
                None => "down",
                Some(s) if !s.ready => "not in ring",
                Some(s) if live > 1 && !pointed_to.contains(&s.id) => "not in ring",
                Some(_) => "up",
            };
            StatusRow {
                name: o.node.name.clone(),
                index: o.node.index,
                address: o.node.endpoint.clone(),
                advertise: o.node.advertise.clone(),
                id: s.map(|s| s.id),
                state,
                predecessor: s.map(|s| peer_name(cluster, s.predecessor.as_ref())),
                successor: s.map(|s| peer_name(cluster, s.successors.first())),
                keys: s.map(|s| s.keys),
                keys_owned: s.map(|s| s.keys_owned),
                keys_replica: s.map(|s| s.keys_replica),
                repairing: s.map(|s| s.repairing),
            }
        })
        .collect();
    let healthy = report.problems.is_empty() && nodes.iter().all(|n| n.state == "up");
    Ok(StatusReport {
        cluster: cluster.spec.name.clone(),
        runtime: ctx.rt.kind(),
        replicas: cluster.spec.replicas,
        healthy,
        ring_problems: report.problems,
        nodes,
    })
}

/// Prints a status report as a table or JSON.
pub fn print_status(report: &StatusReport, json: bool) -> Result<()> {
    if json {
        return print_json(report);
    }
    let mut table = Table::new(&[
        "NAME",
        "ADDRESS",
        "ID",
        "STATE",
        "PREDECESSOR",
        "SUCCESSOR",
        "KEYS",
    ]);
    let dash = || "-".to_string();
    for n in &report.nodes {
        table.row(vec![
            n.name.clone(),
            n.address.clone().unwrap_or_else(dash),
            n.id.map_or_else(dash, |i| i.short()),
            n.state.to_string(),
            n.predecessor.clone().unwrap_or_else(dash),
            n.successor.clone().unwrap_or_else(dash),
            n.keys.map_or_else(dash, |k| k.to_string()),
        ]);
    }
    let mut text = table.render();
    for p in &report.ring_problems {
        text.push_str(&format!("ring problem: {p}\n"));
    }
    crate::output::print(&text)
}

/// `status`: non-zero exit if a node is down or the ring is broken.
pub async fn status<R: Runtime>(ctx: &Ctx<'_, R>) -> Result<()> {
    let cluster = ctx.existing().await?;
    let report = status_report(ctx, &cluster).await?;
    print_status(&report, ctx.json())?;
    if !report.healthy {
        let down = report.nodes.iter().filter(|n| n.state != "up").count();
        return Err(exit::unhealthy(format!(
            "cluster {:?} is unhealthy: {down} node(s) not up, {} ring problem(s)",
            cluster.spec.name,
            report.ring_problems.len()
        )));
    }
    Ok(())
}

/// `ring`: ring order, key-space shares, pointer agreement; with `svg`
/// (or `-o svg`) also a picture, with `node`'s fingers and the path of a
/// traced GET of `trace` if given. The picture is written even when the
/// ring is broken, which is when it helps most; the exit code is the same
/// as without it.
pub async fn ring<R: Runtime>(
    ctx: &Ctx<'_, R>,
    svg: Option<&Path>,
    node: Option<&str>,
    trace: Option<&str>,
) -> Result<()> {
    let cluster = ctx.existing().await?;
    let client = Client::new(&cluster.spec.key)?;
    let observed = observe(&client, &cluster).await;
    let report = ring_report(&observed);
    let picture = if svg.is_some() || ctx.output == OutputFormat::Svg {
        let route = match trace {
            Some(key) => traced_route(&client, &cluster, &observed, key).await,
            None => None,
        };
        Some(ring_picture(&cluster, &observed, node, route)?)
    } else {
        None
    };
    if let (Some(path), Some(picture)) = (svg, &picture) {
        std::fs::write(path, picture)
            .with_context(|| format!("writing the ring picture to {}", path.display()))?;
    }
    match (ctx.output, &picture) {
        (OutputFormat::Json, _) => print_json(&report)?,
        (OutputFormat::Svg, Some(picture)) => crate::output::print(picture)?,
        _ => print_ring_table(&report)?,
    }
    if report.rows.is_empty() {
        return Err(exit::unhealthy("no node answers"));
    }
    if !report.problems.is_empty() {
        return Err(exit::unhealthy(format!(
            "{} ring problem(s)",
            report.problems.len()
        )));
    }
    Ok(())
}

/// The route of a traced GET of `key` through a random running node, its
/// path also printed on stderr; `None` (with a warning) when there is none
/// to draw, so that the picture of the ring is still made.
async fn traced_route(
    client: &Client,
    cluster: &Cluster,
    observed: &[Observed],
    key: &str,
) -> Option<Trace> {
    let running: Vec<&NodeInfo> = cluster.running();
    let Some(via) = running.choose(&mut rand::rng()) else {
        eprintln!("warning: no running node to trace {key:?} through");
        return None;
    };
    let endpoint = via.endpoint.as_deref()?;
    let reply = match client.clone().traced(true).get(endpoint, key).await {
        Ok(reply) => reply,
        Err(e) => {
            eprintln!("warning: the traced GET of {key:?} failed: {e:#}");
            return None;
        }
    };
    let Some(path) = reply.path else {
        eprintln!("warning: {} reported no path for {key:?}", via.name);
        return None;
    };
    eprintln!("{}", pathview::render(&path, |a| data::name_of(cluster, a)));
    // A hop may be any position of a node.
    let id_of = |addr: &str| {
        (observed.iter())
            .filter_map(|o| o.status.as_ref())
            .flat_map(check::positions_of)
            .find(|s| s.addr == addr)
            .map(|s| s.id)
    };
    let route = Trace::from_path(key, &path, id_of);
    if route.is_none() {
        eprintln!(
            "warning: the GET of {key:?} reached no owner ({})",
            reply.status
        );
    }
    route
}

/// The SVG picture of the nodes that answered; `node` (name or index)
/// picks whose fingers are drawn, `route` a lookup's path to draw.
fn ring_picture(
    cluster: &Cluster,
    observed: &[Observed],
    node: Option<&str>,
    route: Option<Trace>,
) -> Result<String> {
    let selected = node
        .map(|n| cluster.node(n).map(|info| info.name.as_str()))
        .transpose()?;
    let statuses: Vec<(&str, &Status)> = observed
        .iter()
        .filter_map(|o| Some((o.node.name.as_str(), o.status.as_ref()?)))
        .collect();
    let mut view = RingView::new(&statuses, selected)?;
    view.trace = route;
    Ok(ringview::render(&view))
}

/// The `ring` table: one row per node, a POSITIONS column when some node
/// takes more than one, the ring problems, and the balance line.
fn print_ring_table(report: &RingReport) -> Result<()> {
    crate::output::print(&ring_table(report))
}

fn ring_table(report: &RingReport) -> String {
    let vnodes = report.rows.iter().any(|r| r.positions > 1);
    let mut headers = vec!["NAME", "ID"];
    if vnodes {
        headers.push("POSITIONS");
    }
    headers.extend(["SHARE", "SUCCESSOR", "PREDECESSOR", "POINTERS"]);
    let mut table = Table::new(&headers);
    for r in &report.rows {
        let mut cells = vec![r.name.clone(), r.id.short()];
        if vnodes {
            cells.push(r.positions.to_string());
        }
        cells.extend([
            format!("{:.2}%", r.share),
            r.successor.clone(),
            r.predecessor.clone(),
            pointer_verdict(r),
        ]);
        table.row(cells);
    }
    let mut text = table.render();
    for p in &report.problems {
        text.push_str(&format!("ring problem: {p}\n"));
    }
    if let Some(balance) = &report.balance {
        text.push_str(&format!("{balance}\n"));
    }
    text
}

/// Whether a node's pointers agree with the ring order; with several
/// positions, how many of them have a wrong one.
fn pointer_verdict(r: &RingRow) -> String {
    if r.positions > 1 && r.wrong_positions > 0 {
        return format!("{} of {} positions wrong", r.wrong_positions, r.positions);
    }
    match (r.successor_ok, r.predecessor_ok) {
        (true, true) => "agree",
        (false, true) => "successor wrong",
        (true, false) => "predecessor wrong",
        (false, false) => "both wrong",
    }
    .to_string()
}

/// Prints a one-line list of names to stdout (table mode).
pub fn print_names(verb: &str, names: &[String]) -> Result<()> {
    for n in names {
        println(&format!("{verb} {n}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{inputs, vnode_ring};

    #[test]
    fn the_ring_table_has_a_positions_column_only_with_vnodes_and_always_a_balance_line() {
        let plain = ring_table(&check::ring(&inputs(&vnode_ring(3, 1))));
        assert!(plain.starts_with("NAME  ID "), "{plain}");
        assert!(!plain.contains("POSITIONS"), "{plain}");
        assert!(plain.contains("agree"), "{plain}");
        assert!(
            plain.ends_with(" %)\n") && plain.contains("\nbalance: busiest/mean "),
            "{plain}"
        );

        let mut ring = vnode_ring(3, 4);
        ring[1].1.positions[3].predecessor = None;
        let text = ring_table(&check::ring(&inputs(&ring)));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("  POSITIONS  SHARE  "), "{text}");
        let n2 = lines.iter().find(|l| l.starts_with("n2 ")).unwrap();
        assert!(
            n2.contains("  4  ") && n2.ends_with("1 of 4 positions wrong"),
            "{text}"
        );
        assert!(
            text.contains("ring problem: n2/v3: predecessor is none, expected "),
            "{text}"
        );
        assert!(
            lines.last().unwrap().starts_with("balance: busiest/mean "),
            "{text}"
        );
    }
}
