import pytest

from chordsim.invariants import (check_replicas, check_ring, check_stable, expected_pointers,
                                 owners_agree, successor_cycles, wrong_pointer)
from chordsim.ring import Ring
from helpers import stable_sim


def test_stable_ring_passes_everything():
    sim, _, keys = stable_sim(20, keys=50)
    check_ring(sim)
    check_stable(sim)
    check_replicas(sim, keys)
    assert all(owners_agree(sim, k) for k in keys)


def test_two_rings_are_caught():
    sim, _, _ = stable_sim(10, succ_len=1)
    ids = sim.live
    sim.nodes[ids[4]].succs = [ids[0]]
    sim.nodes[ids[9]].succs = [ids[5]]
    with pytest.raises(AssertionError, match="cycles"):
        check_ring(sim)


def test_unordered_ring_is_caught():
    sim, _, _ = stable_sim(6, succ_len=1)
    a, b, c, d, e, f = sim.live
    for x, y in [(a, c), (c, b), (b, d)]:
        sim.nodes[x].succs = [y]
    with pytest.raises(AssertionError, match="ordered"):
        check_ring(sim)


def test_node_without_live_successor_is_caught():
    sim, _, _ = stable_sim(6, succ_len=1)
    sim.fail(sim.nodes[sim.live[0]].succs[0])
    with pytest.raises(AssertionError, match="no live successor"):
        check_ring(sim)


def test_wrong_predecessor_and_extra_replica_are_caught():
    sim, _, keys = stable_sim(8, keys=5)
    sim.nodes[sim.live[1]].pred = sim.live[5]
    with pytest.raises(AssertionError, match="predecessor"):
        check_stable(sim)
    for node in sim.nodes.values():
        node.store[keys[0]] = 0.0
    with pytest.raises(AssertionError, match="held by"):
        check_replicas(sim, keys)


def test_cycles_and_pointers_of_each_side_of_a_split():
    sim, _, _ = stable_sim(10, succ_len=1)
    ids = sim.live
    sim.nodes[ids[4]].succs = [ids[0]]
    sim.nodes[ids[9]].succs = [ids[5]]
    assert sorted(len(c) for c in successor_cycles(sim)) == [5, 5]
    a, b = (expected_pointers(Ring(side), 1) for side in (ids[:5], ids[5:]))
    assert "predecessor wrong" in wrong_pointer(sim, a)
    sim.nodes[ids[0]].pred, sim.nodes[ids[5]].pred = ids[4], ids[9]
    assert wrong_pointer(sim, a) is None and wrong_pointer(sim, b) is None
    assert wrong_pointer(sim, expected_pointers(Ring(ids), 1)) is not None


def test_first_successor_check_ignores_the_rest_of_the_list():
    sim, _, _ = stable_sim(10)
    want = expected_pointers(Ring(sim.live), sim.config.succ_len)
    sim.nodes[sim.live[2]].succs = sim.nodes[sim.live[2]].succs[:3]
    assert wrong_pointer(sim, want, lists=False) is None
    assert wrong_pointer(sim, want) is not None
