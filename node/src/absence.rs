//! When an owner may say a key does not exist, and when it may trust its own
//! copy (pure).
//!
//! # The rule: an absence needs proof
//! An acknowledged write is on `W` of the key's `R` holders (the owner and its
//! next `R − 1` distinct successors). The owner normally has every key of its
//! range, so its own live copy answers a read. It asks the other holders when
//! it has no copy (the range is new to it, or the key never existed), when
//! its copy is a tombstone (never proof on its own: right after rings merge a
//! newer write can sit on a node that briefly believed it owned the key), and
//! while its view settles (below). This module decides:
//!
//! * a holder's **value** answers the read (the newest one heard), even if
//!   other holders were silent: it is real data, never a false absence;
//! * **"not found"** needs an answer from *every* holder the owner's view
//!   names, `min(R, ring size) − 1` of them: with all `R` current holders
//!   saying "absent", no acknowledged write is on any of them. That proves
//!   absence as long as the current holders still include a node that took
//!   the write: fewer than `W` of the holders at write time have left or
//!   been passed over by joins since, before repair copied the key on (the
//!   documented guarantee; a join in front of the old owner followed by its
//!   crash before repair is outside it);
//! * a **tombstone** is the newest answer: the key was deleted, proven only
//!   on the same terms (a silent holder might hold a newer write);
//! * otherwise (a holder timed out, was refused, or the view names fewer
//!   holders than the ring should have) the answer is **inconclusive**: the
//!   client gets 503 "try again", which changes nothing and is safe to retry.
//!
//! A silent holder is never counted as one that said "absent": under load a
//! live holder that times out is exactly the holder that has the key.
//!
//! The owner also asks the rest of its successor list, beyond the holders,
//! without waiting on them for proof: right after a partition heals, a write
//! the other side accepted sits on that side's owner of the range, usually a
//! few nodes further along, until it is handed over (an orphan). A value found
//! there is served like a holder's.
//!
//! # While the view settles
//! Right after the owner's neighbours changed, or after it was frozen
//! ([`view_settling`]), its own copy may be older than a write the ring took
//! without it, and a write may still be on its way to it as an orphan. Then
//! it asks the holders even when it has a copy ([`HolderPoll::own`]): the
//! newest version heard is served (its own live copy when the holders are
//! silent: at worst a stale read, never a false absence), and a tombstone or
//! an absence is answered "try again". Until a repair round has synced its
//! range with every holder since the change, a tombstone or an absence is not
//! proof either.

use crate::store::Entry;

/// What the owner may answer after polling the other holders.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// The newest copy heard: a value, or a tombstone with every holder heard.
    Found(Entry),
    /// Every holder answered and none has the key.
    Absent,
    /// Some holder did not answer: neither presence nor absence is proven.
    Inconclusive {
        /// Holders that answered.
        answered: usize,
        /// Holders that had to answer.
        expected: usize,
    },
}

/// The owner's poll of the other holders of one key, fed one answer at a time.
#[derive(Clone, Debug)]
pub struct HolderPoll {
    expected: usize,
    answered: usize,
    newest: Option<Entry>,
}

impl HolderPoll {
    /// A poll that needs answers from `expected` other holders.
    pub fn new(expected: usize) -> HolderPoll {
        HolderPoll {
            expected,
            answered: 0,
            newest: None,
        }
    }

    /// How many other holders must answer: `min(R, ring size) − 1`, where the
    /// ring size is what this node has known its ring to have (a successor
    /// list shortened by suspicion does not lower the bar).
    pub fn holders_expected(replicas: usize, known_ring_size: usize) -> usize {
        replicas.min(known_ring_size).saturating_sub(1)
    }

    /// A holder answered with its copy (`None`: it has none).
    pub fn answer(&mut self, copy: Option<Entry>) {
        self.answered += 1;
        self.consider(copy);
    }

    /// A node beyond the holders answered: its copy counts if it is the
    /// newest, its silence or absence proves nothing either way.
    pub fn answer_beyond(&mut self, copy: Option<Entry>) {
        self.consider(copy);
    }

    /// The owner's own copy, when it asks the holders first (it was frozen,
    /// or its view just changed): a candidate like any answer beyond the
    /// holders. A newer answer beats it; when the holders are silent a live
    /// copy is still served (real data, at worst stale: a starved node
    /// looks just like a thawed one, and refusing would make every read of
    /// its range fail), a tombstone still needs every holder's answer.
    pub fn own(&mut self, copy: Option<Entry>) {
        self.consider(copy);
    }

