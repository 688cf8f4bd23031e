//! Client operations at the entry node and routed requests on the way: the
//! first hop from a task of its own, hop-by-hop forwarding with 202 acks, the
//! owner's direct reply, the timeout and the one retry on another path.

use super::*;
use futures_util::StreamExt;

/// Added to a routed request's deadline for clock differences between nodes
/// and the time the entry takes to notice its own deadline.
const DEADLINE_SLACK_MS: u64 = 1000;

impl Node {
    /// Runs a client operation that arrived at this node (the entry node).
    pub async fn client_op(&self, key: String, op: Op) -> ClientReply {
        let id = Id::hash(key.as_bytes());
        if !self.is_ready() {
            return self.local_failure(503, "node has not joined a ring yet");
        }
        if lock(&self.inner.ring).view().owns(&id) {
            // The common case on a small ring or a single node: no routing state.
            let outcome = self.execute_here(&key, id, op, None).await;
            return ClientReply {
                outcome,
                owner: None,
                hops: 0,
            };
        }
        let req = Pending::new_id();
        // The longest one attempt waits: the first hand-off (see `forward`),
        // then the owner's reply.
        let attempt_ms = ms(
            self.inner.opts.rpc_timeout * (crate::peer::HEDGE_PATIENCE + 1)
                + self.inner.opts.request_timeout,
        );
        let mut avoid: Option<Id> = None;
        // The first attempt's 503 from a hop that could not pass the request
        // on; the client gets it if the retry brings no answer either.
        let mut failed: Option<ClientReply> = None;
        for attempt in 0..2 {
            // Dropping the guard (return, timeout, or the client going away
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
                avoid,
                deadline_ms: Some(now_ms() + attempt_ms + DEADLINE_SLACK_MS),
            };
            let node = self.clone();
            tokio::spawn(async move {
                let _ = sent_tx.send(node.forward(msg, &id, avoid.as_ref(), false).await);
            });
            // The reply's deadline starts once a first hop has taken the request,
            // as when the entry waited for the 202 first: a slow or hung first
            // hop costs the forward its RPC timeout and a detour, not the attempt.
            let wait = self.inner.opts.request_timeout;
            let deadline = tokio::time::sleep(wait);
            tokio::pin!(deadline);
            let mut first_hop: Option<Peer> = None;
            // What the retry avoids when the reply decided it (`Some(None)`:
            // nothing, the path was fine); else the first hop that led nowhere.
            let mut avoid_next: Option<Option<Id>> = None;
            loop {
                tokio::select! {
                    biased;
                    got = &mut reply => match got {
                        Ok(reply) => {
                            let gave_up = reply.gave_up;
                            let answer = ClientReply {
                                outcome: reply.outcome,
                                owner: Some(reply.owner),
                                hops: reply.hops,
                            };
                            match gave_up {
                                // A node on the path could not pass the request
                                // on (the owner never saw it): worth the one
                                // retry, like a lost reply, on a path that
                                // avoids that node.
                                Some(node) if attempt == 0 => {
                                    failed = Some(answer);
                                    avoid_next = Some(Some(node));
                                    break;
                                }
                                // The owner could not prove its answer and
                                // changed nothing: ask once more, same path.
                                None if attempt == 0
                                    && matches!(answer.outcome, Outcome::Inconclusive { .. }) =>
                                {
                                    failed = Some(answer);
                                    avoid_next = Some(None);
                                    break;
                                }
                                _ => return answer,
                            }
                        }
                        // Unreachable while `_waiting` holds the id; treat as lost.
                        Err(_) => break,
                    },
                    hop = &mut sent, if first_hop.is_none() => match hop {
                        Ok(Ok(Some(hop))) => {
                            first_hop = Some(hop);
                            deadline.as_mut().reset(tokio::time::Instant::now() + wait);
                        }
                        Ok(Ok(None)) => {
                            // The ring changed under us: this node owns the key now.
                            let outcome = self.execute_here(&key, id, op, Some(&req)).await;
                            return ClientReply {
                                outcome,
                                owner: None,
                                hops: 0,
                            };
                        }
                        // No first hop took it (each timed out or refused):
                        // under load the candidates may only have been slow,
                        // so this is worth the one retry like a lost reply. A
                        // write that did arrive is deduplicated by its id.
                        Ok(Err(e)) if attempt == 0 => {
                            failed = Some(self.local_failure(503, &e));
                            avoid_next = Some(None);
                            break;
                        }
                        Ok(Err(e)) => return self.local_failure(503, &e),
                        Err(_) => return self.local_failure(503, "forwarding task ended"),
                    },
                    _ = &mut deadline, if first_hop.is_some() => {
                        Metrics::count(&self.inner.metrics.timeouts, "reply");
                        break;
                    }
                }
            }
            if attempt == 0 {
                self.inner.metrics.retries.inc();
                tracing::debug!(
                    via = ?first_hop.as_ref().map(|h| &h.addr),
                    failed = failed.is_some(),
                    "no answer in time, or a 503 on the way; retrying"
                );
            }
            // Retry on another path: avoid the node that gave up, else the
            // first hop that led nowhere (the reply's deadline only runs once
            // that hop is known).
            avoid = avoid_next.unwrap_or(first_hop.map(|h| h.id));
        }
        failed.unwrap_or_else(|| {
            self.local_failure(503, "no reply from the key's owner (after one retry)")
        })
    }

    /// Executes a client's operation here, as the owner, with the entry's one
    /// retry when the first answer was inconclusive (nothing was changed).
    async fn execute_here(&self, key: &str, id: Id, op: Op, req: Option<&str>) -> Outcome {
        let out = self.execute(key, id, op.clone(), req).await;
        if matches!(out, Outcome::Inconclusive { .. }) {
            return self.execute(key, id, op, req).await;
        }
        out
    }

    fn local_failure(&self, status: u16, error: &str) -> ClientReply {
        ClientReply {
            outcome: Outcome::Failed {
                status,
                error: error.to_string(),
            },
            owner: None,
            hops: 0,
        }
    }

    /// Forwards `msg` to the next hop for `id`, skipping dead candidates.
    /// `Ok(None)` when this node turns out to be the owner; an error when no
    /// candidate took it, or when `msg.hops` (the hop it would become) is over
    /// the `--max-hops` ceiling.
    ///
    /// Hedged: a candidate silent for a call timeout is suspected and the next
    /// one is tried, but the first call stays open (up to
    /// [`crate::peer::HEDGE_PATIENCE`] timeouts) and whichever candidate takes
    /// the request first wins. On a busy machine a live hop is often only
    /// slow, and giving up on it cost requests whose every path was slow
    /// ("no live next hop" under load). No peer is asked twice, and the
    /// whole hand-off ends after `HEDGE_PATIENCE + 1` call timeouts.
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
        avoid: Option<&Id>,
        hinted: bool,
    ) -> Result<Option<Peer>, String> {
        const CANDIDATES: usize = 4;
        let suspect_after = self.inner.opts.rpc_timeout;
        // However the calls overlap, the hand-off ends by then: a request
        // nobody took in that time is better answered with a 503 than kept.
        let give_up_at =
            tokio::time::Instant::now() + suspect_after * (crate::peer::HEDGE_PATIENCE + 1);
        // Peers this hop passes over in rule 4: the one a retry must not go
        // through, and every candidate that failed or went silent here.
        let mut avoid_now: Vec<Id> = avoid.copied().into_iter().collect();
        // Peers asked in this hand-off: never asked twice, and a miss is
        // counted against each at most once.
        let mut asked: Vec<Id> = Vec::new();
        let mut suspected: Vec<Id> = Vec::new();
        let mut in_flight = futures_util::stream::FuturesUnordered::new();
        let mut pick_next = true;
        // The newest call and when it is suspected, while another may follow.
        let mut newest: Option<(Peer, tokio::time::Instant)> = None;
        let mut last_error = "no live next hop towards the key's owner".to_string();
        loop {
            if pick_next && asked.len() < CANDIDATES {
                let hop = {
                    let ring = lock(&self.inner.ring);
                    let view = ring.view();
                    if hinted {
                        view.hinted_hop(id, &avoid_now)
                    } else {
                        view.next_hop(id, &avoid_now)
                    }
                };
                let (to, owner_hint) = match hop {
                    // Any call still open is dropped; a hop that did take
                    // the request may still pass it on (see the doc above).
                    Hop::Local => return Ok(None),
                    Hop::Owner(p) => (p, true),
                    Hop::Forward(p) => (p, false),
                };
                if msg.hops > self.inner.opts.max_hops {
                    return Err(format!(
                        "routing did not converge within {} hops",
                        self.inner.opts.max_hops
                    ));
                }
                // The only way on may be a peer already asked (an owner is
                // used even when avoided): wait for that call, never repeat it.
                newest = None;
                if !asked.contains(&to.id) {
                    asked.push(to.id);
                    msg.owner_hint = owner_hint;
                    let (node, sent) = (self.clone(), msg.clone());
                    let started = tokio::time::Instant::now();
                    newest = Some((to.clone(), started + suspect_after));
                    in_flight.push(async move {
                        let res = node.inner.peers.route(&to.addr, &sent).await;
                        (to, res)
                    });
                }
            }
            if in_flight.is_empty() {
                return Err(last_error);
            }
            let suspect_at = newest.as_ref().map(|(_, at)| *at);
            tokio::select! {
                Some((to, res)) = in_flight.next() => {
                    match res {
                        Ok(()) => return Ok(Some(to)),
                        Err(e) => {
                            // A silence already counted at the suspicion is
                            // not counted again when the call runs out.
                            let counted = suspected.contains(&to.id)
                                && matches!(e, CallError::Unreachable(_) | CallError::Stalled(_));
                            if !counted {
                                self.peer_failed(&to, &e);
                            }
                            last_error = format!("forwarding to {} failed: {e}", to.addr);
                            avoid_now.push(to.id);
                        }
                    }
                    if newest.as_ref().is_some_and(|(p, _)| p.id == to.id) {
                        newest = None;
                    }
                    pick_next = newest.is_none();
                }
                _ = tokio::time::sleep_until(suspect_at.unwrap_or(give_up_at)), if suspect_at.is_some() => {
                    let (to, at) = newest.take().expect("armed only with a newest call");
                    let late = at.elapsed();
                    // A timer this late means this process did not run: the
                    // silence says nothing about the peer (see `peer::stalled`).
                    if !crate::peer::stalled(suspect_after + late, suspect_after) {
                        Metrics::count(&self.inner.metrics.timeouts, "hop");
                        let silent = CallError::Unreachable("no answer in time".into());
                        self.peer_failed(&to, &silent);
                        suspected.push(to.id);
                    }
                    last_error = format!("forwarding to {} failed: no answer in time", to.addr);
                    avoid_now.push(to.id);
                    pick_next = true;
                }
                _ = tokio::time::sleep_until(give_up_at) => return Err(last_error),
            }
        }
    }

    /// Handles a routed request (its 202 goes out after this task has had two
    /// scheduler turns): execute here or pass it on.
    pub async fn handle_route(&self, mut msg: RouteMsg) {
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
            let out = Outcome::Failed {
                status: 503,
                error: "a node on the path is not in the ring".into(),
            };
            return self.send_reply(&msg, out, true).await;
        }
        let hinted = msg.owner_hint;
        // The hop ceiling is applied in `forward`, where it is known whether
        // this node is the owner: the owner reached at the last allowed hop
        // answers; only a request that would travel further fails.
        let fwd = RouteMsg {
            hops: msg.hops.saturating_add(1),
            ..msg.clone()
        };
        let avoid = msg.avoid;
        match self.forward(fwd, &id, avoid.as_ref(), hinted).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let op = std::mem::replace(&mut msg.op, Op::Get);
                let out = self.execute(&msg.key, id, op, Some(&msg.req)).await;
                self.send_reply(&msg, out, false).await;
            }
            Err(e) => {
                let out = Outcome::Failed {
                    status: 503,
                    error: e,
                };
                self.send_reply(&msg, out, true).await;
            }
        }
    }

    /// Answers the entry node: with the outcome of the operation done here, or
    /// (`gave_up`) with why this node could not pass the request on.
    async fn send_reply(&self, msg: &RouteMsg, outcome: Outcome, gave_up: bool) {
        let reply = ReplyMsg {
            req: msg.req.clone(),
            owner: self.inner.me.addr.clone(),
            gave_up: gave_up.then_some(self.inner.me.id),
            hops: msg.hops,
            outcome,
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
            op: Op::Get,
            hops: 1,
            owner_hint: false,
            avoid: None,
            deadline_ms: None,
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
