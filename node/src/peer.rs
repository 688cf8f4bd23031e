//! The one shared HTTP client nodes use to call each other.
//!
//! A pool of keep-alive connections per peer ([`crate::conn_pool`]) means
//! the hot path never opens a connection per request. Every call carries the
//! cluster key when one is configured.
//!
//! Our own HTTP/1 connections ([`crate::conn_pool`], [`crate::http1`]), not
//! reqwest (which wraps hyper-util's pooled client): reqwest re-parses every
//! request's URI into a `Url` for its redirect policy and runs its retry and
//! redirect layers per call, about 43 k instructions a call against a whole
//! 0-hop GET's 22 k (callgrind); internal calls never redirect and retry on
//! their own terms (`crate::request`).

use crate::conn_pool::{ConnPool, ExchangeError};
use crate::ring::{Request, Response};
use crate::wire::{BatchAnswer, BatchGet, ReplicaRequest, ReplicaResponse, ReplyMsg, RouteMsg};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Peers whose parsed URLs are kept; past this the cache starts over, so a
/// long churn of addresses cannot grow it without bound.
const URL_CACHE_PEERS: usize = 4096;

/// The internal endpoints of one peer, parsed once: parsing a URL (and its
/// host) on every call was a visible share of a hop's CPU time.
struct PeerUrls {
    /// `host:port`, the pool's key and the `Host` header of every call.
    authority: String,
    // The endpoints in origin form (path only), as an HTTP/1 request line
    // carries them.
    batch: String,
    rpc: String,
    data: String,
    route: String,
    reply: String,
}

impl PeerUrls {
    fn parse(addr: &str) -> Result<PeerUrls, CallError> {
        // As reqwest's own builder error was: the peer is unusable at this
        // address, so it counts as unreachable and is routed around.
        let bad = |why: &str| CallError::Unreachable(format!("bad peer address {addr:?}: {why}"));
        // A position of a node with virtual nodes answers under `/v{i}`.
        let (host, position) =
            chord_proto::peer::split_position(addr).ok_or_else(|| bad("not a host:port"))?;
        let prefix = addr.strip_prefix(host).unwrap_or_default();
        debug_assert!(position > 0 || prefix.is_empty());
        let url = |path: &str| {
            let full = format!("{prefix}{path}");
            let url = reqwest::Url::parse(&format!("http://{host}{full}"))
                .map_err(|e| bad(&e.to_string()))?;
            // Addresses arrive in other nodes' messages (a reply's origin, a
            // successor list): one that is more than host:port (and a
            // position), and would send the call to another path, with a
            // query or with credentials, is refused rather than followed.
            if url.path() != full
                || url.query().is_some()
                || url.fragment().is_some()
                || !url.username().is_empty()
                || url.password().is_some()
            {
                return Err(bad("not a host:port"));
            }
            full.parse::<warp::http::Uri>()
                .map_err(|e| bad(&e.to_string()))?;
            Ok(full)
        };
        // A header value, so no line break can end up in a request.
        warp::http::HeaderValue::from_str(host).map_err(|e| bad(&e.to_string()))?;
        Ok(PeerUrls {
            authority: host.to_string(),
            batch: url("/chord/batch")?,
            rpc: url("/chord/rpc")?,
            data: url("/chord/data")?,
            route: url("/chord/route")?,
            reply: url("/chord/reply")?,
        })
    }
}

/// Which internal endpoint a call goes to.
#[derive(Clone, Copy)]
enum Endpoint {
    Batch,
    Rpc,
    Data,
    Route,
    Reply,
}

/// Why a call to a peer failed.
#[derive(Debug)]
pub enum CallError {
    /// The connection was refused (or could not be made): nobody listens there.
    Refused(String),
    /// It answered 503: a node that is not a ring member right now (joining,
    /// leaving, or not yet started its ring). Treated like [`Refused`]: the
    /// peer is dropped from the views at once, since it cannot take requests.
    ///
    /// [`Refused`]: CallError::Refused
    NotReady(String),
    /// No answer in time, or the connection broke: the peer is suspect.
    Unreachable(String),
    /// No answer in time, but this process noticed the timeout far too late:
    /// it was stalled itself (starved of CPU, frozen), so the silence proves
    /// nothing about the peer and must not count against it.
    Stalled(String),
    /// It answered, but not with what we expected (e.g. 401, bad body).
    Rejected(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Refused(e) => write!(f, "refused: {e}"),
            CallError::NotReady(e) => write!(f, "not ready: {e}"),
            CallError::Unreachable(e) => write!(f, "unreachable: {e}"),
            CallError::Stalled(e) => write!(f, "no answer while this node was stalled: {e}"),
            CallError::Rejected(e) => write!(f, "rejected: {e}"),
        }
    }
}

