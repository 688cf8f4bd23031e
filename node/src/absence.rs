//! When an owner may say a key does not exist, and when it may trust its own
//! copy (pure).
//!
//! # The rule: an absence needs proof
//! An acknowledged write is on `W` of the key's `R` holders (the owner and its
//! next `R − 1` distinct successors). The owner normally has every key of its
//! range, so its own live copy answers a read, and outside a window after its
//! view changed its own miss answers "not found" (see "Authoritative misses"
//! below). It asks the other holders when it has no copy within that window
//! (the range may be new to it), when its copy is a tombstone (never proof on
//! its own: right after rings merge a newer write can sit on a node that
//! briefly believed it owned the key), and while its view settles (below).
//! When it asks, this module decides:
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
//!
//! # Authoritative misses
//! An owner with no copy of a key at all (not even a tombstone) answers "not
//! found" at once, asking nobody, unless its miss falls in the window
//! [`Settling::miss_needs_poll`] describes: the common read of an absent key
//! costs no network call. The window is open while
//!
//! * its neighbours (the predecessor, or one of its holders: the first
//!   `R − 1` distinct successors, on other hosts than its own, see
//!   `chord_proto::placement`) changed less than `settle_ms` ago, or it was
//!   found frozen less than that ago (`recent`);
//! * any entry of its successor list changed less than `settle_ms` ago, the
//!   nodes beyond the holders included (`list_recent`): they are where the
//!   poll looks for orphans after a heal, and a node that just came within
//!   its list may hold one;
//! * its maintenance loop is overdue (frozen or starved, not yet noticed);
//! * no repair round that began more than `settle_ms` after the last
//!   change of its neighbours has synced its range with every holder, or
//!   none ever has (`not_synced_since`);
//! * it has no holders to sync with (a lone node: the poll then asks nobody,
//!   and the known-ring-size and isolation rules decide as before, so a node
//!   that lost a larger ring still does not prove absence alone), or it has
//!   neighbours but no predecessor (added by the driver: it may be taking
//!   requests for a range it cannot name).
//!
//! **Why a miss outside the window is proof**, on the assumptions below.
//! Take an acknowledged write of key `k` and a later read of `k` at the
//! owner `O`, outside the window, with no copy of `k` at `O`. Who
//! coordinated the write?
//!
//! 1. *`O` itself.* It stores the version in its own store before it sends a
//!    copy to any holder (`Node::write_once`), and counts itself as one of
//!    the `W` ([`crate::request::quorum`]). Its store only drops a copy of a
//!    key outside its range (after the key's owner took it by hand-off) or a
//!    tombstone after `--tombstone-grace-ms`. A key outside its range that
//!    comes back into it does so by a change of its predecessor, which
//!    opens the window and is followed by a sync (case 2). So `O` has the
//!    version or a newer one: no miss.
//! 2. *Another node, before `O`'s last change of neighbours.* Repair syncs
//!    the range `(predecessor, O]` with every holder: a `SyncList` answered
//!    by a `Delta` whose `newer` is every entry in the range the holder has
//!    and `O` lacks or has older, applied at `O`. The window stays open
//!    until a round that began more than `settle_ms` after the change (its
//!    view read after its start) did so with every holder its view names.
//!    By the documented guarantee one of `O` and its current holders took
//!    the write (or received it from repair), so the sync brought it to
//!    `O`. Why `settle_ms` after, not just after: a write another node was
//!    already executing when the view changed (it checked its ownership just
//!    before) may reach its holders a moment later, after the round that
//!    repair runs at once on a change had read them; writes in flight land
//!    within `settle_ms`, the bound the orphan hand-off already assumes, so
//!    a round begun after that finds them. Joins racing writes are this
//!    case: a node that joins takes its range by the join pull and repair,
//!    and it has no predecessor (window open) until it has a range at all,
//!    then a new one (window open) until such a sync.
//! 3. *Another node `X`, after that change*, believing it owned `k`: `X` and
//!    `O` disagree on who owns `k`. Chord's maintenance reconciles that
//!    through `O`'s own pointers when `X` is near it. If `X` lies between
//!    `k` and `O`, stabilization makes the nearest such node `O`'s
//!    predecessor (its notify, rectify at `O`): `O`'s predecessor changes and
//!    `k` leaves `O`'s range. If `X` lies after `O` within `O`'s successor
//!    list (a partition just healed, a node thawed), it entered that list
//!    recently (`list_recent`), or it would long have learnt of `O` from the
//!    nodes between them. Either way the window opens, and within it the
//!    poll finds the write on `X` or its holders, or the write reaches `O`
//!    as an orphan by hand-off within `settle_ms` of `X`'s own change (the
//!    existing assumption the settling window rests on). In a normal join
//!    `X` has no predecessor, so no range, until its predecessor learnt of
//!    it from `O`'s predecessor pointer, which `X`'s notify set first.
//!
//! **The assumptions** are those the 404 rule already rests on: the
//! documented guarantee (fewer than `W` of the holders at write time left or
//! were passed over by joins before repair copied the key on), and orphans
//! reaching their owner within `settle_ms` of the change that made them
//! orphans, which this rule extends to writes in flight at a change (they
//! land on their holders within `settle_ms` of it); plus Chord's
//! convergence around `O`: two nodes that can reach each other do not both
//! act as `k`'s owner for longer than a few stabilize ticks (far below
//! `settle_ms`) without `O`'s predecessor or successor list changing.
//!
//! **Outside them** (a 404 for an acknowledged write is possible, as it is
//! in part for the poll too): connectivity that stays non-transitive for
//! longer than `settle_ms` (nodes that cannot reach `O` but reach its
//! neighbours may keep another node acting as owner of part of `O`'s range
//! while `O`'s own view stays put); a node joining in front of `O` that a merge
//! probe finds before it has notified `O` (one stabilize period), when a
//! write quorum `W < R` lets its write be acknowledged without `O`'s copy;
//! a write the other side of a partition took for `k` on a node beyond `O`'s
//! successor list, read at `O` before it is handed over (the poll would not
//! have asked that node either).
//!
//! **A tombstone is not authoritative**, outside the window or not: it is
//! polled as before. A tombstone means the key existed, and right after a
//! merge a newer write can sit on a node that briefly believed it owned the
//! key; a chaos run read such a key as deleted (see `Node::newest`). Reads
//! of deleted keys are rare enough to pay one poll each.

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
    /// How late a tick must be for a miss to need a poll: shorter than
    /// `overdue_ms`, see [`miss_overdue_ms`].
    pub miss_overdue_ms: u64,
    /// When the last repair round that synced its range with every holder
    /// began (0: none has); `None` when it has no holders to sync with (a
    /// lone node).
    pub synced_ms: Option<u64>,
    /// When any entry of its successor list last changed, beyond the
    /// holders too (0: never).
    pub list_changed_ms: u64,
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
    /// Its own miss (no copy at all) is not proof: ask the holders and the
    /// rest of the successor list before answering "not found" (implied by
    /// `no_proof`). When false, a miss is "not found" with no network call
    /// (see "Authoritative misses" in the module doc).
    pub miss_needs_poll: bool,
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
///
/// A miss needs a poll in all of these cases, and also while any entry of
/// its successor list changed less than `settle_ms` ago, until a round that
/// began more than `settle_ms` after the change has synced (or if none ever
/// has), and on a lone node.
pub fn view_settling(c: ViewClock) -> Settling {
    let recent = c.now_ms.saturating_sub(c.changed_ms) < c.settle_ms;
    let list_recent = c.now_ms.saturating_sub(c.list_changed_ms) < c.settle_ms;
    let late = c.now_ms.saturating_sub(c.last_tick_ms);
    let overdue = c.last_tick_ms != 0 && late > c.overdue_ms;
    let miss_late = c.last_tick_ms != 0 && late > c.miss_overdue_ms;
    let unsynced = c.synced_ms.is_some_and(|s| s < c.changed_ms);
    // Stricter than `unsynced`, since here no holder is asked at all: the
    // round must begin after writes in flight at the change have landed
    // (`settle_ms`, see the module doc); `<=` because timestamps are whole
    // ms, and so a node that never synced (0) and never changed (0) polls
    // too. A lone node (`None`) polls, which asks nobody but keeps the
    // known-ring-size rule.
    let not_synced_since = c
        .synced_ms
        .is_none_or(|s| s <= c.changed_ms.saturating_add(c.settle_ms));
    Settling {
        distrust_values: recent || overdue,
        no_proof: recent || overdue || unsynced,
        miss_needs_poll: recent || list_recent || overdue || miss_late || not_synced_since,
    }
}

