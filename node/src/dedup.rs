//! Outcomes of recent routed writes, by request id (pure: time is passed in).
//!
//! The entry node retries a request once with the same id; the owner answers
//! a retry from here, so a retried delete still reports "deleted" and a
//! retried put is not applied under a second version.

use crate::wire::Outcome;
use std::collections::{HashMap, VecDeque};

/// A bounded, time-limited map from request id to outcome. Insertion order is
/// kept in a queue so expiry costs O(1) per entry, never a scan of the map.
#[derive(Debug)]
pub struct Recent {
    by_id: HashMap<String, Outcome>,
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
    pub fn get(&self, id: &str) -> Option<&Outcome> {
        self.by_id.get(id)
    }

    /// Records `outcome` for `id` at `now_ms`, forgetting what is too old.
    pub fn insert(&mut self, id: &str, outcome: Outcome, now_ms: u64) {
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
    fn remembers_then_forgets_by_age_and_size() {
        let mut r = Recent::new(1000, 3);
        r.insert("a", Outcome::Deleted, 0);
        r.insert("b", Outcome::Stored, 10);
        assert!(matches!(r.get("a"), Some(Outcome::Deleted)));
        r.insert("c", Outcome::Stored, 1005); // "a" is now too old
        assert!(r.get("a").is_none());
        assert_eq!(r.len(), 2);
        r.insert("d", Outcome::Stored, 1006);
        r.insert("e", Outcome::Stored, 1007); // over the cap: "b" goes
        assert!(r.get("b").is_none());
        assert_eq!(r.len(), 3);
        assert!(r.get("e").is_some());
    }
}