/// Whether a failed call's cause was a timeout (the kernel's, on a
/// connection that was open): a silent peer, never a refusing one.
fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Whether a call that timed out after `elapsed` (its timeout `timeout`) was
/// noticed so late that this process must have been stalled: a timer firing
/// half a timeout (at least 100 ms) behind means the process did not run.
/// A peer that is merely slow is noticed on time, and still counts.
pub fn stalled(elapsed: Duration, timeout: Duration) -> bool {
    elapsed > timeout + (timeout / 2).max(Duration::from_millis(100))
}

/// How many call timeouts a routed hand-off or a reply may take in all: the
/// hedges after the first call ([`chord_proto::deadline::HAND_OFF_CALLS`]).
pub const HEDGE_PATIENCE: u32 = chord_proto::deadline::HAND_OFF_CALLS - 1;

/// Cheap to clone: the pool is shared.
#[derive(Clone)]
pub struct PeerClient {
    http: Arc<ConnPool>,
    /// The call timeout (see [`stalled`]).
    timeout: Duration,
    /// `Authorization: Bearer <cluster key>`'s value, ready-made.
    auth: Option<Vec<u8>>,
    urls: Arc<Mutex<HashMap<String, Arc<PeerUrls>>>>,
}

impl PeerClient {
    /// A client whose calls time out after `timeout` and carry `cluster_key`.
    pub fn new(timeout: Duration, cluster_key: Option<&str>) -> PeerClient {
        // A connect gets one call timeout even in a patient call (a route
        // or reply waits longer for the answer, not for the connection); one
        // that times out is a silent peer, not a refusing one.
        let http = Arc::new(ConnPool::new(timeout));
        PeerClient {
            http,
            timeout,
            // `Options::validate` admits only visible ASCII keys, which
            // always make a header value (checked again: no line break may
            // end up in a request).
            auth: cluster_key
                .map(|k| format!("Bearer {k}"))
                .filter(|v| warp::http::HeaderValue::from_str(v).is_ok())
                .map(String::into_bytes),
            urls: Arc::default(),
        }
    }

    /// A ring-maintenance call (`POST /chord/rpc`).
    pub async fn ring(&self, addr: &str, req: &Request) -> Result<Response, CallError> {
        self.call(addr, Endpoint::Rpc, req).await
    }

    /// A replica call (`POST /chord/data`).
    pub async fn data(
        &self,
        addr: &str,
        req: &ReplicaRequest,
    ) -> Result<ReplicaResponse, CallError> {
        self.call(addr, Endpoint::Data, req).await
    }

    /// A multi-get's keys for their owner (`POST /chord/batch`), waiting up
    /// to `timeout`: the owner reads every key, and a miss may poll holders.
    pub async fn batch(
        &self,
        addr: &str,
        req: &BatchGet,
        timeout: Duration,
    ) -> Result<BatchAnswer, CallError> {
        let bytes = self.post(addr, Endpoint::Batch, req, timeout).await?;
        serde_json::from_slice(&bytes).map_err(|e| CallError::Rejected(format!("bad body: {e}")))
    }

