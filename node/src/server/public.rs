//! Public API: `/kv/{key}`, `/status`, `/healthz`, `/readyz`, `/metrics`,
//! `/openapi.json` (the contract of all of them: `node/openapi.json`).

use super::{error, json, wrong_method, Reply, Req};
use crate::driver::{ClientReply, Node};
use crate::host::Host;
use crate::metrics::OpLabel;
use crate::terms::Terms;
use crate::wire::{KvOp, KvOutcome};
use bytes::Bytes;
use chord_proto::key::{decode_key, KeyError};
use chord_proto::trace;
use chord_proto::{etag, headers};
use serde_json::value::RawValue;
use std::sync::Arc;
use warp::http::{HeaderName, HeaderValue, Method, StatusCode};

/// Header names built once: inserting by `&str` parses the name on every response.
static X_CHORD_OWNER: HeaderName = HeaderName::from_static(headers::OWNER);
static X_CHORD_HOPS: HeaderName = HeaderName::from_static(headers::HOPS);
static X_CHORD_PATH: HeaderName = HeaderName::from_static(trace::PATH_HEADER);

/// A stored JSON value viewed as bytes, so a response body can share it.
struct JsonText(Arc<RawValue>);

impl AsRef<[u8]> for JsonText {
    fn as_ref(&self) -> &[u8] {
        self.0.get().as_bytes()
    }
}

/// `X-Chord-Hops` texts for the usual hop counts (no formatting per response).
const HOPS: [&str; 33] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
    "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32",
];

/// Adds `X-Chord-Owner` and `X-Chord-Hops` to a `/kv` response.
fn tag(mut r: Reply, owner: &HeaderValue, hops: u32) -> Reply {
    let h = r.headers_mut();
    h.insert(X_CHORD_OWNER.clone(), owner.clone());
    h.insert(
        X_CHORD_HOPS.clone(),
        HOPS.get(hops as usize)
            .map(|t| HeaderValue::from_static(t))
            .unwrap_or_else(|| HeaderValue::from(hops)),
    );
    r
}

/// Tags a `/kv` response the entry node made itself (before any routing).
pub fn tag_self(node: &Node, r: Reply) -> Reply {
    tag(r, node.addr_header(), 0)
}

/// `PUT|GET|HEAD|DELETE /kv/{key}`.
pub async fn kv(node: &Node, req: &Req, seg: &str) -> Reply {
    let me = node.addr_header();
    let key = match decode_key(seg) {
        Ok(k) => k,
        Err(KeyError::TooLong) => {
            let r = error(StatusCode::URI_TOO_LONG, "key longer than 1024 bytes");
            return tag(r, me, 0);
        }
        Err(KeyError::Invalid(msg)) => return tag(error(StatusCode::BAD_REQUEST, msg), me, 0),
    };
    let started = std::time::Instant::now();
    let op = match req.method {
        // HEAD is a GET whose body hyper leaves out (keeping the
        // `content-length` the GET would have had).
        Method::GET | Method::HEAD => KvOp::Get,
        Method::DELETE => KvOp::Delete,
        Method::PUT => match serde_json::from_slice::<Box<RawValue>>(&req.body) {
            Ok(v) => KvOp::Put {
                value: Arc::from(v),
            },
            Err(e) => {
                let msg = format!("the body is not valid JSON: {e}");
                return tag(error(StatusCode::BAD_REQUEST, &msg), me, 0);
            }
        },
        _ => return tag(wrong_method("GET, HEAD, PUT, DELETE"), me, 0),
    };
    // A read ignores write preconditions (no 304s here); a write's are
    // checked before anything is routed, so a bad one changes nothing.
    let mut terms = Terms::default();
    if !matches!(op, KvOp::Get) {
        let w = &req.write;
        let delete = matches!(op, KvOp::Delete);
        match etag::condition(w.if_match.as_deref(), w.if_none_match.as_deref(), delete) {
            Ok(cond) => terms.cond = cond,
            Err(e) => return tag(error(StatusCode::BAD_REQUEST, &e.0), me, 0),
        }
    }
    // A TTL is a PUT's; elsewhere the header and parameter are ignored.
    if matches!(op, KvOp::Put { .. }) {
        let w = &req.write;
        match chord_proto::ttl::of_request(w.ttl.as_deref(), w.query.as_deref()) {
            Ok(ttl_ms) => terms.ttl_ms = ttl_ms,
            Err(e) => return tag(error(StatusCode::BAD_REQUEST, &e.0), me, 0),
        }
    }
    let label = match op {
        KvOp::Get => OpLabel::get,
        KvOp::Put { .. } => OpLabel::put,
        KvOp::Delete => OpLabel::delete,
    };
    let ClientReply {
        outcome,
        owner,
        hops,
        path,
        version,
    } = node.client_op(key.clone(), op, terms, req.trace).await;
    let owner_header = match &owner {
        None => me.clone(),
        Some(o) => HeaderValue::from_str(o).unwrap_or_else(|_| me.clone()),
    };
    let owner_name = owner.as_deref().unwrap_or(&node.me().addr);
    let summary =
        || serde_json::to_vec(&serde_json::json!({"key": key, "owner": owner_name, "hops": hops}));
    let r = match outcome {
        KvOutcome::Stored | KvOutcome::Deleted => {
            json(StatusCode::OK, summary().unwrap_or_default())
        }
        KvOutcome::Value(v) => {
            let mut r = json(StatusCode::OK, Vec::new());
            // The stored text goes out as is, without a copy.
            *r.body_mut() = Bytes::from_owner(JsonText(v));
            r
        }
        KvOutcome::NotFound => error(StatusCode::NOT_FOUND, "no such key"),
        KvOutcome::Inconclusive { error: e } => {
            let mut r = error(StatusCode::SERVICE_UNAVAILABLE, &e);
            // Nothing changed: the client may simply ask again.
            r.headers_mut().insert(
                warp::http::header::RETRY_AFTER,
                HeaderValue::from_static("1"),
            );
            r
        }
        KvOutcome::Failed { status, error: e } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            error(code, &e)
        }
    };
    // Only operations that were carried out (or tried) are counted: a
    // request refused for its key or body never became one.
    let seconds = started.elapsed().as_secs_f64();
    node.metrics()
        .request(label, r.status().as_u16(), seconds, hops);
    let mut r = tag(r, &owner_header, hops);
    // A failed precondition is tagged with the version it failed against.
    let tagged = matches!(r.status(), StatusCode::OK | StatusCode::PRECONDITION_FAILED);
    if let Some(v) = version.filter(|_| tagged) {
        let etag = HeaderValue::from_str(&etag::format(v));
        if let Ok(etag) = etag {
            r.headers_mut().insert(warp::http::header::ETAG, etag);
        }
    }
    // Addresses come from peers: a path that is not a valid header value
    // is left out rather than failing the answer.
    if let Some(v) = path.and_then(|p| HeaderValue::from_str(&trace::format_path(&p)).ok()) {
        r.headers_mut().insert(X_CHORD_PATH.clone(), v);
    }
    r
}