    fn consider(&mut self, copy: Option<Entry>) {
        if let Some(e) = copy {
            if self.newest.as_ref().is_none_or(|b| b.version < e.version) {
                self.newest = Some(e);
            }
        }
    }

    /// What the answers so far prove (holders not heard from count as silent).
    pub fn verdict(&self) -> Verdict {
        let all_heard = self.answered >= self.expected;
        match &self.newest {
            Some(e) if e.value.is_some() || all_heard => Verdict::Found(e.clone()),
            None if all_heard => Verdict::Absent,
            _ => Verdict::Inconclusive {
                answered: self.answered,
                expected: self.expected,
            },
        }
    }
}

/// What [`view_settling`] decides from, in ms since the epoch.
#[derive(Clone, Copy, Debug)]
pub struct ViewClock {
    /// Now.
    pub now_ms: u64,
    /// When the owner's neighbours last changed (0: never).
    pub changed_ms: u64,
    /// How long after a change writes may still be on their way as orphans.
    pub settle_ms: u64,
    /// When its maintenance loop last ticked (0: not yet).
    pub last_tick_ms: u64,
    /// How late a tick must be to count as a freeze.
    pub overdue_ms: u64,
    /// When the last repair round that synced its range with every holder
    /// began; `None` when it has no holders to sync with (a lone node).
    pub synced_ms: Option<u64>,
}

/// How far an owner may trust what it holds right now (see [`view_settling`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settling {
    /// Its own live copies may be older than a write the ring took without
    /// it: ask the holders too before serving one.
    pub distrust_values: bool,
    /// Neither an absence nor a tombstone is proof: answer "try again"
    /// rather than 404 (implied by `distrust_values`).
    pub no_proof: bool,
}

