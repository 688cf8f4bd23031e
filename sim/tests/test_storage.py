import itertools

from chordsim.ids import hash_id
from chordsim.invariants import check_replicas, check_stable
from chordsim.ring import Ring
from chordsim.static import random_ring
from helpers import periods, stable_sim


def test_joins_move_keys_and_extra_copies_expire():
    sim, rng, keys = stable_sim(12, keys=150)
    for i in range(6):
        sim.join(f"joiner-{i}:7000", rng.choice(sim.live))
    periods(sim, 12)
    check_stable(sim)
    check_replicas(sim, keys)


def test_crashing_r_minus_one_neighbours_loses_nothing():
    sim, rng, keys = stable_sim(20, keys=200, replicas=3)
    for n in list(sim.live[3:5]):
        sim.fail(n)
    periods(sim, 6)
    check_replicas(sim, keys)


def test_graceful_leave_keeps_r_copies():
    sim, rng, keys = stable_sim(15, keys=150)
    for n in rng.sample(sim.live, 4):
        sim.leave(n)
        periods(sim, 1)
    periods(sim, 5)
    check_replicas(sim, keys)


def test_three_random_crashes_on_16_nodes_lose_keys_in_16_of_560_cases():
    import random
    ring = random_ring(random.Random(9), 16)
    keys = [hash_id(f"k{i}") for i in range(3000)]
    holders = {tuple(ring.replicas(k, 3)) for k in keys}
    fatal = sum(1 for c in itertools.combinations(ring.ids, 3)
                if any(set(h) <= set(c) for h in holders))
    assert fatal == 16
