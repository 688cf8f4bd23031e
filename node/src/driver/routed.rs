//! Client operations at the entry node and routed requests on the way: the
//! first hop from a task of its own, hop-by-hop forwarding with 202 acks, the
//! owner's direct reply, the timeout and the one retry on another path.
//!
//! The decisions are made by the pure machines in [`crate::request`]
//! ([`ClientRequest`] at the entry, [`Relay`] at every hop); this module
//! sends, receives, sleeps and feeds them what happened.

use super::*;
use crate::request::client::route_deadline_ms;
use crate::request::path;
use crate::request::{ClientRequest, Decision, Event, Next, Relay, RelayLimits, Start};
use futures_util::StreamExt;

impl Node {
    /// Runs a client operation that arrived at this node (the entry node),
    /// on `terms` (a write's precondition); with `trace`, the answer
    /// carries the path the request took.
    pub async fn client_op(&self, key: String, op: KvOp, terms: Terms, trace: bool) -> ClientReply {
        let mut reply = self.client_op_inner(key, op, &terms, trace).await;
        // An answer this node made itself (not ready, no first hop, or run
        // here without a path yet) still shows where it was made.
        if trace && reply.path.is_none() {
            reply.path = Some(path::start(&self.inner.me.addr));
        }
        reply
    }

    async fn client_op_inner(
        &self,
        key: String,
        op: KvOp,
        terms: &Terms,
        trace: bool,
    ) -> ClientReply {
        let me = &self.inner.me.addr;
        let here = |done: Executed| ClientReply {
            path: trace.then(|| path::here(me)),
            version: done.version,
            ..ClientReply::here(done.outcome)
        };
        let id = Id::hash(key.as_bytes());
        let (ready, owns) = {
            let ring = lock(&self.inner.ring);
            (ring.is_joined(), ring.view().owns(&id))
        };
        // No location cache yet: the ring picks every first hop.
        let (mut entry, mut attempt) = match ClientRequest::first_step(ready, owns, None) {
            Start::Answer(reply) => return reply,
            Start::ExecuteHere => return here(self.execute_here(&key, id, op, None, terms).await),
            Start::Route(entry, attempt) => (entry, attempt),
        };
        let req = Pending::new_id();
        let opts = &self.inner.opts;
        let wait = opts.request_timeout;
        loop {
            // Dropping the guard (return, retry, or the client going away
            // mid-wait) forgets the request id.
            let (_waiting, mut reply) = self.inner.pending.wait_for(&req);
            // The first hop is sent by a task of its own, so this task waits for
            // the owner's reply alone: the hop's 202 is not on the request's
            // path, and the owner often replies before that 202 even arrives.
            // The task ends when the hop acknowledges or every candidate has
            // failed (bounded in all, see `forward`), so it does not outlive
            // this attempt; it does outlive a client that goes away, like a
            // request already on the wire would.
            let (sent_tx, mut sent) = oneshot::channel();
            let msg = RouteMsg {
                req: req.clone(),
                origin: self.inner.me.addr.clone(),
                key: key.clone(),
                op: op.clone(),
                hops: 1,
                owner_hint: false,
                avoid: attempt.avoid,
                deadline_ms: Some(route_deadline_ms(
                    now_ms(),
                    opts.rpc_timeout,
                    opts.request_timeout,
                )),
                trace: trace.then(|| path::start(me)),
                cond: terms.cond.clone(),
                ttl_ms: terms.ttl_ms,
            };
            let (node, via, retrying) = (self.clone(), attempt.via.take(), attempt.retry);
            tokio::spawn(async move {
                let _ = sent_tx.send(node.forward(msg, &id, via, retrying).await);
            });
            // The reply's timer starts once a first hop has taken the request,
            // as when the entry waited for the 202 first: a slow or hung first
            // hop costs the forward its RPC timeout and a detour, not the attempt.
            let deadline = tokio::time::sleep(wait);
            tokio::pin!(deadline);
            loop {
                let event = tokio::select! {
                    biased;
                    got = &mut reply => match got {
                        Ok(mut reply) => {
                            // Only a path this node asked for, and no longer
                            // than a path may be: the reply is a peer's word.
                            if !trace {
                                reply.trace = None;
                            }
                            if let Some(p) = &mut reply.trace {
                                path::received(p);
                                path::replied(p, me, &reply.owner);
                            }
                            Event::Reply(reply)
                        }
                        // Unreachable while `_waiting` holds the id.
                        Err(_) => Event::ReplyLost,
                    },
                    hop = &mut sent, if !entry.hop_known() => match hop {
                        Ok(Ok(Some(hop))) => Event::HopTook(hop),
                        Ok(Ok(None)) => Event::HopLocal,
                        Ok(Err(e)) => Event::HopFailed(e),
                        Err(_) => Event::HopLost,
                    },
                    _ = &mut deadline, if entry.hop_known() => {
                        Metrics::count(&self.inner.metrics.timeouts, "reply");
                        Event::ReplyTimeout
                    }
                };
                match entry.on(event) {
                    Decision::AwaitReply => {
                        deadline.as_mut().reset(tokio::time::Instant::now() + wait);
                    }
                    Decision::ExecuteHere => {
                        // The ring changed under us: this node owns the key now.
                        let outcome = self.execute_here(&key, id, op, Some(&req), terms).await;
                        return here(outcome);
                    }
                    Decision::Answer(reply) => return reply,
                    Decision::Retry {
                        attempt: next,
                        previous_hop,
                    } => {
                        self.inner.metrics.retries.inc();
                        tracing::debug!(
                            via = ?previous_hop.as_ref().map(|h| &h.addr),
                            failed = entry.has_failure(),
                            "no answer in time, or a 503 on the way; retrying"
                        );
                        attempt = next;
                        break;
                    }
                }
            }
        }
    }

