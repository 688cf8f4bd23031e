//! Operations where the key lives: reads (with a fallback to the other holders
//! while a range is new here), quorum writes with versions from the hybrid
//! clock, and routed writes deduplicated by request id.

use super::*;
use crate::absence::{HolderPoll, Verdict};
use crate::request::quorum::{too_few_holders, QuorumWrite, WriteVerdict};

/// How long a poll waits for the nodes beyond the holders once every holder
/// is done: they answer within a millisecond or two when alive, and only
/// matter for orphans after a heal, which also arrive by hand-off.
const BEYOND_GRACE: Duration = Duration::from_millis(200);

/// Why one attempt of a write did not succeed.
enum WriteError {
    /// A holder has a newer version of the key than the one we assigned.
    Superseded(Version),
    /// The write's precondition failed against this live version (`None`:
    /// the key is absent); nothing was written.
    Precondition(Option<Version>),
    /// Too few holders applied it.
    Failed(KvOutcome),
}

/// A routed write this node is executing (see [`InFlight`]). Dropped before
/// [`Executing::finish`], because the future running the write was dropped
/// part-way, it abandons the write: copies waiting for it get an error.
struct Executing<'a> {
    node: &'a Node,
    req: &'a str,
    done: bool,
}

impl Executing<'_> {
    /// Hands `out` to the waiting copies and remembers it for later ones.
    fn finish(mut self, out: &Executed) {
        let now = now_ms();
        let mut data = lock(&self.node.inner.data);
        data.in_flight.finish(self.req, out);
        if matches!(out.outcome, KvOutcome::Stored | KvOutcome::Deleted) {
            data.recent.insert(self.req, out.clone(), now);
        }
        self.done = true;
    }
}

impl Drop for Executing<'_> {
    fn drop(&mut self) {
        if !self.done {
            lock(&self.node.inner.data).in_flight.abandon(self.req);
        }
    }
}

/// The 412 answer to a failed precondition, tagged with the live version
/// (none when the key is absent).
fn precondition_failed(cond: &chord_proto::etag::Condition, live: Option<Version>) -> Executed {
    Executed {
        outcome: KvOutcome::Failed {
            status: 412,
            error: crate::terms::failed_message(cond, live),
        },
        version: live,
    }
}