    /// Hands a routed request to the next hop, which acknowledges with 202
    /// without waiting for the outcome (`Ok(None)`), or, when the entry
    /// asked for it (`RouteMsg::reply_inline`) and the hop owns the key,
    /// answers with the owner's reply itself (`Ok(Some(reply))`).
    /// The call may take [`HEDGE_PATIENCE`] times the call timeout: the
    /// sender suspects a hop silent past the call timeout and tries another
    /// one meanwhile, but a hop that was only slow may still take the request.
    pub async fn route(&self, addr: &str, msg: &RouteMsg) -> Result<Option<ReplyMsg>, CallError> {
        let patient = self.timeout * HEDGE_PATIENCE;
        let body = msg
            .to_json()
            .map_err(|e| CallError::Rejected(e.to_string()))?;
        let body = self.post_json(addr, Endpoint::Route, body, patient).await?;
        // The acknowledgement is `{}`; anything else is a reply.
        if body.as_ref() == b"{}" {
            return Ok(None);
        }
        ReplyMsg::from_json(&body)
            .map(Some)
            .map_err(|e| CallError::Rejected(format!("bad inline reply: {e}")))
    }

    /// Sends the owner's direct reply to the entry node.
    /// Patient like [`PeerClient::route`]: there is no other way to the entry
    /// node, and a reply dropped after the work is done costs the client a
    /// request timeout and a retry.
    pub async fn reply(&self, addr: &str, msg: &ReplyMsg) -> Result<(), CallError> {
        let patient = self.timeout * HEDGE_PATIENCE;
        let body = msg
            .to_json()
            .map_err(|e| CallError::Rejected(e.to_string()))?;
        self.post_json(addr, Endpoint::Reply, body, patient)
            .await
            .map(|_| ())
    }