    /// Executes a client's operation here, as the owner, with the entry's one
    /// retry when the first answer was inconclusive (nothing was changed).
    async fn execute_here(
        &self,
        key: &str,
        id: Id,
        op: KvOp,
        req: Option<&str>,
        terms: &Terms,
    ) -> Executed {
        let out = self.execute(key, id, op.clone(), req, terms).await;
        if matches!(out.outcome, KvOutcome::Inconclusive { .. }) {
            return self.execute(key, id, op, req, terms).await;
        }
        out
    }

    /// Forwards `msg` to the next hop for `id`, skipping dead candidates;
    /// `first`, if given, is asked first as the key's owner. The rules
    /// (hedging, the owner hint from `msg.owner_hint`, the node to avoid
    /// from `msg.avoid`, the hop ceiling) are [`Relay`]'s. `Ok(None)` when
    /// this node turns out to be the owner; an error when no candidate took
    /// it, or when `msg.hops` (the hop it would become) is over the
    /// `--max-hops` ceiling. On a traced request each copy's path gets the
    /// candidate it goes to; `retrying` (the entry's retry attempt) tags
    /// every candidate a retry.
    ///
    /// Two hops may take the same request, as a timed-out hand-off that did
    /// arrive always could: the entry takes the first reply, an owner that
    /// sees a write twice applies it once (request ids), and a copy that
    /// arrives after the entry's deadline is not executed at all
    /// ([`RouteMsg::deadline_ms`]). Two nodes that both believe they own the
    /// key while the ring changes could each apply one copy of a write
    /// within that deadline (see the README's known limits).
    async fn forward(
        &self,
        mut msg: RouteMsg,
        id: &Id,
        first: Option<Peer>,
        retrying: bool,
    ) -> Result<Option<Peer>, String> {
        let opts = &self.inner.opts;
        let limits = RelayLimits::new(opts.rpc_timeout, opts.max_hops);
        let mut relay = Relay::new(msg.hops, msg.avoid, msg.owner_hint, first, limits);
        let began = tokio::time::Instant::now();
        let give_up_at = began + relay.give_up_at();
        let mut in_flight = futures_util::stream::FuturesUnordered::new();
        loop {
            let next = {
                let ring = lock(&self.inner.ring);
                relay.next(&ring.view(), id, began.elapsed())
            };
            match next {
                Next::Local => return Ok(None),
                Next::GiveUp(e) => return Err(e),
                Next::Call {
                    to,
                    owner_hint,
                    why,
                    retry,
                } => {
                    msg.owner_hint = owner_hint;
                    let (node, mut sent) = (self.clone(), msg.clone());
                    if let Some(p) = &mut sent.trace {
                        path::forwarded(p, &to.addr, why, retry || retrying);
                    }
                    in_flight.push(async move {
                        let res = node.inner.peers.route(&to.addr, &sent).await;
                        (to, res)
                    });
                }
                Next::Wait => {}
            }
            let suspect_at = relay.suspect_at().map(|at| began + at);
            tokio::select! {
                Some((to, res)) = in_flight.next() => match res {
                    Ok(()) => return Ok(Some(to)),
                    Err(e) => {
                        if relay.on_failed(&to, &e) {
                            self.peer_failed(&to, &e);
                        }
                    }
                },
                _ = tokio::time::sleep_until(suspect_at.unwrap_or(give_up_at)), if suspect_at.is_some() => {
                    if let Some(to) = relay.on_silent(began.elapsed()) {
                        Metrics::count(&self.inner.metrics.timeouts, "hop");
                        let silent = CallError::Unreachable("no answer in time".into());
                        self.peer_failed(&to, &silent);
                    }
                }
                _ = tokio::time::sleep_until(give_up_at) => {
                    return Err(relay.last_error().to_string())
                }
            }
        }
    }