impl Node {
    /// Performs `op` on `key` as its owner, on `terms` (a write's
    /// precondition is decided here); the answer carries the key's version
    /// it is about (the `ETag`).
    pub(super) async fn execute(
        &self,
        key: &str,
        id: Id,
        op: KvOp,
        req: Option<&str>,
        terms: &Terms,
    ) -> Executed {
        let is_write = !matches!(op, KvOp::Get);
        // Set while this call executes a routed write. If the call is dropped
        // part-way (the entry node executing for a client that went away), it
        // abandons the write, so a later copy is not left waiting for ever.
        let mut executing = None;
        if let (Some(req), true) = (req, is_write) {
            // A retry of a write we already did, or are doing, gets the same answer.
            let begun = {
                let mut data = lock(&self.inner.data);
                if let Some(out) = data.recent.get(req) {
                    return out.clone();
                }
                data.in_flight.begin(req)
            };
            match begun {
                Begin::Wait(rx) => {
                    return rx.await.unwrap_or(Executed::bare(KvOutcome::Failed {
                        status: 503,
                        error: "the first attempt of this request was abandoned".into(),
                    }))
                }
                Begin::First => {
                    executing = Some(Executing {
                        node: self,
                        req,
                        done: false,
                    })
                }
            }
        }
        let isolated = || KvOutcome::Failed {
            status: 503,
            error: "this node is cut off from its ring; its answer could be stale".into(),
        };
        let inconclusive = |answered: usize, expected: usize| KvOutcome::Inconclusive {
            error: format!(
                "only {answered} of the {expected} other holders of the key answered, and \
                 this node's own copy (it has none, or it may be stale) proves nothing alone: \
                 try again"
            ),
        };
        // Every holder said "absent" (or the newest copy is a tombstone), but
        // this node's neighbours changed a moment ago (a join, a death, a
        // healed partition, a thaw): writes may still be on their way here
        // from nodes outside the holders, as orphans handed over by the next
        // repair rounds. Not proven yet.
        let settling = || KvOutcome::Inconclusive {
            error: "the ring changed a moment ago and the key may still be on its way \
                    here: its absence is not proven; try again"
                .into(),
        };
        // Right after a change of view or a thaw, our own copy may be older
        // than a write the ring took without us: ask the holders too.
        let view = self.view_settling();
        let trust_local = !view.distrust_values;
        // Whether an absence or a tombstone is unproven, also checked after
        // the poll (the view may have changed meanwhile).
        let unproven = || view.no_proof || self.view_settling().no_proof;
        let bare = Executed::bare;
        let out = match op {
            // The common read is our own live copy: only its value (an `Arc`)
            // and version are cloned, not the whole entry with its key.
            KvOp::Get => match self.local_value(&id).filter(|_| trust_local) {
                Some((v, version)) => Executed::at(KvOutcome::Value(v), version),
                None => match self.newest(key, &id, view).await {
                    Verdict::Found(Entry {
                        value: Some(v),
                        version,
                        ..
                    }) => Executed::at(KvOutcome::Value(v), version),
                    _ if self.is_isolated() => bare(isolated()),
                    Verdict::Found(_) | Verdict::Absent if unproven() => bare(settling()),
                    Verdict::Found(_) | Verdict::Absent => bare(KvOutcome::NotFound),
                    Verdict::Inconclusive { answered, expected } => {
                        bare(inconclusive(answered, expected))
                    }
                },
            },
            KvOp::Put { value } => {
                // A precondition is decided against the newest version this
                // node can prove: our live copy when we trust it, else what
                // the holders answer (kept here as a read repair, where the
                // decision under the data lock sees it).
                let proven = match &terms.cond {
                    None => Ok(()),
                    Some(_) => match self.newest(key, &id, view).await {
                        Verdict::Found(Entry { value: Some(_), .. }) => Ok(()),
                        _ if self.is_isolated() => Err(isolated()),
                        Verdict::Found(_) | Verdict::Absent if unproven() => Err(settling()),
                        Verdict::Found(_) | Verdict::Absent => Ok(()),
                        Verdict::Inconclusive { answered, expected } => {
                            Err(inconclusive(answered, expected))
                        }
                    },
                };
                match proven {
                    Err(e) => bare(e),
                    Ok(()) => match self.write(key, id, Some(value), terms).await {
                        Ok(version) => Executed::at(KvOutcome::Stored, version),
                        Err(e) => e,
                    },
                }
            }
            KvOp::Delete => match self.newest(key, &id, view).await {
                Verdict::Found(Entry { value: Some(_), .. }) => {
                    match self.write(key, id, None, terms).await {
                        Ok(version) => Executed::at(KvOutcome::Deleted, version),
                        Err(e) => e,
                    }
                }
                _ if self.is_isolated() => bare(isolated()),
                Verdict::Found(_) | Verdict::Absent if unproven() => bare(settling()),
                // If-Match on an absent key fails (412), as HTTP has it.
                Verdict::Found(_) | Verdict::Absent => match &terms.cond {
                    Some(cond) => precondition_failed(cond, None),
                    None => bare(KvOutcome::NotFound),
                },
                Verdict::Inconclusive { answered, expected } => {
                    bare(inconclusive(answered, expected))
                }
            },
        };
        if let Some(executing) = executing {
            executing.finish(&out);
        }
        out
    }

    /// The value and version of our live copy of `id`, if we hold one
    /// (an expired value is none: it stands as a tombstone).
    fn local_value(&self, id: &Id) -> Option<(Arc<serde_json::value::RawValue>, Version)> {
        let data = lock(&self.inner.data);
        let e = data.store.get(id)?;
        // The clock is read only for a key that can expire.
        if e.expires_ms.is_some() && e.is_expired(now_ms()) {
            return None;
        }
        Some((e.value.clone()?, e.version))
    }