/// How late a maintenance tick may be before this node's own misses stop
/// being proof: half the time its neighbours need to drop it as dead (a
/// call timeout for the first miss, then one stabilize period for each of
/// the other `suspect_after − 1`), and at most half of `overdue_ms`. A
/// freeze that long may have let its successor take over its range and
/// accept writes it never saw, while its own view, unchanged, shows no
/// sign of it; the freeze threshold that distrusts values (`overdue_ms`)
/// is longer than that with default flags (a review found the gap: frozen
/// 1.6–2.0 s, an owner answered 404 for a key its successor had taken).
/// The driver also marks its list changed after such a tick, so misses
/// poll until a repair round has synced the range since.
pub fn miss_overdue_ms(stabilize_ms: u64, rpc_ms: u64, suspect_after: u32, overdue_ms: u64) -> u64 {
    let dropped_after = rpc_ms
        .saturating_add(stabilize_ms.saturating_mul(u64::from(suspect_after.saturating_sub(1))));
    dropped_after.min(overdue_ms) / 2
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
    fn a_miss_stops_being_proof_at_half_the_time_peers_need_to_drop_a_node() {
        // Defaults: 1 s call timeout, then two more ticks of 250 ms: 1.5 s,
        // halved; the value freeze threshold (2 s) caps it.
        assert_eq!(miss_overdue_ms(250, 1_000, 3, 2_000), 750);
        assert_eq!(miss_overdue_ms(100, 300, 3, 1_400), 250);
        assert_eq!(miss_overdue_ms(250, 5_000, 3, 2_000), 1_000);
    }

    #[test]
    fn settling_after_a_change_until_synced_and_while_the_loop_is_overdue() {
        let settled = ViewClock {
            now_ms: 10_000,
            changed_ms: 6_000,
            settle_ms: 3_000,
            last_tick_ms: 9_900,
            overdue_ms: 2_000,
            miss_overdue_ms: 750,
            synced_ms: Some(9_500),
            list_changed_ms: 5_000,
        };
        let calm = Settling {
            distrust_values: false,
            no_proof: false,
            miss_needs_poll: false,
        };
        let unsettled = Settling {
            distrust_values: true,
            no_proof: true,
            miss_needs_poll: true,
        };
        let unproven = Settling {
            distrust_values: false,
            no_proof: true,
            miss_needs_poll: true,
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
        assert_eq!(
            c(|c| c.synced_ms = None),
            Settling {
                miss_needs_poll: true,
                ..calm
            },
            "nobody to sync with"
        );
        assert_eq!(c(|c| c.last_tick_ms = 7_000), unsettled, "overdue tick");
        assert_eq!(
            c(|c| c.last_tick_ms = 8_000),
            Settling {
                miss_needs_poll: true,
                ..calm
            },
            "late enough for a miss, not yet a freeze"
        );
        assert_eq!(c(|c| c.last_tick_ms = 9_500), calm, "on time");
        assert_eq!(c(|c| c.last_tick_ms = 0), calm, "no tick yet");
    }

    #[test]
    fn a_miss_is_authoritative_only_outside_the_window() {
        // Settled: changed 5 s ago, synced by a round that began more than
        // settle_ms after it, the successor list unchanged for 5 s, the
        // loop ticking.
        let settled = ViewClock {
            now_ms: 10_000,
            changed_ms: 5_000,
            settle_ms: 3_000,
            last_tick_ms: 9_900,
            overdue_ms: 2_000,
            miss_overdue_ms: 750,
            synced_ms: Some(8_500),
            list_changed_ms: 5_000,
        };
        let polls = |f: fn(&mut ViewClock)| {
            let mut c = settled;
            f(&mut c);
            view_settling(c).miss_needs_poll
        };
        assert!(!polls(|_| {}), "settled and synced: the miss is proof");
        // A tick late by more than the miss threshold (shorter than the
        // freeze that distrusts values): the neighbours may have dropped
        // this node and served its range meanwhile.
        assert!(polls(|c| c.last_tick_ms = 9_200), "late by 800 ms");
        assert!(!polls(|c| c.last_tick_ms = 9_300), "late by 700 ms");
        assert!(
            !view_settling(ViewClock {
                last_tick_ms: 9_200,
                ..settled
            })
            .distrust_values
        );
        assert!(
            polls(|c| c.changed_ms = 9_000),
            "neighbours changed 1 s ago"
        );
        assert!(polls(|c| c.list_changed_ms = 8_000), "list changed 2 s ago");
        assert!(
            !polls(|c| c.list_changed_ms = 7_000),
            "list changed 3 s ago"
        );
        assert!(polls(|c| c.last_tick_ms = 7_000), "loop overdue: thawed");
        assert!(
            polls(|c| c.synced_ms = Some(4_000)),
            "synced before the change"
        );
        // A round right after the change may have read a holder before a
        // write in flight at the change reached it.
        assert!(polls(|c| c.synced_ms = Some(6_000)), "synced too early");
        assert!(polls(|c| c.synced_ms = Some(8_000)), "synced in the ms");
        assert!(!polls(|c| c.synced_ms = Some(8_001)), "synced just after");
        assert!(polls(|c| c.synced_ms = None), "lone node: no holders");
        // A node that never changed and never synced (both 0).
        assert!(polls(|c| {
            c.changed_ms = 0;
            c.list_changed_ms = 0;
            c.synced_ms = Some(0);
        }));
        assert!(!polls(|c| {
            c.changed_ms = 0;
            c.list_changed_ms = 0;
        }));
    }

    #[test]
    fn whenever_a_miss_is_unproven_it_needs_a_poll() {
        // `miss_needs_poll` is implied by `no_proof`, over a grid of clocks.
        let times = [0, 1, 4_000, 6_000, 7_000, 8_500, 9_999, 10_000];
        for changed_ms in times {
            for last_tick_ms in times {
                for list_changed_ms in times {
                    for synced_ms in times.iter().map(|t| Some(*t)).chain([None]) {
                        let s = view_settling(ViewClock {
                            now_ms: 10_000,
                            changed_ms,
                            settle_ms: 3_000,
                            last_tick_ms,
                            overdue_ms: 2_000,
                            miss_overdue_ms: 750,
                            synced_ms,
                            list_changed_ms,
                        });
                        assert!(!s.distrust_values || s.no_proof, "{s:?}");
                        assert!(!s.no_proof || s.miss_needs_poll, "{s:?}");
                    }
                }
            }
        }
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
