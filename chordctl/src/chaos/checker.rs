//! Checking a chaos run: a pure analysis of a [`History`] (no I/O, no
//! clock), producing a [`Report`].
//!
//! # What counts as a write, and which writes count
//!
//! Puts and deletes are writes. Only a write the server answered with
//! success (`ok`) is *acknowledged*. A write that `failed` (the server
//! answered an error) or whose outcome is `unknown` (timeout, broken
//! connection) is *indeterminate*: it may or may not have taken effect, even
//! if it failed, since a key's owner applies a write before it learns that
//! the quorum failed, and repair can spread it. The checker therefore never
//! blames the store for an indeterminate write being applied, nor for it
//! being missing.
//!
//! Two operations are *concurrent* when their time intervals overlap; only
//! an operation that ended before another started is known to come first.
//! An indeterminate write's interval does not end when its client gave up:
//! a copy of it may still be on its way (held at a frozen hop, or in a TCP
//! buffer across a partition) and land after later writes. The store bounds
//! that by the deadline its entry node stamps on every copy, so such a write
//! counts as running until [`chord_proto::deadline::effect_window`] after its
//! end (its *reach*); an acknowledged write's reach is its end.
//!
//! # Failures (the run fails if any of these is non-empty)
//!
//! - **Lost write**: an acknowledged put of a key, whose final read does not
//!   show its value, although no other write of that key (put or delete,
//!   acknowledged or not) could have come after it, i.e. every other write
//!   of the key reached its end before the put started.
//! - **Resurrected key**: the final read of a key finds a value although an
//!   acknowledged delete of it came after every other write of the key
//!   (every other write reached its end before the delete started).
//! - Both also when the store's own order says so, whatever the timing: the
//!   final read's `ETag` is older than an acknowledged put's or delete's
//!   (the versions the answers carried), so that write never reached the
//!   key's final holders.
//! - **Lost read**: a get answered "not found" although an acknowledged put
//!   of the key ended before the get started and no delete of the key
//!   (acknowledged or not, up to its reach) overlaps the time from that
//!   put's start to the get's end. Gets that overlap a network partition are not judged here
//!   (a partitioned minority may legitimately answer from an old view);
//!   they count as stale reads instead.
//! - **Unreadable key**: the final read of the key failed, so nothing can be
//!   said about it (it is judged neither lost nor resurrected). A key with an
//!   acknowledged write but no final read at all is reported here too.
//!
//! # Reported, not failures
//!
//! - **Stale reads**: a successful get whose result must come from a write
//!   older than another acknowledged write W of the key that ended before
//!   the get started: it read a value whose put ended before W started, or
//!   it found nothing although W is a put that no delete overlaps up to the
//!   get's end (the latter only inside a partition, since outside one it is
//!   a lost read). Stale reads that overlap a partition window are also
//!   counted on their own.
//! - **Availability**: for each whole second of the run, how many operations
//!   ended in it, by outcome (bucket = end time / 1000 ms; seconds run from 0
//!   to the run's duration, or further if an operation ended after it).
//! - **Heal to ring**: for each fault that was undone and after which the
//!   ring was seen correct again, the time between the two, in ms.
//!
//! A partition window runs from the partition's start until the ring was
//! seen correct again after the heal (the network may be whole again while
//! the two rings have not merged yet, and each still answers from its own
//! view); without such an observation, to the heal, or to the end of the run
//! if it was never healed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::history::{FinalRead, History, Op, OpKind, OpOutcome};
use chord_proto::entry::Version;

/// The outcome of [`check`].
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Number of operations in the history.
    pub ops: usize,
    /// Operations that ended `ok`.
    pub ok: usize,
    /// Operations that ended `failed`.
    pub failed: usize,
    /// Operations that ended `unknown`.
    pub unknown: usize,
    /// Acknowledged puts missing at the end (failure).
    pub lost: Vec<Anomaly>,
    /// Keys present at the end despite a final acknowledged delete (failure).
    pub resurrected: Vec<Anomaly>,
    /// Gets that found nothing after an acknowledged put (failure).
    pub lost_reads: Vec<Anomaly>,
    /// Gets that returned an outdated result (reported, not a failure).
    pub stale_reads: usize,
    /// How many of [`Report::stale_reads`] overlap a partition window.
    pub stale_reads_in_partition: usize,
    /// Keys whose final read failed or is missing (failure), sorted.
    pub unreadable: Vec<String>,
    /// Operations per second of the run, by outcome.
    pub availability: Vec<Second>,
    /// For each fault undone and followed by a correct ring: ms from the
    /// undo to the ring being seen correct, in the order of the faults.
    pub heal_to_ring_ms: Vec<u64>,
}

impl Report {
    /// Whether the run passed: no lost writes, resurrected keys, lost reads
    /// or unreadable keys. Stale reads do not fail a run.
    pub fn passed(&self) -> bool {
        self.lost.is_empty()
            && self.resurrected.is_empty()
            && self.lost_reads.is_empty()
            && self.unreadable.is_empty()
    }
}

