//! The properties checked, after Zave ("Reasoning about identifier spaces",
//! IEEE TSE 2017). Members are running, joined, not leaving nodes; a member's
//! *best successor* is the first member in its successor list, or itself
//! when the list is empty (a ring of one).
//!
//! Always (in every reachable state):
//! * **AtLeastOneRing**: following best successors from any member never
//!   reaches a member without one (a dead end), so it ends in a cycle.
//! * **AtMostOneRing**: every member reaches the same cycle: the ring.
//!   Together with the first, every member reaches every ring member
//!   (Zave's connected appendages).
//! * **OrderedRing**: no ring member lies strictly between two neighbours
//!   on the ring: the ring visits its ids in ring order, once round.
//!
//! After quiescence (fault-free rounds from any reachable state, see
//! [`settle_rounds`]): the ring is **correct**: every running node that has
//! not left is a member (but for a joiner whose seed died or left before it
//! joined: it has nobody else to ask), its successor list is the next `min(L, n − 1)`
//! members and its predecessor the previous one, so every member reaches
//! every other. This cannot hold always: a node that has just joined is an
//! appendage nobody points at yet.

use crate::world::{id, Action, World};
use chord_node::id::in_open;
use std::collections::HashMap;

/// A property that failed, and how.
#[derive(Debug)]
pub struct Violation {
    /// Which property.
    pub property: &'static str,
    /// What the state looks like where it failed.
    pub detail: String,
}

fn violation(property: &'static str, detail: String) -> Violation {
    Violation { property, detail }
}

/// Member `i`'s best successor, `None` for a dead end.
fn best_successor(w: &World, i: usize) -> Option<usize> {
    let s = w.state(i)?;
    if s.successors().is_empty() {
        return Some(i);
    }
    s.successors()
        .iter()
        .map(|p| w.index_of(p))
        .find(|j| w.is_member(*j))
}

/// The "always" properties of the module doc.
pub fn safety(w: &World) -> Result<(), Violation> {
    let members = w.members();
    let mut ring: Option<Vec<usize>> = None;
    for &start in &members {
        // Walk until a node repeats: the cycle is the part from its first visit.
        let mut path = vec![start];
        loop {
            let at = *path.last().expect("non-empty");
            let next = best_successor(w, at).ok_or_else(|| {
                violation(
                    "AtLeastOneRing",
                    format!("member n{at:02} has no member in its successor list"),
                )
            })?;
            if let Some(pos) = path.iter().position(|j| *j == next) {
                let mut cycle = path.split_off(pos);
                // Canonical form: rotated to start at the smallest node number.
                let m = (0..cycle.len()).min_by_key(|k| cycle[*k]).unwrap_or(0);
                cycle.rotate_left(m);
                match &ring {
                    None => ring = Some(cycle),
                    Some(r) if *r == cycle => {}
                    Some(r) => {
                        return Err(violation(
                            "AtMostOneRing",
                            format!("two cycles: {} and {}", names(r), names(&cycle)),
                        ))
                    }
                }
                break;
            }
            path.push(next);
        }
    }
    if let Some(r) = ring {
        ordered(&r)?;
    }
    Ok(())
}

/// OrderedRing: between neighbours `a → b` on the ring no other ring member.
fn ordered(ring: &[usize]) -> Result<(), Violation> {
    for (k, &a) in ring.iter().enumerate() {
        let b = ring[(k + 1) % ring.len()];
        let (ia, ib) = (id(a), id(b));
        if let Some(&c) = ring.iter().find(|&&c| in_open(&id(c), &ia, &ib)) {
            return Err(violation(
                "OrderedRing",
                format!(
                    "ring {}: n{c:02} lies between n{a:02} and n{b:02}",
                    names(ring)
                ),
            ));
        }
    }
    Ok(())
}

fn names(ring: &[usize]) -> String {
    let v: Vec<String> = ring.iter().map(|i| format!("n{i:02}")).collect();
    v.join(" -> ")
}

