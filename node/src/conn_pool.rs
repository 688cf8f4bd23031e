//! Keep-alive HTTP/1 connections to peers, by `host:port`: the transport of
//! every internal call ([`crate::peer::PeerClient`]).
//!
//! Why not hyper-util's pooled client, which this replaced: per call its
//! checkout, pooled guard and return to the pool cost about 5.5 k
//! instructions (callgrind, a 1-hop GET's entry node), as much as the whole
//! request parse of a 0-hop GET. Internal calls need much less of a pool:
//! one scheme, no proxies, no HTTP/2, no waiting for a busy connection
//! (a new one is opened instead, as hyper-util also did).
//!
//! The rules:
//! - An idle connection is reused newest first, and only within
//!   [`IDLE_TIMEOUT`] of its last answer: a connection idle across a
//!   partition may point at an address the peer no longer has (a container
//!   moved between networks gets a new one), and would cost a timeout.
//! - A connection goes back to the pool only once its answer was read in
//!   full; one dropped mid-call (a timeout, a caller gone) is closed.
//! - A request that a reused connection did not send (the peer had closed
//!   it meanwhile) goes on the next idle connection, or a new one; one that
//!   was sent is never repeated here (a POST may have taken effect).
//! - At most [`IDLE_PER_PEER`] idle connections per peer; stale ones of every
//!   peer are swept at most once per [`IDLE_TIMEOUT`], on a checkout or a
//!   return (maintenance calls every tick make sure there are some).
//! - Only a refused connection or a name that does not resolve (a removed
//!   container's) is [`ExchangeError::Refused`], which drops the peer at
//!   once; any other failure to connect (our own side out of ports or file
//!   handles, an unreachable network) is [`ExchangeError::ConnectFailed`].

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an idle connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Idle connections kept per peer; more are closed when they come back.
pub const IDLE_PER_PEER: usize = 64;

/// The request body of an internal call.
pub type Body = http_body_util::Full<Bytes>;

/// Why an exchange failed.
#[derive(Debug)]
pub enum ExchangeError {
    /// Nobody listens there: the connection was refused, or the name does
    /// not resolve (a removed container's).
    Refused(std::io::Error),
    /// No connection could be made for another reason, which says nothing
    /// certain about the peer.
    ConnectFailed(std::io::Error),
    /// The connection attempt took longer than the connect timeout: a silent
    /// peer, not a refusing one.
    ConnectTimeout,
    /// The connection broke, or the answer was not HTTP.
    Http(hyper::Error),
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::Refused(e) => write!(f, "refused: {e}"),
            ExchangeError::ConnectFailed(e) => write!(f, "cannot connect: {e}"),
            ExchangeError::ConnectTimeout => write!(f, "connect timed out"),
            ExchangeError::Http(e) => {
                write!(f, "{e}")?;
                let mut cause = std::error::Error::source(e);
                while let Some(c) = cause {
                    write!(f, ": {c}")?;
                    cause = c.source();
                }
                Ok(())
            }
        }
    }
}

struct Idle {
    tx: SendRequest<Body>,
    since: Instant,
}

#[derive(Default)]
struct Idles {
    by_peer: HashMap<String, Vec<Idle>>,
    swept: Option<Instant>,
}

impl Idles {
    /// Closes the stale and closed connections of every peer, at most once
    /// per [`IDLE_TIMEOUT`].
    fn sweep_if_due(&mut self, now: Instant) {
        if self.swept.is_some_and(|at| fresh(at, now)) {
            return;
        }
        self.swept = Some(now);
        self.by_peer.retain(|_, list| {
            list.retain(|c| fresh(c.since, now) && !c.tx.is_closed());
            !list.is_empty()
        });
    }
}

/// The pool. Cheap to share behind an `Arc`.
pub struct ConnPool {
    idle: Mutex<Idles>,
    connect_timeout: Duration,
}