    /// Our live copy if we have one and `settling` lets us trust it; our
    /// miss (no copy at all) outside the window in which `settling` says a
    /// miss needs a poll; otherwise what the other holders prove (we may
    /// have just taken over the range, or been frozen while the ring went
    /// on; our copy may be a tombstone), our own copy counting as one more
    /// candidate. A newer copy found is kept locally as a read repair. See
    /// [`crate::absence`] for when a miss counts as proven.
    async fn newest(&self, key: &str, id: &Id, settling: Settling) -> Verdict {
        let now = now_ms();
        let local = lock(&self.inner.data).store.get(id).cloned();
        let local = local.map(|e| e.as_of(now));
        let misses = &self.inner.metrics.owner_misses;
        match &local {
            Some(e) if e.value.is_some() => {
                if !settling.distrust_values {
                    return Verdict::Found(e.clone());
                }
            }
            // Outside the window every acknowledged write of our range is
            // here (the argument is `crate::absence`'s "Authoritative
            // misses"): the answer needs no network call.
            None if !settling.miss_needs_poll => {
                Metrics::count(misses, "authoritative");
                return Verdict::Absent;
            }
            // A tombstone is never proof on its own: right after rings
            // merge, a write for our range can land on a node that believed
            // it owned it (a stale hint), and a 16-node chaos run read such a
            // key as deleted here. The holders are asked; reads of deleted
            // keys cost one poll.
            _ => Metrics::count(misses, "polled"),
        }
        let (holders, beyond, expected) = {
            let ring = lock(&self.inner.ring);
            let r = self.inner.opts.replicas as usize;
            // Every distinct successor once: the first R − 1 are the holders,
            // the rest is where the other side of a healed partition may
            // still hold a write (see `crate::absence`).
            let mut holders = replica_targets(&self.inner.me, ring.successors(), usize::MAX);
            let beyond = holders.split_off(r.saturating_sub(1).min(holders.len()));
            (
                holders,
                beyond,
                HolderPoll::holders_expected(r, ring.known_ring_size()),
            )
        };
        let req = ReplicaRequest::Fetch {
            key: key.to_string(),
        };
        let ask = |p: Peer, holder: bool| {
            let (peers, req) = (self.inner.peers.clone(), req.clone());
            async move { (holder, peers.data(&p.addr, &req).await) }
        };
        let holders_total = holders.len();
        let mut calls: FuturesUnordered<_> = holders
            .into_iter()
            .map(|p| ask(p, true))
            .chain(beyond.into_iter().map(|p| ask(p, false)))
            .collect();
        let mut poll = HolderPoll::new(expected);
        // Ours counts as one more candidate: a newer answer beats it.
        poll.own(local);
        // The nodes beyond the holders are asked for orphans only; a hung one
        // must not hold every read up for a whole RPC timeout. Once every
        // holder is done they get a short grace, then the poll ends.
        let mut holders_done = 0;
        let mut grace_until = None;
        loop {
            if grace_until.is_none() && holders_done == holders_total {
                grace_until = Some(tokio::time::Instant::now() + BEYOND_GRACE);
            }
            let next = match grace_until {
                Some(at) => match tokio::time::timeout_at(at, calls.next()).await {
                    Ok(next) => next,
                    Err(_) => break,
                },
                None => calls.next().await,
            };
            let Some((holder, r)) = next else { break };
            holders_done += usize::from(holder);
            // A holder that timed out, refused or answered nonsense is silent:
            // never counted as one that said "absent".
            if let Ok(ReplicaResponse::Entry(copy)) = r {
                if holder {
                    poll.answer(copy);
                } else {
                    poll.answer_beyond(copy);
                }
            }
        }
        let verdict = poll.verdict();
        if let Verdict::Found(e) = &verdict {
            let mut data = lock(&self.inner.data);
            data.clock.observe(e.version);
            data.store.apply(*id, e.clone());
        }
        verdict
    }

    /// Writes a new version (a value or a tombstone) on `terms` and waits
    /// for W holders; returns the version written.
    async fn write(
        &self,
        key: &str,
        id: Id,
        value: Option<Arc<serde_json::value::RawValue>>,
        terms: &Terms,
    ) -> Result<Version, Executed> {
        // A holder may already have a newer version we never saw (a clock
        // ahead of ours, a range we just took over): then we move our clock
        // past it and write again, rather than acknowledge a write that the
        // older-but-higher version would silently replace.
        for _ in 0..3 {
            match self.write_once(key, id, value.clone(), terms).await {
                Err(WriteError::Superseded(v)) => {
                    lock(&self.inner.data).clock.observe(v);
                    if terms.cond.is_some() {
                        // The precondition was decided against a copy older
                        // than a holder's: fetch the newest (a read repair)
                        // so the next attempt decides against it.
                        let all = Settling {
                            distrust_values: true,
                            no_proof: false,
                            miss_needs_poll: true,
                        };
                        self.newest(key, &id, all).await;
                    }
                }
                Err(WriteError::Precondition(live)) => {
                    return Err(match &terms.cond {
                        Some(cond) => precondition_failed(cond, live),
                        None => Executed::bare(KvOutcome::Failed {
                            status: 500,
                            error: "an unconditional write failed a condition".into(),
                        }),
                    });
                }
                Err(WriteError::Failed(out)) => return Err(Executed::bare(out)),
                Ok(version) => return Ok(version),
            }
        }
        Err(Executed::bare(KvOutcome::Failed {
            status: 503,
            error: "the write kept meeting newer versions on its holders".into(),
        }))
    }

