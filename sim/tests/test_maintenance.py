import random

from chordsim.invariants import check_ring, check_stable, expected_pointers, wrong_pointer
from chordsim.maintenance import trimmed
from chordsim.ring import Ring
from chordsim.sim import Config, Sim
from chordsim.static import random_addresses
from helpers import periods, stable_sim


def test_trimmed_stops_at_self_and_dedupes():
    sim, _, _ = stable_sim(3, succ_len=2)
    node = sim.nodes[sim.live[0]]
    assert trimmed(node, [5, 5, 6, node.id, 7]) == [5, 6]
    assert trimmed(node, [5, 6, 7]) == [5, 6]


def grow_by_joins(config, settle_periods):
    """25 nodes joining one by one through random members (the ring stays
    correct after each join), then `settle_periods` more rounds: stable."""
    rng = random.Random(7)
    sim = Sim(rng, "reliable", config)
    addrs = random_addresses(rng, 25)
    sim.bootstrap(addrs[:1])
    for addr in addrs[1:]:
        sim.join(addr, rng.choice(sim.live))
        sim.run(sim.sched.now + 5, lambda: check_ring(sim))
    sim.run(sim.sched.now + settle_periods * sim.config.period, lambda: check_ring(sim))
    check_stable(sim)


def test_ring_grows_from_one_node_by_joins():
    grow_by_joins(Config(succ_len=3), 20)


def test_two_node_ring_forms():
    rng = random.Random(2)
    sim = Sim(rng)
    a, b = random_addresses(rng, 2)
    sim.bootstrap([a])
    sim.join(b, sim.live[0])
    periods(sim, 4)
    check_stable(sim)


def test_crash_of_l_minus_one_neighbours_heals():
    sim, _, _ = stable_sim(30, succ_len=4)
    for n in list(sim.live[5:8]):
        sim.fail(n)
    sim.run(sim.sched.now + 8 * sim.config.period, lambda: check_ring(sim))
    check_stable(sim)


def test_graceful_leave_updates_neighbours_at_once():
    sim, _, _ = stable_sim(12)
    gone = sim.live[4]
    pred, succ = sim.live[3], sim.live[5]
    sim.leave(gone)
    sim.run(sim.sched.now + 0.01)
    assert sim.nodes[succ].pred == pred
    assert sim.nodes[pred].succs[0] == succ
    assert gone not in sim.nodes[pred].succs
    periods(sim, 12)
    check_stable(sim)


def test_rectify_only_accepts_a_closer_predecessor():
    sim, _, _ = stable_sim(8)
    node = sim.nodes[sim.live[3]]
    far = sim.live[1]
    node.sim.send(far, node.id, "notify", None, 0)
    sim.run(sim.sched.now + 0.01)
    assert node.pred == sim.live[2]


def test_one_candidate_per_round_still_builds_the_ring():
    # chase off: the Rust node's stabilize, one closer candidate per round.
    grow_by_joins(Config(succ_len=3, chase=False), 30)


def side_ok(sim, side):
    return wrong_pointer(sim, expected_pointers(Ring(side), sim.config.succ_len)) is None


def test_isolation_rules_let_a_cut_off_node_find_its_side():
    for isolation in (True, False):
        sim, _, _ = stable_sim(20, succ_len=4, isolation=isolation)
        cut = sim.live[5:9]   # the whole successor list of sim.live[4]
        rest = [n for n in sim.live if n not in cut]
        sim.partition([rest, cut])
        periods(sim, 15)
        assert side_ok(sim, rest) == side_ok(sim, cut) == isolation
        assert (sim.nodes[sim.live[4]].succs == []) != isolation


def test_an_isolated_node_rejoins_through_the_successors_it_remembered():
    for isolation in (True, False):
        sim, _, _ = stable_sim(12, isolation=isolation)
        x = sim.live[5]
        sim.partition([[x], [n for n in sim.live if n != x]])
        periods(sim, 10)
        assert sim.nodes[x].succs == [] and sim.nodes[x].pred is None
        sim.heal()
        periods(sim, 10)
        assert side_ok(sim, sim.live) == isolation