/// `POST /kv:batchGet`: a JSON array of keys in, `{"values", "etags",
/// "missing", "errors"}` out (see `chord_proto::api::BatchGetResponse`).
pub async fn batch_get(node: &Node, req: &Req) -> Reply {
    if req.method != Method::POST {
        return wrong_method("POST");
    }
    let keys = match crate::batch::parse_keys(&req.body) {
        Ok(keys) => keys,
        Err(refused) => {
            let code = StatusCode::from_u16(refused.status).unwrap_or(StatusCode::BAD_REQUEST);
            return error(code, &refused.error);
        }
    };
    let answer = node.batch_get(keys).await;
    json(
        StatusCode::OK,
        serde_json::to_vec(&answer).unwrap_or_default(),
    )
}

/// The OpenAPI document of this API, as committed beside the code.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /openapi.json`.
pub fn openapi(req: &Req) -> Reply {
    if req.method != Method::GET && req.method != Method::HEAD {
        return wrong_method("GET, HEAD");
    }
    json(StatusCode::OK, OPENAPI.as_bytes().to_vec())
}

/// `GET /metrics`: the Prometheus (OpenMetrics) text exposition.
pub fn metrics_text(req: &Req, text: String) -> Reply {
    if req.method != Method::GET && req.method != Method::HEAD {
        return wrong_method("GET, HEAD");
    }
    let mut r = Reply::new(Bytes::from(text));
    r.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

/// `GET /status`, `/healthz`, `/readyz` of one position (`path` is one of them).
pub fn info(node: &Node, req: &Req, path: &str) -> Reply {
    info_of(req, path, || node.status(), || node.is_ready())
}

/// `GET /status`, `/healthz`, `/readyz` of a node with several positions:
/// its summed status, ready when every position is.
pub fn host_info(host: &Host, req: &Req, path: &str) -> Reply {
    info_of(req, path, || host.status(), || host.is_ready())
}

fn info_of(
    req: &Req,
    path: &str,
    status: impl FnOnce() -> chord_proto::api::Status,
    is_ready: impl FnOnce() -> bool,
) -> Reply {
    if req.method != Method::GET && req.method != Method::HEAD {
        return wrong_method("GET, HEAD");
    }
    match path {
        "/status" => json(
            StatusCode::OK,
            serde_json::to_vec(&status()).unwrap_or_default(),
        ),
        "/healthz" => json(StatusCode::OK, br#"{"ok":true}"#.to_vec()),
        _ if is_ready() => json(StatusCode::OK, br#"{"ready":true}"#.to_vec()),
        _ => json(
            StatusCode::SERVICE_UNAVAILABLE,
            br#"{"ready":false}"#.to_vec(),
        ),
    }
}
