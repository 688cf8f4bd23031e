//! `put`, `get`, `delete`: one request through a live node.

use anyhow::{anyhow, bail, Result};
use rand::seq::SliceRandom;
use serde_json::json;
use std::time::{Duration, Instant};

use super::Ctx;
use crate::cli::Target;
use crate::client::{never_connected, Client, KvReply, PutOptions};
use crate::exit;
use crate::output::{print, print_json, println};
use crate::pathview;
use crate::poll::{self, Look, POLL};
use crate::runtime::{Cluster, NodeInfo, Runtime};
use chord_proto::api::BatchGetResponse;
use chord_proto::peer::{position_addr, split_position};

/// Which key operation to send.
#[derive(Clone, Copy)]
enum KvCommand<'a> {
    Put(&'a str, &'a PutOptions),
    Get,
    Head,
    Delete,
}

/// Nodes to try, in order: the named one, or every running node shuffled.
fn candidates(cluster: &Cluster, target: &Target) -> Result<Vec<NodeInfo>> {
    match target {
        Target::Node(name) => {
            let node = cluster.node(name)?;
            if !node.running || node.endpoint.is_none() {
                bail!("{} is not running", node.name);
            }
            Ok(vec![node.clone()])
        }
        Target::Random => {
            let mut nodes: Vec<NodeInfo> = cluster.running().into_iter().cloned().collect();
            if nodes.is_empty() {
                bail!("no node of cluster {:?} is running", cluster.spec.name);
            }
            nodes.shuffle(&mut rand::rng());
            Ok(nodes)
        }
    }
}

/// Whether sending `op` twice answers as sending it once would.
fn repeatable(op: KvCommand<'_>) -> bool {
    match op {
        KvCommand::Get | KvCommand::Head => true,
        KvCommand::Put(_, opts) => opts.if_match.is_none() && !opts.create,
        KvCommand::Delete => false,
    }
}

/// Sends `op` (asking for its path when `trace`), moving on to the next
/// candidate when a node cannot be reached (at most one try per node). HTTP
/// answers are returned as they are.
async fn send<R: Runtime>(
    ctx: &Ctx<'_, R>,
    key: &str,
    op: KvCommand<'_>,
    target: &Target,
    trace: bool,
) -> Result<(NodeInfo, KvReply, Cluster)> {
    let cluster = ctx.existing().await?;
    let client = Client::new(&cluster.spec.key)?.traced(trace);
    let mut last_error = None;
    for node in candidates(&cluster, target)? {
        let Some(endpoint) = node.endpoint.as_deref() else {
            continue;
        };
        let reply = match op {
            KvCommand::Put(json, opts) => client.put_with(endpoint, key, json, opts).await,
            KvCommand::Get => client.get(endpoint, key).await,
            KvCommand::Head => client.head(endpoint, key).await,
            KvCommand::Delete => client.delete(endpoint, key).await,
        };
        match reply {
            Ok(reply) => return Ok((node, reply, cluster)),
            // A delete that may have reached the node is not sent again
            // elsewhere: the retry would answer "not found" for a delete that
            // worked (and a conditional put 412 against its own write).
            // Only a connection that never opened is safe to retry.
            Err(e) if !repeatable(op) && !never_connected(&e) => {
                return Err(e.context(format!("{} did not answer", node.name)))
            }
            Err(e) => last_error = Some(e.context(format!("{} did not answer", node.name))),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow!("no node to send the request to")))
}

/// Turns an unexpected HTTP answer into an error with the node's message.
fn failure(node: &NodeInfo, what: &str, key: &str, reply: &KvReply) -> anyhow::Error {
    let message = reply.error_message();
    match reply.status {
        400 => exit::usage(format!(
            "{} refused the {what} of {key:?}: {message}",
            node.name
        )),
        412 => anyhow!(
            "{} did not apply the {what} of {key:?}: {message} (412: its condition failed; \
             nothing changed)",
            node.name
        ),
        503 => anyhow!(
            "{} could not complete the {what} of {key:?}: {message} (503: a quorum of replicas \
             is not reachable or routing failed; try again or run `chordctl check`)",
            node.name
        ),
        status => anyhow!(
            "{} answered {status} to the {what} of {key:?}: {message}",
            node.name
        ),
    }
}

/// The node name for an owner address, when it is one of ours.
fn owner_label(cluster: &Cluster, owner: Option<&str>) -> String {
    match owner {
        None => "unknown".to_string(),
        Some(addr) => match name_of(cluster, addr) {
            Some(name) => format!("{name} ({addr})"),
            None => addr.to_string(),
        },
    }
}

