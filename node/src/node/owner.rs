//! Operations where the key lives: reads (with a fallback to the other holders
//! while a range is new here), quorum writes with versions from the hybrid
//! clock, and routed writes deduplicated by request id.

use super::*;

/// Why one attempt of a write did not succeed.
enum WriteError {
    /// A holder has a newer version of the key than the one we assigned.
    Superseded(Version),
    /// Too few holders applied it.
    Failed(Outcome),
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
    fn finish(mut self, out: &Outcome) {
        let now = now_ms();
        let mut data = lock(&self.node.inner.data);
        data.in_flight.finish(self.req, out);
        if matches!(out, Outcome::Stored | Outcome::Deleted) {
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

impl Node {
    /// Performs `op` on `key` as its owner.
    pub(super) async fn execute(&self, key: &str, id: Id, op: Op, req: Option<&str>) -> Outcome {
        let is_write = !matches!(op, Op::Get);
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
                    return rx.await.unwrap_or(Outcome::Failed {
                        status: 503,
                        error: "the first attempt of this request was abandoned".into(),
                    })
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
        let isolated = || Outcome::Failed {
            status: 503,
            error: "this node is cut off from its ring; its answer could be stale".into(),
        };
        let out = match op {
            // The common read is our own live copy: only its value (an `Arc`)
            // is cloned, not the whole entry with its key.
            Op::Get => match self.local_value(&id) {
                Some(v) => Outcome::Value(v),
                None => match self.newest(key, &id).await {
                    Some(Entry { value: Some(v), .. }) => Outcome::Value(v),
                    _ if self.is_isolated() => isolated(),
                    _ => Outcome::NotFound,
                },
            },
            Op::Put { value } => match self.write(key, id, Some(value)).await {
                Ok(()) => Outcome::Stored,
                Err(e) => e,
            },
            Op::Delete => match self.newest(key, &id).await {
                Some(Entry { value: Some(_), .. }) => match self.write(key, id, None).await {
                    Ok(()) => Outcome::Deleted,
                    Err(e) => e,
                },
                _ if self.is_isolated() => isolated(),
                _ => Outcome::NotFound,
            },
        };
        if let Some(executing) = executing {
            executing.finish(&out);
        }
        out
    }

    /// The value of our live copy of `id`, if we hold one.
    fn local_value(&self, id: &Id) -> Option<Arc<serde_json::value::RawValue>> {
        lock(&self.inner.data).store.get(id)?.value.clone()
    }

    /// Our copy if we have one; otherwise the newest copy among the other holders
    /// (we may have just taken over the range), kept locally as a read repair.
    async fn newest(&self, key: &str, id: &Id) -> Option<Entry> {
        if let Some(e) = lock(&self.inner.data).store.get(id) {
            return Some(e.clone());
        }
        let targets = self.replica_targets();
        let req = DataRequest::Fetch {
            key: key.to_string(),
        };
        let mut calls: FuturesUnordered<_> = targets
            .iter()
            .map(|p| self.inner.peers.data(&p.addr, &req))
            .collect();
        let mut best: Option<Entry> = None;
        while let Some(r) = calls.next().await {
            if let Ok(DataResponse::Entry(Some(e))) = r {
                if best.as_ref().is_none_or(|b| b.version < e.version) {
                    best = Some(e);
                }
            }
        }
        if let Some(e) = &best {
            let mut data = lock(&self.inner.data);
            data.clock.observe(e.version);
            data.store.apply(*id, e.clone());
        }
        best
    }

    fn replica_targets(&self) -> Vec<Peer> {
        let ring = lock(&self.inner.ring);
        replica_targets(
            &self.inner.me.id,
            ring.successors(),
            self.inner.opts.replicas as usize,
        )
    }

    /// Writes a new version (a value or a tombstone) and waits for W holders.
    async fn write(
        &self,
        key: &str,
        id: Id,
        value: Option<Arc<serde_json::value::RawValue>>,
    ) -> Result<(), Outcome> {
        // A holder may already have a newer version we never saw (a clock
        // ahead of ours, a range we just took over): then we move our clock
        // past it and write again, rather than acknowledge a write that the
        // older-but-higher version would silently replace.
        for _ in 0..3 {
            match self.write_once(key, id, value.clone()).await {
                Err(WriteError::Superseded(v)) => lock(&self.inner.data).clock.observe(v),
                Err(WriteError::Failed(out)) => return Err(out),
                Ok(()) => return Ok(()),
            }
        }
        Err(Outcome::Failed {
            status: 503,
            error: "the write kept meeting newer versions on its holders".into(),
        })
    }

    async fn write_once(
        &self,
        key: &str,
        id: Id,
        value: Option<Arc<serde_json::value::RawValue>>,
    ) -> Result<(), WriteError> {
        let entry = {
            let mut data = lock(&self.inner.data);
            let version = data.clock.next(now_ms());
            let entry = Entry {
                key: key.to_string(),
                value,
                version,
            };
            data.store.apply(id, entry.clone());
            entry
        };
        let (candidates, ring_size) = {
            let ring = lock(&self.inner.ring);
            let mut c: Vec<Peer> = Vec::new();
            for p in ring.successors() {
                if p.id != self.inner.me.id && c.iter().all(|q| q.id != p.id) {
                    c.push(p.clone());
                }
            }
            (c, ring.known_ring_size())
        };
        let r = self.inner.opts.replicas as usize;
        let w = self.inner.opts.write_quorum();
        // W is capped by the ring's size as this node has known it: a ring of
        // one node is its only holder, but a node cut off from a larger ring
        // must not accept writes on its own.
        let need = w.min(ring_size).saturating_sub(1);
        let slots = (r - 1).min(candidates.len());
        let req = Arc::new(DataRequest::Replicate {
            entries: vec![entry],
        });
        let mut next = slots;
        let mut calls = FuturesUnordered::new();
        for p in candidates.iter().take(slots) {
            calls.push(self.replicate_to(p.clone(), req.clone()));
        }
        let mut acks = 0;
        let mut superseded = None;
        while acks < need && superseded.is_none() {
            match calls.next().await {
                Some((_, Ok(DataResponse::Applied(_)))) => acks += 1,
                Some((_, Ok(DataResponse::Newer(v)))) => superseded = Some(v),
                Some((p, other)) => {
                    let err = match other {
                        Err(e) => e,
                        Ok(r) => CallError::Rejected(format!("unexpected {r:?}")),
                    };
                    self.peer_failed(&p, &err);
                    // Keep R−1 copies in flight: take the next successor instead.
                    if let Some(alt) = candidates.get(next) {
                        next += 1;
                        calls.push(self.replicate_to(alt.clone(), req.clone()));
                    }
                }
                None => break,
            }
        }
        if !calls.is_empty() {
            // The remaining copies finish in the background.
            tokio::spawn(async move { while calls.next().await.is_some() {} });
        }
        if let Some(v) = superseded {
            return Err(WriteError::Superseded(v));
        }
        if acks >= need {
            Ok(())
        } else {
            Err(WriteError::Failed(Outcome::Failed {
                status: 503,
                error: format!(
                    "write reached {} of {} required holders",
                    acks + 1,
                    need + 1
                ),
            }))
        }
    }

    fn replicate_to(
        &self,
        p: Peer,
        req: Arc<DataRequest>,
    ) -> impl std::future::Future<Output = (Peer, Result<DataResponse, CallError>)> + Send + 'static
    {
        let peers = self.inner.peers.clone();
        async move {
            let r = peers.data(&p.addr, &req).await;
            (p, r)
        }
    }
}