/// One safety violation, on one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// The key.
    pub key: String,
    /// What happened, in words, with the operations involved.
    pub detail: String,
}

/// Operations that ended in one second of the run, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Second {
    /// Seconds since the run started (the bucket `[second, second + 1)`).
    pub second: u64,
    /// Operations that ended `ok`.
    pub ok: u32,
    /// Operations that ended `failed`.
    pub failed: u32,
    /// Operations that ended `unknown`.
    pub unknown: u32,
}

/// Analyses a run of nodes with the default timeouts. See the module
/// documentation for the rules.
pub fn check(h: &History) -> Report {
    let window = chord_proto::deadline::default_effect_window();
    check_with(h, u64::try_from(window.as_millis()).unwrap_or(u64::MAX))
}

/// [`check`], with indeterminate writes reaching `window_ms` past their end.
pub fn check_with(h: &History, window_ms: u64) -> Report {
    let mut report = Report {
        ops: h.ops.len(),
        ok: 0,
        failed: 0,
        unknown: 0,
        lost: Vec::new(),
        resurrected: Vec::new(),
        lost_reads: Vec::new(),
        stale_reads: 0,
        stale_reads_in_partition: 0,
        unreadable: Vec::new(),
        availability: availability(&h.ops, h.duration_ms),
        heal_to_ring_ms: h
            .faults
            .iter()
            .filter_map(|f| Some(f.converged_ms?.saturating_sub(f.end_ms?)))
            .collect(),
    };
    for op in &h.ops {
        match op.outcome {
            OpOutcome::Ok => report.ok += 1,
            OpOutcome::Failed => report.failed += 1,
            OpOutcome::Unknown => report.unknown += 1,
        }
    }

    let partitions: Vec<Window> = h
        .faults
        .iter()
        .filter(|f| f.kind == "partition")
        .map(|f| Window {
            start: f.start_ms,
            end: f
                .end_ms
                .map_or(u64::MAX, |end| f.converged_ms.unwrap_or(end).max(end)),
        })
        .collect();

    let mut by_key: BTreeMap<&str, KeyOps> = BTreeMap::new();
    for op in &h.ops {
        let entry = by_key.entry(op.key.as_str()).or_default();
        match op.kind {
            OpKind::Put | OpKind::Delete => entry.writes.push(op),
            OpKind::Get if op.outcome == OpOutcome::Ok => entry.gets.push(op),
            OpKind::Get => {}
        }
    }
    for key in h.final_reads.keys() {
        by_key.entry(key.as_str()).or_default();
    }

    let mut unreadable = BTreeSet::new();
    for (&key, ops) in &by_key {
        let final_read = h.final_reads.get(key);
        match final_read {
            Some(FinalRead::Error(_)) => {
                unreadable.insert(key.to_string());
            }
            None if ops.writes.iter().any(|w| w.outcome == OpOutcome::Ok) => {
                unreadable.insert(key.to_string());
            }
            Some(fr) => {
                let final_etag = h.final_etags.get(key).map(String::as_str);
                check_final(key, ops, (fr, final_etag), window_ms, &mut report);
            }
            None => {}
        }
        check_reads(key, ops, &partitions, window_ms, &mut report);
    }
    report.unreadable = unreadable.into_iter().collect();
    report
}

/// A key's operations: all its writes (any outcome) and its `ok` gets.
#[derive(Default)]
struct KeyOps<'a> {
    writes: Vec<&'a Op>,
    gets: Vec<&'a Op>,
}

/// A partition window, inclusive at both ends.
struct Window {
    start: u64,
    end: u64,
}

impl Window {
    fn overlaps(&self, op: &Op) -> bool {
        op.start_ms <= self.end && op.end_ms >= self.start
    }
}

fn is_acked(op: &Op, kind: OpKind) -> bool {
    op.kind == kind && op.outcome == OpOutcome::Ok
}

/// Until when a write may take effect (see the module docs): its end if it
/// was acknowledged, else `window_ms` later.
fn reach(op: &Op, window_ms: u64) -> u64 {
    if op.outcome == OpOutcome::Ok {
        op.end_ms
    } else {
        op.end_ms.saturating_add(window_ms)
    }
}

fn describe(op: &Op) -> String {
    let what = match (op.kind, op.value) {
        (OpKind::Put, Some(v)) => format!("put of {v}"),
        (OpKind::Put, None) => "put".to_string(),
        (OpKind::Delete, _) => "delete".to_string(),
        (OpKind::Get, Some(v)) => format!("get reading {v}"),
        (OpKind::Get, None) => "get finding nothing".to_string(),
    };
    let outcome = match op.outcome {
        OpOutcome::Ok => "ok",
        OpOutcome::Failed => "failed",
        OpOutcome::Unknown => "unknown",
    };
    format!(
        "{what} by client {} via {} ({}..{} ms, {outcome}{})",
        op.client,
        op.node,
        op.start_ms,
        op.end_ms,
        op.etag
            .as_deref()
            .map_or(String::new(), |t| format!(", ETag {t}"))
    )
}