impl ConnPool {
    /// An empty pool whose connection attempts give up after `connect_timeout`.
    pub fn new(connect_timeout: Duration) -> ConnPool {
        ConnPool {
            idle: Mutex::default(),
            connect_timeout,
        }
    }

    /// Sends `req` (its URI in origin form, its `Host` header set) to `peer`
    /// (`host:port`) and reads the whole answer.
    pub async fn exchange(
        &self,
        peer: &str,
        mut req: hyper::Request<Body>,
    ) -> Result<(hyper::StatusCode, Bytes), ExchangeError> {
        // Reused connections first; each may turn out closed, and gives the
        // request back if it did not send it.
        while let Some(mut tx) = self.checkout(peer, Instant::now()) {
            if tx.ready().await.is_err() {
                continue; // closed while idle
            }
            match tx.try_send_request(req).await {
                Ok(resp) => return self.read(peer, tx, resp).await,
                Err(mut e) => match e.take_message() {
                    Some(back) => req = back,
                    None => return Err(ExchangeError::Http(e.into_error())),
                },
            }
        }
        let mut tx = self.connect(peer).await?;
        let resp = tx.send_request(req).await.map_err(ExchangeError::Http)?;
        self.read(peer, tx, resp).await
    }

    /// Reads the answer's body, then gives the connection back.
    async fn read(
        &self,
        peer: &str,
        tx: SendRequest<Body>,
        resp: hyper::Response<hyper::body::Incoming>,
    ) -> Result<(hyper::StatusCode, Bytes), ExchangeError> {
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(ExchangeError::Http)?
            .to_bytes();
        self.put_back(peer, tx, Instant::now());
        Ok((status, body))
    }

    /// The newest idle connection to `peer` that is fresh at `now`; stale
    /// and closed ones met on the way are closed.
    fn checkout(&self, peer: &str, now: Instant) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.sweep_if_due(now);
        let list = idle.by_peer.get_mut(peer)?;
        while let Some(c) = list.pop() {
            if fresh(c.since, now) && !c.tx.is_closed() {
                return Some(c.tx);
            }
        }
        None
    }

    fn put_back(&self, peer: &str, tx: SendRequest<Body>, now: Instant) {
        if tx.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.sweep_if_due(now);
        let list = match idle.by_peer.get_mut(peer) {
            Some(list) => list,
            None => idle.by_peer.entry(peer.to_string()).or_default(),
        };
        if list.len() < IDLE_PER_PEER {
            list.push(Idle { tx, since: now });
        }
    }

    /// A new connection to `peer` (see [`start`]). The name is resolved first, outside the connect timeout (which is for a
    /// silent peer, not a slow resolver); each address gets the timeout.
    async fn connect(&self, peer: &str) -> Result<SendRequest<Body>, ExchangeError> {
        let addrs = tokio::net::lookup_host(peer)
            .await
            .map_err(ExchangeError::Refused)?;
        let mut last = ExchangeError::Refused(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the name resolves to no address",
        ));
        for addr in addrs {
            let attempt =
                tokio::time::timeout(self.connect_timeout, tokio::net::TcpStream::connect(addr));
            match attempt.await {
                Ok(Ok(stream)) => return start(stream).await,
                Ok(Err(e)) => last = connect_error(e),
                Err(_) => last = ExchangeError::ConnectTimeout,
            }
        }
        Err(last)
    }

    /// Idle connections kept, over all peers (for tests).
    #[cfg(test)]
    fn idle_count(&self) -> usize {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.by_peer.values().map(Vec::len).sum()
    }
}

