//! The page's key request, sent to a node with `X-Chord-Trace: 1` through
//! a public [`Client`]: `/kv` is the public API, so the UI's client never
//! holds the cluster key.

use anyhow::{anyhow, Result};
use rand::seq::SliceRandom;

use super::api::{KvOp, KvRequest, NodeAnswer};
use crate::client::{never_connected, Client, KvReply};
use crate::runtime::NodeInfo;

/// Sends `req` to a random running node of `nodes` through `client` (a
/// public, traced [`Client`]), moving on to another only when no connection
/// could be made (so nothing is done twice). Returns the node's name and
/// its answer.
pub async fn to_some_node(
    client: &Client,
    nodes: &[NodeInfo],
    req: &KvRequest,
) -> Result<(String, NodeAnswer)> {
    let mut running: Vec<(&NodeInfo, &str)> = nodes
        .iter()
        .filter(|n| n.running)
        .filter_map(|n| Some((n, n.endpoint.as_deref()?)))
        .collect();
    running.shuffle(&mut rand::rng());
    let mut last = anyhow!("no node of the cluster is running");
    for (node, endpoint) in running {
        let sent = match &req.op {
            KvOp::Get => client.get(endpoint, &req.key).await,
            KvOp::Delete => client.delete(endpoint, &req.key).await,
            KvOp::Put(json) => client.put(endpoint, &req.key, json).await,
        };
        match sent {
            Ok(reply) => return Ok((node.name.clone(), answer(reply))),
            Err(e) if never_connected(&e) => {
                last = e.context(format!("{} did not answer", node.name))
            }
            Err(e) => return Err(e.context(format!("asking {}", node.name))),
        }
    }
    Err(last)
}

/// The page's view of a node's answer: the path as sent, so that one the
/// page cannot read is reported rather than dropped.
fn answer(reply: KvReply) -> NodeAnswer {
    NodeAnswer {
        status: reply.status,
        body: reply.body,
        owner: reply.owner,
        hops: reply.hops,
        path: reply.path_text,
    }
}
