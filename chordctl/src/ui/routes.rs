//! The live view's HTTP routes, dispatched by hand from one warp filter
//! (as the node does), after the checks of [`super::guard`]:
//!
//! - `GET /`, `/app.js`, `/style.css`: the page, embedded in the binary;
//! - `GET /api/view`: the side panel ([`super::snapshot::ViewDoc`]);
//! - `GET /api/ring.svg[?key=&path=&owner=]`: the picture, with the trace
//!   given in the query drawn;
//! - `POST /api/kv` `{op, key, value}`: a traced get, put or delete through
//!   a random running node ([`super::api::KvResult`]); bad input is a 400
//!   and nothing is sent.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::watch;
use warp::http::{header, HeaderValue, Method, Response, StatusCode};

use super::api::{trace_from_query, KvRequest, KvResult};
use super::guard::{Bound, Headers};
use super::send;
use super::snapshot::Snapshot;
use crate::ringview;

/// The response type of every route.
pub type Reply = Response<Bytes>;

const INDEX_HTML: &str = include_str!("static/index.html");
const APP_JS: &str = include_str!("static/app.js");
const STYLE_CSS: &str = include_str!("static/style.css");

/// What the routes share: cheap to clone, one per request.
#[derive(Clone)]
pub struct App {
    /// Where the server listens, for the checks.
    pub bound: Bound,
    /// The latest look at the cluster.
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    /// Client for the nodes' public API (no cluster key), tracing.
    pub client: crate::client::Client,
}

/// A request as the routes see it.
pub struct Req {
    /// HTTP method.
    pub method: Method,
    /// Path, without the query.
    pub path: String,
    /// Query parameters.
    pub query: BTreeMap<String, String>,
    /// `Host`.
    pub host: Option<String>,
    /// `Origin`.
    pub origin: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// The body (bounded by the filter).
    pub body: Bytes,
}

/// Answers one request.
pub async fn handle(app: &App, req: Req) -> Reply {
    let headers = Headers {
        host: req.host.as_deref(),
        origin: req.origin.as_deref(),
        content_type: req.content_type.as_deref(),
    };
    let write = req.method != Method::GET && req.method != Method::HEAD;
    if let Err(refused) = app.bound.check(&headers, write) {
        return error(StatusCode::FORBIDDEN, &refused.0);
    }
    match (req.method.clone(), req.path.as_str()) {
        (Method::GET, "/") => text(INDEX_HTML, "text/html; charset=utf-8"),
        (Method::GET, "/app.js") => text(APP_JS, "text/javascript; charset=utf-8"),
        (Method::GET, "/style.css") => text(STYLE_CSS, "text/css; charset=utf-8"),
        (Method::GET, "/api/view") => json(StatusCode::OK, &app.latest().doc()),
        (Method::GET, "/api/ring.svg") => picture(app, &req.query),
        (Method::POST, "/api/kv") => kv(app, &req.body).await,
        (_, "/" | "/app.js" | "/style.css" | "/api/view" | "/api/ring.svg" | "/api/kv") => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => error(StatusCode::NOT_FOUND, "no such page"),
    }
}

impl App {
    fn latest(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }
}

fn picture(app: &App, query: &BTreeMap<String, String>) -> Reply {
    let trace = match trace_from_query(query) {
        Ok(t) => t,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    match app.latest().ring_view(trace) {
        Ok(view) => text(&ringview::render(&view), "image/svg+xml"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
    }
}

async fn kv(app: &App, body: &[u8]) -> Reply {
    let req = match KvRequest::parse(body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let snap = app.latest();
    let Some(cluster) = &snap.cluster else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the cluster is not found");
    };
    match send::to_some_node(&app.client, &cluster.nodes, &req).await {
        Ok((via, answer)) => json(StatusCode::OK, &KvResult::new(&req, &via, answer, &snap)),
        Err(e) => error(StatusCode::BAD_GATEWAY, &format!("{e:#}")),
    }
}

fn text(body: &str, content_type: &'static str) -> Reply {
    let mut r = Response::new(Bytes::from(body.to_string()));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The page polls: never a stale picture from a cache. Scripts only from
    // here (the page has no inline script), and no framing by other sites.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Reply {
    let body = serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    let mut r = text(&body, "application/json");
    *r.status_mut() = status;
    r
}

/// A JSON error `{"error": message}` with `status`.
pub fn error(status: StatusCode, message: &str) -> Reply {
    json(status, &serde_json::json!({ "error": message }))
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::tests::snapshot;
    use super::*;

    fn app() -> App {
        let (_tx, rx) = watch::channel(Arc::new(snapshot(4, &[2])));
        App {
            bound: Bound {
                addr: "127.0.0.1:8080".parse().unwrap(),
                public: false,
            },
            snapshot: rx,
            client: crate::client::Client::public().unwrap().traced(true),
        }
    }

    fn req(method: Method, path: &str, body: &str) -> Req {
        Req {
            method,
            path: path.to_string(),
            query: BTreeMap::new(),
            host: Some("127.0.0.1:8080".into()),
            origin: None,
            content_type: Some("application/json".into()),
            body: Bytes::from(body.to_string()),
        }
    }

    fn run(app: &App, r: Req) -> Reply {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(handle(app, r))
    }

    #[test]
    fn pages_and_documents_are_served_with_their_types() {
        let app = app();
        let page = run(&app, req(Method::GET, "/", ""));
        assert_eq!(page.status(), 200);
        assert!(page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let view = run(&app, req(Method::GET, "/api/view", ""));
        let doc: serde_json::Value = serde_json::from_slice(view.body()).unwrap();
        assert_eq!(doc["nodes"].as_array().unwrap().len(), 4);
        assert_eq!(doc["nodes"][1]["state"], "down");
        let svg = run(&app, req(Method::GET, "/api/ring.svg", ""));
        let text = std::str::from_utf8(svg.body()).unwrap();
        assert_eq!(text.matches("class=\"node\"").count(), 3);
        assert_eq!(text.matches("class=\"node down\"").count(), 1);
        assert_eq!(run(&app, req(Method::GET, "/nope", "")).status(), 404);
        assert_eq!(run(&app, req(Method::DELETE, "/api/kv", "")).status(), 405);
    }

    #[test]
    fn bad_input_and_foreign_hosts_are_refused_before_anything_is_sent() {
        let app = app();
        // The nodes of this snapshot do not exist: a request that got as
        // far as sending would be a 502, not these.
        let bad = run(
            &app,
            req(Method::POST, "/api/kv", r#"{"op":"put","key":"k"}"#),
        );
        assert_eq!(bad.status(), 400);
        let mut foreign = req(Method::GET, "/api/view", "");
        foreign.host = Some("rebound.example:8080".into());
        assert_eq!(run(&app, foreign).status(), 403);
        let mut form = req(Method::POST, "/api/kv", r#"{"op":"get","key":"k"}"#);
        form.content_type = Some("application/x-www-form-urlencoded".into());
        assert_eq!(run(&app, form).status(), 403);
        let mut query = req(Method::GET, "/api/ring.svg", "");
        query.query.insert("path".into(), "xyz".into());
        query.query.insert("owner".into(), "xyz".into());
        assert_eq!(run(&app, query).status(), 400);
    }
}