/// HTTP/1 on a new connection, its task running on its own.
async fn start(stream: tokio::net::TcpStream) -> Result<SendRequest<Body>, ExchangeError> {
    // Small messages both ways: Nagle would hold each one for an ACK.
    let _ = stream.set_nodelay(true);
    let io = hyper_util::rt::TokioIo::new(stream);
    let (tx, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(ExchangeError::Http)?;
    tokio::spawn(async move {
        // Ends when the peer closes, or when the last sender is dropped
        // and the connection is idle; its errors reach the caller
        // through `SendRequest`.
        let _ = conn.await;
    });
    Ok(tx)
}

/// What a failed connect says about the peer.
fn connect_error(e: std::io::Error) -> ExchangeError {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => ExchangeError::Refused(e),
        // The kernel's own connect timeout: silent, not refusing.
        std::io::ErrorKind::TimedOut => ExchangeError::ConnectTimeout,
        _ => ExchangeError::ConnectFailed(e),
    }
}

/// Whether a connection idle since `since` may still be used at `now`.
fn fresh(since: Instant, now: Instant) -> bool {
    now.saturating_duration_since(since) < IDLE_TIMEOUT
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use tokio::sync::Barrier;

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

    /// Serves bodiless requests on `s`: for each, waits at `gate` (if any),
    /// then answers `ok`; with `close_after_first`, closes after one answer
    /// without saying so (as a peer restarting would).
    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
        mut s: S,
        gate: Option<Arc<Barrier>>,
        close_after_first: bool,
    ) {
        let mut buf = vec![0u8; 4096];
        let mut seen = Vec::new();
        loop {
            let Ok(n) = s.read(&mut buf).await else {
                return;
            };
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
            while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                seen.drain(..end + 4);
                if let Some(g) = &gate {
                    g.wait().await;
                }
                if s.write_all(OK).await.is_err() || close_after_first {
                    return;
                }
            }
        }
    }

    /// A peer on 127.0.0.1 serving every connection with [`serve`]; counts
    /// the connections it accepted.
    async fn peer(
        gate: Option<Arc<Barrier>>,
        close_after_first: bool,
    ) -> (String, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(s, gate.clone(), close_after_first));
            }
        });
        (addr, accepted)
    }

    fn get(addr: &str) -> hyper::Request<Body> {
        hyper::Request::get("/x")
            .header(hyper::header::HOST, addr)
            .body(Body::default())
            .unwrap()
    }

    #[tokio::test]
    async fn sequential_calls_share_one_connection() {
        let (addr, accepted) = peer(None, false).await;
        let pool = ConnPool::new(Duration::from_secs(2));
        for _ in 0..5 {
            let (status, body) = pool.exchange(&addr, get(&addr)).await.unwrap();
            assert_eq!((status.as_u16(), body.as_ref()), (200, b"ok".as_ref()));
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(pool.idle_count(), 1);
    }

    #[tokio::test]
    async fn a_connection_the_peer_closed_is_replaced_without_failing_the_call() {
        let (addr, accepted) = peer(None, true).await;
        let pool = ConnPool::new(Duration::from_secs(2));
        for i in 1..=4 {
            let (status, _) = pool.exchange(&addr, get(&addr)).await.unwrap();
            assert_eq!(status.as_u16(), 200, "call {i}");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_pooled_connection_closed_while_idle_is_passed_over_for_a_new_one() {
        // A pooled connection whose peer closed it after answering, the
        // close noticed only when the next call takes the connection.
        // (Whether hyper notices it before or after taking the request is
        // its own scheduling: a request it hands back unsent goes on the
        // next connection too, see `exchange`; a request it sent fails.)
        let (addr, accepted) = peer(None, false).await;
        let pool = ConnPool::new(Duration::from_secs(2));
        let (ours, theirs) = tokio::io::duplex(4096);
        let (mut tx, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(ours))
                .await
                .unwrap();
        tokio::spawn(conn);
        let (release, closed) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let mut theirs = theirs;
            let mut buf = vec![0u8; 4096];
            let _ = theirs.read(&mut buf).await;
            theirs.write_all(OK).await.unwrap();
            let _ = closed.await;
            drop(theirs);
        });
        let resp = tx.send_request(get(&addr)).await.unwrap();
        let (_, body) = pool.read(&addr, tx, resp).await.unwrap();
        assert_eq!(body.as_ref(), b"ok");
        assert_eq!(pool.idle_count(), 1, "the duplex connection is pooled");
        // The peer goes away now: its task runs once (this runtime has one
        // thread), and the connection's task, woken by the close, has not
        // run yet when the next call takes the connection.
        release.send(()).unwrap();
        tokio::task::yield_now().await;
        let (status, _) = pool.exchange(&addr, get(&addr)).await.unwrap();
        assert_eq!(status.as_u16(), 200);
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "sent again on a new connection"
        );
    }

    #[tokio::test]
    async fn concurrent_calls_each_open_a_connection_and_at_most_the_cap_is_kept() {
        // The peer answers only once all the calls have arrived, so none
        // can wait for another's connection.
        let calls = IDLE_PER_PEER + 6;
        let (addr, accepted) = peer(Some(Arc::new(Barrier::new(calls))), false).await;
        let pool = Arc::new(ConnPool::new(Duration::from_secs(5)));
        let calls: Vec<_> = (0..calls)
            .map(|_| {
                let (pool, addr) = (pool.clone(), addr.clone());
                tokio::spawn(async move { pool.exchange(&addr, get(&addr)).await.map(|r| r.0) })
            })
            .collect();
        let n = calls.len();
        for c in calls {
            assert_eq!(c.await.unwrap().unwrap().as_u16(), 200);
        }
        assert_eq!(accepted.load(Ordering::SeqCst), n);
        assert_eq!(pool.idle_count(), IDLE_PER_PEER);
    }

    #[tokio::test]
    async fn a_call_dropped_midway_leaves_its_connection_out_of_the_pool() {
        // A peer that reads and never answers.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let (saw_eof, eof) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            while s.read(&mut buf).await.is_ok_and(|n| n > 0) {}
            let _ = saw_eof.send(());
        });
        let pool = ConnPool::new(Duration::from_secs(2));
        let call =
            tokio::time::timeout(Duration::from_millis(100), pool.exchange(&addr, get(&addr)));
        assert!(call.await.is_err(), "no answer, so the timeout ends it");
        assert_eq!(pool.idle_count(), 0);
        tokio::time::timeout(Duration::from_secs(5), eof)
            .await
            .expect("the connection is closed")
            .unwrap();
    }

    #[tokio::test]
    async fn nobody_listening_is_refused_and_a_full_backlog_is_a_connect_timeout() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        drop(l);
        let pool = ConnPool::new(Duration::from_millis(300));
        let r = pool.exchange(&addr, get(&addr)).await;
        assert!(matches!(r, Err(ExchangeError::Refused(_))), "{r:?}");
        // A listener that accepts nothing, its backlog filled: the kernel
        // drops further handshakes, as a host that is gone would.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let mut filling = Vec::new();
        for _ in 0..4 {
            match tokio::time::timeout(
                Duration::from_millis(200),
                tokio::net::TcpStream::connect(&addr),
            )
            .await
            {
                Ok(Ok(s)) => filling.push(s),
                _ => break,
            }
        }
        let r = pool.exchange(&addr, get(&addr)).await;
        assert!(matches!(r, Err(ExchangeError::ConnectTimeout)), "{r:?}");
    }

    #[tokio::test]
    async fn stale_idle_connections_are_not_reused_and_are_swept() {
        let (addr, accepted) = peer(None, false).await;
        let pool = ConnPool::new(Duration::from_secs(2));
        pool.exchange(&addr, get(&addr)).await.unwrap();
        let later = Instant::now() + IDLE_TIMEOUT;
        assert!(
            pool.checkout(&addr, later).is_none(),
            "stale at the timeout"
        );
        assert_eq!(pool.idle_count(), 0, "and closed on the way");
        pool.exchange(&addr, get(&addr)).await.unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        // A checkout for another peer sweeps it once the sweep is due.
        assert!(pool
            .checkout("elsewhere:1", Instant::now() + 2 * IDLE_TIMEOUT)
            .is_none());
        assert_eq!(pool.idle_count(), 0, "swept");
    }
}
