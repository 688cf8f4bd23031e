//! The HTTP front: one warp filter that hands every request to [`dispatch`].
//!
//! Routing by hand (rather than composing many warp filters) keeps status codes
//! exact — 404 for unknown routes, 405 for a wrong method, 413/414 for size
//! limits — and costs one match per request.

pub mod internal;
pub mod public;

use crate::driver::Node;
use crate::host::Host;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use std::convert::Infallible;
use std::future::Future;
use warp::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use warp::Filter;

/// The response type every handler returns.
pub type Reply = Response<Bytes>;

/// A request as handlers see it.
pub struct Req {
    /// HTTP method.
    pub method: Method,
    /// Raw (still percent-encoded) path.
    pub path: warp::path::FullPath,
    /// `Authorization` header, if any.
    pub auth: Option<String>,
    /// The whole body (bounded by `--max-body`).
    pub body: Bytes,
    /// Whether the client asked for the request's path (`X-Chord-Trace: 1`;
    /// any other value, or none, is no).
    pub trace: bool,
    /// The `/kv` write's preconditions and expiry, as sent.
    pub write: WriteHeaders,
}

/// The headers of a `/kv` write beyond its body, as the client sent them
/// (read, and refused when malformed, by `public::kv`).
#[derive(Debug, Default)]
pub struct WriteHeaders {
    /// `If-Match`.
    pub if_match: Option<String>,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `X-Chord-TTL`.
    pub ttl: Option<String>,
    /// The raw query string (`?ttl=`), if any.
    pub query: Option<String>,
}