/// The node name for an address, when it is one of ours (`name/v{i}` for
/// its virtual node i).
pub fn name_of(cluster: &Cluster, addr: &str) -> Option<String> {
    // A virtual node answers at `advertise/v{i}`: named after its node.
    let (host, i) = split_position(addr)?;
    let node = cluster.nodes.iter().find(|n| n.advertise == host)?;
    Some(position_addr(&node.name, i))
}

/// With `--trace`, prints the request's path on stderr (whatever the
/// answer; stdout stays the command's own output).
fn report_path(trace: bool, cluster: &Cluster, reply: &KvReply) {
    if !trace {
        return;
    }
    match &reply.path {
        Some(path) => eprintln!("{}", pathview::render(path, |a| name_of(cluster, a))),
        None => eprintln!("(no path: the node did not report one)"),
    }
}

/// With `-v`, tells on stderr which node served and how the request went.
fn report_route(ctx_verbose: bool, cluster: &Cluster, via: &NodeInfo, reply: &KvReply) {
    if ctx_verbose {
        let hops = reply
            .hops
            .map_or_else(|| "?".to_string(), |h| h.to_string());
        eprintln!(
            "owner: {}, hops: {hops}, via: {}",
            owner_label(cluster, reply.owner.as_deref()),
            via.name
        );
    }
}

/// Prints the answer's `ETag` on stderr (`etag: "…"`), so stdout stays the
/// command's own output.
fn report_etag(reply: &KvReply) {
    if let Some(tag) = &reply.etag {
        eprintln!("etag: {tag}");
    }
}

/// `put`: prints `OK` (or the node's answer as JSON, with its `etag`) and
/// the new ETag on stderr. A failed condition (412) prints the key's
/// current ETag on stderr, if it exists, and exits 1.
pub async fn put<R: Runtime>(
    ctx: &Ctx<'_, R>,
    key: &str,
    value: &str,
    opts: &PutOptions,
    target: &Target,
    trace: bool,
) -> Result<()> {
    let op = KvCommand::Put(value, opts);
    let (node, reply, cluster) = send(ctx, key, op, target, trace).await?;
    report_path(trace, &cluster, &reply);
    if reply.status == 412 {
        report_etag(&reply);
    }
    if reply.status != 200 {
        return Err(failure(&node, "put", key, &reply));
    }
    report_route(ctx.verbose, &cluster, &node, &reply);
    if ctx.json() {
        print_json(&json!({
            "key": key,
            "owner": reply.owner,
            "hops": reply.hops,
            "via": node.name,
            "etag": reply.etag,
        }))
    } else {
        report_etag(&reply);
        println("OK")
    }
}

/// How long `get` keeps asking while the ring answers 503. A read is safe
/// to repeat, and a node answers 503 to a miss it cannot prove yet: for a
/// few repair rounds after its neighbours changed (a join, a death, a
/// healed partition), and while a holder it must ask is silent. Writes are
/// not repeated: a 503 there may follow a partial write.
pub const GET_RETRY_FOR: Duration = Duration::from_secs(10);

/// Sends a read (`op`: GET or HEAD), asking again while the ring answers
/// 503 for up to [`GET_RETRY_FOR`].
async fn read<R: Runtime>(
    ctx: &Ctx<'_, R>,
    key: &str,
    op: KvCommand<'_>,
    target: &Target,
    trace: bool,
) -> Result<(NodeInfo, KvReply, Cluster)> {
    let deadline = Instant::now() + GET_RETRY_FOR;
    let look = poll::try_until(
        deadline,
        POLL,
        async || {
            let sent = send(ctx, key, op, target, trace).await?;
            Ok::<_, anyhow::Error>(match sent.1.status {
                503 => Look::NotYet(sent),
                _ => Look::Done(sent),
            })
        },
        |_| {},
    )
    .await?;
    Ok(match look {
        Look::Done(sent) | Look::NotYet(sent) => sent,
    })
}

/// `get`: prints the stored JSON exactly as the node returns it.
pub async fn get<R: Runtime>(
    ctx: &Ctx<'_, R>,
    key: &str,
    target: &Target,
    trace: bool,
) -> Result<()> {
    let (node, reply, cluster) = read(ctx, key, KvCommand::Get, target, trace).await?;
    report_path(trace, &cluster, &reply);
    match reply.status {
        200 => {
            report_route(ctx.verbose, &cluster, &node, &reply);
            let mut body = reply.body;
            if !body.ends_with('\n') {
                body.push('\n');
            }
            print(&body)
        }
        404 => Err(exit::not_found(format!("key {key:?} not found"))),
        _ => Err(failure(&node, "get", key, &reply)),
    }
}