/// How settled an owner's view is:
/// - its neighbours changed less than `settle_ms` ago, or its maintenance
///   loop is overdue (the process was frozen or starved and has not noticed
///   yet: requests that waited out the freeze run before the loop's first
///   tick after it): its own copies may be older than the ring's, and writes
///   may still be on their way to it as orphans;
/// - no repair round has synced its range with every holder since the
///   change: a holder may have a newer version than its own tombstone (a
///   write it missed while it was not yet the owner). A live copy is still
///   served, since a frozen holder would otherwise keep every read of the
///   range waiting for failure detection; a deletion is not proven.
pub fn view_settling(c: ViewClock) -> Settling {
    let recent = c.now_ms.saturating_sub(c.changed_ms) < c.settle_ms;
    let overdue = c.last_tick_ms != 0 && c.now_ms.saturating_sub(c.last_tick_ms) > c.overdue_ms;
    let unsynced = c.synced_ms.is_some_and(|s| s < c.changed_ms);
    Settling {
        distrust_values: recent || overdue,
        no_proof: recent || overdue || unsynced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Version;
    use serde_json::value::RawValue;
    use std::sync::Arc;

    fn copy(ts: u64, live: bool) -> Entry {
        Entry {
            key: "k".into(),
            value: live.then(|| Arc::from(RawValue::from_string(ts.to_string()).unwrap())),
            version: Version { ts, node: 1 },
            expires_ms: None,
        }
    }

    /// The verdict with a found copy shown as (version ts, live).
    fn seen(p: &HolderPoll) -> Result<(u64, bool), String> {
        match p.verdict() {
            Verdict::Found(e) => Ok((e.version.ts, e.value.is_some())),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn absence_needs_every_holder() {
        let mut p = HolderPoll::new(2);
        p.answer(None);
        // One holder silent (timed out): no proof either way.
        assert!(matches!(
            p.verdict(),
            Verdict::Inconclusive {
                answered: 1,
                expected: 2
            }
        ));
        p.answer(None);
        assert!(matches!(p.verdict(), Verdict::Absent));
    }

    #[test]
    fn no_holder_heard_is_inconclusive_not_absent() {
        assert!(matches!(
            HolderPoll::new(2).verdict(),
            Verdict::Inconclusive { answered: 0, .. }
        ));
    }

    #[test]
    fn a_value_answers_even_with_a_silent_holder() {
        let mut p = HolderPoll::new(2);
        p.answer(Some(copy(5, true)));
        assert_eq!(seen(&p), Ok((5, true)));
    }

    #[test]
    fn the_newest_copy_wins() {
        let mut p = HolderPoll::new(2);
        p.answer(Some(copy(7, true)));
        p.answer(Some(copy(9, false)));
        assert_eq!(seen(&p), Ok((9, false)));
        let mut p = HolderPoll::new(2);
        p.answer(Some(copy(9, true)));
        p.answer(Some(copy(7, false)));
        assert_eq!(seen(&p), Ok((9, true)));
    }

    #[test]
    fn a_tombstone_proves_a_delete_only_when_every_holder_answered() {
        let mut p = HolderPoll::new(2);
        p.answer(Some(copy(9, false)));
        assert!(matches!(p.verdict(), Verdict::Inconclusive { .. }));
        p.answer(None);
        assert_eq!(seen(&p), Ok((9, false)));
    }

    #[test]
    fn a_copy_beyond_the_holders_is_served_but_their_absence_proves_nothing() {
        let mut p = HolderPoll::new(2);
        p.answer_beyond(None);
        p.answer_beyond(None);
        assert!(matches!(
            p.verdict(),
            Verdict::Inconclusive { answered: 0, .. }
        ));
        p.answer_beyond(Some(copy(4, true)));
        assert_eq!(seen(&p), Ok((4, true)));
        p.answer(None);
        p.answer(None);
        assert_eq!(seen(&p), Ok((4, true)));
    }

    #[test]
    fn an_own_value_is_served_when_the_holders_are_silent_or_older() {
        let mut p = HolderPoll::new(2);
        p.own(Some(copy(5, true)));
        assert_eq!(seen(&p), Ok((5, true)), "holders silent");
        p.answer(Some(copy(3, true)));
        assert_eq!(seen(&p), Ok((5, true)), "a holder older");
    }

    #[test]
    fn a_newer_answer_beats_an_own_copy() {
        let mut p = HolderPoll::new(2);
        p.own(Some(copy(5, false)));
        p.answer_beyond(Some(copy(8, true)));
        assert_eq!(seen(&p), Ok((8, true)));
    }

    #[test]
    fn an_own_tombstone_needs_every_holder() {
        let mut p = HolderPoll::new(2);
        p.own(Some(copy(5, false)));
        p.answer(None);
        assert!(matches!(p.verdict(), Verdict::Inconclusive { .. }));
        p.answer(None);
        assert_eq!(seen(&p), Ok((5, false)));
    }

    #[test]
    fn settling_after_a_change_until_synced_and_while_the_loop_is_overdue() {
        let settled = ViewClock {
            now_ms: 10_000,
            changed_ms: 6_000,
            settle_ms: 3_000,
            last_tick_ms: 9_900,
            overdue_ms: 2_000,
            synced_ms: Some(7_000),
        };
        let calm = Settling {
            distrust_values: false,
            no_proof: false,
        };
        let unsettled = Settling {
            distrust_values: true,
            no_proof: true,
        };
        let unproven = Settling {
            distrust_values: false,
            no_proof: true,
        };
        assert_eq!(view_settling(settled), calm);
        let c = |f: fn(&mut ViewClock)| {
            let mut c = settled;
            f(&mut c);
            view_settling(c)
        };
        assert_eq!(c(|c| c.changed_ms = 9_000), unsettled, "changed 1 s ago");
        assert_eq!(
            c(|c| c.synced_ms = Some(5_000)),
            unproven,
            "not synced since"
        );
        assert_eq!(c(|c| c.synced_ms = None), calm, "nobody to sync with");
        assert_eq!(c(|c| c.last_tick_ms = 7_000), unsettled, "overdue tick");
        assert_eq!(c(|c| c.last_tick_ms = 8_000), calm, "on time");
        assert_eq!(c(|c| c.last_tick_ms = 0), calm, "no tick yet");
    }

    #[test]
    fn holders_expected_follows_the_known_ring() {
        assert_eq!(HolderPoll::holders_expected(3, 16), 2);
        assert_eq!(HolderPoll::holders_expected(3, 2), 1);
        assert_eq!(HolderPoll::holders_expected(3, 1), 0);
        assert_eq!(HolderPoll::holders_expected(1, 16), 0);
        // A lone node is every holder: its own miss is the proof.
        assert!(matches!(HolderPoll::new(0).verdict(), Verdict::Absent));
    }
}