fn describe_final(fr: &FinalRead, etag: Option<&str>) -> String {
    match (fr, etag) {
        (FinalRead::Value(v), Some(tag)) => format!("value {v} (ETag {tag})"),
        (FinalRead::Value(v), None) => format!("value {v}"),
        (FinalRead::Absent, _) => "nothing".to_string(),
        (FinalRead::Error(e), _) => format!("error {e}"),
    }
}

/// The store's version of an `ETag`, if it is one.
fn version(etag: Option<&str>) -> Option<Version> {
    chord_proto::etag::parse(etag?).ok()
}

/// Lost writes and resurrection: the final read against the last writes.
fn check_final(
    key: &str,
    ops: &KeyOps,
    (fr, final_etag): (&FinalRead, Option<&str>),
    window_ms: u64,
    report: &mut Report,
) {
    // The store's own order, where both versions are known: a final copy
    // older than an acknowledged write means that write never reached the
    // final holders, whatever may have followed it in time.
    let final_version = version(final_etag);
    let older_than =
        |w: &Op| matches!((final_version, version(w.etag.as_deref())), (Some(f), Some(v)) if f < v);
    // The latest and second-latest reach among the key's writes, so that "the
    // latest reach among the other writes" is O(1) for each write.
    let mut latest: Option<(usize, u64)> = None;
    let mut second: Option<u64> = None;
    for (i, w) in ops.writes.iter().enumerate() {
        let r = reach(w, window_ms);
        match latest {
            Some((_, end)) if r <= end => {
                second = Some(second.map_or(r, |s| s.max(r)));
            }
            _ => {
                second = latest.map(|(_, end)| end);
                latest = Some((i, r));
            }
        }
    }
    let latest_other_end = |i: usize| match latest {
        Some((j, _)) if j == i => second,
        Some((_, end)) => Some(end),
        None => None,
    };
    // Whether some other write of the key may be ordered after write `i`.
    let followed = |i: usize| latest_other_end(i).is_some_and(|end| end >= ops.writes[i].start_ms);

    for (i, w) in ops.writes.iter().enumerate() {
        let why = if !followed(i) {
            "was the last write of the key"
        } else if older_than(w) {
            "is newer than what the final read found"
        } else {
            continue;
        };
        if is_acked(w, OpKind::Put) {
            let shown = matches!((fr, w.value), (FinalRead::Value(v), Some(p)) if *v == p);
            if !shown {
                report.lost.push(Anomaly {
                    key: key.to_string(),
                    detail: format!(
                        "{} {why}, but the final read found {}",
                        describe(w),
                        describe_final(fr, final_etag)
                    ),
                });
            }
        }
        if is_acked(w, OpKind::Delete) && matches!(fr, FinalRead::Value(_)) {
            report.resurrected.push(Anomaly {
                key: key.to_string(),
                detail: format!(
                    "{} {why}, but the final read found {}",
                    describe(w),
                    describe_final(fr, final_etag)
                ),
            });
        }
    }
}

/// Writes sorted by one end of their interval, with a running maximum of
/// the other end, for "among the writes that ended (started) before t, the
/// one that started (ended) last" in O(log n).
struct Index<'a> {
    /// The sort key of each write, ascending.
    keys: Vec<u64>,
    /// For each prefix `..=i`: the write with the largest other end.
    best: Vec<&'a Op>,
}

impl<'a> Index<'a> {
    fn new(
        ops: impl Iterator<Item = &'a Op>,
        key: impl Fn(&Op) -> u64,
        other: impl Fn(&Op) -> u64,
    ) -> Self {
        let mut ops: Vec<&Op> = ops.collect();
        ops.sort_by_key(|op| key(op));
        let mut best: Vec<&Op> = Vec::with_capacity(ops.len());
        for &op in &ops {
            let b = match best.last() {
                Some(&prev) if other(prev) >= other(op) => prev,
                _ => op,
            };
            best.push(b);
        }
        Index {
            keys: ops.iter().map(|op| key(op)).collect(),
            best,
        }
    }

    /// Among the writes whose sort key is `< bound` (`<= bound` if
    /// `inclusive`), the one whose other end is largest.
    fn best_before(&self, bound: u64, inclusive: bool) -> Option<&'a Op> {
        let n = self
            .keys
            .partition_point(|&k| if inclusive { k <= bound } else { k < bound });
        n.checked_sub(1).map(|i| self.best[i])
    }
}

