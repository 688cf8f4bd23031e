//! Replica traffic: answering other owners' replica calls, the repair rounds
//! that keep every key on its R holders, and the hand-off on a graceful leave.

use super::*;

/// How much a repair step moved, for the metrics.
#[derive(Clone, Copy)]
struct Moved {
    keys: u64,
    bytes: u64,
}

impl Moved {
    fn of(entries: &[Entry]) -> Moved {
        Moved {
            keys: entries.len() as u64,
            bytes: entries.iter().map(|e| e.wire_bytes() as u64).sum(),
        }
    }
}

impl Node {
    /// Answers a replica request from a peer.
    pub fn handle_data(&self, req: ReplicaRequest) -> ReplicaResponse {
        if let ReplicaRequest::HandOff { entries } = req {
            return self.take_hand_off(entries);
        }
        let now = now_ms();
        let mut data = lock(&self.inner.data);
        match req {
            ReplicaRequest::Replicate { entries } => {
                if let [one] = entries.as_slice() {
                    // A single fresh write: say so if we hold something newer.
                    let held = data.store.get(&Id::hash(one.key.as_bytes()));
                    if let Some(h) = held.filter(|h| h.version > one.version) {
                        return ReplicaResponse::Newer(h.version);
                    }
                }
                let mut applied = 0;
                // A version far in the future would pin our clock there and make
                // the key impossible to overwrite: refuse it (bad input, not data).
                let horizon = now.saturating_add(ms(self.inner.opts.tuning.max_clock_lead));
                // An expired value is kept as the tombstone it now is: a copy
                // sent by repair, hand-off or a leave never brings it back.
                for e in entries
                    .into_iter()
                    .filter(|e| e.version.millis() <= horizon)
                    .map(|e| e.as_of(now))
                {
                    data.clock.observe(e.version);
                    let id = Id::hash(e.key.as_bytes());
                    if data.store.apply(id, e) {
                        applied += 1;
                    }
                }
                ReplicaResponse::Applied(applied)
            }
            ReplicaRequest::Fetch { key } => {
                let held = data.store.get(&Id::hash(key.as_bytes())).cloned();
                ReplicaResponse::Entry(held.map(|e| e.as_of(now)))
            }
            ReplicaRequest::SyncDigest {
                owner,
                range,
                digest,
            } => {
                data.leases.confirm(owner, range.from, range.to, now);
                let mine = data.store.range(&range.from, &range.to);
                let ours = Digest::of(mine.iter().map(|(i, e)| (i, *e)));
                ReplicaResponse::InSync(ours == digest)
            }
            ReplicaRequest::HandOff { .. } => ReplicaResponse::Taken(Vec::new()),
            ReplicaRequest::Release { owner } => {
                data.leases.release(&owner);
                ReplicaResponse::Applied(0)
            }
            ReplicaRequest::SyncList { range, items } => {
                let mine: Vec<(Id, Version)> = data
                    .store
                    .range(&range.from, &range.to)
                    .into_iter()
                    .map(|(i, e)| (i, e.version))
                    .collect();
                let (want, owner_needs) = diff(&items, &mine);
                let newer = owner_needs
                    .iter()
                    .filter_map(|i| data.store.get(i).cloned())
                    .collect();
                ReplicaResponse::Delta { want, newer }
            }
        }
    }

    /// Takes the offered orphans that lie in our own range (as we see it),
    /// applying the newer ones; answers with the ids we now hold.
    fn take_hand_off(&self, entries: Vec<Entry>) -> ReplicaResponse {
        let mine: Vec<Entry> = {
            let ring = lock(&self.inner.ring);
            let view = ring.view();
            entries
                .into_iter()
                .filter(|e| view.owns(&Id::hash(e.key.as_bytes())))
                .collect()
        };
        let ids: Vec<Id> = mine.iter().map(|e| Id::hash(e.key.as_bytes())).collect();
        self.handle_data(ReplicaRequest::Replicate { entries: mine });
        // What the clock horizon refused is not held: not taken.
        let data = lock(&self.inner.data);
        ReplicaResponse::Taken(
            ids.into_iter()
                .filter(|i| data.store.get(i).is_some())
                .collect(),
        )
    }

    pub(super) async fn repair_loop(self) {
        let period = self.inner.opts.repair;
        loop {
            // A membership change starts a round at once, rate-limited to one per 50 ms.
            let _ = tokio::time::timeout(period, self.inner.repair_now.notified()).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let moved = self.repair_round().await;
            self.inner.repairing.store(moved > 0, Ordering::Relaxed);
            if moved > 0 {
                tracing::info!(entries = moved, "repair moved entries");
            }
        }
    }

