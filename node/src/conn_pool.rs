//! Keep-alive HTTP/1 connections to peers, by `host:port`: the transport of
//! every internal call ([`crate::peer::PeerClient`]). A call writes its
//! request and reads the answer on the socket itself, in the caller's own
//! task ([`crate::http1`] says why not through hyper's client connection).
//!
//! Why not hyper-util's pooled client, which this replaced first: per call
//! its checkout, pooled guard and return to the pool cost about 5.5 k
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
//! - A reused connection is first asked whether the peer closed it
//!   meanwhile (a peek, which the kernel answers at once); a closed one is
//!   passed over for the next idle connection, or a new one. A request that
//!   was sent is never repeated here (a POST may have taken effect).
//! - A connection goes back only when its answer left it usable: framed by
//!   `Content-Length`, no `Connection: close`, nothing after it.
//! - At most [`IDLE_PER_PEER`] idle connections per peer; stale ones of every
//!   peer are swept at most once per [`IDLE_TIMEOUT`], on a checkout or a
//!   return (maintenance calls every tick make sure there are some).
//! - Only a refused connection or a name that does not resolve (a removed
//!   container's) is [`ExchangeError::Refused`], which drops the peer at
//!   once; any other failure to connect (our own side out of ports or file
//!   handles, an unreachable network) is [`ExchangeError::ConnectFailed`].

use crate::http1::{self, Framing, Head};
use bytes::{Buf, Bytes, BytesMut};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long an idle connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Idle connections kept per peer; more are closed when they come back.
pub const IDLE_PER_PEER: usize = 64;

/// The most a read grows the buffer by at once: a `Content-Length` is the
/// peer's claim, not memory to set aside before the bytes arrive.
const READ_CHUNK_MAX: usize = 1 << 20;

/// Room set aside for an answer's head, and per read of an answer framed by
/// the close: most answers are a few hundred bytes.
const READ_CHUNK_MIN: usize = 4096;

/// The largest answer body taken: a bound against a broken peer, far above
/// any answer of ours (the largest, a repair's delta, is a range's entries
/// that the other side holds newer).
pub const MAX_ANSWER: usize = 1 << 30;

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
    /// The connection broke (or closed) before the whole answer was read.
    Broken(std::io::Error),
    /// The answer was not HTTP/1 that [`http1`] reads.
    BadAnswer(String),
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::Refused(e) => write!(f, "refused: {e}"),
            ExchangeError::ConnectFailed(e) => write!(f, "cannot connect: {e}"),
            ExchangeError::ConnectTimeout => write!(f, "connect timed out"),
            ExchangeError::Broken(e) => write!(f, "connection broke: {e}"),
            ExchangeError::BadAnswer(e) => write!(f, "bad answer: {e}"),
        }
    }
}

/// One open connection and what was read from it beyond the last answer
/// (nothing, on a connection that is reused).
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        // Small messages both ways: Nagle would hold each one for an ACK.
        let _ = stream.set_nodelay(true);
        Conn {
            stream,
            buf: BytesMut::new(),
        }
    }

    /// Whether the peer has not closed the connection (nor sent anything
    /// unasked) since its last answer. A peek the kernel answers at once:
    /// tokio's cached readiness would not know of a close that arrived
    /// while nothing polled the socket.
    fn still_open(&self) -> bool {
        let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        match socket2::SockRef::from(&self.stream).peek(&mut probe) {
            Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
            // End of stream (0), or bytes no request asked for.
            Ok(_) => false,
        }
    }

    /// Writes `request`, reads the answer: its status, its body, and whether
    /// the connection may carry another request.
    async fn exchange(&mut self, request: &[u8]) -> Result<(u16, Bytes, bool), ExchangeError> {
        self.stream
            .write_all(request)
            .await
            .map_err(ExchangeError::Broken)?;
        self.buf.clear();
        loop {
            match http1::parse_head(&self.buf).map_err(ExchangeError::BadAnswer)? {
                None => self.fill(READ_CHUNK_MIN).await?,
                Some(Head::Interim(len)) => self.buf.advance(len),
                Some(Head::Final {
                    status,
                    len,
                    body,
                    reusable,
                }) => {
                    self.buf.advance(len);
                    let body = match body {
                        Framing::Length(n) if n > MAX_ANSWER => {
                            return Err(ExchangeError::BadAnswer(format!(
                                "an answer of {n} bytes is over the limit"
                            )));
                        }
                        Framing::Length(n) => {
                            while self.buf.len() < n {
                                self.fill(n - self.buf.len()).await?;
                            }
                            self.buf.split_to(n).freeze()
                        }
                        Framing::Close => {
                            while self.read_some(READ_CHUNK_MIN).await? > 0 {
                                if self.buf.len() > MAX_ANSWER {
                                    let msg = "an answer over the limit";
                                    return Err(ExchangeError::BadAnswer(msg.to_string()));
                                }
                            }
                            self.buf.split().freeze()
                        }
                    };
                    // Bytes after the answer were never asked for.
                    return Ok((status, body, reusable && self.buf.is_empty()));
                }
            }
        }
    }

    /// Reads more of an answer that is not complete yet: the end of the
    /// stream is an error here.
    async fn fill(&mut self, want: usize) -> Result<(), ExchangeError> {
        if self.read_some(want).await? == 0 {
            let eof = std::io::ErrorKind::UnexpectedEof;
            return Err(ExchangeError::Broken(eof.into()));
        }
        Ok(())
    }

    /// One read, with room set aside for about `want` more bytes (at least
    /// [`READ_CHUNK_MIN`], at most [`READ_CHUNK_MAX`]; a read takes what
    /// fits in the buffer's room, which may be more); 0 at the end of the
    /// stream.
    async fn read_some(&mut self, want: usize) -> Result<usize, ExchangeError> {
        self.buf.reserve(want.clamp(READ_CHUNK_MIN, READ_CHUNK_MAX));
        self.stream
            .read_buf(&mut self.buf)
            .await
            .map_err(ExchangeError::Broken)
    }
}