/// `delete`: prints `deleted`; a missing key is exit code 3.
pub async fn delete<R: Runtime>(
    ctx: &Ctx<'_, R>,
    key: &str,
    target: &Target,
    trace: bool,
) -> Result<()> {
    let (node, reply, cluster) = send(ctx, key, KvCommand::Delete, target, trace).await?;
    report_path(trace, &cluster, &reply);
    match reply.status {
        200 => {
            report_route(ctx.verbose, &cluster, &node, &reply);
            if ctx.json() {
                print_json(
                    &json!({ "key": key, "deleted": true, "owner": reply.owner, "hops": reply.hops }),
                )
            } else {
                println("deleted")
            }
        }
        404 => Err(exit::not_found(format!("key {key:?} not found"))),
        _ => Err(failure(&node, "delete", key, &reply)),
    }
}

/// `exists`: a HEAD of KEY. Prints `exists` (exit 0, the ETag on stderr)
/// or `absent` (exit 1); with `-o json`, `{"key", "exists", "etag"}`.
pub async fn exists<R: Runtime>(
    ctx: &Ctx<'_, R>,
    key: &str,
    target: &Target,
    trace: bool,
) -> Result<()> {
    let (node, reply, cluster) = read(ctx, key, KvCommand::Head, target, trace).await?;
    report_path(trace, &cluster, &reply);
    let found = match reply.status {
        200 => true,
        404 => false,
        // A HEAD answer has no body: the status is all there is to say.
        _ => return Err(failure(&node, "existence check", key, &reply)),
    };
    report_route(ctx.verbose, &cluster, &node, &reply);
    if ctx.json() {
        print_json(&json!({ "key": key, "exists": found, "etag": reply.etag }))?;
    } else {
        if found {
            report_etag(&reply);
        }
        println(if found { "exists" } else { "absent" })?;
    }
    if found {
        Ok(())
    } else {
        Err(exit::absent(format!("key {key:?} does not exist")))
    }
}

/// One multi-get of `keys` through the first candidate node that answers
/// (a read is safe to send again elsewhere).
async fn batch_once(
    client: &Client,
    cluster: &Cluster,
    target: &Target,
    keys: &[String],
) -> Result<BatchGetResponse> {
    let mut last_error = None;
    for node in candidates(cluster, target)? {
        let Some(endpoint) = node.endpoint.as_deref() else {
            continue;
        };
        match client.batch_get(endpoint, keys).await {
            Ok(Ok(answer)) => return Ok(answer),
            Ok(Err((400, message))) => {
                return Err(exit::usage(format!(
                    "{} refused the multi-get: {message}",
                    node.name
                )))
            }
            Ok(Err((status, message))) => {
                return Err(anyhow!(
                    "{} answered {status} to the multi-get: {message}",
                    node.name
                ))
            }
            Err(e) => last_error = Some(e.context(format!("{} did not answer", node.name))),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow!("no node to send the request to")))
}

/// `get K1 K2 …`: one multi-get (`POST /kv:batchGet`), asking again for
/// the keys that answered 503 for up to [`GET_RETRY_FOR`], as `get` does.
/// Prints the keys found as one JSON object `{"key": value, …}` (with `-o
/// json`, the node's whole answer: `values`, `etags`, `missing`,
/// `errors`); missing keys on stderr and exit 3, keys that could not be
/// read on stderr and exit 1.
pub async fn get_many<R: Runtime>(
    ctx: &Ctx<'_, R>,
    keys: &[String],
    target: &Target,
) -> Result<()> {
    let cluster = ctx.existing().await?;
    let client = Client::new(&cluster.spec.key)?;
    let deadline = Instant::now() + GET_RETRY_FOR;
    let mut total = BatchGetResponse::default();
    let mut pending = keys.to_vec();
    loop {
        let answer = batch_once(&client, &cluster, target, &pending).await?;
        total.values.extend(answer.values);
        total.etags.extend(answer.etags);
        total.missing.extend(answer.missing);
        let (again, failed): (Vec<_>, Vec<_>) = answer
            .errors
            .into_iter()
            .partition(|(_, e)| e.status == 503);
        total.errors.extend(failed);
        if again.is_empty() || Instant::now() >= deadline {
            total.errors.extend(again);
            break;
        }
        pending = again.into_iter().map(|(k, _)| k).collect();
        tokio::time::sleep(POLL).await;
    }
    total.missing.sort();
    if ctx.json() {
        print_json(&total)?;
    } else {
        println(&serde_json::to_string(&total.values)?)?;
    }
    for key in &total.missing {
        eprintln!("not found: {key}");
    }
    for (key, e) in &total.errors {
        eprintln!("could not read {key}: {} {}", e.status, e.error);
    }
    if !total.errors.is_empty() {
        Err(anyhow!(
            "{} of the {} keys could not be read (try again, or run `chordctl check`)",
            total.errors.len(),
            keys.len()
        ))
    } else if !total.missing.is_empty() {
        Err(exit::not_found(format!(
            "{} of the {} keys not found",
            total.missing.len(),
            keys.len()
        )))
    } else {
        Ok(())
    }
}