    /// One anti-entropy round; returns how many entries moved either way.
    pub async fn repair_round(&self) -> usize {
        // Before the view is read: a change after this instant is not
        // covered by this round's syncs.
        let round_start = now_ms();
        let (pred, pred_suspect, targets, joined, one_host) = {
            let ring = lock(&self.inner.ring);
            (
                ring.predecessor().cloned(),
                ring.predecessor().is_some_and(|p| ring.is_suspect(&p.id)),
                replica_targets(
                    &self.inner.me,
                    ring.successors(),
                    self.inner.opts.replicas as usize,
                ),
                ring.is_joined(),
                // A ring of one node's positions: no other node to copy to.
                ring.known_ring_size() <= 1,
            )
        };
        if !joined {
            return 0;
        }
        self.inner.metrics.repair_rounds.inc();
        let me = self.inner.me.id;
        let now = now_ms();
        let lease = ms(self.inner.opts.lease());
        {
            let mut data = lock(&self.inner.data);
            let grace = ms(self.inner.opts.tombstone_grace);
            // The sweep: expired values become tombstones, purged like a
            // delete's a grace period after they expired.
            let expired = data.store.expire(now);
            if expired > 0 {
                tracing::debug!(expired, "expired values swept");
            }
            data.store.purge_tombstones(now.saturating_sub(grace));
            data.leases.expire(now, lease);
            // A predecessor that stopped answering may be hung: its range is
            // about to become ours, so nothing outside our range goes now.
            if let Some(p) = pred.as_ref().filter(|_| !pred_suspect) {
                // Drop copies we no longer hold: outside our range, not
                // confirmed by any owner, and taken by their owner a while ago
                // (it has had repair rounds to copy them to its holders).
                // Nothing is dropped that its owner has not taken: an orphan
                // whose owner cannot be reached stays until it can.
                let settled = 3 * ms(self.inner.opts.repair);
                let Data {
                    store,
                    leases,
                    handed_off,
                    ..
                } = &mut *data;
                let dropped = store.retain(|id, e| {
                    let handed = handed_off.get(id).is_some_and(|(v, at)| {
                        *v == e.version && now.saturating_sub(*at) >= settled
                    });
                    crate::placement::owns(&p.id, &me, id)
                        || leases.covers_for_others(id, &me, now, lease)
                        || !handed
                });
                if dropped > 0 {
                    tracing::info!(dropped, "dropped copies no longer held here");
                }
            }
        }
        let Some(pred) = pred else {
            return 0;
        };
        let range = Range {
            from: pred.id,
            to: me,
        };
        let mut moved = 0;
        let mut all_synced = true;
        // Our own holders first: their leases are what keeps their copies.
        for t in &targets {
            match self.sync_with(t, range).await {
                Ok(n) => moved += n,
                Err(e) => {
                    all_synced = false;
                    self.peer_failed(t, &e);
                }
            }
        }
        // No holder to sync with proves nothing when there should be some:
        // with a predecessor this node is not alone, it only lost its
        // successors for now. With R = 1 there are none to ask, nor in a
        // ring of this node's own positions alone.
        if all_synced && (self.inner.opts.replicas <= 1 || !targets.is_empty() || one_host) {
            // Our copies are now at least as new as every holder's, as of
            // this round's start (see `view_settling`).
            self.inner
                .synced_ms
                .fetch_max(round_start, Ordering::AcqRel);
        }
        self.release_former_holders(&targets).await;
        moved + self.hand_off_orphans(pred.id).await
    }