    /// Handles a routed request (its 202 goes out after this task has had two
    /// scheduler turns): execute here or pass it on.
    pub async fn handle_route(&self, mut msg: RouteMsg) {
        if let Some(p) = &mut msg.trace {
            // Cut before it is cloned for each candidate: the sender's word.
            path::received(p);
        }
        if msg.deadline_ms.is_some_and(|d| now_ms() > d) {
            // The entry has given up on this attempt: executing a write now
            // could apply it after the client went on (and on a node that
            // did not see the first copy, twice).
            tracing::debug!(req = %msg.req, "routed request past its deadline dropped");
            Metrics::count(&self.inner.metrics.timeouts, "expired");
            return;
        }
        let id = Id::hash(msg.key.as_bytes());
        if !self.is_ready() {
            let out = KvOutcome::Failed {
                status: 503,
                error: "a node on the path is not in the ring".into(),
            };
            return self.send_reply(&msg, Executed::bare(out), true).await;
        }
        // The hop ceiling is applied in `forward`, where it is known whether
        // this node is the owner: the owner reached at the last allowed hop
        // answers; only a request that would travel further fails. The
        // message keeps the sender's owner hint and the node to avoid.
        let fwd = RouteMsg {
            hops: msg.hops.saturating_add(1),
            ..msg.clone()
        };
        match self.forward(fwd, &id, None, false).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let op = std::mem::replace(&mut msg.op, KvOp::Get);
                let terms = Terms::of(&msg);
                let out = self.execute(&msg.key, id, op, Some(&msg.req), &terms).await;
                self.send_reply(&msg, out, false).await;
            }
            Err(e) => {
                let out = KvOutcome::Failed {
                    status: 503,
                    error: e,
                };
                self.send_reply(&msg, Executed::bare(out), true).await;
            }
        }
    }

    /// Answers the entry node: with the outcome of the operation done here, or
    /// (`gave_up`) with why this node could not pass the request on. A
    /// traced request's path goes back with it, this node tagged the owner
    /// unless it gave up.
    async fn send_reply(&self, msg: &RouteMsg, done: Executed, gave_up: bool) {
        let mut trace = msg.trace.clone();
        if let (Some(p), false) = (&mut trace, gave_up) {
            path::owned(p, &self.inner.me.addr);
        }
        let reply = ReplyMsg {
            req: msg.req.clone(),
            owner: self.inner.me.addr.clone(),
            gave_up: gave_up.then_some(self.inner.me.id),
            hops: msg.hops,
            outcome: done.outcome,
            version: done.version,
            trace,
        };
        if msg.origin == self.inner.me.addr {
            self.inner.pending.resolve(reply);
        } else if let Err(e) = self.inner.peers.reply(&msg.origin, &reply).await {
            tracing::debug!(origin = %msg.origin, error = %e, "reply not delivered");
        }
    }

    /// A permit to handle one more routed request, or `None` when this node
    /// already handles as many as it allows.
    pub fn route_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.route_slots.clone().try_acquire_owned().ok()
    }

    /// Delivers an owner's direct reply to the waiting client, if any.
    pub fn handle_reply(&self, reply: ReplyMsg) -> bool {
        self.inner.pending.resolve(reply)
    }
}