    async fn write_once(
        &self,
        key: &str,
        id: Id,
        value: Option<Arc<serde_json::value::RawValue>>,
        terms: &Terms,
    ) -> Result<Version, WriteError> {
        let entry = {
            let mut data = lock(&self.inner.data);
            // Decided in the same locked section that assigns the version and
            // applies it: of two conditional writers, the second sees the first.
            let now = now_ms();
            crate::terms::decide(terms.cond.as_ref(), data.store.get(&id), now)
                .map_err(WriteError::Precondition)?;
            let version = data.clock.next(now);
            let entry = Entry {
                key: key.to_string(),
                value,
                version,
                // Absolute, on the owner's clock: the holders compare it with
                // theirs, so an expiry is as exact as the clocks agree.
                expires_ms: terms.ttl_ms.map(|ttl| now.saturating_add(ttl)),
            };
            data.store.apply(id, entry.clone());
            entry
        };
        let version = entry.version;
        // Who gets the copy and when the write counts is `QuorumWrite`'s.
        let (mut quorum, first) = {
            let ring = lock(&self.inner.ring);
            QuorumWrite::start(
                &self.inner.me,
                ring.successors(),
                self.inner.opts.replicas as usize,
                self.inner.opts.write_quorum(),
                ring.known_ring_size(),
            )
        };
        let req = Arc::new(ReplicaRequest::Replicate {
            entries: vec![entry],
        });
        let mut calls: FuturesUnordered<_> = first
            .into_iter()
            .map(|p| self.replicate_to(p, req.clone()))
            .collect();
        let replica_writes = &self.inner.metrics.replica_writes;
        let verdict = loop {
            if let Some(verdict) = quorum.verdict() {
                break verdict;
            }
            // `quorum` counts the same calls, so one is in flight while it is
            // undecided; were they ever to disagree, no answer is coming.
            let Some((p, answer)) = calls.next().await else {
                break quorum.out_of_calls();
            };
            match answer {
                Ok(ReplicaResponse::Applied(_)) => {
                    Metrics::count(replica_writes, "applied");
                    quorum.on_applied();
                }
                Ok(ReplicaResponse::Newer(v)) => {
                    Metrics::count(replica_writes, "newer");
                    quorum.on_newer(v);
                }
                other => {
                    Metrics::count(replica_writes, "failed");
                    let err = match other {
                        Err(e) => e,
                        Ok(r) => CallError::Rejected(format!("unexpected {r:?}")),
                    };
                    self.peer_failed(&p, &err);
                    if let Some(alt) = quorum.on_failed() {
                        calls.push(self.replicate_to(alt, req.clone()));
                    }
                }
            }
        };
        if !calls.is_empty() {
            // The remaining copies finish in the background.
            tokio::spawn(async move { while calls.next().await.is_some() {} });
        }
        match verdict {
            WriteVerdict::Acknowledged => Ok(version),
            WriteVerdict::Superseded(v) => Err(WriteError::Superseded(v)),
            WriteVerdict::TooFew { reached, required } => {
                Err(WriteError::Failed(too_few_holders(reached, required)))
            }
        }
    }

    fn replicate_to(
        &self,
        p: Peer,
        req: Arc<ReplicaRequest>,
    ) -> impl std::future::Future<Output = (Peer, Result<ReplicaResponse, CallError>)> + Send + 'static
    {
        let peers = self.inner.peers.clone();
        async move {
            let r = peers.data(&p.addr, &req).await;
            (p, r)
        }
    }
}

#[cfg(test)]
mod tests {
    //! The owner's read path against real peers on loopback: holders that
    //! never answer (a bound socket nobody reads) and holders that do.
    use super::*;
    use crate::ring::RingOptions;
    use crate::store::Version;
    use serde_json::value::RawValue;

    /// A node at the top of the id space whose predecessor sits at 0, so it
    /// owns every key, with these holders as its successors.
    fn owner_of_everything(holders: Vec<Peer>) -> Node {
        let me = Peer {
            id: Id([0xff; 20]),
            addr: "127.0.0.1:1".into(),
        };
        let pred = Peer {
            id: Id([0; 20]),
            addr: "127.0.0.1:2".into(),
        };
        let opts = Options {
            rpc_timeout: Duration::from_millis(200),
            ..Options::default()
        };
        let n = Node::new(me.clone(), opts);
        n.set_ring(RingState::with_view(
            me,
            Some(pred),
            holders,
            RingOptions::default(),
        ));
        n
    }

    /// A peer at `addr` with an id of its own.
    /// A peer tagged `tag` served by the node at loopback `addr`, under a
    /// loopback host of its own (`127.1.0.tag`): placement counts copies per
    /// host, so peers that stand for different nodes need different hosts.
    fn peer_at(addr: &str, tag: u8) -> Peer {
        let mut id = [tag; 20];
        id[0] = 0x80;
        let port = addr.rsplit_once(':').map_or("0", |(_, p)| p);
        Peer {
            id: Id(id),
            addr: format!("127.1.0.{tag}:{port}"),
        }
    }

    /// A listener that every loopback host reaches (see `peer_at`), and its
    /// `127.0.0.1` address. It binds the wildcard address, the only way to
    /// take one port on all of 127/8; the tests talk to it on 127/8 only.
    async fn any_loopback() -> (tokio::net::TcpListener, String) {
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let addr = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
        (listener, addr)
    }

