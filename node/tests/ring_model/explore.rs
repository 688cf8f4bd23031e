//! The search: depth-first over every enabled action up to the model's
//! depth, recognising worlds seen before by [`World::fingerprint`]. A world
//! seen again with no more depth left to explore than on an earlier visit
//! is skipped; one reached by a shorter path is explored again from there.
//! Every distinct world is checked once: the "always" properties, and a
//! fault-free continuation that must reach a correct ring.

use crate::checks::{safety, settle_rounds_cached, Violation};
use crate::model::Model;
use crate::world::{Action, World};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What a search covered.
#[derive(Debug)]
pub struct Stats {
    /// Distinct worlds reached (by fingerprint), the start included.
    pub states: usize,
    /// Actions applied.
    pub transitions: u64,
    /// Most fault-free rounds a world needed to become a correct ring.
    pub max_settle_rounds: usize,
    /// Wall-clock time of the search.
    pub elapsed: Duration,
}

/// A property failed: the actions from the start world that lead there.
#[derive(Debug)]
pub struct Counterexample {
    /// What failed.
    pub violation: Violation,
    /// The path from [`Model::initial`].
    pub path: Vec<Action>,
}

/// Explores `model` exhaustively up to its depth.
pub fn explore(model: &Model) -> Result<Stats, Box<Counterexample>> {
    let started = Instant::now();
    let mut s = Search {
        model,
        // Fingerprint → most depth left with which it was explored.
        seen: HashMap::new(),
        path: Vec::new(),
        settled: HashMap::new(),
        transitions: 0,
        max_settle_rounds: 0,
    };
    let start = model.initial();
    s.seen.insert(start.fingerprint(), model.depth);
    s.check(&start)?;
    s.visit(&start, model.depth)?;
    Ok(Stats {
        states: s.seen.len(),
        transitions: s.transitions,
        max_settle_rounds: s.max_settle_rounds,
        elapsed: started.elapsed(),
    })
}

struct Search<'a> {
    model: &'a Model,
    seen: HashMap<u64, u32>,
    path: Vec<Action>,
    /// Quiet worlds known to settle, and in how many rounds.
    settled: HashMap<u64, usize>,
    transitions: u64,
    max_settle_rounds: usize,
}

impl Search<'_> {
    fn visit(&mut self, w: &World, left: u32) -> Result<(), Box<Counterexample>> {
        if left == 0 {
            return Ok(());
        }
        for a in self.model.enabled(w) {
            let mut next = w.clone();
            next.apply(a);
            self.transitions += 1;
            let fp = next.fingerprint();
            let first = match self.seen.get(&fp) {
                Some(&had) if had >= left - 1 => continue,
                Some(_) => false,
                None => true,
            };
            self.seen.insert(fp, left - 1);
            self.path.push(a);
            if first {
                self.check(&next)?;
            }
            self.visit(&next, left - 1)?;
            self.path.pop();
        }
        Ok(())
    }

    /// The properties of one world not checked before.
    fn check(&mut self, w: &World) -> Result<(), Box<Counterexample>> {
        let fail = |violation, path: &[Action]| {
            Box::new(Counterexample {
                violation,
                path: path.to_vec(),
            })
        };
        safety(w).map_err(|v| fail(v, &self.path))?;
        let mut settled = w.clone();
        let rounds =
            settle_rounds_cached(&mut settled, self.model.converge_rounds, &mut self.settled)
                .map_err(|v| fail(v, &self.path))?;
        self.max_settle_rounds = self.max_settle_rounds.max(rounds);
        Ok(())
    }
}