#[cfg(test)]
mod tests {
    //! Forwarding against peers on loopback that answer late or never.
    use super::*;
    use crate::ring::RingOptions;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const TIMEOUT_MS: u64 = 200;

    fn node_at(id: u8, pred: &Peer, successors: Vec<Peer>, fingers: Vec<Peer>) -> Node {
        let me = peer(id, "127.0.0.1:1");
        let opts = Options {
            rpc_timeout: Duration::from_millis(TIMEOUT_MS),
            ..Options::default()
        };
        let n = Node::new(me.clone(), opts);
        let ring = RingState::with_view(me, Some(pred.clone()), successors, RingOptions::default());
        n.set_ring(ring.with_fingers(fingers));
        n
    }

    fn peer(id: u8, addr: &str) -> Peer {
        let mut b = [0u8; 20];
        b[0] = id;
        Peer {
            id: Id(b),
            addr: addr.to_string(),
        }
    }

    /// A key whose id's first byte is `first` (found by trying names).
    fn key_at(first: u8) -> String {
        (0..)
            .map(|i| format!("k{i}"))
            .find(|k| Id::hash(k.as_bytes()).0[0] == first)
            .unwrap()
    }

    /// A peer that takes every routed request, `delay` after reading it.
    async fn late_peer(delay: Duration) -> String {
        counting_peer(delay).await.0
    }