/// Whether the ring is correct (module doc), with what is wrong if not.
pub fn correct(w: &World) -> Result<(), String> {
    let members = w.members();
    let running = (0..w.slots.len())
        .filter(|i| w.active(*i) && !w.stranded(*i))
        .count();
    if running != members.len() {
        return Err("a running node has not joined".into());
    }
    let mut by_id = members.clone();
    by_id.sort_by_key(|i| id(*i));
    let n = by_id.len();
    let want_len = w.opts.successor_list_len.min(n - 1);
    for (k, &i) in by_id.iter().enumerate() {
        let s = w.state(i).expect("member runs");
        let want: Vec<usize> = (1..=want_len).map(|d| by_id[(k + d) % n]).collect();
        let got: Vec<usize> = s.successors().iter().map(|p| w.index_of(p)).collect();
        let want_pred = (n > 1).then(|| by_id[(k + n - 1) % n]);
        let got_pred = s.predecessor().map(|p| w.index_of(p));
        if got != want || got_pred != want_pred {
            return Err(format!(
                "n{i:02}: successors {got:?} predecessor {got_pred:?} (want {want:?} / {want_pred:?})"
            ));
        }
    }
    Ok(())
}

/// Delivery steps one round may take before we call it a livelock.
const MAX_ROUND_STEPS: usize = 10_000;

/// Fault-free rounds until the ring is correct: first everything in flight
/// is delivered, then each round ticks every running node (ascending) and
/// delivers until nothing is in flight, always the oldest leg first. The
/// "always" properties are checked after every step on the way. Returns the
/// rounds it took.
pub fn settle_rounds(w: &mut World, max_rounds: usize) -> Result<usize, Violation> {
    settle_rounds_cached(w, max_rounds, &mut HashMap::new())
}

/// [`settle_rounds`], remembering for the quiet worlds met at round starts
/// (by fingerprint) how many more rounds they needed: many interleavings
/// settle into the same quiet world, whose continuation is then checked once.
pub fn settle_rounds_cached(
    w: &mut World,
    max_rounds: usize,
    cache: &mut HashMap<u64, usize>,
) -> Result<usize, Violation> {
    drain(w)?;
    let mut met = Vec::new();
    for round in 0..=max_rounds {
        let fp = w.fingerprint();
        if let Some(&more) = cache.get(&fp) {
            return finish(cache, &met, round + more, max_rounds, w);
        }
        met.push((fp, round));
        if correct(w).is_ok() {
            return finish(cache, &met, round, max_rounds, w);
        }
        if round == max_rounds {
            break;
        }
        for i in 0..w.slots.len() {
            if w.active(i) {
                w.apply(Action::Tick(i));
            }
        }
        drain(w)?;
    }
    Err(not_converged(w, max_rounds))
}

/// Records, for each quiet world `met` at round `r`, that it needed
/// `total - r` more rounds; fails if `total` is over the limit.
fn finish(
    cache: &mut HashMap<u64, usize>,
    met: &[(u64, usize)],
    total: usize,
    max_rounds: usize,
    w: &World,
) -> Result<usize, Violation> {
    if total > max_rounds {
        return Err(not_converged(w, max_rounds));
    }
    for &(fp, r) in met {
        cache.insert(fp, total - r);
    }
    Ok(total)
}

fn not_converged(w: &World, max_rounds: usize) -> Violation {
    violation(
        "Converges",
        format!(
            "not correct after {max_rounds} fault-free rounds: {}",
            correct(w).err().unwrap_or_else(|| "too slow".into())
        ),
    )
}

fn drain(w: &mut World) -> Result<(), Violation> {
    let mut steps = 0;
    while !w.msgs.is_empty() {
        // Oldest leg first: move it last, where `Deliver`'s swap-remove
        // leaves the others in order.
        let oldest = w.msgs.remove(0);
        w.msgs.push(oldest);
        w.apply(Action::Deliver(w.msgs.len() - 1));
        safety(w).map_err(|v| violation(v.property, format!("{} (while settling)", v.detail)))?;
        steps += 1;
        assert!(
            steps <= MAX_ROUND_STEPS,
            "no quiescence after {steps} steps"
        );
    }
    Ok(())
}
