"""Ring merging by passive-list probes (Rust: node/src/ring/state.rs)."""
import random

from chordsim import merging
from chordsim.ids import hash_id
from chordsim.invariants import check_stable, expected_pointers, successor_cycles, wrong_pointer
from chordsim.ring import Ring
from chordsim.sim import Config, Sim
from chordsim.static import random_addresses
from helpers import periods, stable_sim

RUST = {"chase": False, "isolation": True}
"""The Rust node's maintenance rules, as the merge experiment runs them."""


def two_rings(seed=1, probe_every=4, nonce_b=1, size=8):
    """Two stable rings of `size` nodes in one network that know nothing of
    each other; returns (sim, ids of A, ids of B)."""
    rng = random.Random(seed)
    sim = Sim(rng, "reliable", Config(probe_every=probe_every, **RUST))
    addrs = random_addresses(rng, 2 * size)
    sim.bootstrap(addrs[:size], nonce=1)
    sim.bootstrap(addrs[size:], nonce=nonce_b)
    return sim, sorted(hash_id(a) for a in addrs[:size]), sorted(hash_id(a) for a in addrs[size:])


def separate(sim, *sides) -> bool:
    """Every side is still a correct ring of its own."""
    return all(wrong_pointer(sim, expected_pointers(Ring(s), sim.config.succ_len)) is None
               for s in sides)


def test_one_passive_peer_is_enough_to_merge_two_rings():
    sim, a, b = two_rings()
    periods(sim, 10)
    assert separate(sim, a, b) and len(successor_cycles(sim)) == 2
    sim.nodes[a[0]].passive.saw(b[3], sim.nodes[a[0]].ticks)
    periods(sim, 40)
    check_stable(sim)


def test_without_probes_the_rings_stay_apart():
    sim, a, b = two_rings(probe_every=0)
    sim.nodes[a[0]].passive.saw(b[3], 0)
    periods(sim, 50)
    assert separate(sim, a, b) and len(successor_cycles(sim)) == 2


def test_rings_with_different_nonces_are_not_merged():
    sim, a, b = two_rings(nonce_b=2)
    for n in a:
        for m in b:
            sim.nodes[n].passive.saw(m, 0)
    periods(sim, 50)
    assert separate(sim, a, b)
    assert {sim.nodes[n].ring for n in b} == {2}


def test_a_node_that_restarts_as_a_new_ring_is_not_merged_by_probes():
    # Rust: a_node_that_restarts_as_a_new_ring_is_not_merged_by_probes.
    rng = random.Random(21)
    sim = Sim(rng, "reliable", Config(probe_every=4, **RUST))
    addrs = random_addresses(rng, 6)
    sim.bootstrap(addrs, nonce=1)
    periods(sim, 20)
    x = hash_id(addrs[3])
    assert any(e.peer == x for n in sim.live if n != x for e in sim.nodes[n].passive.entries)
    sim.fail(x)
    periods(sim, 10)
    check_stable(sim)
    others = list(sim.live)
    sim.bootstrap([addrs[3]], nonce=2)   # founds a ring of its own
    periods(sim, 60)
    assert separate(sim, others, [x])
    assert sim.nodes[x].succs == []
    # The same restart with the old ring's nonce is merged (a partition of
    # one node healing): the probes are what brings it back.
    sim.fail(x)
    sim.bootstrap([addrs[3]], nonce=1)
    periods(sim, 60)
    check_stable(sim)


def test_consider_pair_quiets_a_member_and_hints_both_sides():
    sim, _, _ = stable_sim(8, probe_every=4)
    me, x, y = sim.live[:3]
    node = sim.nodes[me]
    node.passive.saw(x, 0)
    merging.consider_pair(node, x, x)
    assert node.passive.entries[0].quiet_until == node.ticks + sim.config.quiet_after
    merging.consider_pair(node, y, me)
    assert node.considering == [(y, merging.CONSIDER_TTL)]
    merging.consider_pair(node, x, y)
    sim.run(sim.sched.now + 0.01)
    assert (y, merging.CONSIDER_TTL) in sim.nodes[x].considering
    assert (x, merging.CONSIDER_TTL) in sim.nodes[y].considering


def test_a_hint_just_before_us_goes_to_the_predecessor_until_ttl_runs_out():
    sim, _, _ = stable_sim(8, probe_every=1000)
    pred, me = sim.live[3], sim.live[4]
    hint = pred + 1   # lies in (pred, me)
    node = sim.nodes[me]
    node.considering = [(hint, 2)]
    merging.tick(node)
    sim.run(sim.sched.now + 0.01)
    assert sim.nodes[pred].considering == [(hint, 1)]
    node.considering = [(hint, 0)]
    sim.nodes[pred].considering = []
    merging.tick(node)
    sim.run(sim.sched.now + 0.01)
    assert sim.nodes[pred].considering == []


def test_the_hint_queue_is_bounded_and_deduplicated():
    sim, _, _ = stable_sim(4, probe_every=4)
    node = sim.nodes[sim.live[0]]
    for i in range(40):
        merging.queue(node, 1000 + i % 20, 4)
    assert len(node.considering) == merging.CONSIDER_QUEUE
    assert len({p for p, _ in node.considering}) == merging.CONSIDER_QUEUE


def test_a_probed_node_between_us_and_our_successor_is_adopted_at_once():
    sim, _, _ = stable_sim(10, probe_every=1)
    node = sim.nodes[sim.live[2]]
    s = node.succs[0]
    node.set_succs(node.succs[1:])   # lost s (as after a partition) ...
    node.fingers = {i: f for i, f in node.fingers.items() if f != s}
    node.passive.saw(s, 0)           # ... but remembers it
    merging.tick(node)
    sim.run(sim.sched.now + 0.01)    # one probe and its answer, no stabilize
    assert node.succs[0] == s
