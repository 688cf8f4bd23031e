//! The clients of a chaos run: each loops until the deadline, picking an
//! operation, a key and a live entry node at random (seeded), and records
//! every operation with its start, end and outcome.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::history::{Op, OpKind, OpOutcome};
use crate::client::{Client, KvReply};

/// Entry nodes the clients may use now: `(name, endpoint)`. The nemesis
/// takes out nodes it kills or pauses and puts back the ones it revives.
#[derive(Default)]
pub struct Entries(RwLock<Vec<(String, String)>>);

impl Entries {
    /// A random entry, if any.
    fn pick(&self, rng: &mut StdRng) -> Option<(String, String)> {
        let all = self.0.read().unwrap_or_else(|e| e.into_inner());
        if all.is_empty() {
            return None;
        }
        Some(all[rng.random_range(0..all.len())].clone())
    }

    /// Makes `name` usable at `endpoint` (replacing an older endpoint).
    pub fn add(&self, name: &str, endpoint: &str) {
        let mut all = self.0.write().unwrap_or_else(|e| e.into_inner());
        all.retain(|(n, _)| n != name);
        all.push((name.to_string(), endpoint.to_string()));
    }

    /// Replaces every entry.
    pub fn set(&self, now: Vec<(String, String)>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = now;
    }

    /// Every entry now.
    pub fn all(&self) -> Vec<(String, String)> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops using `name`.
    pub fn remove(&self, name: &str) {
        let mut all = self.0.write().unwrap_or_else(|e| e.into_inner());
        all.retain(|(n, _)| n != name);
    }
}

/// The key of slot `i`.
pub fn key(i: u32) -> String {
    format!("chaos:{i}")
}

/// What every client of a run shares.
#[derive(Clone)]
pub struct Workload {
    /// HTTP client for the cluster.
    pub http: Client,
    /// Entry nodes to use.
    pub entries: Arc<Entries>,
    /// When the run started (times in the history are relative to it).
    pub start: Instant,
    /// When the workload ends.
    pub until: Instant,
    /// Set to end the workload early.
    pub stop: Arc<AtomicBool>,
    /// Size of the key set.
    pub keys: u32,
    /// Seed of the clients' choices.
    pub seed: u64,
    /// 15 random bits of this run, the top of every value written.
    pub salt: u64,
}

/// One client: operations until `until` (or `stop`); returns its part of the history.
pub async fn client(id: u32, w: Workload) -> Vec<Op> {
    let Workload {
        http,
        entries,
        start,
        until,
        stop,
        keys,
        seed,
        salt,
    } = w;
    let mut rng = StdRng::seed_from_u64(seed ^ (u64::from(id) << 32) ^ 0x9e37_79b9);
    let mut ops = Vec::new();
    // Every put writes a value no other put writes: a salt of the run (not
    // of the seed, so a rerun on the same cluster cannot read its
    // predecessor's leftovers as its own), the client, a counter.
    let mut next_value = (salt << 48) | (u64::from(id & 0xffff) << 32);
    let ms = |t: Instant| t.duration_since(start).as_millis() as u64;
    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        let Some((node, endpoint)) = entries.pick(&mut rng) else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let key = key(rng.random_range(0..keys));
        let roll = rng.random_range(0..100);
        let t0 = Instant::now();
        let (kind, value, answer) = if roll < 50 {
            next_value += 1;
            let v = next_value;
            let r = http.put(&endpoint, &key, &v.to_string()).await;
            (OpKind::Put, Some(v), r)
        } else if roll < 90 {
            (OpKind::Get, None, http.get(&endpoint, &key).await)
        } else {
            (OpKind::Delete, None, http.delete(&endpoint, &key).await)
        };
        let t1 = Instant::now();
        let etag = answer.as_ref().ok().and_then(|r| r.etag.clone());
        let (kind, outcome, value) = classify(kind, value, answer);
        if outcome != OpOutcome::Ok {
            // A node refusing at once must not turn the client into a busy
            // loop that crowds out everything else in the history.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        ops.push(Op {
            client: id,
            kind,
            key,
            value,
            start_ms: ms(t0),
            end_ms: ms(t1),
            outcome,
            node,
            etag: etag.filter(|_| outcome == OpOutcome::Ok),
        });
    }
    ops
}

/// The operation as it happened (a delete that found no key wrote nothing:
/// it is a read that found nothing), its outcome, and the value written or read.
fn classify(
    kind: OpKind,
    value: Option<u64>,
    answer: anyhow::Result<KvReply>,
) -> (OpKind, OpOutcome, Option<u64>) {
    if kind == OpKind::Delete && matches!(&answer, Ok(r) if r.status == 404) {
        return (OpKind::Get, OpOutcome::Ok, None);
    }
    let (outcome, value) = match answer {
        Ok(r) if r.status == 200 => match kind {
            OpKind::Get => match r.body.trim().parse::<u64>() {
                Ok(v) => (OpOutcome::Ok, Some(v)),
                // Not a value any client wrote: say so as a failed read.
                Err(_) => (OpOutcome::Failed, None),
            },
            _ => (OpOutcome::Ok, value),
        },
        // "No such key": a read of nothing, or a delete with nothing to do.
        Ok(r) if r.status == 404 && kind != OpKind::Put => (OpOutcome::Ok, None),
        Ok(_) => (OpOutcome::Failed, value),
        Err(e) => {
            let timed_out = e
                .chain()
                .filter_map(|c| c.downcast_ref::<reqwest::Error>())
                .any(|r| r.is_timeout() || r.is_body() || r.is_request() && !r.is_connect());
            let outcome = if timed_out {
                OpOutcome::Unknown
            } else {
                OpOutcome::Failed
            };
            (outcome, value)
        }
    };
    (kind, outcome, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> anyhow::Result<KvReply> {
        Ok(KvReply {
            status,
            body: body.to_string(),
            owner: None,
            hops: None,
            path: None,
            path_text: None,
            etag: None,
        })
    }

    #[test]
    fn answers_become_outcomes() {
        assert_eq!(
            classify(OpKind::Get, None, reply(200, "17")),
            (OpKind::Get, OpOutcome::Ok, Some(17))
        );
        assert_eq!(
            classify(OpKind::Get, None, reply(404, "{}")),
            (OpKind::Get, OpOutcome::Ok, None)
        );
        assert_eq!(
            classify(OpKind::Put, Some(5), reply(200, "{}")),
            (OpKind::Put, OpOutcome::Ok, Some(5))
        );
        assert_eq!(
            classify(OpKind::Put, Some(5), reply(503, "{}")),
            (OpKind::Put, OpOutcome::Failed, Some(5))
        );
        assert_eq!(
            classify(OpKind::Delete, None, reply(404, "{}")),
            (OpKind::Get, OpOutcome::Ok, None),
            "a delete that found nothing wrote nothing: a read of nothing"
        );
        assert_eq!(
            classify(OpKind::Get, None, reply(200, "\"text\"")),
            (OpKind::Get, OpOutcome::Failed, None)
        );
    }
}