    /// An empty node serving on loopback, as a holder that answers.
    async fn answering_holder() -> String {
        answering_holder_node().await.0
    }

    /// An empty node serving on loopback, and its handle.
    async fn answering_holder_node() -> (String, Node) {
        let (listener, addr) = any_loopback().await;
        let node = Node::new(Peer::from_addr(&addr), Options::default());
        tokio::spawn(crate::server::serve(
            node.clone(),
            listener,
            std::future::pending(),
        ));
        (addr, node)
    }

    /// Puts a copy of `key` at version `ts` (`None`: a tombstone) into `n`.
    fn hold(n: &Node, key: &str, ts: u64, value: Option<&str>) {
        let entry = Entry {
            key: key.into(),
            value: value.map(|v| Arc::from(RawValue::from_string(v.into()).unwrap())),
            version: Version { ts, node: 7 },
            expires_ms: None,
        };
        lock(&n.inner.data)
            .store
            .apply(Id::hash(key.as_bytes()), entry);
    }

    /// Makes `n` look just thawed: its maintenance loop last ran 10 s ago.
    fn thawed(n: &Node) {
        n.inner
            .last_tick_ms
            .store(now_ms() - 10_000, Ordering::Relaxed);
    }

    /// Makes `n`'s view settled: its neighbours and successor list last
    /// changed 10 s ago, a repair round begun 5 s ago synced its range with
    /// every holder, and its maintenance loop just ticked.
    fn settled(n: &Node) {
        let now = now_ms();
        let s = &n.inner;
        s.view_changed_ms.store(now - 10_000, Ordering::Relaxed);
        s.list_changed_ms.store(now - 10_000, Ordering::Relaxed);
        s.synced_ms.store(now - 5_000, Ordering::Relaxed);
        s.last_tick_ms.store(now, Ordering::Relaxed);
    }

    /// How many misses `n` answered as `kind` (`authoritative`, `polled`).
    fn misses(n: &Node, kind: &'static str) -> u64 {
        n.inner
            .metrics
            .owner_misses
            .get_or_create(&crate::metrics::KindLabels { kind })
            .get()
    }