struct Idle {
    conn: Conn,
    since: Instant,
}

#[derive(Default)]
struct Idles {
    by_peer: HashMap<String, Vec<Idle>>,
    swept: Option<Instant>,
}

impl Idles {
    /// Closes the stale connections of every peer, at most once per
    /// [`IDLE_TIMEOUT`].
    fn sweep_if_due(&mut self, now: Instant) {
        if self.swept.is_some_and(|at| fresh(at, now)) {
            return;
        }
        self.swept = Some(now);
        self.by_peer.retain(|_, list| {
            list.retain(|c| fresh(c.since, now));
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

    /// Sends `request` (a whole HTTP/1 request, [`http1::post`]) to `peer`
    /// (`host:port`) and reads the whole answer: its status and body.
    pub async fn exchange(
        &self,
        peer: &str,
        request: &[u8],
    ) -> Result<(u16, Bytes), ExchangeError> {
        let mut conn = match self.checkout(peer, Instant::now()) {
            Some(conn) => conn,
            None => self.connect(peer).await?,
        };
        // Dropped with this future if the call is (a timeout, a caller
        // gone): a connection with half an exchange on it is never reused.
        let (status, body, reusable) = conn.exchange(request).await?;
        if reusable {
            self.put_back(peer, conn, Instant::now());
        }
        Ok((status, body))
    }

    /// The newest idle connection to `peer` that is fresh at `now` and still
    /// open; stale and closed ones met on the way are closed.
    fn checkout(&self, peer: &str, now: Instant) -> Option<Conn> {
        loop {
            let c = {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                idle.sweep_if_due(now);
                idle.by_peer.get_mut(peer)?.pop()?
            };
            // The peek is a system call: outside the lock every call shares.
            if fresh(c.since, now) && c.conn.still_open() {
                return Some(c.conn);
            }
        }
    }

    fn put_back(&self, peer: &str, conn: Conn, now: Instant) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.sweep_if_due(now);
        let list = match idle.by_peer.get_mut(peer) {
            Some(list) => list,
            None => idle.by_peer.entry(peer.to_string()).or_default(),
        };
        if list.len() < IDLE_PER_PEER {
            list.push(Idle { conn, since: now });
        }
    }

    /// A new connection to `peer`. The name is resolved first, outside the
    /// connect timeout (which is for a silent peer, not a slow resolver);
    /// each address gets the timeout.
    async fn connect(&self, peer: &str) -> Result<Conn, ExchangeError> {
        let addrs = tokio::net::lookup_host(peer)
            .await
            .map_err(ExchangeError::Refused)?;
        let mut last = ExchangeError::Refused(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the name resolves to no address",
        ));
        for addr in addrs {
            let attempt = tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr));
            match attempt.await {
                Ok(Ok(stream)) => return Ok(Conn::new(stream)),
                Ok(Err(e)) => last = connect_error(e),
                Err(_) => last = ExchangeError::ConnectTimeout,
            }
        }
        Err(last)
    }

    /// Whether the newest idle connection to `peer` is still open (for tests).
    #[cfg(test)]
    fn idle_open(&self, peer: &str) -> bool {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.by_peer
            .get(peer)
            .and_then(|list| list.last())
            .is_some_and(|c| c.conn.still_open())
    }

    /// Idle connections kept, over all peers (for tests).
    #[cfg(test)]
    fn idle_count(&self) -> usize {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.by_peer.values().map(Vec::len).sum()
    }
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

    fn get(addr: &str) -> Vec<u8> {
        format!("GET /x HTTP/1.1\r\nhost: {addr}\r\n\r\n").into_bytes()
    }

    #[tokio::test]
    async fn sequential_calls_share_one_connection() {
        let (addr, accepted) = peer(None, false).await;
        let pool = ConnPool::new(Duration::from_secs(2));
        for _ in 0..5 {
            let (status, body) = pool.exchange(&addr, &get(&addr)).await.unwrap();
            assert_eq!((status, body.as_ref()), (200, b"ok".as_ref()));
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(pool.idle_count(), 1);
    }

    #[tokio::test]
    async fn a_connection_the_peer_closed_is_replaced_without_failing_the_call() {
        let (addr, accepted) = peer(None, true).await;
        let pool = ConnPool::new(Duration::from_secs(2));
        for i in 1..=4 {
            let (status, _) = pool.exchange(&addr, &get(&addr)).await.unwrap();
            assert_eq!(status, 200, "call {i}");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_pooled_connection_closed_while_idle_is_passed_over_for_a_new_one() {
        // The first connection answers once, then waits; told to, it
        // closes (as a restarted peer's would) and says so. Later
        // connections serve as usual.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (closed, was_closed) = tokio::sync::oneshot::channel::<()>();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let (mut first, _) = l.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 4096];
            let _ = first.read(&mut buf).await;
            first.write_all(OK).await.unwrap();
            let _ = released.await;
            drop(first);
            closed.send(()).unwrap();
            while let Ok((s, _)) = l.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(s, None, false));
            }
        });
        let pool = ConnPool::new(Duration::from_secs(2));
        let (_, body) = pool.exchange(&addr, &get(&addr)).await.unwrap();
        assert_eq!(body.as_ref(), b"ok");
        assert_eq!(pool.idle_count(), 1, "the connection is pooled");
        release.send(()).unwrap();
        was_closed.await.unwrap();
        // The close reaches our end of the loopback connection with the
        // peer's close call; this waits for it in case it has not yet
        // (bounded: the test fails, rather than hangs, if it never does).
        let seen = async {
            while pool.idle_open(&addr) {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), seen)
            .await
            .expect("the close reaches our end");
        // Nothing polled the pooled socket since: only asking the kernel
        // tells that it is closed.
        let (status, _) = pool.exchange(&addr, &get(&addr)).await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "sent on a new connection"
        );
    }

    /// A peer that accepts one connection and answers its first request
    /// with `answer`; then it closes, or with `linger` reads until the
    /// caller closes.
    async fn answering_once(answer: &'static [u8], linger: bool) -> String {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = s.read(&mut buf).await;
            s.write_all(answer).await.unwrap();
            while linger && s.read(&mut buf).await.is_ok_and(|n| n > 0) {}
        });
        addr
    }

    #[tokio::test]
    async fn an_answer_that_closes_or_runs_on_leaves_its_connection_out_of_the_pool() {
        // Each connection gets one of these answers to every request.
        let answers: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\n\r\nok",
        ];
        for (i, answer) in answers.into_iter().enumerate() {
            // The last is framed by the close: the close ends it.
            let addr = answering_once(answer, i != 3).await;
            let pool = ConnPool::new(Duration::from_secs(2));
            let (status, body) = pool.exchange(&addr, &get(&addr)).await.unwrap();
            assert_eq!((status, body.as_ref()), (200, b"ok".as_ref()), "answer {i}");
            let kept = usize::from(i == 2);
            assert_eq!(pool.idle_count(), kept, "answer {i}");
        }
    }

    #[tokio::test]
    async fn an_answer_cut_short_or_not_http_is_an_error() {
        let answers: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\ncontent-le",
            b"SSH-2.0-OpenSSH_9.2\r\n",
            // A claim over the limit is refused before any of it is read.
            b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999\r\n\r\nx",
        ];
        for (i, answer) in answers.into_iter().enumerate() {
            let addr = answering_once(answer, false).await;
            let pool = ConnPool::new(Duration::from_secs(2));
            let r = pool.exchange(&addr, &get(&addr)).await;
            let ok = match i {
                2 | 3 => matches!(r, Err(ExchangeError::BadAnswer(_))),
                _ => matches!(r, Err(ExchangeError::Broken(_))),
            };
            assert!(ok, "answer {i}: {r:?}");
            assert_eq!(pool.idle_count(), 0);
        }
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
                tokio::spawn(async move { pool.exchange(&addr, &get(&addr)).await.map(|r| r.0) })
            })
            .collect();
        let n = calls.len();
        for c in calls {
            assert_eq!(c.await.unwrap().unwrap(), 200);
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
        let req = get(&addr);
        let call = tokio::time::timeout(Duration::from_millis(100), pool.exchange(&addr, &req));
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
        let r = pool.exchange(&addr, &get(&addr)).await;
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
        let r = pool.exchange(&addr, &get(&addr)).await;
        assert!(matches!(r, Err(ExchangeError::ConnectTimeout)), "{r:?}");
    }

    #[tokio::test]
    async fn stale_idle_connections_are_not_reused_and_are_swept() {
        let (addr, accepted) = peer(None, false).await;
        let pool = ConnPool::new(Duration::from_secs(2));
        pool.exchange(&addr, &get(&addr)).await.unwrap();
        let later = Instant::now() + IDLE_TIMEOUT;
        assert!(
            pool.checkout(&addr, later).is_none(),
            "stale at the timeout"
        );
        assert_eq!(pool.idle_count(), 0, "and closed on the way");
        pool.exchange(&addr, &get(&addr)).await.unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        // A checkout for another peer sweeps it once the sweep is due.
        assert!(pool
            .checkout("elsewhere:1", Instant::now() + 2 * IDLE_TIMEOUT)
            .is_none());
        assert_eq!(pool.idle_count(), 0, "swept");
    }
}
