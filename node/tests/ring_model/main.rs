//! Model check of the real ring state machine (`chord_node::ring::RingState`):
//! 3 to 5 nodes, joins, crashes, graceful leaves and message loss, every
//! interleaving up to a stated depth, Zave's invariants checked in every
//! reachable state (see `checks.rs`) and a fault-free continuation from each
//! that must reach a correct ring.
//!
//! * `world.rs`: the nodes (real `RingState`s) and the legs in flight;
//! * `model.rs`: configurations, fault assumptions, the enabled actions;
//! * `checks.rs`: the properties;
//! * `explore.rs`: the depth-first search with fingerprint dedup;
//! * `trace.rs`: counterexamples, replayed step by step.
//!
//! The default tests take about a minute on two cores (debug build); the
//! `#[ignore]`d ones are the larger runs documented under "Model check" in
//! `node/src/ring/mod.rs`: `cargo test --release -p chord-node --test
//! ring_model -- --ignored --nocapture`.

mod checks;
mod explore;
mod model;
mod trace;
mod world;

use explore::{explore, Stats};
use model::{Model, Start};

/// Explores `model`, prints what it covered, panics with the trace of a
/// violation.
fn check(model: Model) -> Stats {
    model.validate();
    match explore(&model) {
        Ok(stats) => {
            println!(
                "{} nodes, L = {}, start {:?}, depth {}, ≤ {} departures, ≤ {} losses: \
                 {} states, {} transitions, every one correct within {} fault-free rounds, {:.1?}",
                model.nodes,
                model.successor_list_len,
                model.start,
                model.depth,
                model.departures,
                model.losses,
                stats.states,
                stats.transitions,
                stats.max_settle_rounds,
                stats.elapsed
            );
            stats
        }
        Err(cx) => panic!("{}", trace::render(&model, &cx)),
    }
}

/// A 3-node ring with the fourth node joining, one crash or leave and one
/// lost message, each anywhere in the interleavings.
fn churn(nodes: usize, depth: u32, losses: u32) -> Model {
    Model {
        nodes,
        successor_list_len: 2,
        start: Start::RingOfAllButOne,
        depth,
        departures: 1,
        losses,
        converge_rounds: 12,
    }
}

/// Every node but the founder joins, concurrently, with one departure.
fn growth(nodes: usize, depth: u32) -> Model {
    Model {
        nodes,
        successor_list_len: 2,
        start: Start::Founder,
        depth,
        departures: 1,
        losses: 1,
        converge_rounds: 12,
    }
}

#[test]
fn four_nodes_with_a_join_a_departure_and_a_loss() {
    let depth: u32 = std::env::var("RING_MODEL_DEPTH").ok().and_then(|d| d.parse().ok()).unwrap_or(6);
    check(churn(4, depth, 1));
}

#[test]
fn three_nodes_growing_from_the_founder() {
    let depth: u32 = std::env::var("RING_MODEL_DEPTH").ok().and_then(|d| d.parse().ok()).unwrap_or(6);
    check(growth(3, depth));
}