    /// Offers each orphan to its owner once: a copy outside our range
    /// `(pred, me]` that no other owner confirmed we hold. After a healed
    /// partition these are the writes one side accepted for keys whose owner
    /// is now on the other side, possibly beyond that owner's R−1 successors,
    /// where no repair round would look. The owner keeps the newer version
    /// and repairs its holders from it. Returns how many entries were sent.
    async fn hand_off_orphans(&self, pred: Id) -> usize {
        let me = self.inner.me.id;
        let mut orphans: Vec<(Id, Entry)> = {
            let now = now_ms();
            let lease = ms(self.inner.opts.lease());
            let mut data = lock(&self.inner.data);
            let Data {
                store,
                leases,
                handed_off,
                ..
            } = &mut *data;
            handed_off.retain(|id, (v, _)| store.get(id).is_some_and(|e| e.version == *v));
            store
                .iter()
                .filter(|(id, e)| {
                    !crate::placement::owns(&pred, &me, id)
                        && !leases.covers_for_others(id, &me, now, lease)
                        && handed_off.get(*id).is_none_or(|(v, _)| *v != e.version)
                })
                .map(|(id, e)| (*id, e.clone()))
                .collect()
        };
        let mut sent = 0;
        for _ in 0..self.inner.opts.tuning.hand_off_owners {
            let Some(first) = orphans.first().map(|(id, _)| *id) else {
                break;
            };
            let found = self.owner_and_range(first).await;
            let Some((owner, from)) = found.filter(|(o, _)| o.id != me) else {
                // No answer, or our view and the ring's disagree for now:
                // this one waits for the next round, the others go on.
                orphans.remove(0);
                continue;
            };
            let (theirs, rest): (Vec<_>, Vec<_>) = orphans
                .into_iter()
                .partition(|(id, _)| *id == first || crate::placement::owns(&from, &owner.id, id));
            orphans = rest;
            let versions: Vec<(Id, Version)> =
                theirs.iter().map(|(i, e)| (*i, e.version)).collect();
            let entries: Vec<Entry> = theirs.into_iter().map(|(_, e)| e).collect();
            let mut taken: std::collections::HashSet<Id> = std::collections::HashSet::new();
            for batch in batches(entries, self.inner.opts.tuning.batch_bytes) {
                let req = ReplicaRequest::HandOff { entries: batch };
                match self.inner.peers.data(&owner.addr, &req).await {
                    Ok(ReplicaResponse::Taken(ids)) => taken.extend(ids),
                    Ok(other) => {
                        tracing::debug!(?other, "unexpected answer to a hand-off");
                        break;
                    }
                    Err(e) => {
                        tracing::debug!(owner = %owner.addr, error = %e, "hand-off failed");
                        break;
                    }
                }
            }
            if taken.is_empty() {
                continue;
            }
            // Only what the owner took counts; the rest is offered again.
            let at = now_ms();
            let mut data = lock(&self.inner.data);
            let mut n = 0;
            for (id, v) in versions {
                if taken.contains(&id) {
                    data.handed_off.insert(id, (v, at));
                    n += 1;
                }
            }
            sent += n;
            tracing::info!(entries = n, owner = %owner.addr, "handed orphaned copies to their owner");
        }
        sent
    }

    /// Tells the holders of our range that dropped out of `targets` since the
    /// last round that they no longer hold it for us, so their copies do not
    /// linger for a whole lease (a lost message only means they do).
    async fn release_former_holders(&self, targets: &[Peer]) {
        let gone: Vec<Peer> = {
            let mut data = lock(&self.inner.data);
            let old = std::mem::replace(&mut data.last_targets, targets.to_vec());
            old.into_iter()
                .filter(|p| targets.iter().all(|t| t.id != p.id))
                .collect()
        };
        let req = ReplicaRequest::Release {
            owner: self.inner.me.id,
        };
        for p in gone {
            if let Err(e) = self.inner.peers.data(&p.addr, &req).await {
                tracing::debug!(peer = %p.addr, error = %e, "release not delivered");
            }
        }
    }

    /// The owner of `id` as the ring answers an iterative lookup, and the
    /// start of its range (its predecessor; the id itself if unknown).
    async fn owner_and_range(&self, id: Id) -> Option<(Peer, Id)> {
        let req = crate::ring::Request::FindSuccessor { id };
        let mut answer = lock(&self.inner.ring).on_request(&req);
        for _ in 0..32 {
            match answer {
                crate::ring::Response::Found { peer } => {
                    if peer.id == self.inner.me.id {
                        return Some((peer, id));
                    }
                    let from = match self
                        .inner
                        .peers
                        .ring(&peer.addr, &crate::ring::Request::GetNeighbors)
                        .await
                    {
                        Ok(crate::ring::Response::Neighbors {
                            predecessor: Some(p),
                            ..
                        }) => p.id,
                        _ => id,
                    };
                    return Some((peer, from));
                }
                crate::ring::Response::Next { peer } => {
                    answer = self.inner.peers.ring(&peer.addr, &req).await.ok()?;
                }
                _ => return None,
            }
        }
        None
    }

