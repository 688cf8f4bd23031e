//! Client operations at the entry node and routed requests on the way: the
//! first hop beside the wait for the reply, hop-by-hop forwarding with 202 acks, the
//! owner's direct reply, the timeout and the one retry on another path.
//!
//! The decisions are made by the pure machines in [`crate::request`]
//! ([`ClientRequest`] at the entry, [`Relay`] at every hop); this module
//! sends, receives, sleeps and feeds them what happened.

use super::in_flight::InFlight;
use super::*;
use crate::pending::RequestId;
use crate::request::path;
use crate::request::{ClientRequest, Decision, Event, Next, Relay, RelayLimits, Start};
use chord_proto::deadline::{inline_wait, route_deadline_ms};
use futures_util::StreamExt;

/// What [`Node::forward`] achieved.
#[derive(Debug)]
enum Took {
    /// This node owns the key: nothing was sent.
    Here,
    /// This hop acknowledged the request (202).
    Hop(Peer),
    /// This hop owned the key and answered with its reply on the call's own
    /// connection (the entry's hops only).
    Answered(Peer, Box<ReplyMsg>),
}

/// How a routed request's own connection is answered ([`Node::route_inline`]).
pub enum RouteAnswer {
    /// 200 with the owner's reply: the direct reply, on the entry's connection.
    Reply(Box<ReplyMsg>),
    /// 202: the reply follows by `POST /chord/reply`.
    Accepted,
    /// Not answered here: acknowledge and route it on as any hop does
    /// ([`Node::handle_route`]), holding the permit.
    Relay(Box<RouteMsg>, tokio::sync::OwnedSemaphorePermit),
}

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
        let (ready, owns, consulted, guess, likely) = {
            let ring = lock(&self.inner.ring);
            let view = ring.view();
            let owns = view.owns(&id);
            // The cache is asked only beyond the successor-list span (within
            // it the view names the owner). Its owner is not used when it is
            // suspected (its last call went unanswered), nor when this
            // node's own view knows better: a node it knows lies between the
            // key and the guess, so the range is stale, and is dropped.
            let in_view = view.successor_owner(&id).map(|p| p.id);
            let consulted = !owns && in_view.is_none();
            let guess = if consulted {
                let mut cache = lock(&self.inner.location);
                match cache.lookup(&id) {
                    Some(p) if !view.cache_guess_fits(&id, &p.id) => {
                        cache.forget(&p.id);
                        None
                    }
                    other => other,
                }
            } else {
                None
            }
            .filter(|p| p.id != self.inner.me.id && !ring.is_suspect(&p.id));
            // The likely owner, whose cached range (replies teach it, also
            // for owners in the successor list) each attempt tags.
            let likely = guess.as_ref().map(|p| p.id).or(in_view).filter(|_| !owns);
            (ring.is_joined(), owns, consulted, guess, likely)
        };
        if ready && consulted {
            let result = if guess.is_some() { "hit" } else { "miss" };
            Metrics::count(&self.inner.metrics.location_cache, result);
        }
        let (mut entry, mut attempt) = match ClientRequest::first_step(ready, owns, guess.clone()) {
            Start::Answer(reply) => return reply,
            Start::ExecuteHere => return here(self.execute_here(&key, id, op, None, terms).await),
            Start::Route(entry, attempt) => (entry, attempt),
        };
        let req = RequestId::new();
        let opts = &self.inner.opts;
        let wait = opts.request_timeout;
        loop {
            // Dropping the guard (return, retry, or the client going away
            // mid-wait) forgets the request id.
            let (_waiting, mut reply) = self.inner.pending.wait_for(&req);
            // The first hop is sent from this task, polled beside the owner's
            // reply: the hop's 202 is not on the request's path, and the
            // owner often replies before that 202 even arrives. If this
            // attempt ends with the send still waiting for its 202 (the
            // reply came first, a retry, the client went away), `InFlight`
            // lets it finish in a task of its own, like a request already on
            // the wire; it is bounded in all (see `forward`).
            let msg = RouteMsg {
                req: req.as_str().to_string(),
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
                reply_inline: true,
                cond: terms.cond.clone(),
                ttl_ms: terms.ttl_ms,
                // Read again for each attempt: the range may have been
                // dropped meanwhile (a failed call forgets it), and an owner
                // must not leave out a range the entry no longer holds.
                range_tag: likely.and_then(|o| lock(&self.inner.location).tag_of(&o)),
            };
            let (node, via, retrying) = (self.clone(), attempt.via.take(), attempt.retry);
            let mut sent =
                InFlight::new(async move { node.forward(msg, &id, via, retrying).await });
            // The reply's timer starts once a first hop has taken the request,
            // as when the entry waited for the 202 first: a slow or hung first
            // hop costs the forward its RPC timeout and a detour, not the attempt.
            let deadline = tokio::time::sleep(wait);
            tokio::pin!(deadline);
            loop {
                let event = tokio::select! {
                    biased;
                    got = &mut reply => match got {
                        Ok(reply) => {
                            Metrics::count(&self.inner.metrics.replies, "posted");
                            Event::Reply(self.received(reply, trace, guess.as_ref()))
                        }
                        // Unreachable while `_waiting` holds the id.
                        Err(_) => Event::ReplyLost,
                    },
                    // Polled only until the hop is known: every outcome of
                    // the send either makes it known or ends this attempt.
                    hop = sent.next(), if !entry.hop_known() => match hop {
                        Ok(Took::Hop(hop)) => Event::HopTook(hop),
                        Ok(Took::Answered(hop, reply)) => {
                            // The owner answered on the hop's own connection.
                            Metrics::count(&self.inner.metrics.replies, "inline");
                            entry.on(Event::HopTook(hop));
                            Event::Reply(self.received(*reply, trace, guess.as_ref()))
                        }
                        Ok(Took::Here) => Event::HopLocal,
                        Err(e) => Event::HopFailed(e),
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
                        let outcome = self
                            .execute_here(&key, id, op, Some(req.as_str()), terms)
                            .await;
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

    /// A reply as the entry takes it: the path only if this node asked for
    /// one, and no longer than a path may be (the reply is a peer's word);
    /// the owner's range taught to the location cache. `guess` is the owner
    /// the cache offered for this request, if any.
    fn received(&self, mut reply: ReplyMsg, trace: bool, guess: Option<&Peer>) -> ReplyMsg {
        if !trace {
            reply.trace = None;
        }
        if let Some(p) = &mut reply.trace {
            path::received(p);
            path::replied(p, &self.inner.me.addr, &reply.owner);
        }
        if reply.gave_up.is_none() {
            // Our own range is known better from our own view.
            if let Some(range) = reply.range.filter(|r| r.to != self.inner.me.id) {
                if guess.is_some_and(|g| g.id != range.to) {
                    Metrics::count(&self.inner.metrics.location_cache, "wrong");
                }
                let owner = Peer {
                    id: range.to,
                    addr: reply.owner.clone(),
                };
                lock(&self.inner.location).learn(range, owner);
            }
        }
        reply
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
    /// from `msg.avoid`, the hop ceiling) are [`Relay`]'s. [`Took::Here`]
    /// when this node turns out to be the owner, [`Took::Answered`] when the
    /// hop that took it owned the key and answered inline (only asked for by
    /// the entry, `msg.reply_inline`); an error when no candidate took
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
    ) -> Result<Took, String> {
        let opts = &self.inner.opts;
        let mut limits = RelayLimits::new(opts.rpc_timeout, opts.max_hops);
        if msg.reply_inline {
            limits = limits.answering_inline();
        }
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
                Next::Local => return Ok(Took::Here),
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
                    Ok(None) => return Ok(Took::Hop(to)),
                    Ok(Some(reply)) => return Ok(Took::Answered(to, Box::new(reply))),
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
        // Only the entry's own hops may answer on their connection.
        let fwd = RouteMsg {
            hops: msg.hops.saturating_add(1),
            reply_inline: false,
            ..msg.clone()
        };
        match self.forward(fwd, &id, None, false).await {
            Ok(Took::Hop(_)) => {}
            // Not asked for on a forwarded copy; a peer that answers inline
            // anyway has its reply passed on rather than lost.
            Ok(Took::Answered(_, reply)) => self.deliver_reply(&msg.origin, *reply).await,
            Ok(Took::Here) => {
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
        let reply = self.reply_for(msg, done, gave_up);
        self.deliver_reply(&msg.origin, reply).await;
    }

    /// The reply to `msg`'s entry node (see [`Node::send_reply`]); as the
    /// owner, with the range it holds for the entry's location cache.
    fn reply_for(&self, msg: &RouteMsg, done: Executed, gave_up: bool) -> ReplyMsg {
        let me = &self.inner.me;
        let mut trace = msg.trace.clone();
        if let (Some(p), false) = (&mut trace, gave_up) {
            path::owned(p, &me.addr);
        }
        let range = if gave_up {
            None
        } else {
            lock(&self.inner.ring)
                .predecessor()
                .map(|p| Range {
                    from: p.id,
                    to: me.id,
                })
                .filter(|r| msg.range_tag.is_none_or(|t| t != r.tag(&me.addr)))
        };
        ReplyMsg {
            req: msg.req.clone(),
            owner: me.addr.clone(),
            gave_up: gave_up.then_some(me.id),
            hops: msg.hops,
            outcome: done.outcome,
            version: done.version,
            trace,
            range,
        }
    }

    /// Sends `reply` to the entry node at `origin` (`POST /chord/reply`), or
    /// hands it over directly when that is this node.
    async fn deliver_reply(&self, origin: &str, reply: ReplyMsg) {
        if origin == self.inner.me.addr {
            self.inner.pending.resolve(reply);
        } else if let Err(e) = self.inner.peers.reply(origin, &reply).await {
            tracing::debug!(%origin, error = %e, "reply not delivered");
        }
    }

    /// Answers a routed request on its own connection when the entry node
    /// asked for that (`RouteMsg::reply_inline`) and this node owns the key:
    /// see [`RouteAnswer`]. The operation is polled here once; one that has
    /// to wait goes on in a task of its own holding `permit`: if it takes longer than
    /// [`inline_wait`] (a quorum write waiting on a slow holder, a busy
    /// machine) the connection gets
    /// its 202 after all, so the entry never suspects a live owner that is
    /// merely busy, and the reply follows by `POST /chord/reply`, as it does
    /// when the connection is gone by the time the reply is ready.
    pub async fn route_inline(
        &self,
        mut msg: RouteMsg,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> RouteAnswer {
        let id = Id::hash(msg.key.as_bytes());
        let owns = || lock(&self.inner.ring).view().owns(&id);
        let in_time = msg.deadline_ms.is_none_or(|d| now_ms() <= d);
        if !(msg.reply_inline && in_time && self.is_ready() && owns()) {
            return RouteAnswer::Relay(Box::new(msg), permit);
        }
        if let Some(p) = &mut msg.trace {
            path::received(p);
        }
        let node = self.clone();
        let mut work = Box::pin(async move {
            let op = std::mem::replace(&mut msg.op, KvOp::Get);
            let terms = Terms::of(&msg);
            let out = node.execute(&msg.key, id, op, Some(&msg.req), &terms).await;
            let reply = node.reply_for(&msg, out, false);
            (reply, msg.origin, node, permit)
        });
        // A read of a settled range never waits: answered in this poll, it
        // costs no task, channel or timer (a tenth of the owner's
        // instructions for a 1-hop GET, callgrind). An operation that waits
        // (a write's replicas, a poll of the holders) goes on in a task of its
        // own, so that it finishes even when this connection stops waiting.
        if let Some((reply, ..)) = futures_util::FutureExt::now_or_never(&mut work) {
            return RouteAnswer::Reply(Box::new(reply));
        }
        let (tx, mut rx) = oneshot::channel();
        tokio::spawn(async move {
            let (reply, origin, node, permit) = work.await;
            if let Err(reply) = tx.send(reply) {
                node.deliver_reply(&origin, reply).await;
            }
            drop(permit);
        });
        let wait = inline_wait(self.inner.opts.rpc_timeout);
        let got = match tokio::time::timeout(wait, &mut rx).await {
            Ok(got) => got.ok(),
            Err(_) => {
                // Closed first, so the task either finds the channel closed
                // (and posts the reply) or has already put the reply in it.
                rx.close();
                rx.try_recv().ok()
            }
        };
        match got {
            Some(reply) => RouteAnswer::Reply(Box::new(reply)),
            None => RouteAnswer::Accepted,
        }
    }

    /// A permit to handle one more routed request, or `None` when this node
    /// already handles as many as it allows.
    pub fn route_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.route_slots.clone().try_acquire_owned().ok()
    }

    /// Delivers an owner's direct reply (`POST /chord/reply`) to the waiting
    /// client, if any.
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

    /// The address of the hop that took a request, if one did.
    fn took_by(t: Took) -> Option<String> {
        match t {
            Took::Here => None,
            Took::Hop(p) | Took::Answered(p, _) => Some(p.addr),
        }
    }

    fn msg(key: &str) -> RouteMsg {
        RouteMsg {
            req: RequestId::new().as_str().to_string(),
            origin: "127.0.0.1:1".into(),
            key: key.into(),
            op: KvOp::Get,
            hops: 1,
            owner_hint: false,
            avoid: None,
            deadline_ms: None,
            trace: None,
            reply_inline: false,
            cond: None,
            ttl_ms: None,
            range_tag: None,
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
        assert_eq!(took.map(took_by), Ok(Some(slow)));
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
        assert_eq!(took.map(took_by), Ok(Some(slow)));
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
        assert_eq!(took.map(took_by), Ok(Some(live)));
    }

    #[tokio::test]
    async fn the_owner_answers_the_entrys_own_hop_on_its_connection_and_only_then() {
        // Node 0x10 owns (0x05, 0x10]; its successor is nowhere (refused).
        let n = node_at(
            0x10,
            &peer(0x05, "127.0.0.1:2"),
            vec![peer(0x40, "127.0.0.1:3")],
            vec![],
        );
        let slot = || n.route_slot().expect("a free slot");
        let mine = key_at(0x08);
        let inline = |key: &str| RouteMsg {
            reply_inline: true,
            deadline_ms: Some(now_ms() + 60_000),
            ..msg(key)
        };
        // The entry's own hop to the owner: the reply, on this connection,
        // with the owner's range for the entry's cache.
        let asked = inline(&mine);
        match n.route_inline(asked.clone(), slot()).await {
            RouteAnswer::Reply(reply) => {
                assert_eq!(reply.req, asked.req);
                assert_eq!(reply.owner, "127.0.0.1:1");
                assert_eq!(reply.hops, 1);
                assert!(reply.gave_up.is_none());
                let range = reply.range.expect("the owner's range");
                assert_eq!((range.from.0[0], range.to.0[0]), (0x05, 0x10));
            }
            other => panic!("expected the reply: {}", kind(&other)),
        }
        // Not asked for, not the owner, or past the entry's deadline: routed
        // as any hop does (202 and on).
        let cases = [
            ("not asked", msg(&mine)),
            ("not the owner", inline(&key_at(0x30))),
            (
                "past its deadline",
                RouteMsg {
                    deadline_ms: Some(now_ms() - 1),
                    ..inline(&mine)
                },
            ),
        ];
        for (why, m) in cases {
            let answer = n.route_inline(m, slot()).await;
            assert!(
                matches!(answer, RouteAnswer::Relay(..)),
                "{why}: {}",
                kind(&answer)
            );
        }
    }

    #[tokio::test]
    async fn the_owner_leaves_out_the_range_the_entry_already_holds_and_only_that() {
        // Node 0x10 owns (0x05, 0x10].
        let n = node_at(0x10, &peer(0x05, "127.0.0.1:2"), vec![], vec![]);
        let me = "127.0.0.1:1";
        let held = |tag: Option<u64>| RouteMsg {
            reply_inline: true,
            deadline_ms: Some(now_ms() + 60_000),
            range_tag: tag,
            ..msg(&key_at(0x08))
        };
        let range = |from: u8, to: u8| Range {
            from: peer(from, "").id,
            to: peer(to, "").id,
        };
        let cases = [
            ("the same range", Some(range(0x05, 0x10).tag(me)), None),
            (
                "the same range at another address (a restart elsewhere)",
                Some(range(0x05, 0x10).tag("127.0.0.1:9")),
                Some(range(0x05, 0x10)),
            ),
            (
                "an older range (before a join)",
                Some(range(0x01, 0x10).tag(me)),
                Some(range(0x05, 0x10)),
            ),
            ("nothing held", None, Some(range(0x05, 0x10))),
        ];
        for (why, tag, want) in cases {
            let slot = n.route_slot().expect("a free slot");
            match n.route_inline(held(tag), slot).await {
                RouteAnswer::Reply(reply) => assert_eq!(reply.range, want, "{why}"),
                other => panic!("{why}: expected the reply: {}", kind(&other)),
            }
        }
    }

    fn kind(a: &RouteAnswer) -> &'static str {
        match a {
            RouteAnswer::Reply(_) => "reply",
            RouteAnswer::Accepted => "accepted",
            RouteAnswer::Relay(..) => "relay",
        }
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
