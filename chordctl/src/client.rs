//! Talking to nodes over HTTP, always through their `127.0.0.1` endpoints.
//!
//! Transport failures (connection refused, timeout) are `Err`, so callers
//! can try another node; every HTTP answer, including 404 and 503, is an
//! `Ok` [`KvReply`] for the caller to interpret.

use std::time::Duration;

use anyhow::{Context, Result};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};

/// Bytes left as they are in a key's path segment: RFC 3986 "unreserved".
/// Everything else, `/` included, is percent-encoded so that the key is
/// exactly one segment.
const KEY_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a key as one URL path segment.
pub fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY_SEGMENT).to_string()
}

/// Another node as named in a status: its ring id and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// 40 hex digits.
    pub id: String,
    /// Advertised `host:port`.
    pub addr: String,
}

/// `GET /status` of a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's ring id, 40 hex digits.
    pub id: String,
    /// Its advertised address.
    pub addr: String,
    /// Current predecessor, if any.
    #[serde(default)]
    pub predecessor: Option<Peer>,
    /// Successor list, nearest first.
    #[serde(default)]
    pub successors: Vec<Peer>,
    /// Distinct fingers.
    #[serde(default)]
    pub fingers: Vec<Peer>,
    /// Entries held (owned and replica).
    #[serde(default)]
    pub keys: u64,
    /// Entries it owns.
    #[serde(default)]
    pub keys_owned: u64,
    /// Entries it holds as a replica.
    #[serde(default)]
    pub keys_replica: u64,
    /// Whether it is moving data after a membership change.
    #[serde(default)]
    pub repairing: bool,
    /// Its replication factor.
    #[serde(default)]
    pub replicas: u32,
    /// Whether it has joined.
    #[serde(default)]
    pub ready: bool,
}

/// One entry of `GET /chord/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// The key.
    pub key: String,
    /// Its ring id, 40 hex digits.
    pub id: String,
    /// Version, 32 hex digits; larger is newer when compared as strings.
    pub version: String,
    /// Whether this is a tombstone.
    #[serde(default)]
    pub deleted: bool,
}

/// `GET /chord/keys` of a node.
#[derive(Debug, Clone, Deserialize)]
pub struct KeysResponse {
    /// Every entry held, tombstones included.
    pub entries: Vec<KeyEntry>,
}

/// A node's answer to a `/kv` request.
#[derive(Debug, Clone)]
pub struct KvReply {
    /// HTTP status.
    pub status: u16,
    /// Body as text (the stored JSON for a successful get).
    pub body: String,
    /// `X-Chord-Owner`.
    pub owner: Option<String>,
    /// `X-Chord-Hops`.
    pub hops: Option<u32>,
}

impl KvReply {
    /// The `error` field of a JSON error body, or the body itself.
    pub fn error_message(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from))
            .unwrap_or_else(|| self.body.trim().to_string())
    }
}

/// HTTP client for nodes of one cluster.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    cluster_key: String,
}

impl Client {
    /// A client that authenticates internal requests with `cluster_key`.
    pub fn new(cluster_key: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            // Nodes are only ever on 127.0.0.1: a proxy from the
            // environment would be wrong.
            .no_proxy()
            .connect_timeout(Duration::from_secs(1))
            // Above the node's own 2 s request timeout, so its 503 arrives
            // rather than our timeout.
            .timeout(Duration::from_secs(5))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            cluster_key: cluster_key.to_string(),
        })
    }

    /// `GET /status`.
    pub async fn status(&self, endpoint: &str) -> Result<NodeStatus> {
        let resp = self
            .http
            .get(format!("http://{endpoint}/status"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .with_context(|| format!("asking {endpoint} for its status"))?;
        let resp = resp.error_for_status()?;
        resp.json()
            .await
            .with_context(|| format!("reading the status of {endpoint}"))
    }

    /// Whether `GET /readyz` answers 200.
    pub async fn ready(&self, endpoint: &str) -> bool {
        let resp = self
            .http
            .get(format!("http://{endpoint}/readyz"))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        matches!(resp, Ok(r) if r.status().is_success())
    }

    /// `GET /chord/keys` with the cluster key.
    pub async fn keys(&self, endpoint: &str) -> Result<KeysResponse> {
        let resp = self
            .http
            .get(format!("http://{endpoint}/chord/keys"))
            .bearer_auth(&self.cluster_key)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .with_context(|| format!("asking {endpoint} for its keys"))?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            anyhow::bail!("{endpoint} refused the cluster key (401)");
        }
        let resp = resp.error_for_status()?;
        resp.json()
            .await
            .with_context(|| format!("reading the keys of {endpoint}"))
    }

    /// `PUT /kv/{key}` with a JSON body.
    pub async fn put(&self, endpoint: &str, key: &str, json: &str) -> Result<KvReply> {
        let req = self
            .http
            .put(kv_url(endpoint, key))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json.to_string());
        send(req, endpoint).await
    }

    /// `GET /kv/{key}`.
    pub async fn get(&self, endpoint: &str, key: &str) -> Result<KvReply> {
        send(self.http.get(kv_url(endpoint, key)), endpoint).await
    }

    /// `DELETE /kv/{key}`.
    pub async fn delete(&self, endpoint: &str, key: &str) -> Result<KvReply> {
        send(self.http.delete(kv_url(endpoint, key)), endpoint).await
    }
}

fn kv_url(endpoint: &str, key: &str) -> String {
    format!("http://{endpoint}/kv/{}", encode_key(key))
}

async fn send(req: reqwest::RequestBuilder, endpoint: &str) -> Result<KvReply> {
    let resp = req
        .send()
        .await
        .with_context(|| format!("sending the request to {endpoint}"))?;
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let owner = header("x-chord-owner");
    let hops = header("x-chord-hops").and_then(|h| h.parse().ok());
    let status = resp.status().as_u16();
    let body = resp
        .text()
        .await
        .with_context(|| format!("reading the answer of {endpoint}"))?;
    Ok(KvReply {
        status,
        body,
        owner,
        hops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_segment() {
        assert_eq!(encode_key("user:1"), "user%3A1");
        assert_eq!(encode_key("a/b"), "a%2Fb");
        assert_eq!(encode_key("a b?c#d%"), "a%20b%3Fc%23d%25");
        assert_eq!(encode_key("Az09-._~"), "Az09-._~");
        assert_eq!(encode_key("é"), "%C3%A9");
    }

    #[test]
    fn encoded_key_survives_url_parsing() {
        let url = reqwest::Url::parse(&kv_url("127.0.0.1:1", "a/b/../c")).unwrap();
        assert_eq!(url.path(), "/kv/a%2Fb%2F..%2Fc");
    }

    #[test]
    fn status_parses_contract_example() {
        let text = r#"{"id":"00ff","addr":"n1:7000","predecessor":null,
            "successors":[{"id":"01","addr":"n2:7000"}],"fingers":[],
            "keys":3,"keys_owned":1,"keys_replica":2,"repairing":false,
            "replicas":3,"ready":true}"#;
        let s: NodeStatus = serde_json::from_str(text).unwrap();
        assert_eq!(s.successors[0].addr, "n2:7000");
        assert!(s.predecessor.is_none() && s.ready);
    }
}