    /// Brings `holder`'s copy of our primary `range` up to date, both ways.
    async fn sync_with(&self, holder: &Peer, range: Range) -> Result<usize, CallError> {
        let digest = {
            let data = lock(&self.inner.data);
            let entries = data.store.range(&range.from, &range.to);
            Digest::of(entries.iter().map(|(i, e)| (i, *e)))
        };
        let req = ReplicaRequest::SyncDigest {
            owner: self.inner.me.id,
            range,
            digest,
        };
        if let ReplicaResponse::InSync(true) = self.inner.peers.data(&holder.addr, &req).await? {
            return Ok(0);
        }
        let items: Vec<(Id, Version)> = {
            let data = lock(&self.inner.data);
            data.store
                .range(&range.from, &range.to)
                .into_iter()
                .map(|(i, e)| (i, e.version))
                .collect()
        };
        // Compare in sub-ranges so no message grows with the range.
        let mut moved = 0;
        for (sub, chunk) in split_range(range, &items, self.inner.opts.tuning.sync_list_max) {
            let req = ReplicaRequest::SyncList {
                range: sub,
                items: chunk.to_vec(),
            };
            let ReplicaResponse::Delta { want, newer } =
                self.inner.peers.data(&holder.addr, &req).await?
            else {
                return Err(CallError::Rejected("unexpected answer to SyncList".into()));
            };
            moved += newer.len();
            self.count_repaired(Moved::of(&newer));
            self.handle_data(ReplicaRequest::Replicate { entries: newer });
            let entries: Vec<Entry> = {
                let data = lock(&self.inner.data);
                want.iter()
                    .filter_map(|i| data.store.get(i).cloned())
                    .collect()
            };
            moved += entries.len();
            let sent = Moved::of(&entries);
            self.send_entries(holder, entries).await?;
            self.count_repaired(sent);
        }
        Ok(moved)
    }

    /// Fetches everything `holder` has in `(from, me]` (the range a join just
    /// gave us), so the new owner has its keys without waiting for repair.
    pub(super) async fn pull_range(&self, from: Id, holder: Peer) {
        let range = Range {
            from,
            to: self.inner.me.id,
        };
        let req = ReplicaRequest::SyncList {
            range,
            items: Vec::new(),
        };
        match self.inner.peers.data(&holder.addr, &req).await {
            Ok(ReplicaResponse::Delta { newer, .. }) => {
                let n = newer.len();
                self.handle_data(ReplicaRequest::Replicate { entries: newer });
                tracing::info!(entries = n, from = %holder.addr, "pulled the keys we now own");
            }
            Ok(other) => tracing::warn!(?other, "unexpected answer to the join pull"),
            Err(e) => tracing::warn!(error = %e, "join pull failed; repair will copy the keys"),
        }
    }

    /// Counts entries repair moved (either way) into the metrics.
    fn count_repaired(&self, moved: Moved) {
        let m = &self.inner.metrics;
        m.repair_keys.inc_by(moved.keys);
        m.repair_bytes.inc_by(moved.bytes);
    }

    /// Sends `entries` to `holder` in replicate messages of bounded size.
    async fn send_entries(&self, holder: &Peer, entries: Vec<Entry>) -> Result<(), CallError> {
        for batch in batches(entries, self.inner.opts.tuning.batch_bytes) {
            let req = ReplicaRequest::Replicate { entries: batch };
            self.inner.peers.data(&holder.addr, &req).await?;
        }
        Ok(())
    }

    /// Graceful leave: hand every entry to the nodes that take over, then tell
    /// the neighbours. Returns how many entries were handed over.
    pub async fn leave(&self) -> usize {
        let (targets, announcements) = {
            let mut ring = lock(&self.inner.ring);
            // R nodes, not R − 1: with this node gone, its successor becomes
            // the owner and the R − 1 after it the holders.
            let targets = crate::placement::distinct_successors(
                &self.inner.me,
                ring.successors(),
                self.inner.opts.replicas as usize,
            );
            (targets, ring.leave())
        };
        let entries: Vec<Entry> = lock(&self.inner.data)
            .store
            .iter()
            .map(|(_, e)| e.clone())
            .collect();
        let mut handed = 0;
        for t in &targets {
            if self.send_entries(t, entries.clone()).await.is_ok() {
                handed += entries.len();
            }
        }
        for out in announcements {
            let _ = self.inner.peers.ring(&out.to.addr, &out.request).await;
        }
        tracing::info!(
            entries = entries.len(),
            holders = targets.len(),
            "left the ring"
        );
        handed
    }
}
