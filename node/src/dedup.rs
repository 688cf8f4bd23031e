//! Routed writes by request id: the ones being executed now and the outcomes
//! of recent ones (pure: time is passed in).
//!
//! The entry node retries a request once with the same id; the owner answers
//! a retry from here, so a retried delete still reports "deleted" and a
//! retried put is not applied under a second version.

use crate::store::Version;
use crate::wire::KvOutcome;
use std::collections::{HashMap, VecDeque};
use tokio::sync::oneshot;

/// An operation's outcome at the owner with the key's version it is about
/// (the answer's `ETag`; see `chord_proto::wire::ReplyMsg::version`).
#[derive(Clone, Debug)]
pub struct Executed {
    /// What happened.
    pub outcome: KvOutcome,
    /// The version read, written, or (a failed condition) found.
    pub version: Option<Version>,
}

impl Executed {
    /// An outcome about no particular version.
    pub fn bare(outcome: KvOutcome) -> Executed {
        Executed {
            outcome,
            version: None,
        }
    }

    /// An outcome about `version`.
    pub fn at(outcome: KvOutcome, version: Version) -> Executed {
        Executed {
            outcome,
            version: Some(version),
        }
    }
}

/// Routed writes being executed now, with later copies of each (a retry that
/// caught up) waiting for its outcome.
#[derive(Debug, Default)]
pub struct InFlight {
    waiters: HashMap<String, Vec<oneshot::Sender<Executed>>>,
}

/// What [`InFlight::begin`] found.
#[derive(Debug)]
pub enum Begin {
    /// Nobody executes `id`: the caller does, and must end it with
    /// [`InFlight::finish`] or [`InFlight::abandon`].
    First,
    /// Another copy is executing; its outcome arrives here (an error if that
    /// copy was abandoned).
    Wait(oneshot::Receiver<Executed>),
}

impl InFlight {
    /// Starts executing `id`, or joins the copy that already does.
    pub fn begin(&mut self, id: &str) -> Begin {
        match self.waiters.get_mut(id) {
            Some(waiting) => {
                let (tx, rx) = oneshot::channel();
                waiting.push(tx);
                Begin::Wait(rx)
            }
            None => {
                self.waiters.insert(id.to_string(), Vec::new());
                Begin::First
            }
        }
    }

    /// Ends `id` with `outcome`, handing it to every copy that waited.
    pub fn finish(&mut self, id: &str, outcome: &Executed) {
        for tx in self.waiters.remove(id).unwrap_or_default() {
            let _ = tx.send(outcome.clone());
        }
    }

    /// Ends `id` without an outcome (its executor was dropped part-way): the
    /// waiting copies get an error instead of waiting for ever.
    pub fn abandon(&mut self, id: &str) {
        self.waiters.remove(id);
    }

    /// Number of writes being executed.
    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    /// Whether no write is being executed.
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }
}

/// A bounded, time-limited map from request id to outcome. Insertion order is
/// kept in a queue so expiry costs O(1) per entry, never a scan of the map.
#[derive(Debug)]
pub struct Recent {
    by_id: HashMap<String, Executed>,
    order: VecDeque<(u64, String)>,
    keep_ms: u64,
    cap: usize,
}

impl Recent {
    /// Remembers outcomes for `keep_ms`, at most `cap` of them.
    pub fn new(keep_ms: u64, cap: usize) -> Recent {
        Recent {
            by_id: HashMap::new(),
            order: VecDeque::new(),
            keep_ms,
            cap,
        }
    }

    /// The outcome recorded for `id`, if still remembered.
    pub fn get(&self, id: &str) -> Option<&Executed> {
        self.by_id.get(id)
    }

    /// Records `outcome` for `id` at `now_ms`, forgetting what is too old.
    pub fn insert(&mut self, id: &str, outcome: Executed, now_ms: u64) {
        while let Some((at, old)) = self.order.front() {
            if now_ms.saturating_sub(*at) < self.keep_ms && self.order.len() < self.cap {
                break;
            }
            self.by_id.remove(old);
            self.order.pop_front();
        }
        if self.by_id.insert(id.to_string(), outcome).is_none() {
            self.order.push_back((now_ms, id.to_string()));
        }
    }

    /// Number of outcomes remembered.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_copy_waits_for_the_first_and_gets_its_outcome() {
        let mut f = InFlight::default();
        assert!(matches!(f.begin("r1"), Begin::First));
        let Begin::Wait(mut rx) = f.begin("r1") else {
            panic!("the second copy must wait");
        };
        assert!(rx.try_recv().is_err(), "nothing before the first finishes");
        let v = Version { ts: 9, node: 1 };
        f.finish("r1", &Executed::at(KvOutcome::Stored, v));
        // The version travels with the outcome: a retry gets the same ETag.
        assert!(
            matches!(rx.try_recv(), Ok(Executed { outcome: KvOutcome::Stored, version: Some(got) }) if got == v)
        );
        assert!(f.is_empty());
        // Finished means forgotten here (`Recent` answers later copies).
        assert!(matches!(f.begin("r1"), Begin::First));
    }

    #[test]
    fn an_abandoned_write_releases_its_waiters_and_its_id() {
        let mut f = InFlight::default();
        assert!(matches!(f.begin("r1"), Begin::First));
        assert!(matches!(f.begin("r2"), Begin::First));
        let Begin::Wait(mut rx) = f.begin("r1") else {
            panic!("the second copy must wait");
        };
        f.abandon("r1");
        // The waiter is told at once (sender gone), not left hanging.
        assert!(matches!(
            rx.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        assert_eq!(f.len(), 1, "only r2 is still executing");
        assert!(matches!(f.begin("r1"), Begin::First));
    }

    #[test]
    fn remembers_then_forgets_by_age_and_size() {
        let mut r = Recent::new(1000, 3);
        let done = |o| Executed::bare(o);
        r.insert("a", done(KvOutcome::Deleted), 0);
        r.insert("b", done(KvOutcome::Stored), 10);
        assert!(matches!(
            r.get("a").map(|e| &e.outcome),
            Some(KvOutcome::Deleted)
        ));
        r.insert("c", done(KvOutcome::Stored), 1005); // "a" is now too old
        assert!(r.get("a").is_none());
        assert_eq!(r.len(), 2);
        r.insert("d", done(KvOutcome::Stored), 1006);
        r.insert("e", done(KvOutcome::Stored), 1007); // over the cap: "b" goes
        assert!(r.get("b").is_none());
        assert_eq!(r.len(), 3);
        assert!(r.get("e").is_some());
    }
}
