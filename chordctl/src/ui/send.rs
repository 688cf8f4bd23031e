//! The page's key request, sent to a node with `X-Chord-Trace: 1`.
//!
//! Its own HTTP client, not [`crate::client::Client`]: `/kv` is the public
//! API, so this one never holds the cluster key, and it reads the extra
//! `X-Chord-Path` header.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use rand::seq::SliceRandom;

use chord_proto::headers;
use chord_proto::key::encode_key;
use chord_proto::trace::{PATH_HEADER, TRACE_HEADER};

use super::api::{KvOp, KvRequest, NodeAnswer};
use crate::runtime::NodeInfo;

/// An HTTP client for the nodes' public API.
pub fn http() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        // Nodes are reached on 127.0.0.1 endpoints: no proxy.
        .no_proxy()
        .connect_timeout(Duration::from_secs(1))
        // Above the node's own 2 s request timeout, so its 503 arrives.
        .timeout(Duration::from_secs(5))
        .build()
        .context("building the HTTP client")
}

/// Sends `req` to a random running node of `nodes`, moving on to another
/// only when no connection could be made (so nothing is done twice).
/// Returns the node's name and its answer.
pub async fn to_some_node(
    http: &reqwest::Client,
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
        match send(http, endpoint, req).await {
            Ok(answer) => return Ok((node.name.clone(), answer)),
            Err(e) if e.is_connect() => {
                last = anyhow::Error::new(e).context(format!("{} did not answer", node.name))
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("asking {}", node.name))),
        }
    }
    Err(last)
}

async fn send(
    http: &reqwest::Client,
    endpoint: &str,
    req: &KvRequest,
) -> reqwest::Result<NodeAnswer> {
    let url = format!("http://{endpoint}/kv/{}", encode_key(&req.key));
    let builder = match &req.op {
        KvOp::Get => http.get(url),
        KvOp::Delete => http.delete(url),
        KvOp::Put(json) => http
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json.clone()),
    };
    let resp = builder.header(TRACE_HEADER, "1").send().await?;
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let owner = header(headers::OWNER);
    let hops = header(headers::HOPS).and_then(|h| h.parse().ok());
    let path = header(PATH_HEADER);
    let status = resp.status().as_u16();
    let body = resp.text().await?;
    Ok(NodeAnswer {
        status,
        body,
        owner,
        hops,
        path,
    })
}
