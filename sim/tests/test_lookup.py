import copy

from chordsim.ids import hash_id
from chordsim.lookup import start_lookup
from chordsim.ring import Ring
from chordsim.routing import route
from chordsim.static import build_tables
from helpers import periods, stable_sim


def collect(sim, origin, key):
    out = []
    sim.lookup(origin, key, lambda owner, hops, has: out.append((owner, hops, has)))
    sim.run(sim.sched.now + sim.config.lookup_timeout + 1)
    return out[0]


def test_event_driven_hops_match_static_routing():
    sim, rng, _ = stable_sim(64)
    tables = build_tables(Ring(sim.live))
    for _ in range(60):
        origin, key = rng.choice(sim.live), rng.getrandbits(160)
        owner, hops, _ = collect(sim, origin, key)
        assert owner == sim.owner(key)
        assert hops == len(route(tables, origin, key))


def test_owner_reports_whether_it_holds_the_key():
    sim, rng, keys = stable_sim(16, keys=20)
    assert collect(sim, sim.live[0], keys[3])[2] is True
    assert collect(sim, sim.live[0], hash_id("never-stored"))[2] is False


def test_dead_hop_is_routed_around_when_rerouting():
    sim, rng, _ = stable_sim(40, reroute=True)
    origin = sim.live[0]
    hop = sim.nodes[origin].table().cands[-1]
    key = (hop + 1) % (1 << 160)
    sim.fail(hop)
    owner, _, _ = collect(sim, origin, key)
    assert owner == sim.owner(key)
    assert hop not in sim.nodes[origin].table().cands


def test_dead_hop_loses_the_attempt_without_rerouting():
    sim, rng, _ = stable_sim(40, reroute=False)
    origin = sim.live[0]
    hop = sim.nodes[origin].table().cands[-1]
    sim.fail(hop)
    key = (hop + 1) % (1 << 160)
    assert collect(sim, origin, key)[0] is None
    assert collect(sim, origin, key)[0] == sim.owner(key)


def test_fix_fingers_rebuilds_the_finger_table():
    sim, _, _ = stable_sim(50)
    ring = Ring(sim.live)
    node = sim.nodes[sim.live[7]]
    node.fingers = {}
    node._table = None
    periods(sim, 12)
    assert set(node.fingers.values()) | set(node.succs[:1]) == set(ring.distinct_fingers(node.id))


def test_an_isolated_node_drains_its_fingers_only_with_the_isolation_rules():
    for isolation in (True, False):
        sim, _, _ = stable_sim(30, isolation=isolation)
        x = sim.live[7]
        assert sim.nodes[x].fingers
        sim.partition([[x], [n for n in sim.live if n != x]])
        periods(sim, 60)
        assert (sim.nodes[x].fingers == {}) == isolation


def test_event_driven_cached_hops_match_static_cached_routing():
    sim, rng, _ = stable_sim(48, location_cache=4096)
    tables = build_tables(Ring(sim.live))
    origins = sim.live[:4]  # few origins, so their caches warm up within the test
    for o in origins:  # stale ranges too, as if the nodes inside had joined since
        for i in range(6, 46, 8):
            sim.nodes[o].cache.learn(sim.live[i - 3], sim.live[i])
    for _ in range(200):
        origin, key = rng.choice(origins), rng.getrandbits(160)
        # The static route on a copy of the node's cache as it stands now
        # (fix_fingers answers may have taught the node ranges meanwhile).
        expected = route(tables, origin, key, cache=copy.deepcopy(sim.nodes[origin].cache))
        owner, hops, _ = collect(sim, origin, key)
        assert owner == sim.owner(key)
        assert hops == len(expected)
    assert sum(sim.nodes[o].cache.hits for o in origins) > 100


def test_warm_cache_brings_event_driven_lookups_to_about_one_hop():
    sim, rng, _ = stable_sim(32, location_cache=4096)
    results = []

    def batch(count, out):
        for i in range(count):
            key = rng.getrandbits(160)
            sim.sched.after(i / 1000, lambda key=key: sim.lookup(
                rng.choice(sim.live), key, lambda owner, hops, _h: out.append((owner == sim.owner(key), hops))))
        sim.run(sim.sched.now + count / 1000 + sim.config.lookup_timeout + 1)

    batch(3000, [])
    batch(2000, results)
    assert all(ok for ok, _ in results) and len(results) == 2000
    assert sum(h for _, h in results) / len(results) <= 1.1


def test_a_stale_cached_owner_passes_the_key_back_and_the_answer_corrects_the_cache():
    # As if ids[30] had joined after the origin learned (ids[29], ids[31]].
    sim, _rng, _ = stable_sim(40, location_cache=16)
    ids = sim.live
    origin, owner, stale = ids[0], ids[30], ids[31]
    key = owner - 1
    sim.nodes[origin].cache.learn(ids[29], stale)
    assert collect(sim, origin, key)[:2] == (owner, 2)  # to ids[31], back to ids[30]
    assert sim.nodes[origin].cache.lookup(key) == owner
    assert collect(sim, origin, key)[:2] == (owner, 1)


def test_a_dead_cached_owner_is_dropped_and_the_lookup_routed_around_it():
    sim, _rng, _ = stable_sim(40, location_cache=16)
    ids = list(sim.live)  # sim.live loses the dead node below
    origin, dead = ids[0], ids[25]
    key = dead - 1
    sim.nodes[origin].cache.learn(ids[24], dead)
    sim.fail(dead)
    got, _, _ = collect(sim, origin, key)
    assert got == sim.owner(key) == ids[26]
    # The new owner has not checked its predecessor yet, so it still names
    # the dead node as such: the range learned is its old one. (Other
    # ranges may come from the origin's fix_fingers answers meanwhile.)
    ranges = sim.nodes[origin].cache.ranges()
    assert (dead, ids[26]) in ranges
    assert dead not in [end for _, end in ranges]


def test_internal_lookups_feed_the_cache_but_do_not_use_it():
    sim, _rng, _ = stable_sim(40, location_cache=16)
    node = sim.nodes[sim.live[0]]
    node.cache.learn(sim.live[9], sim.live[10], sim.live[20])  # a wrong owner
    out = []
    start_lookup(node, sim.live[10], lambda owner, _h, _k: out.append(owner))
    sim.run(sim.sched.now + sim.config.lookup_timeout + 1)
    assert out == [sim.live[10]] and node.cache.hits == 0
    assert node.cache.lookup(sim.live[10]) == sim.live[10]  # the answer was learned


def test_a_hinted_lookup_at_a_node_without_predecessor_is_answered_there():
    # The hint rule: nobody knows better than the sender, the node takes it
    # (plain routing would have sent the key on around the ring).
    sim, _rng, _ = stable_sim(40, location_cache=16)
    ids = sim.live
    origin, guess = ids[0], ids[20]
    key = ids[15] - 1
    sim.nodes[guess].set_pred(None)
    sim.nodes[origin].cache.learn(ids[14], guess)  # stale: says guess holds it
    out = []
    sim.lookup(origin, key, lambda owner, hops, _h: out.append((owner, hops)))
    sim.run(sim.sched.now + 1)
    assert out == [(guess, 1)]
