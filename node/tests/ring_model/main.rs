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

/// A converged ring of `nodes - 1` with the last node joining, one crash or
/// leave and `losses` lost legs, each anywhere in the interleavings.
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

/// Every node but the founder joins, concurrently, with one departure and
/// one lost leg.
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

// Each run must cover at least most of the state space it covered when the
// counts in `ring/mod.rs` were measured (118 718 and 43 345): a search that
// silently explores little (a model bug, a fingerprint that merges distinct
// states) fails here, while an honest change to the state machine that moves
// the count a little does not. The exact count is printed. (The one-request
// stabilize and the skipped predecessor pings put fewer legs in flight per
// round, which shrank the runs at depths 7 and 16 to 43 201 and 15 832
// states; one and two more actions of depth bring the coverage back above
// what it was.)

#[test]
fn four_nodes_join_depart_and_lose_a_message_depth_8() {
    let stats = check(churn(4, 8, 1));
    assert!(
        stats.states >= 90_000,
        "explored only {} states",
        stats.states
    );
}

#[test]
fn three_nodes_grow_from_the_founder_depth_18() {
    let stats = check(growth(3, 18));
    assert!(
        stats.states >= 35_000,
        "explored only {} states",
        stats.states
    );
}

#[test]
#[ignore = "larger run, minutes: see \"Model check\" in ring/mod.rs"]
fn four_nodes_join_depart_and_lose_two_messages_depth_9() {
    check(churn(4, 9, 2));
}

#[test]
#[ignore = "larger run, minutes: see \"Model check\" in ring/mod.rs"]
fn five_nodes_join_depart_and_lose_a_message_depth_8() {
    check(churn(5, 8, 1));
}

#[test]
#[ignore = "larger run, minutes: see \"Model check\" in ring/mod.rs"]
fn four_nodes_grow_from_the_founder_depth_19() {
    check(growth(4, 19));
}

// The checker itself: each property rejects a world that breaks it, so the
// runs above cannot pass by checking nothing.

/// A world of 4 joined nodes with the given successor lists (node numbers)
/// and the predecessors they imply.
fn world_of(lists: [&[usize]; 4]) -> world::World {
    let opts = growth(4, 0).ring_options();
    let budget = world::Budget {
        departures: 0,
        losses: 0,
    };
    let mut w = world::World::new(4, opts.clone(), budget);
    for (i, list) in lists.iter().enumerate() {
        let succ = list.iter().map(|j| world::peer(*j)).collect();
        // Whoever names `i` first is its predecessor.
        let pred = (0..4)
            .find(|j| lists[*j].first() == Some(&i))
            .map(world::peer);
        let state =
            chord_node::ring::RingState::with_view(world::peer(i), pred, succ, opts.clone());
        w.slots[i] = world::Slot::Up {
            state: Box::new(state),
            leaving: false,
            seed: None,
        };
    }
    w
}

fn violated(w: &world::World) -> &'static str {
    checks::safety(w).map_or_else(|v| v.property, |()| "nothing")
}

#[test]
fn the_checker_accepts_the_correct_ring() {
    // Ring order by id: n03 < n02 < n01 < n00.
    let w = world_of([&[3, 2], &[0, 3], &[1, 0], &[2, 1]]);
    assert_eq!(violated(&w), "nothing");
    assert_eq!(checks::correct(&w), Ok(()));
}

#[test]
fn the_checker_flags_two_rings() {
    let w = world_of([&[3], &[2], &[1], &[0]]);
    assert_eq!(violated(&w), "AtMostOneRing");
}

#[test]
fn the_checker_flags_a_ring_out_of_order() {
    // n03 -> n01 -> n02 -> n00 -> n03: n02 lies between n03 and n01.
    let w = world_of([&[3], &[2], &[0], &[1]]);
    assert_eq!(violated(&w), "OrderedRing");
}

#[test]
fn the_checker_flags_a_dead_end() {
    let mut w = world_of([&[3, 2], &[0, 3], &[1, 0], &[2, 1]]);
    w.slots[1] = world::Slot::Crashed;
    w.slots[0] = world::Slot::Crashed;
    assert_eq!(violated(&w), "AtLeastOneRing");
}
