from chordsim.ids import hash_id
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