    /// A holder that accepts connections and never answers, and how many
    /// connections it has accepted: any call to it counts.
    async fn counting_silent_holder() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let (listener, addr) = any_loopback().await;
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = seen.clone();
        tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                open.push(conn); // held open, never answered
            }
        });
        (addr, seen)
    }

    #[tokio::test]
    async fn a_miss_within_the_window_asks_the_holders_and_finds_their_copy() {
        // Only the other holders have these keys (the owner's range just
        // changed: a write it did not coordinate may be there). Were every
        // miss authoritative, each GET below would answer 404 or 503.
        let (a, holder_a) = answering_holder_node().await;
        let b = answering_holder().await;
        let (c, beyond) = answering_holder_node().await;
        // R = 3: a and b are the holders, c is further along the list.
        let n = owner_of_everything(vec![peer_at(&a, 1), peer_at(&b, 2), peer_at(&c, 3)]);
        let get = |key: &'static str| {
            let n = n.clone();
            async move {
                n.execute(
                    key,
                    Id::hash(key.as_bytes()),
                    KvOp::Get,
                    None,
                    &Terms::default(),
                )
                .await
                .outcome
            }
        };
        let value = |out: KvOutcome, why: &str| match out {
            KvOutcome::Value(v) => v.get().to_string(),
            other => panic!("{why}: {other:?}"),
        };
        let now = now_ms();

        // Its neighbours changed a moment ago.
        hold(&holder_a, "recent", 100, Some("1"));
        settled(&n);
        n.inner.view_changed_ms.store(now, Ordering::Relaxed);
        assert_eq!(value(get("recent").await, "changed just now"), "1");

        // Changed 4 s ago (past settle_ms), but no repair round has synced
        // the range since.
        hold(&holder_a, "unsynced", 100, Some("2"));
        settled(&n);
        n.inner
            .view_changed_ms
            .store(now - 4_000, Ordering::Relaxed);
        n.inner.synced_ms.store(now - 6_000, Ordering::Relaxed);
        assert_eq!(value(get("unsynced").await, "not synced since"), "2");

        // Synced since, but by a round begun right after the change: a write
        // in flight then may have reached the holder after it.
        hold(&holder_a, "early", 100, Some("5"));
        n.inner.synced_ms.store(now - 3_500, Ordering::Relaxed);
        assert_eq!(value(get("early").await, "synced too early"), "5");

        // Its neighbours are settled, but a node beyond the holders came
        // into its successor list a moment ago with an orphan of its range.
        hold(&beyond, "orphan", 100, Some("3"));
        settled(&n);
        n.inner.list_changed_ms.store(now, Ordering::Relaxed);
        assert_eq!(value(get("orphan").await, "list changed just now"), "3");

        // Frozen and not yet ticking again.
        hold(&holder_a, "thawed", 100, Some("4"));
        settled(&n);
        thawed(&n);
        assert_eq!(value(get("thawed").await, "loop overdue"), "4");
        assert_eq!(misses(&n, "polled"), 5);
        assert_eq!(misses(&n, "authoritative"), 0);
    }

    #[tokio::test]
    async fn outside_the_window_a_miss_is_not_found_without_a_network_call() {
        let (a, calls_a) = counting_silent_holder().await;
        let (b, calls_b) = counting_silent_holder().await;
        let calls = || calls_a.load(Ordering::SeqCst) + calls_b.load(Ordering::SeqCst);
        let n = owner_of_everything(vec![peer_at(&a, 1), peer_at(&b, 2)]);
        settled(&n);
        let id = Id::hash(b"k");
        let get = n
            .execute("k", id, KvOp::Get, None, &Terms::default())
            .await
            .outcome;
        assert!(matches!(get, KvOutcome::NotFound), "{get:?}");
        let del = n
            .execute("k", id, KvOp::Delete, None, &Terms::default())
            .await
            .outcome;
        assert!(matches!(del, KvOutcome::NotFound), "{del:?}");
        assert_eq!(calls(), 0, "a settled owner's miss asks nobody");
        assert_eq!(misses(&n, "authoritative"), 2);
        assert!(n.entries().is_empty(), "nothing written");

        // The same holders are asked (and, silent, leave it unproven) as
        // soon as the owner's copy is a tombstone, or its view changed.
        hold(&n, "k", 100, None);
        let get = n
            .execute("k", id, KvOp::Get, None, &Terms::default())
            .await
            .outcome;
        assert!(matches!(get, KvOutcome::Inconclusive { .. }), "{get:?}");
        let after_tombstone = calls();
        assert!(after_tombstone > 0, "a tombstone is polled");
        n.inner.view_changed_ms.store(now_ms(), Ordering::Relaxed);
        let get = n
            .execute("k2", Id::hash(b"k2"), KvOp::Get, None, &Terms::default())
            .await
            .outcome;
        assert!(matches!(get, KvOutcome::Inconclusive { .. }), "{get:?}");
        assert!(
            calls() > after_tombstone,
            "a miss right after a change is polled"
        );
        assert_eq!(misses(&n, "polled"), 2);
    }

    #[tokio::test]
    async fn a_thawed_owner_reads_past_its_own_stale_tombstone() {
        // Frozen, the owner kept a tombstone; meanwhile the ring took a new
        // value, which its holders have.
        let (a, holder_a) = answering_holder_node().await;
        let (b, holder_b) = answering_holder_node().await;
        hold(&holder_a, "k", 200, Some("\"new\""));
        hold(&holder_b, "k", 200, Some("\"new\""));
        let n = owner_of_everything(vec![peer_at(&a, 1), peer_at(&b, 2)]);
        hold(&n, "k", 100, None);
        thawed(&n);
        let id = Id::hash(b"k");
        match n
            .execute("k", id, KvOp::Get, None, &Terms::default())
            .await
            .outcome
        {
            KvOutcome::Value(v) => assert_eq!(v.get(), "\"new\""),
            other => panic!("GET on a thawed owner with a stale tombstone: {other:?}"),
        }
        // The newer copy was kept: once ticking again, the owner answers alone.
        n.inner.last_tick_ms.store(now_ms(), Ordering::Relaxed);
        match n
            .execute("k", id, KvOp::Get, None, &Terms::default())
            .await
            .outcome
        {
            KvOutcome::Value(v) => assert_eq!(v.get(), "\"new\""),
            other => panic!("GET after the read repair: {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_owner_reads_past_its_own_tombstone_to_a_newer_write_on_a_holder() {
        // Not settling at all: a write that went to another node (a stale
        // hint right after a merge) is still found, not answered 404.
        let (a, holder_a) = answering_holder_node().await;
        let b = answering_holder().await;
        hold(&holder_a, "k", 200, Some("2"));
        let n = owner_of_everything(vec![peer_at(&a, 1), peer_at(&b, 2)]);
        hold(&n, "k", 100, None);
        match n
            .execute("k", Id::hash(b"k"), KvOp::Get, None, &Terms::default())
            .await
            .outcome
        {
            KvOutcome::Value(v) => assert_eq!(v.get(), "2"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_thawed_owner_serves_the_newest_value_not_its_own() {
        let (a, holder_a) = answering_holder_node().await;
        let b = answering_holder().await;
        hold(&holder_a, "k", 200, Some("2"));
        let n = owner_of_everything(vec![peer_at(&a, 1), peer_at(&b, 2)]);
        hold(&n, "k", 100, Some("1"));
        thawed(&n);
        match n
            .execute("k", Id::hash(b"k"), KvOp::Get, None, &Terms::default())
            .await
            .outcome
        {
            KvOutcome::Value(v) => assert_eq!(v.get(), "2"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_thawed_owner_does_not_prove_a_deletion_with_its_tombstone() {
        // Every holder answers "absent" and ours is a tombstone: normally a
        // 404, but a write may be on its way here as an orphan.
        let a = answering_holder().await;
        let b = answering_holder().await;
        let n = owner_of_everything(vec![peer_at(&a, 1), peer_at(&b, 2)]);
        hold(&n, "k", 100, None);
        let id = Id::hash(b"k");
        let get = n
            .execute("k", id, KvOp::Get, None, &Terms::default())
            .await
            .outcome;
        assert!(matches!(get, KvOutcome::NotFound), "ticking: {get:?}");
        thawed(&n);
        let settling = |out: &KvOutcome| matches!(out, KvOutcome::Inconclusive { error } if error.contains("changed a moment ago"));
        let get = n
            .execute("k", id, KvOp::Get, None, &Terms::default())
            .await
            .outcome;
        assert!(settling(&get), "thawed: {get:?}");
        let del = n
            .execute("k", id, KvOp::Delete, None, &Terms::default())
            .await
            .outcome;
        assert!(settling(&del), "thawed: {del:?}");
    }

    #[tokio::test]
    async fn a_thawed_owner_with_silent_holders_serves_its_own_copy() {
        // Refusing would make a starved node (which looks thawed) fail every
        // read of its range; its copy is real data, at worst stale.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let silent = silent.local_addr().unwrap().to_string();
        let n = owner_of_everything(vec![peer_at(&silent, 1), peer_at(&silent, 2)]);
        hold(&n, "k", 100, Some("1"));
        thawed(&n);
        match n
            .execute("k", Id::hash(b"k"), KvOp::Get, None, &Terms::default())
            .await
            .outcome
        {
            KvOutcome::Value(v) => assert_eq!(v.get(), "1"),
            other => panic!("thawed, holders silent: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_miss_with_a_silent_holder_is_inconclusive_never_not_found() {
        // Accepts connections (the kernel's backlog) but never answers: a
        // hung or overloaded holder, which may be the one with the key.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let silent = silent.local_addr().unwrap().to_string();
        let answering = answering_holder().await;
        let n = owner_of_everything(vec![peer_at(&answering, 1), peer_at(&silent, 2)]);
        let id = Id::hash(b"k");
        let get = n
            .execute("k", id, KvOp::Get, None, &Terms::default())
            .await
            .outcome;
        assert!(
            matches!(get, KvOutcome::Inconclusive { .. }),
            "GET with a silent holder: {get:?}"
        );
        let del = n
            .execute("k", id, KvOp::Delete, None, &Terms::default())
            .await
            .outcome;
        assert!(
            matches!(del, KvOutcome::Inconclusive { .. }),
            "DELETE with a silent holder: {del:?}"
        );
        // Nothing was written: no tombstone, no copy.
        assert!(n.entries().is_empty());
    }

    #[tokio::test]
    async fn a_miss_every_holder_confirms_is_not_found() {
        let a = answering_holder().await;
        let b = answering_holder().await;
        let n = owner_of_everything(vec![peer_at(&a, 1), peer_at(&b, 2)]);
        let id = Id::hash(b"k");
        let get = n
            .execute("k", id, KvOp::Get, None, &Terms::default())
            .await
            .outcome;
        assert!(matches!(get, KvOutcome::NotFound), "{get:?}");
        let del = n
            .execute("k", id, KvOp::Delete, None, &Terms::default())
            .await
            .outcome;
        assert!(matches!(del, KvOutcome::NotFound), "{del:?}");
    }

    #[tokio::test]
    async fn a_successor_list_shorter_than_the_known_ring_proves_nothing() {
        // The node has known three successors; suspicion left one. One
        // holder's "absent" is not every holder's.
        let a = answering_holder().await;
        let n = owner_of_everything(vec![peer_at(&a, 1), peer_at(&a, 2), peer_at(&a, 3)]);
        {
            let mut ring = lock(&n.inner.ring);
            ring.on_unreachable(&peer_at(&a, 2).id);
            ring.on_unreachable(&peer_at(&a, 3).id);
        }
        let get = n
            .execute("k", Id::hash(b"k"), KvOp::Get, None, &Terms::default())
            .await
            .outcome;
        assert!(matches!(get, KvOutcome::Inconclusive { .. }), "{get:?}");
    }

    /// A PUT of `value` on `cond`, routed as request `req`.
    async fn put_if(
        n: &Node,
        req: &str,
        value: &str,
        cond: Option<chord_proto::etag::Condition>,
    ) -> Executed {
        let op = KvOp::Put {
            value: Arc::from(RawValue::from_string(value.into()).unwrap()),
        };
        n.execute(
            "k",
            Id::hash(b"k"),
            op,
            Some(req),
            &Terms {
                cond,
                ..Terms::default()
            },
        )
        .await
    }

    #[tokio::test]
    async fn a_condition_is_decided_at_the_owner_and_a_retry_of_the_winner_still_wins() {
        use chord_proto::etag::Condition;
        let a = answering_holder().await;
        let b = answering_holder().await;
        let n = owner_of_everything(vec![peer_at(&a, 1), peer_at(&b, 2)]);
        let won = put_if(&n, "r1", "1", Some(Condition::Absent)).await;
        let v1 = match won {
            Executed {
                outcome: KvOutcome::Stored,
                version: Some(v),
            } => v,
            other => panic!("create on an absent key: {other:?}"),
        };
        // The entry's retry of the winning request (same id) is answered
        // with the same success and version, not a 412 against itself.
        let again = put_if(&n, "r1", "1", Some(Condition::Absent)).await;
        assert!(matches!(again.outcome, KvOutcome::Stored), "{again:?}");
        assert_eq!(again.version, Some(v1));
        // Another creator fails, told the live version; nothing changes.
        let lost = put_if(&n, "r2", "2", Some(Condition::Absent)).await;
        assert!(
            matches!(lost.outcome, KvOutcome::Failed { status: 412, .. }),
            "{lost:?}"
        );
        assert_eq!(lost.version, Some(v1));
        // If-Match with the live tag writes; with the old one it fails.
        let swapped = put_if(&n, "r3", "3", Some(Condition::Matches(vec![v1]))).await;
        let v3 = swapped.version.expect("a version");
        assert!(matches!(swapped.outcome, KvOutcome::Stored) && v3 > v1);
        let stale = put_if(&n, "r4", "4", Some(Condition::Matches(vec![v1]))).await;
        assert!(matches!(
            stale.outcome,
            KvOutcome::Failed { status: 412, .. }
        ));
        assert_eq!(stale.version, Some(v3));
        let get = n
            .execute("k", Id::hash(b"k"), KvOp::Get, None, &Terms::default())
            .await;
        match get.outcome {
            KvOutcome::Value(v) => assert_eq!(v.get(), "3"),
            other => panic!("{other:?}"),
        }
        assert_eq!(get.version, Some(v3));
        // A conditional delete of an absent key is a 412 without a tag.
        let del = n
            .execute(
                "gone",
                Id::hash(b"gone"),
                KvOp::Delete,
                Some("r5"),
                &Terms {
                    cond: Some(Condition::Exists),
                    ..Terms::default()
                },
            )
            .await;
        assert!(matches!(del.outcome, KvOutcome::Failed { status: 412, .. }));
        assert_eq!(del.version, None);
    }

    #[tokio::test]
    async fn an_expired_value_reads_as_absent_and_never_lets_an_older_copy_back() {
        // The owner's newest copy expired; a holder still has an older value
        // without a TTL (it missed the TTL write). The expired copy stands as
        // a tombstone of its version: the older value must not come back.
        let (a, holder_a) = answering_holder_node().await;
        let b = answering_holder().await;
        hold(&holder_a, "k", 100 << 16, Some("\"old\""));
        let n = owner_of_everything(vec![peer_at(&a, 1), peer_at(&b, 2)]);
        let expired = Entry {
            key: "k".into(),
            value: Some(Arc::from(RawValue::from_string("\"new\"".into()).unwrap())),
            version: Version {
                ts: 200 << 16,
                node: 7,
            },
            expires_ms: Some(now_ms() - 1),
        };
        let id = Id::hash(b"k");
        lock(&n.inner.data).store.apply(id, expired.clone());
        let get = n.execute("k", id, KvOp::Get, None, &Terms::default()).await;
        assert!(matches!(get.outcome, KvOutcome::NotFound), "{get:?}");
        // A replica of the expired entry sent back here is kept as a
        // tombstone, and a holder answers a fetch of it as one.
        assert!(matches!(
            holder_a.handle_data(ReplicaRequest::Replicate {
                entries: vec![expired]
            }),
            ReplicaResponse::Applied(1)
        ));
        let fetched = holder_a.handle_data(ReplicaRequest::Fetch { key: "k".into() });
        assert!(
            matches!(&fetched, ReplicaResponse::Entry(Some(e)) if e.is_tombstone()),
            "{fetched:?}"
        );
    }
}