/// A JSON response with `status`.
pub fn json(status: StatusCode, body: Vec<u8>) -> Reply {
    let mut r = Response::new(Bytes::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A JSON error `{"error": msg}` with `status`.
pub fn error(status: StatusCode, msg: &str) -> Reply {
    json(
        status,
        serde_json::to_vec(&chord_proto::api::ErrorBody {
            error: msg.to_string(),
        })
        .unwrap_or_default(),
    )
}

/// 413, telling the client the connection closes: the rest of its body is not
/// read, so the connection cannot carry another request.
fn too_large(msg: &str) -> Reply {
    let mut r = error(StatusCode::PAYLOAD_TOO_LARGE, msg);
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// 408: the body did not arrive within [`BODY_READ_MAX`]; the connection
/// closes.
fn too_slow() -> Reply {
    let mut r = error(
        StatusCode::REQUEST_TIMEOUT,
        "the request body did not arrive in time",
    );
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// 405 with the methods the route allows.
pub fn wrong_method(allow: &'static str) -> Reply {
    let mut r = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this route",
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// The position a path addresses and the path below it: `/v{i}/rest` is
/// position `i`'s `/rest`; any other path is the node's own.
fn position_path(path: &str) -> Option<(usize, &str)> {
    let rest = path.strip_prefix("/v")?;
    let (digits, below) = rest.split_at(rest.find('/')?);
    let i: usize = digits.parse().ok()?;
    // `/v0/…` and `/v01/…` name no position: position 0 is the bare address.
    (i > 0 && digits == i.to_string()).then_some((i, below))
}

/// Whether a request is node-to-node traffic (a larger body limit).
fn is_internal(path: &str) -> bool {
    let below = position_path(path).map_or(path, |(_, below)| below);
    below.starts_with("/chord/")
}

/// Sends every request to the right position and handler.
pub async fn dispatch(host: Host, req: Req) -> Reply {
    let path = req.path.as_str();
    if let Some((i, below)) = position_path(path) {
        return match host.position(i) {
            Some(node) => dispatch_at(node, &req, below).await,
            None => error(StatusCode::NOT_FOUND, "no such position"),
        };
    }
    if let Some(rest) = path.strip_prefix("/kv/") {
        // Entered at the position that owns the key or the one closest
        // before it (a key that does not decode is refused by any position
        // alike). With one position, no decoding twice.
        let entry = match host.positions() {
            [one] => one,
            _ => match chord_proto::key::decode_key(rest) {
                Ok(key) => host.entry_for(&crate::id::Id::hash(key.as_bytes())),
                Err(_) => host.first(),
            },
        };
        return public::kv(entry, &req, rest).await;
    }
    if host.positions().len() > 1 {
        match path {
            "/status" | "/healthz" | "/readyz" => return public::host_info(&host, &req, path),
            "/metrics" => return public::metrics_text(&req, host.render_metrics()),
            "/chord/keys" => return internal::host_keys(&host, &req),
            _ => {}
        }
    }
    dispatch_at(host.first(), &req, path).await
}

/// Sends a request for `path` (below any position prefix) to `node`'s handler.
async fn dispatch_at(node: &Node, req: &Req, path: &str) -> Reply {
    if let Some(rest) = path.strip_prefix("/kv/") {
        return public::kv(node, req, rest).await;
    }
    if let Some(rest) = path.strip_prefix("/chord/") {
        return internal::handle(node, req, rest).await;
    }
    match path {
        "/status" | "/healthz" | "/readyz" => public::info(node, req, path),
        "/metrics" => public::metrics_text(req, node.render_metrics()),
        "/openapi.json" => public::openapi(req),
        "/kv:batchGet" => public::batch_get(node, req).await,
        _ => error(StatusCode::NOT_FOUND, "no such route"),
    }
}

/// Reads the body, refusing more than `limit` bytes (413).
async fn read_body<S, B>(mut stream: S, limit: usize) -> Result<Bytes, ()>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Unpin,
    B: warp::Buf,
{
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(|_| ())?;
        if buf.len() + chunk.remaining() > limit {
            return Err(());
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            buf.extend_from_slice(part);
            chunk.advance(n);
        }
    }
    Ok(buf.freeze())
}

/// Bytes of an oversized body read and thrown away before the 413 goes out.
const DRAIN_MAX_BYTES: usize = 64 << 20;
/// How long reading a request's body may take.
const BODY_READ_MAX: std::time::Duration = std::time::Duration::from_secs(30);
/// How long draining an oversized body may take.
const DRAIN_MAX: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads and discards what is left of a refused body, up to a bound. A
/// client that writes its whole body before reading the answer (Python's
/// urllib, many simple clients) would otherwise see the connection reset
/// and never the 413: closing a socket with unread data makes the kernel
/// send RST. This is nginx's lingering close, bounded in bytes and time.
async fn drain<S, B>(mut stream: S)
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Unpin,
    B: warp::Buf,
{
    let mut seen = 0usize;
    let _ = tokio::time::timeout(DRAIN_MAX, async {
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.remaining();
            if seen > DRAIN_MAX_BYTES {
                break;
            }
        }
    })
    .await;
}

/// What `text_header` makes of a value that is not text: no valid
/// condition or TTL, so the handler refuses it with a 400 of its own
/// (with the `/kv` headers) rather than warp's bare one.
pub const NOT_TEXT: &str = "\u{7f}(not text)";

/// An optional header as text, its lines joined with `, ` (a list such as
/// `If-Match` may come on several); a value that is not visible ASCII
/// becomes [`NOT_TEXT`], never "absent".
fn text_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut lines = headers.get_all(name).iter().peekable();
    lines.peek()?;
    let mut text = Vec::new();
    for v in lines {
        match v.to_str() {
            Ok(t) => text.push(t),
            Err(_) => return Some(NOT_TEXT.to_string()),
        }
    }
    Some(text.join(", "))
}

/// The headers every handler may use, read from one map (warp hands over a
/// copy of the request's, once per request): one warp
/// filter per header (with `or` to make each optional) cost about 1.8 k
/// instructions of a 0-hop GET (callgrind), a lookup each costs far less.
struct Head {
    /// `Content-Length`, when it is a number.
    len: Option<u64>,
    /// `Authorization`, when it is text.
    auth: Option<String>,
    /// `Expect`, when it is text.
    expect: Option<String>,
    /// `X-Chord-Trace: 1` was sent (any other value, or none, is no; a
    /// value that is not text is no too, never a 400).
    trace: bool,
    /// The `/kv` write headers, read only for methods that write.
    write: WriteHeaders,
}

impl Head {
    fn read(method: &Method, headers: &HeaderMap, query: Option<String>) -> Head {
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        // A GET or HEAD has no preconditions or expiry to read (a
        // conditional GET is not part of the API).
        let writes = *method == Method::PUT || *method == Method::DELETE;
        Head {
            len: headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok()),
            auth: text(header::AUTHORIZATION),
            expect: text(header::EXPECT),
            trace: headers
                .get(chord_proto::trace::TRACE_HEADER)
                .is_some_and(|v| v.as_bytes() == b"1"),
            write: if writes {
                WriteHeaders {
                    if_match: text_header(headers, "if-match"),
                    if_none_match: text_header(headers, "if-none-match"),
                    ttl: text_header(headers, chord_proto::ttl::HEADER),
                    query,
                }
            } else {
                WriteHeaders::default()
            },
        }
    }
}

/// Serves `host` (a node, or a node's positions) on `listener` until
/// `shutdown` completes.
pub async fn serve(
    host: impl Into<Host>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let host: Host = host.into();
    let limit = host.first().options().max_body;
    // Node-to-node messages carry batches of entries (repair, hand-off) and a
    // client's value inside a routed request: give them headroom.
    let internal_limit = limit + (16 << 20);
    let filter = warp::method()
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(
            warp::query::raw()
                .map(Some)
                .or(warp::any().map(|| None))
                .unify(),
        )
        .and(warp::body::stream())
        .then(
            move |method: Method,
                  path: warp::path::FullPath,
                  headers: HeaderMap,
                  query: Option<String>,
                  body| {
                let host = host.clone();
                let Head {
                    len,
                    auth,
                    expect,
                    trace,
                    write,
                } = Head::read(&method, &headers, query);
                async move {
                    let limit = if is_internal(path.as_str()) {
                        internal_limit
                    } else {
                        limit
                    };
                    // Answers made before dispatch carry the `/kv` headers too.
                    let tag = |r: Reply| {
                        if path.as_str().starts_with("/kv/") {
                            public::tag_self(host.first(), r)
                        } else {
                            r
                        }
                    };
                    let refuse = |msg: &str| tag(too_large(msg));
                    // Draining helps only a client that sends its body
                    // unasked and whose body fits the bound: one that waits
                    // for `100 Continue` gets the 413 at once instead.
                    let waits = expect.is_some_and(|e| e.eq_ignore_ascii_case("100-continue"));
                    let drainable =
                        !waits && len.is_none_or(|l| l <= (limit + DRAIN_MAX_BYTES) as u64);
                    let mut body = std::pin::pin!(body);
                    if len.is_some_and(|l| l > limit as u64) {
                        if drainable {
                            drain(body).await;
                        }
                        return Ok::<_, Infallible>(refuse("request body over the size limit"));
                    }
                    // Only PUT and POST carry a body we use; others skip the read.
                    let body = if method == Method::PUT || method == Method::POST {
                        match tokio::time::timeout(BODY_READ_MAX, read_body(&mut body, limit)).await
                        {
                            Ok(Ok(b)) => b,
                            Ok(Err(())) => {
                                if drainable {
                                    drain(body).await;
                                }
                                return Ok(refuse(
                                    "request body over the size limit or unreadable",
                                ));
                            }
                            // A body that trickles in (or stops) must not
                            // hold this task and connection for ever.
                            Err(_) => return Ok(tag(too_slow())),
                        }
                    } else {
                        Bytes::new()
                    };
                    let req = Req {
                        method,
                        path,
                        auth,
                        body,
                        trace,
                        write,
                    };
                    Ok(dispatch(host, req).await)
                }
            },
        )
        // Nothing above rejects today (headers are read by lookups, the
        // query is optional); kept so that a filter added later answers 400,
        // not warp's bare rejection.
        .recover(|_rej: warp::Rejection| async {
            Ok::<_, Infallible>(error(StatusCode::BAD_REQUEST, "malformed request"))
        });
    warp::serve(filter)
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}