/// Lost and stale reads, for the key's `ok` gets.
fn check_reads(
    key: &str,
    ops: &KeyOps,
    partitions: &[Window],
    window_ms: u64,
    report: &mut Report,
) {
    if ops.gets.is_empty() {
        return;
    }
    let start = |op: &Op| op.start_ms;
    let end = |op: &Op| op.end_ms;
    // Acknowledged puts by end: the put that started last among those done.
    let acked_puts = Index::new(
        ops.writes
            .iter()
            .copied()
            .filter(|w| is_acked(w, OpKind::Put)),
        end,
        start,
    );
    // Acknowledged writes by end: the write that started last among those done.
    let acked_writes = Index::new(
        ops.writes
            .iter()
            .copied()
            .filter(|w| w.outcome == OpOutcome::Ok),
        end,
        start,
    );
    // All deletes by start: the delete that reaches furthest among those begun.
    let reach = |op: &Op| reach(op, window_ms);
    let deletes = Index::new(
        ops.writes
            .iter()
            .copied()
            .filter(|w| w.kind == OpKind::Delete),
        start,
        reach,
    );
    let puts_by_value: HashMap<u64, &Op> = ops
        .writes
        .iter()
        .filter(|w| w.kind == OpKind::Put)
        .filter_map(|w| Some((w.value?, *w)))
        .collect();

    for g in &ops.gets {
        let in_partition = partitions.iter().any(|p| p.overlaps(g));
        let stale = match g.value {
            None => {
                // The acknowledged put done before g that started last: if
                // no delete overlaps [its start, g's end], none overlaps
                // that interval for any earlier-starting put either.
                let Some(w) = acked_puts.best_before(g.start_ms, false) else {
                    continue;
                };
                let explained = deletes
                    .best_before(g.end_ms, true)
                    .is_some_and(|d| reach(d) >= w.start_ms);
                if explained {
                    continue;
                }
                if !in_partition {
                    report.lost_reads.push(Anomaly {
                        key: key.to_string(),
                        detail: format!(
                            "{} although {} came before it and no delete overlaps",
                            describe(g),
                            describe(w)
                        ),
                    });
                    continue;
                }
                true
            }
            Some(v) => match puts_by_value.get(&v) {
                // The acknowledged write done before g that started last.
                Some(p) => acked_writes
                    .best_before(g.start_ms, false)
                    .is_some_and(|w| w.start_ms > reach(p)),
                None => false,
            },
        };
        if stale {
            report.stale_reads += 1;
            if in_partition {
                report.stale_reads_in_partition += 1;
            }
        }
    }
}

