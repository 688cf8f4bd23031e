//! Ring maintenance: the tick loop that drives the pure ring state machine,
//! the ring RPCs it asks for, and what a failed call tells it.

use super::*;

impl Node {
    pub(super) async fn maintenance_loop(self) {
        let period = self.inner.opts.stabilize;
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = std::time::Instant::now();
        loop {
            every.tick().await;
            // A tick far behind schedule means this process was frozen (or
            // starved): the ring went on without it, so its view is stale.
            if last.elapsed() > Duration::from_millis(tick_overdue_ms(ms(period))) {
                self.view_changed();
            } else if last.elapsed() > Duration::from_millis(self.miss_overdue_ms()) {
                // Shorter, but long enough for the neighbours to have dropped
                // this node and served its range: its misses poll again
                // until a repair round has synced the range since.
                self.list_changed();
            }
            last = std::time::Instant::now();
            self.inner.last_tick_ms.store(now_ms(), Ordering::Release);
            let outs = lock(&self.inner.ring).tick();
            for out in outs {
                let node = self.clone();
                tokio::spawn(async move { node.run_ring_exchange(out).await });
            }
        }
    }

    /// Sends `first` and every follow-up the state machine asks for, in order.
    async fn run_ring_exchange(&self, first: Outbound) {
        let mut queue = vec![first];
        while let Some(out) = queue.pop() {
            let resp = match self.inner.peers.ring(&out.to.addr, &out.request).await {
                Ok(r) => Some(r),
                Err(CallError::Refused(_) | CallError::NotReady(_)) => {
                    // Nobody listens there, or it is no member: no need to
                    // wait for more misses.
                    self.with_ring(|ring| ring.on_unreachable(&out.to.id));
                    None
                }
                // We were stalled ourselves: as if the request was never sent
                // (the next tick sends it again), no miss of the peer's.
                Err(CallError::Stalled(_)) => {
                    self.with_ring(|ring| ring.on_stalled());
                    continue;
                }
                Err(_) => None,
            };
            let (more, pull) = self.with_ring(|ring| {
                let more = ring.on_response(&out.to, out.purpose, resp);
                (more, ring.take_join_pull())
            });
            if let Some((from, holder)) = pull {
                let node = self.clone();
                tokio::spawn(async move { node.pull_range(from, holder).await });
            }
            queue.extend(more);
        }
    }

    /// Runs `f` on the ring state, logging membership changes it causes.
    fn with_ring<R>(&self, f: impl FnOnce(&mut RingState) -> R) -> R {
        let mut ring = lock(&self.inner.ring);
        let view = |ring: &RingState| {
            (
                ring.predecessor().map(|p| p.id),
                ring.successors().first().map(|p| p.id),
                ring.is_joined(),
            )
        };
        let before = view(&ring);
        // Only the successors that hold our range matter to what the holders
        // prove; churn further along the list only reopens the (cheaper)
        // window in which a miss asks the others (below). The holders are
        // the placement rule's (`replica_targets`): the first R − 1 entries
        // with one position per node, but with virtual nodes the first
        // positions of R − 1 other hosts, wherever they sit in the list.
        let holders = |ring: &RingState| {
            let r = self.inner.opts.replicas as usize;
            list_digest(
                &replica_targets(&self.inner.me, ring.successors(), r),
                usize::MAX,
            )
        };
        let holders_before = holders(&ring);
        let full_before = list_digest(ring.successors(), usize::MAX);
        let r = f(&mut ring);
        let after = view(&ring);
        let holders_changed = holders(&ring) != holders_before;
        // A new predecessor changes our range (a join in front of us, or a
        // death that hands us its keys): copies may be on their way, too.
        if holders_changed || before.0 != after.0 {
            self.view_changed();
        }
        if holders_changed {
            // New holders get their copies now, not at the next round.
            self.inner.repair_now.notify_one();
        }
        // Further along the list it only matters to a miss: a node that came
        // within the list may hold an orphan of our range, which the poll
        // would find there (see `crate::absence`, "Authoritative misses").
        if list_digest(ring.successors(), usize::MAX) != full_before {
            self.list_changed();
        }
        if before == after {
            return r; // the common case: nothing to log, nothing to copy
        }
        let pred = ring.predecessor().map(|p| p.addr.clone());
        let succ = ring.successors().first().map(|p| p.addr.clone());
        drop(ring);
        if before.2 != after.2 && after.2 {
            tracing::info!(successor = ?succ, "joined the ring");
        }
        if before.0 != after.0 {
            Metrics::count(&self.inner.metrics.ring_changes, "predecessor");
            tracing::info!(predecessor = ?pred, "predecessor changed");
            self.inner.repair_now.notify_one();
        }
        if before.1 != after.1 {
            Metrics::count(&self.inner.metrics.ring_changes, "successor");
            tracing::info!(successor = ?succ, "successor changed");
            self.inner.repair_now.notify_one();
        }
        r
    }

    /// Answers a ring-maintenance request from a peer.
    pub fn handle_ring(&self, req: &Request) -> Response {
        self.with_ring(|ring| ring.on_request(req))
    }

    /// A data-plane call to `peer` failed: forget it at once if nobody listens
    /// there or it is not a member (503), else count a miss (it is dropped after misses in a few ticks in
    /// a row; a miss while we were stalled ourselves does not count). A peer
    /// that answered with something unexpected is alive: nothing changes.
    pub(super) fn peer_failed(&self, peer: &Peer, err: &CallError) {
        tracing::debug!(peer = %peer.addr, error = %err, "peer call failed");
        match err {
            CallError::Refused(_) | CallError::NotReady(_) => {
                self.with_ring(|ring| ring.on_unreachable(&peer.id))
            }
            CallError::Unreachable(_) => {
                self.with_ring(|ring| ring.suspect(&peer.id));
            }
            // Stalled: our own fault; rejected: it is alive.
            CallError::Stalled(_) | CallError::Rejected(_) => return,
        }
        // A failed guess is not offered again; the next reply from whoever
        // owns that range now teaches the cache afresh.
        lock(&self.inner.location).forget(&peer.id);
    }
}

/// A cheap fingerprint of the `first` entries of a successor list (order
/// matters), so `with_ring` notices a change without copying the list.
fn list_digest(list: &[Peer], first: usize) -> (usize, u64) {
    let list = &list[..first.min(list.len())];
    let mut h: u64 = 0;
    for p in list {
        h = h.rotate_left(5) ^ p.id.prefix_u64();
    }
    (list.len(), h)
}
