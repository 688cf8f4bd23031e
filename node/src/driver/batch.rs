//! Multi-get: the entry node asks each likely owner once for all of its
//! keys, and routes the rest one by one; an owner reads the keys it owns
//! exactly as it executes a routed GET. The decisions are
//! [`crate::batch`]'s.

use super::*;
use crate::batch::{ask_again, plan, Gather};
use crate::wire::{BatchAnswer, BatchGet, BatchItem};
use chord_proto::api::BatchGetResponse;

/// Keys read at once: by an owner for a batch, and by the entry node
/// routing keys one by one. Enough to overlap the network waits, few enough
/// that one multi-get does not take over the node.
const CONCURRENT_KEYS: usize = 32;

impl Node {
    /// The node this one believes owns `id`, from its own ring view: itself,
    /// the successor-list member whose range holds `id`, or else the location
    /// cache's owner when that one is not suspected. `None` when none of
    /// them says (not in a ring, or `id` beyond the successor list and not
    /// cached): such a key is routed hop by hop.
    pub fn likely_owner(&self, id: &Id) -> Option<Peer> {
        let ring = lock(&self.inner.ring);
        if !ring.is_joined() {
            return None;
        }
        let view = ring.view();
        if view.owns(id) {
            return Some(self.inner.me.clone());
        }
        if let Some(owner) = view.successor_owner(id) {
            return Some(owner.clone());
        }
        // Ring, then cache: the lock order `routed` uses too.
        lock(&self.inner.location)
            .lookup(id)
            .filter(|p| p.id != self.inner.me.id && !ring.is_suspect(&p.id))
    }

    /// `POST /kv:batchGet` at the entry node: reads `keys` (distinct), each
    /// with the outcome a single GET would have had.
    pub async fn batch_get(&self, keys: Vec<String>) -> BatchGetResponse {
        let plan = plan(keys, |id| self.likely_owner(id));
        let mut gather = Gather::default();
        let mut single: Vec<String> = plan.unplaced;
        let me = self.inner.me.id;
        let groups = plan.groups.into_iter().map(|(owner, keys)| async move {
            if owner.id == me {
                // Our own keys are read in place, as a batch sent here would be.
                let answer = self.handle_batch(BatchGet { keys: keys.clone() }).await;
                return (keys, Ok(answer));
            }
            let req = BatchGet { keys: keys.clone() };
            let timeout = self.inner.opts.request_timeout;
            let answer = self.inner.peers.batch(&owner.addr, &req, timeout).await;
            if let Err(e) = &answer {
                tracing::debug!(owner = %owner.addr, error = %e, "batch not answered; routing its keys");
            }
            (keys, answer)
        });
        let answers: Vec<_> = futures_util::future::join_all(groups).await;
        for (keys, answer) in answers {
            match answer {
                Ok(BatchAnswer { items }) => {
                    let mut asked: std::collections::HashSet<String> = keys.into_iter().collect();
                    for BatchItem {
                        key,
                        outcome,
                        version,
                    } in items
                    {
                        // Only keys we asked for, each once: the answer is a peer's word.
                        if !asked.remove(&key) {
                            continue;
                        }
                        match outcome {
                            Some(outcome) if !ask_again(&outcome) => {
                                gather.add(key, Executed { outcome, version })
                            }
                            // Not its key (any more), or not settled: route it.
                            _ => single.push(key),
                        }
                    }
                    // Keys the owner left out are routed too.
                    single.extend(asked);
                }
                Err(_) => single.extend(keys),
            }
        }
        let routed = futures_util::stream::iter(single)
            .map(|key| async move {
                let reply = self
                    .client_op(key.clone(), KvOp::Get, Terms::default(), false)
                    .await;
                (
                    key,
                    Executed {
                        outcome: reply.outcome,
                        version: reply.version,
                    },
                )
            })
            .buffer_unordered(CONCURRENT_KEYS)
            .collect::<Vec<_>>()
            .await;
        for (key, done) in routed {
            gather.add(key, done);
        }
        gather.finish()
    }

    /// `POST /chord/batch`: reads each key this node owns as the routed
    /// GET's owner would (`Node::execute`); the others are answered
    /// without an outcome ("not mine").
    pub async fn handle_batch(&self, req: BatchGet) -> BatchAnswer {
        let items = futures_util::stream::iter(req.keys)
            .map(|key| async move {
                let id = Id::hash(key.as_bytes());
                let mine = {
                    let ring = lock(&self.inner.ring);
                    ring.is_joined() && ring.view().owns(&id)
                };
                if !mine {
                    return BatchItem {
                        key,
                        outcome: None,
                        version: None,
                    };
                }
                let done = self
                    .execute(&key, id, KvOp::Get, None, &Terms::default())
                    .await;
                BatchItem {
                    key,
                    outcome: Some(done.outcome),
                    version: done.version,
                }
            })
            .buffered(CONCURRENT_KEYS)
            .collect()
            .await;
        BatchAnswer { items }
    }
}
