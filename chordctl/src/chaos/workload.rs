//! The clients of a chaos run: each loops until the deadline, picking an
//! operation, a key and a live entry node at random (seeded), and records
//! every operation with its start, end and outcome.

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

/// One client: operations until `until`; returns its part of the history.
pub async fn client(
    id: u32,
    http: Client,
    entries: Arc<Entries>,
    start: Instant,
    until: Instant,
    keys: u32,
    seed: u64,
) -> Vec<Op> {
    let mut rng = StdRng::seed_from_u64(seed ^ (u64::from(id) << 32) ^ 0x9e37_79b9);
    let mut ops = Vec::new();
    // Every put writes a value no other put of the run writes.
    let mut next_value = u64::from(id) << 40;
    let ms = |t: Instant| t.duration_since(start).as_millis() as u64;
    while Instant::now() < until {
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
        let (outcome, value) = classify(kind, value, answer);
        ops.push(Op {
            client: id,
            kind,
            key,
            value,
            start_ms: ms(t0),
            end_ms: ms(t1),
            outcome,
            node,
        });
    }
    ops
}

/// The outcome of one answer (and, for a get, the value read).
fn classify(
    kind: OpKind,
    value: Option<u64>,
    answer: anyhow::Result<KvReply>,
) -> (OpOutcome, Option<u64>) {
    match answer {
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
    }
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
        })
    }

    #[test]
    fn answers_become_outcomes() {
        assert_eq!(
            classify(OpKind::Get, None, reply(200, "17")),
            (OpOutcome::Ok, Some(17))
        );
        assert_eq!(
            classify(OpKind::Get, None, reply(404, "{}")),
            (OpOutcome::Ok, None)
        );
        assert_eq!(
            classify(OpKind::Put, Some(5), reply(200, "{}")),
            (OpOutcome::Ok, Some(5))
        );
        assert_eq!(
            classify(OpKind::Put, Some(5), reply(503, "{}")),
            (OpOutcome::Failed, Some(5))
        );
        assert_eq!(
            classify(OpKind::Delete, None, reply(404, "{}")),
            (OpOutcome::Ok, None)
        );
        assert_eq!(
            classify(OpKind::Get, None, reply(200, "\"text\"")),
            (OpOutcome::Failed, None)
        );
    }
}
