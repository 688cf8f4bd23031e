import pytest

from chordsim.invariants import check_replicas, check_ring, check_stable, owners_agree
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