    /// [`late_peer`], and how many requests it has read so far.
    async fn counting_peer(
        delay: Duration,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let count = count.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut got = Vec::new();
                    // Headers and the JSON body (content-length) are small:
                    // read until the body's closing brace has arrived.
                    while !got.ends_with(b"}") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    let reply = b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}";
                    let _ = conn.write_all(reply).await;
                    let _ = conn.flush().await;
                    // Keep the connection open until the client is done.
                    let _ = conn.read(&mut buf).await;
                });
            }
        });
        (addr, seen)
    }

    /// A peer that accepts connections (the kernel does) and never answers.
    async fn silent_peer() -> (String, tokio::net::TcpListener) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        (listener.local_addr().unwrap().to_string(), listener)
    }

    fn msg(key: &str) -> RouteMsg {
        RouteMsg {
            req: Pending::new_id(),
            origin: "127.0.0.1:1".into(),
            key: key.into(),
            op: KvOp::Get,
            hops: 1,
            owner_hint: false,
            avoid: None,
            deadline_ms: None,
            trace: None,
            cond: None,
            ttl_ms: None,
        }
    }

    #[tokio::test]
    async fn an_owner_slower_than_the_call_timeout_still_takes_the_request() {
        // The only way to the key is its owner, our successor, which takes
        // one and a half call timeouts to acknowledge (a busy machine). Giving
        // up on it at the timeout left no path at all.
        let slow = late_peer(Duration::from_millis(TIMEOUT_MS * 3 / 2)).await;
        let owner = peer(0x40, &slow);
        let n = node_at(
            0x10,
            &peer(0x05, "127.0.0.1:2"),
            vec![owner.clone()],
            vec![],
        );
        let key = key_at(0x30);
        let id = Id::hash(key.as_bytes());
        let took = n.forward(msg(&key), &id, None, false).await;
        assert_eq!(took.map(|p| p.map(|p| p.addr)), Ok(Some(slow)));
    }

    #[tokio::test]
    async fn a_slow_hop_still_takes_the_request_while_the_next_one_is_silent() {
        // Rule 4: the farthest finger is slow but alive, the next one is
        // silent. Abandoning the slow one at the call timeout left only the
        // silent one, and then nothing.
        let slow = late_peer(Duration::from_millis(TIMEOUT_MS * 3 / 2)).await;
        let (silent, _keep) = silent_peer().await;
        let n = node_at(
            0x10,
            &peer(0x05, "127.0.0.1:2"),
            vec![peer(0x20, "127.0.0.1:3")],
            vec![peer(0x40, &silent), peer(0x80, &slow)],
        );
        let key = key_at(0x90);
        let id = Id::hash(key.as_bytes());
        let took = n.forward(msg(&key), &id, None, false).await;
        assert_eq!(took.map(|p| p.map(|p| p.addr)), Ok(Some(slow)));
    }

    #[tokio::test]
    async fn a_silent_hop_is_passed_over_for_the_next_candidate() {
        let (silent, _keep) = silent_peer().await;
        let live = late_peer(Duration::ZERO).await;
        let n = node_at(
            0x10,
            &peer(0x05, "127.0.0.1:2"),
            vec![peer(0x20, "127.0.0.1:3")],
            vec![peer(0x40, &live), peer(0x80, &silent)],
        );
        let key = key_at(0x90);
        let id = Id::hash(key.as_bytes());
        let took = n.forward(msg(&key), &id, None, false).await;
        assert_eq!(took.map(|p| p.map(|p| p.addr)), Ok(Some(live)));
    }

    #[tokio::test]
    async fn a_routed_request_past_its_deadline_is_dropped() {
        // Held up (at a frozen hop, say) until the entry gave up: passing it
        // on could apply a write after the client went on.
        let (next, seen) = counting_peer(Duration::ZERO).await;
        let n = node_at(
            0x10,
            &peer(0x05, "127.0.0.1:2"),
            vec![peer(0x40, &next)],
            vec![],
        );
        let key = key_at(0x30);
        let late = RouteMsg {
            deadline_ms: Some(now_ms() - 1),
            ..msg(&key)
        };
        n.handle_route(late).await;
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 0);
        // The same request in time is passed on.
        let on_time = RouteMsg {
            deadline_ms: Some(now_ms() + 60_000),
            ..msg(&key)
        };
        n.handle_route(on_time).await;
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn with_every_hop_silent_forwarding_gives_up_in_bounded_time() {
        let (silent, _keep) = silent_peer().await;
        let (silent2, _keep2) = silent_peer().await;
        let n = node_at(
            0x10,
            &peer(0x05, "127.0.0.1:2"),
            vec![peer(0x20, &silent2)],
            vec![peer(0x80, &silent)],
        );
        let key = key_at(0x90);
        let id = Id::hash(key.as_bytes());
        // The hand-off gives up after HEDGE_PATIENCE + 1 call timeouts,
        // asking each silent peer once (the outer limit only turns a hang
        // into a failure).
        let took = tokio::time::timeout(
            Duration::from_secs(30),
            n.forward(msg(&key), &id, None, false),
        )
        .await
        .expect("forwarding to silent hops never ended");
        assert!(took.is_err(), "{took:?}");
        // At most one miss each (at the suspicion; none if this test's own
        // timer fired late): not a second one when the call runs out.
        let ring = lock(&n.inner.ring);
        assert!(ring.counters().suspected <= 2, "{took:?}");
    }
}