/// Operations per second by outcome, bucketed by end time.
fn availability(ops: &[Op], duration_ms: u64) -> Vec<Second> {
    let last_ms = ops.iter().map(|op| op.end_ms).fold(duration_ms, u64::max);
    let mut seconds: Vec<Second> = (0..=last_ms / 1000)
        .map(|second| Second {
            second,
            ..Second::default()
        })
        .collect();
    for op in ops {
        // In range: last_ms is at least every end_ms.
        let s = &mut seconds[usize::try_from(op.end_ms / 1000).unwrap_or(usize::MAX)];
        match op.outcome {
            OpOutcome::Ok => s.ok += 1,
            OpOutcome::Failed => s.failed += 1,
            OpOutcome::Unknown => s.unknown += 1,
        }
    }
    seconds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::history::Fault;

    fn op(kind: OpKind, key: &str, value: Option<u64>, span: (u64, u64), outcome: OpOutcome) -> Op {
        Op {
            client: 1,
            kind,
            key: key.to_string(),
            value,
            start_ms: span.0,
            end_ms: span.1,
            outcome,
            node: "node-1".to_string(),
            etag: None,
        }
    }
    fn put(key: &str, v: u64, span: (u64, u64), outcome: OpOutcome) -> Op {
        op(OpKind::Put, key, Some(v), span, outcome)
    }
    fn del(key: &str, span: (u64, u64), outcome: OpOutcome) -> Op {
        op(OpKind::Delete, key, None, span, outcome)
    }
    fn get(key: &str, v: Option<u64>, span: (u64, u64)) -> Op {
        op(OpKind::Get, key, v, span, OpOutcome::Ok)
    }
    fn partition(start: u64, end: Option<u64>) -> Fault {
        Fault {
            kind: "partition".into(),
            nodes: vec!["node-2".into()],
            start_ms: start,
            end_ms: end,
            converged_ms: None,
        }
    }
    #[test]
    fn a_partition_lasts_until_the_rings_have_merged() {
        let ops = vec![
            put("k", 1, (10, 20), OpOutcome::Ok),
            get("k", None, (130, 135)),
        ];
        let mut healing = partition(50, Some(120));
        healing.converged_ms = Some(140);
        let h = History {
            faults: vec![healing],
            ..history(ops.clone(), &[("k", FinalRead::Value(1))])
        };
        assert!(check(&h).lost_reads.is_empty(), "read before the merge");
        let mut merged = partition(50, Some(120));
        merged.converged_ms = Some(125);
        let h = History {
            faults: vec![merged],
            ..history(ops, &[("k", FinalRead::Value(1))])
        };
        assert_eq!(check(&h).lost_reads.len(), 1, "read after the merge");
    }

    fn history(ops: Vec<Op>, finals: &[(&str, FinalRead)]) -> History {
        History {
            ops,
            faults: Vec::new(),
            final_reads: finals
                .iter()
                .map(|(k, f)| (k.to_string(), f.clone()))
                .collect(),
            final_etags: BTreeMap::new(),
            duration_ms: 10_000,
        }
    }
    use FinalRead::{Absent, Value};
    use OpOutcome::{Failed, Ok, Unknown};

    // ---- lost writes ----

    #[test]
    fn put_superseded_by_a_later_acked_put_is_not_lost() {
        let h = history(
            vec![put("k", 1, (0, 10), Ok), put("k", 2, (20, 30), Ok)],
            &[("k", Value(2))],
        );
        let r = check(&h);
        assert!(r.lost.is_empty(), "{:?}", r.lost);
        assert!(r.passed());
    }

    #[test]
    fn put_whose_final_read_shows_a_concurrent_write_is_not_lost() {
        // Two overlapping puts: either order is fine, whichever wins.
        for final_value in [1, 2] {
            let h = history(
                vec![put("k", 1, (0, 20), Ok), put("k", 2, (10, 30), Ok)],
                &[("k", Value(final_value))],
            );
            assert!(check(&h).passed(), "final {final_value}");
        }
    }

    #[test]
    fn last_acked_put_with_final_absent_is_lost() {
        let h = history(vec![put("k", 7, (0, 10), Ok)], &[("k", Absent)]);
        let r = check(&h);
        assert_eq!(r.lost.len(), 1);
        assert_eq!(r.lost[0].key, "k");
        assert!(
            r.lost[0].detail.contains("put of 7"),
            "{}",
            r.lost[0].detail
        );
        assert!(!r.passed());
    }

    #[test]
    fn last_acked_put_with_an_older_final_value_is_lost() {
        // The first put ended before the second started: 1 cannot win.
        let h = history(
            vec![put("k", 1, (0, 10), Ok), put("k", 2, (11, 20), Ok)],
            &[("k", Value(1))],
        );
        let r = check(&h);
        assert_eq!(r.lost.len(), 1);
        assert!(r.lost[0].detail.contains("put of 2"));
    }

    #[test]
    fn last_acked_put_shown_by_final_read_is_not_lost() {
        let h = history(vec![put("k", 7, (0, 10), Ok)], &[("k", Value(7))]);
        assert!(check(&h).passed());
    }

    #[test]
    fn final_error_makes_the_key_unreadable_not_lost() {
        let h = history(
            vec![put("k", 1, (0, 10), Ok), put("k", 2, (20, 30), Ok)],
            &[("k", FinalRead::Error("503".into()))],
        );
        let r = check(&h);
        assert!(r.lost.is_empty());
        assert_eq!(r.unreadable, vec!["k".to_string()]);
        assert!(!r.passed());
    }

    #[test]
    fn acked_write_without_final_read_is_unreadable() {
        let h = history(vec![put("k", 1, (0, 10), Ok)], &[]);
        let r = check(&h);
        assert!(r.lost.is_empty());
        assert_eq!(r.unreadable, vec!["k".to_string()]);
    }

    #[test]
    fn unacked_write_without_final_read_is_not_judged() {
        let h = history(vec![put("k", 1, (0, 10), Failed)], &[]);
        assert!(check(&h).passed());
    }

    #[test]
    fn unknown_delete_after_the_put_explains_final_absent() {
        let h = history(
            vec![put("k", 1, (0, 10), Ok), del("k", (20, 30), Unknown)],
            &[("k", Absent)],
        );
        assert!(check(&h).passed());
    }

    #[test]
    fn failed_write_after_the_put_explains_a_different_final_read() {
        // The failed put may have been applied by the owner anyway.
        let h = history(
            vec![put("k", 1, (0, 10), Ok), put("k", 2, (20, 30), Failed)],
            &[("k", Value(2))],
        );
        assert!(check(&h).passed());
    }

    #[test]
    fn write_entirely_before_the_put_does_not_excuse_it() {
        let h = history(
            vec![del("k", (0, 5), Ok), put("k", 1, (10, 20), Ok)],
            &[("k", Absent)],
        );
        assert_eq!(check(&h).lost.len(), 1);
    }

    #[test]
    fn an_indeterminate_write_may_land_after_a_later_put_within_its_window() {
        // The chaos run that found this: a put whose client saw its
        // connection break (during a partition's heal) was applied after a
        // later acknowledged put of the key, which then read as lost.
        let writes = || vec![put("k", 1, (0, 5), Unknown), put("k", 2, (100, 110), Ok)];
        let h = history(writes(), &[("k", Value(1))]);
        assert!(check(&h).passed());
        assert!(check_with(&h, 200).passed());
        // Past the window no copy of it can land any more.
        assert_eq!(check_with(&h, 50).lost.len(), 1);
        let late = history(
            vec![del("k", (0, 5), Failed), put("k", 2, (100, 110), Ok)],
            &[("k", Absent)],
        );
        assert!(check_with(&late, 200).passed());
        assert_eq!(check_with(&late, 50).lost.len(), 1);
    }

    #[test]
    fn failed_or_unknown_puts_are_never_lost() {
        let h = history(
            vec![put("k", 1, (0, 10), Failed), put("j", 2, (0, 10), Unknown)],
            &[("k", Absent), ("j", Absent)],
        );
        assert!(check(&h).passed());
    }

    #[test]
    fn a_final_copy_older_than_an_acknowledged_write_is_a_loss_even_when_followed() {
        let tagged = |mut op: Op, tag: &str| {
            op.etag = Some(tag.to_string());
            op
        };
        let (old, new) = (
            "\"0000000000000001-0000000000000001\"",
            "\"0000000000000002-0000000000000001\"",
        );
        let writes = vec![
            put("k", 1, (0, 5), Unknown),
            tagged(put("k", 2, (100, 110), Ok), new),
        ];
        let mut h = history(writes, &[("k", Value(1))]);
        // Value 1 may have landed after 2 (within its window), if it is newer.
        h.final_etags
            .insert("k".into(), "\"0000000000000003-0000000000000001\"".into());
        assert!(check(&h).passed());
        // Older than the acknowledged put: 2 never reached the final holders.
        h.final_etags.insert("k".into(), old.into());
        let r = check(&h);
        assert_eq!(r.lost.len(), 1);
        assert!(
            r.lost[0]
                .detail
                .contains("is newer than what the final read found"),
            "{}",
            r.lost[0].detail
        );
        assert!(
            r.lost[0].detail.contains(old) && r.lost[0].detail.contains(new),
            "{}",
            r.lost[0].detail
        );
        // The same for an acknowledged delete: a copy older than its tombstone came back.
        let writes = vec![
            put("k", 1, (0, 5), Unknown),
            tagged(del("k", (100, 110), Ok), new),
        ];
        let mut h = history(writes, &[("k", Value(1))]);
        h.final_etags.insert("k".into(), old.into());
        assert_eq!(check(&h).resurrected.len(), 1);
    }

    // ---- resurrection ----

    #[test]
    fn acked_delete_last_with_final_value_is_resurrected() {
        let h = history(
            vec![put("k", 1, (0, 10), Ok), del("k", (20, 30), Ok)],
            &[("k", Value(1))],
        );
        let r = check(&h);
        assert_eq!(r.resurrected.len(), 1);
        assert_eq!(r.resurrected[0].key, "k");
        assert!(r.lost.is_empty());
        assert!(!r.passed());
    }

    #[test]
    fn acked_delete_last_with_final_absent_is_fine() {
        let h = history(
            vec![put("k", 1, (0, 10), Ok), del("k", (20, 30), Ok)],
            &[("k", Absent)],
        );
        assert!(check(&h).passed());
    }

    #[test]
    fn unacked_delete_last_with_final_value_is_fine() {
        for outcome in [Failed, Unknown] {
            let h = history(
                vec![put("k", 1, (0, 10), Ok), del("k", (20, 30), outcome)],
                &[("k", Value(1))],
            );
            assert!(check(&h).passed(), "{outcome:?}");
        }
    }

    #[test]
    fn failed_put_after_the_delete_is_not_resurrection() {
        let h = history(
            vec![
                put("k", 1, (0, 10), Ok),
                del("k", (20, 30), Ok),
                put("k", 2, (40, 50), Failed),
            ],
            &[("k", Value(2))],
        );
        assert!(check(&h).passed());
    }

    #[test]
    fn put_concurrent_with_the_delete_is_not_resurrection() {
        let h = history(
            vec![put("k", 1, (0, 25), Ok), del("k", (20, 30), Ok)],
            &[("k", Value(1))],
        );
        assert!(check(&h).passed());
    }

    #[test]
    fn final_error_is_not_judged_resurrected() {
        let h = history(
            vec![del("k", (20, 30), Ok)],
            &[("k", FinalRead::Error("timeout".into()))],
        );
        let r = check(&h);
        assert!(r.resurrected.is_empty());
        assert_eq!(r.unreadable, vec!["k".to_string()]);
    }

    // ---- lost reads ----

    #[test]
    fn not_found_after_an_acked_put_is_a_lost_read() {
        let h = history(
            vec![put("k", 1, (0, 10), Ok), get("k", None, (20, 30))],
            &[("k", Value(1))],
        );
        let r = check(&h);
        assert_eq!(r.lost_reads.len(), 1);
        assert!(r.lost_reads[0].detail.contains("put of 1"));
        assert_eq!(r.stale_reads, 0);
        assert!(!r.passed());
    }

    #[test]
    fn not_found_concurrent_with_the_put_is_fine() {
        let h = history(
            vec![put("k", 1, (0, 20), Ok), get("k", None, (20, 30))],
            &[("k", Value(1))],
        );
        assert!(check(&h).passed());
    }

    #[test]
    fn not_found_after_only_unacked_puts_is_fine() {
        let h = history(
            vec![put("k", 1, (0, 10), Unknown), get("k", None, (20, 30))],
            &[("k", Absent)],
        );
        assert!(check(&h).passed());
    }

    #[test]
    fn not_found_inside_a_partition_is_stale_not_lost() {
        for fault in [partition(15, Some(25)), partition(25, None)] {
            let mut h = history(
                vec![put("k", 1, (0, 10), Ok), get("k", None, (20, 30))],
                &[("k", Value(1))],
            );
            h.faults.push(fault);
            let r = check(&h);
            assert!(r.lost_reads.is_empty(), "{:?}", h.faults);
            assert_eq!((r.stale_reads, r.stale_reads_in_partition), (1, 1));
            assert!(r.passed());
        }
    }

    #[test]
    fn partition_outside_the_get_does_not_excuse_it() {
        let mut h = history(
            vec![put("k", 1, (0, 10), Ok), get("k", None, (20, 30))],
            &[("k", Value(1))],
        );
        h.faults.push(partition(31, Some(40)));
        let mut kill = partition(0, None);
        kill.kind = "kill".into();
        h.faults.push(kill);
        assert_eq!(check(&h).lost_reads.len(), 1);
    }

    #[test]
    fn overlapping_delete_of_any_outcome_explains_not_found() {
        for outcome in [Ok, Failed, Unknown] {
            // Inside the put, overlapping its end, overlapping the get.
            for span in [(2, 8), (5, 12), (25, 40)] {
                let h = history(
                    vec![
                        put("k", 1, (0, 10), Ok),
                        del("k", span, outcome),
                        get("k", None, (20, 30)),
                    ],
                    &[("k", Absent)],
                );
                let r = check(&h);
                assert!(r.lost_reads.is_empty(), "{outcome:?} {span:?}");
                assert_eq!(r.stale_reads, 0);
            }
        }
    }

    #[test]
    fn delete_before_the_put_does_not_explain_not_found() {
        let h = history(
            vec![
                del("k", (0, 4), Ok),
                put("k", 1, (5, 10), Ok),
                get("k", None, (20, 30)),
            ],
            &[("k", Value(1))],
        );
        assert_eq!(check(&h).lost_reads.len(), 1);
    }

    #[test]
    fn later_put_nested_in_a_long_one_still_counts() {
        // The long put overlaps the delete, but the short put started after
        // the delete ended: the key must exist after it.
        let h = history(
            vec![
                put("k", 1, (0, 100), Ok),
                del("k", (10, 20), Ok),
                put("k", 2, (50, 60), Ok),
                get("k", None, (200, 210)),
            ],
            &[("k", Value(1))],
        );
        let r = check(&h);
        assert_eq!(r.lost_reads.len(), 1, "{r:?}");
        assert!(r.lost_reads[0].detail.contains("put of 2"));
    }

    #[test]
    fn not_found_after_an_acked_delete_is_fine() {
        let h = history(
            vec![
                put("k", 1, (0, 10), Ok),
                del("k", (12, 15), Ok),
                get("k", None, (20, 30)),
            ],
            &[("k", Absent)],
        );
        let r = check(&h);
        assert!(r.passed());
        assert_eq!(r.stale_reads, 0);
    }

    // ---- stale reads ----

    #[test]
    fn reading_a_value_overwritten_before_the_get_is_stale() {
        let h = history(
            vec![
                put("k", 1, (0, 10), Ok),
                put("k", 2, (20, 30), Ok),
                get("k", Some(1), (40, 50)),
                get("k", Some(2), (40, 50)),
            ],
            &[("k", Value(2))],
        );
        let r = check(&h);
        assert_eq!((r.stale_reads, r.stale_reads_in_partition), (1, 0));
        assert!(r.passed(), "stale reads do not fail a run");
    }

    #[test]
    fn reading_a_value_deleted_before_the_get_is_stale() {
        let h = history(
            vec![
                put("k", 1, (0, 10), Ok),
                del("k", (20, 30), Ok),
                get("k", Some(1), (40, 50)),
            ],
            &[("k", Absent)],
        );
        assert_eq!(check(&h).stale_reads, 1);
    }

    #[test]
    fn reads_concurrent_with_the_overwrite_are_not_stale() {
        let h = history(
            vec![
                put("k", 1, (0, 10), Ok),
                put("k", 2, (20, 30), Ok),
                // Overlaps the second put.
                get("k", Some(1), (25, 35)),
                // Overlapping puts: either may have won.
                put("j", 6, (0, 10), Ok),
                put("j", 7, (5, 20), Ok),
                get("j", Some(6), (30, 40)),
                // The first put overlaps the unacknowledged second one.
                put("k", 3, (100, 110), Ok),
                put("k", 4, (105, 120), Unknown),
                get("k", Some(3), (130, 140)),
                // An unacknowledged overwrite does not make a read stale.
                put("k", 5, (200, 210), Failed),
                get("k", Some(4), (220, 230)),
            ],
            &[("k", Value(5)), ("j", Value(6))],
        );
        assert_eq!(check(&h).stale_reads, 0);
    }

    #[test]
    fn stale_reads_in_a_partition_are_counted_apart() {
        let mut h = history(
            vec![
                put("k", 1, (0, 10), Ok),
                put("k", 2, (20, 30), Ok),
                get("k", Some(1), (40, 50)),
                get("k", Some(1), (500, 510)),
                put("j", 3, (0, 10), Ok),
                get("j", None, (510, 520)),
            ],
            &[("k", Value(2)), ("j", Value(3))],
        );
        h.faults.push(partition(400, Some(600)));
        let r = check(&h);
        assert_eq!((r.stale_reads, r.stale_reads_in_partition), (3, 2));
        assert!(r.passed());
    }

    // ---- counts, availability, convergence ----

    #[test]
    fn counts_outcomes_and_buckets_availability_by_end_second() {
        let mut h = history(
            vec![
                get("k", None, (0, 999)),
                put("k", 1, (500, 1000), Failed),
                put("k", 2, (900, 1999), Unknown),
                del("k", (2000, 2500), Ok),
                put("k", 3, (2400, 4100), Unknown),
            ],
            &[("k", Absent)],
        );
        h.duration_ms = 3000;
        let r = check(&h);
        assert_eq!((r.ops, r.ok, r.failed, r.unknown), (5, 2, 1, 2));
        let counts: Vec<(u64, u32, u32, u32)> = r
            .availability
            .iter()
            .map(|s| (s.second, s.ok, s.failed, s.unknown))
            .collect();
        assert_eq!(
            counts,
            vec![
                (0, 1, 0, 0),
                (1, 0, 1, 1),
                (2, 1, 0, 0),
                (3, 0, 0, 0),
                (4, 0, 0, 1),
            ]
        );
    }

    #[test]
    fn availability_covers_the_whole_run_even_when_idle() {
        let mut h = history(Vec::new(), &[]);
        h.duration_ms = 2500;
        let r = check(&h);
        let seconds: Vec<u64> = r.availability.iter().map(|s| s.second).collect();
        assert_eq!(seconds, vec![0, 1, 2]);
        assert!(r
            .availability
            .iter()
            .all(|s| s.ok + s.failed + s.unknown == 0));
        assert!(r.passed());
    }

    #[test]
    fn heal_to_ring_needs_both_heal_and_convergence() {
        let mut h = history(Vec::new(), &[]);
        h.faults = vec![
            Fault {
                converged_ms: Some(1700),
                ..partition(100, Some(1200))
            },
            partition(2000, Some(2500)),
            Fault {
                converged_ms: Some(3000),
                ..partition(2600, None)
            },
            Fault {
                converged_ms: Some(5000),
                ..partition(4000, Some(4100))
            },
        ];
        assert_eq!(check(&h).heal_to_ring_ms, vec![500, 900]);
    }

    #[test]
    fn anomalies_are_reported_per_key_in_key_order() {
        let h = history(
            vec![
                put("b", 1, (0, 10), Ok),
                put("a", 2, (0, 10), Ok),
                put("c", 3, (0, 10), Ok),
            ],
            &[("a", Absent), ("b", Absent), ("c", Value(3))],
        );
        let keys: Vec<String> = check(&h).lost.into_iter().map(|a| a.key).collect();
        assert_eq!(keys, vec!["a", "b"]);
    }

    #[test]
    fn a_large_sequential_history_passes() {
        // One client, 10 keys, put then get, each op after the previous:
        // every read must see the latest put, and nothing is lost.
        let mut ops = Vec::new();
        let mut last = HashMap::new();
        let mut t = 0;
        for i in 0..50_000u64 {
            let key = format!("k{}", i % 10);
            ops.push(put(&key, i, (t, t + 1), Ok));
            ops.push(get(&key, Some(i), (t + 2, t + 3)));
            last.insert(key, i);
            t += 4;
        }
        let mut h = history(ops, &[]);
        h.final_reads = last.into_iter().map(|(k, v)| (k, Value(v))).collect();
        h.duration_ms = t;
        let r = check(&h);
        assert_eq!(r.ops, 100_000);
        assert!(r.passed(), "{:?}", (&r.lost, &r.lost_reads));
        assert_eq!(r.stale_reads, 0);

        // Make one read stale and one final read wrong: both are caught.
        // k1's first get reads a value of k0: not a put of k1, not judged.
        h.ops[3].value = Some(0);
        // k0's third get (value 20) reads k0's first put (value 0): stale.
        h.ops[20 * 2 + 1].value = Some(0);
        h.final_reads.insert("k9".into(), Value(9));
        let r = check(&h);
        assert_eq!(r.stale_reads, 1);
        assert_eq!(r.lost.len(), 1);
        assert_eq!(r.lost[0].key, "k9");
    }
}
