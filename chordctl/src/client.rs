//! Talking to nodes over HTTP, always through their `127.0.0.1` endpoints.
//!
//! Transport failures (connection refused, timeout) are `Err`, so callers
//! can try another node; every HTTP answer, including 404 and 503, is an
//! `Ok` [`KvReply`] for the caller to interpret. The JSON it reads is the
//! node's own types from `chord_proto`, never a copy of them.

use std::time::Duration;

use anyhow::{Context, Result};
use chord_proto::api::{BatchGetResponse, ErrorBody, KeyListing, Status};
use chord_proto::headers;
use chord_proto::key::encode_key;
use chord_proto::trace::{self, TraceHop};

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
    /// `X-Chord-Path`, when the request was traced (and the path readable).
    pub path: Option<Vec<TraceHop>>,
    /// `X-Chord-Path` as the node sent it, for a caller that reports an
    /// unreadable one (`chordctl ui`).
    pub path_text: Option<String>,
    /// `ETag`: the key's version, opaque (see `chord_proto::etag`).
    pub etag: Option<String>,
}

impl KvReply {
    /// The `error` field of a JSON error body, or the body itself.
    pub fn error_message(&self) -> String {
        serde_json::from_str::<ErrorBody>(&self.body)
            .map(|b| b.error)
            .unwrap_or_else(|_| self.body.trim().to_string())
    }
}

/// A PUT's terms beyond its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// `If-Match`: write only over this ETag (or `*`: over any live value).
    pub if_match: Option<String>,
    /// `If-None-Match: *`: write only if the key is absent.
    pub create: bool,
    /// `X-Chord-TTL`: the value expires this long after the write
    /// (`30`, `30s`, `5m`, `2h`).
    pub ttl: Option<String>,
}

/// HTTP client for nodes of one cluster.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// `None` for a client of the public API only (`chordctl ui`'s, which
    /// must never hold the key).
    cluster_key: Option<String>,
    /// Whether `/kv` requests ask for their path (`X-Chord-Trace: 1`).
    trace: bool,
}

impl Client {
    /// A client that authenticates internal requests with `cluster_key`.
    pub fn new(cluster_key: &str) -> Result<Self> {
        Ok(Self {
            cluster_key: Some(cluster_key.to_string()),
            ..Self::public()?
        })
    }

    /// A client of the public API only (`/status`, `/kv`): it has no
    /// cluster key, so [`Client::keys`] fails.
    pub fn public() -> Result<Self> {
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
            cluster_key: None,
            trace: false,
        })
    }

    /// This client, asking for each `/kv` request's path when `on`.
    pub fn traced(self, on: bool) -> Self {
        Self { trace: on, ..self }
    }

    /// `GET /status`.
    pub async fn status(&self, endpoint: &str) -> Result<Status> {
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
    pub async fn keys(&self, endpoint: &str) -> Result<KeyListing> {
        let Some(cluster_key) = &self.cluster_key else {
            anyhow::bail!("this client has no cluster key: it speaks the public API only");
        };
        let resp = self
            .http
            .get(format!("http://{endpoint}/chord/keys"))
            .bearer_auth(cluster_key)
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
        self.put_with(endpoint, key, json, &PutOptions::default())
            .await
    }

    /// `PUT /kv/{key}` with a JSON body on `opts` (conditions, expiry).
    pub async fn put_with(
        &self,
        endpoint: &str,
        key: &str,
        json: &str,
        opts: &PutOptions,
    ) -> Result<KvReply> {
        let mut req = self
            .http
            .put(kv_url(endpoint, key))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json.to_string());
        if let Some(tag) = &opts.if_match {
            req = req.header(reqwest::header::IF_MATCH, tag);
        }
        if opts.create {
            req = req.header(reqwest::header::IF_NONE_MATCH, "*");
        }
        if let Some(ttl) = &opts.ttl {
            req = req.header(chord_proto::ttl::HEADER, ttl);
        }
        send(self.trace_header(req), endpoint).await
    }

    /// `GET /kv/{key}`.
    pub async fn get(&self, endpoint: &str, key: &str) -> Result<KvReply> {
        let req = self.trace_header(self.http.get(kv_url(endpoint, key)));
        send(req, endpoint).await
    }

    /// `POST /kv:batchGet` with `keys`: the answer, or the node's HTTP
    /// status and error message when it refused the request.
    pub async fn batch_get(
        &self,
        endpoint: &str,
        keys: &[String],
    ) -> Result<std::result::Result<BatchGetResponse, (u16, String)>> {
        let resp = self
            .http
            .post(format!("http://{endpoint}/kv:batchGet"))
            .json(keys)
            .send()
            .await
            .with_context(|| format!("sending the request to {endpoint}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .with_context(|| format!("reading the answer of {endpoint}"))?;
        if status != 200 {
            let message = serde_json::from_str::<ErrorBody>(&body)
                .map(|b| b.error)
                .unwrap_or_else(|_| body.trim().to_string());
            return Ok(Err((status, message)));
        }
        let answer = serde_json::from_str(&body)
            .with_context(|| format!("reading the multi-get answer of {endpoint}"))?;
        Ok(Ok(answer))
    }

    /// `HEAD /kv/{key}`: a GET's status and headers, no body.
    pub async fn head(&self, endpoint: &str, key: &str) -> Result<KvReply> {
        let req = self.trace_header(self.http.head(kv_url(endpoint, key)));
        send(req, endpoint).await
    }

    /// `DELETE /kv/{key}`.
    pub async fn delete(&self, endpoint: &str, key: &str) -> Result<KvReply> {
        let req = self.trace_header(self.http.delete(kv_url(endpoint, key)));
        send(req, endpoint).await
    }

    /// `req` with `X-Chord-Trace: 1` if this client traces.
    fn trace_header(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if self.trace {
            req.header(trace::TRACE_HEADER, "1")
        } else {
            req
        }
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
    let owner = header(headers::OWNER);
    let hops = header(headers::HOPS).and_then(|h| h.parse().ok());
    let path_text = header(trace::PATH_HEADER);
    let etag = header(reqwest::header::ETAG.as_str());
    let path = path_text.as_deref().and_then(|p| trace::parse_path(p).ok());
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
        path,
        path_text,
        etag,
    })
}

/// Whether a request failed before a connection was made: then, and only
/// then, it is safe to send it to another node (it reached none).
pub fn never_connected(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<reqwest::Error>()
            .is_some_and(|r| r.is_connect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_key_survives_url_parsing() {
        let url = reqwest::Url::parse(&kv_url("127.0.0.1:1", "a/b/../c")).unwrap();
        assert_eq!(url.path(), "/kv/a%2Fb%2F..%2Fc");
    }
}