    async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        addr: &str,
        to: Endpoint,
        body: &B,
    ) -> Result<R, CallError> {
        let bytes = self.post(addr, to, body, self.timeout).await?;
        serde_json::from_slice(&bytes).map_err(|e| CallError::Rejected(format!("bad body: {e}")))
    }

    async fn post<B: Serialize>(
        &self,
        addr: &str,
        to: Endpoint,
        body: &B,
        timeout: Duration,
    ) -> Result<bytes::Bytes, CallError> {
        let body = serde_json::to_vec(body).map_err(|e| CallError::Rejected(e.to_string()))?;
        self.post_json(addr, to, body, timeout).await
    }

    /// [`PeerClient::post`] of a body already written as JSON.
    async fn post_json(
        &self,
        addr: &str,
        to: Endpoint,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<bytes::Bytes, CallError> {
        let urls = self.urls_of(addr)?;
        let url = match to {
            Endpoint::Batch => &urls.batch,
            Endpoint::Rpc => &urls.rpc,
            Endpoint::Data => &urls.data,
            Endpoint::Route => &urls.route,
            Endpoint::Reply => &urls.reply,
        };
        let path = url.as_str();
        // For messages: the host, and the path with its position prefix.
        let addr = &urls.authority;
        let req = crate::http1::post(path, addr, self.auth.as_deref(), &body);
        let started = std::time::Instant::now();
        let silent = |why: String| {
            if stalled(started.elapsed(), timeout) {
                CallError::Stalled(why)
            } else {
                CallError::Unreachable(why)
            }
        };
        let exchange = async {
            self.http
                .exchange(&urls.authority, &req)
                .await
                .map_err(|e| {
                    let why = format!("{addr}{path}: {e}");
                    match e {
                        ExchangeError::ConnectTimeout => silent(why),
                        ExchangeError::Refused(_) => CallError::Refused(why),
                        ExchangeError::ConnectFailed(_) => CallError::Unreachable(why),
                        ExchangeError::Broken(io) if is_timeout(&io) => silent(why),
                        ExchangeError::Broken(_) | ExchangeError::BadAnswer(_) => {
                            CallError::Unreachable(why)
                        }
                    }
                })
        };
        let (status, bytes) = match tokio::time::timeout(timeout, exchange).await {
            Ok(answer) => answer?,
            Err(_) => return Err(silent(format!("{addr}{path}: timed out"))),
        };
        if (200..300).contains(&status) {
            Ok(bytes)
        } else if status == 503 {
            // A node that is not ready (joining or leaving) counts as absent.
            Err(CallError::NotReady(format!("{addr}{path}: 503")))
        } else {
            Err(CallError::Rejected(format!("{addr}{path}: {status}")))
        }
    }

    /// `addr`'s parsed endpoints, from the cache or parsed now.
    fn urls_of(&self, addr: &str) -> Result<Arc<PeerUrls>, CallError> {
        let mut cache = self.urls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(urls) = cache.get(addr) {
            return Ok(urls.clone());
        }
        let urls = Arc::new(PeerUrls::parse(addr)?);
        if cache.len() >= URL_CACHE_PEERS {
            cache.clear();
        }
        cache.insert(addr.to_string(), urls.clone());
        Ok(urls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_address_is_host_and_port_and_a_position_and_nothing_else() {
        for good in ["127.0.0.1:7000", "node-3:7000", "[::1]:7000", "example:80"] {
            let urls = PeerUrls::parse(good).unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(urls.reply, "/chord/reply", "{good}");
        }
        // A position of a node with virtual nodes, and only that.
        let urls = PeerUrls::parse("node-3:7000/v12").unwrap();
        assert_eq!(urls.authority, "node-3:7000");
        assert_eq!(urls.reply, "/v12/chord/reply");
        for bad in [
            "evil:80/v0",
            "evil:80/v1/x",
            "evil:80/v1?q",
            "evil:80/v1/../x",
            "evil:80/x?",
            "evil:80/other",
            "user@evil:80",
            "user:pw@evil:80",
            "evil:80#",
            "evil:80?q=1",
            "no spaces:1",
            "",
        ] {
            assert!(
                matches!(PeerUrls::parse(bad), Err(CallError::Unreachable(_))),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn a_timeout_noticed_half_a_timeout_late_means_we_stalled() {
        let ms = Duration::from_millis;
        assert!(!stalled(ms(300), ms(300)), "on time");
        assert!(!stalled(ms(440), ms(300)), "a little late");
        assert!(stalled(ms(460), ms(300)), "half a timeout late");
        assert!(
            !stalled(ms(190), ms(100)),
            "short timeouts get 100 ms of slack"
        );
        assert!(stalled(ms(210), ms(100)));
    }

    /// A peer that accepts connections and never answers.
    fn silent_peer() -> (std::net::TcpListener, String) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        (l, addr)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_silent_peer_is_unreachable_when_we_ran_and_stalled_when_we_did_not() {
        let (_keep, addr) = silent_peer();
        // Long enough that a busy machine does not make the first call late.
        let client = PeerClient::new(Duration::from_millis(1000), None);
        let r = client
            .data(&addr, &ReplicaRequest::Fetch { key: "k".into() })
            .await;
        assert!(matches!(r, Err(CallError::Unreachable(_))), "{r:?}");
        // Block the runtime's only thread past the timeout, as a starved or
        // frozen process is: the timeout is noticed late.
        let call = tokio::spawn({
            let (client, addr) = (client.clone(), addr.clone());
            async move {
                client
                    .data(&addr, &ReplicaRequest::Fetch { key: "k".into() })
                    .await
            }
        });
        tokio::task::yield_now().await; // the call is on the wire
        std::thread::sleep(Duration::from_millis(2500));
        let r = call.await.unwrap();
        assert!(matches!(r, Err(CallError::Stalled(_))), "{r:?}");
    }

    /// A peer that answers every request with `status` and an empty body.
    fn answering_peer(status: u16) -> String {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for mut conn in l.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        addr
    }

    #[test]
    fn a_timed_out_cause_anywhere_in_the_chain_is_a_timeout() {
        #[derive(Debug)]
        struct Wrap(std::io::Error);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("connect error")
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let timed_out = Wrap(std::io::Error::new(std::io::ErrorKind::TimedOut, "slow"));
        let refused = Wrap(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "no",
        ));
        assert!(is_timeout(&timed_out));
        assert!(!is_timeout(&refused));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_503_is_not_ready_and_a_refused_port_is_refused() {
        let client = PeerClient::new(Duration::from_millis(2000), None);
        let fetch = ReplicaRequest::Fetch { key: "k".into() };
        let r = client.data(&answering_peer(503), &fetch).await;
        assert!(matches!(r, Err(CallError::NotReady(_))), "{r:?}");
        let r = client.data(&answering_peer(500), &fetch).await;
        assert!(matches!(r, Err(CallError::Rejected(_))), "{r:?}");
        // A port nobody listens on: bind one, then free it.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let r = client.data(&closed, &fetch).await;
        assert!(matches!(r, Err(CallError::Refused(_))), "{r:?}");
    }
}
