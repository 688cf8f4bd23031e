import random

from chordsim.invariants import check_ring
from chordsim.sim import Config, Sim
from chordsim.static import random_addresses
from helpers import periods, stable_sim


def scenario(seed, network="reliable"):
    rng = random.Random(seed)
    sim = Sim(rng, network, Config(succ_len=4))
    addrs = random_addresses(rng, 30)
    sim.bootstrap(addrs[:20])
    for a in addrs[20:]:
        sim.join(a, rng.choice(sim.live))
    for n in rng.sample(sim.live, 3):
        sim.fail(n)
    periods(sim, 5)
    return sim.messages, {n: (node.pred, tuple(node.succs)) for n, node in sim.nodes.items()}


def test_same_seed_same_run():
    assert scenario(3, "latency") == scenario(3, "latency")
    assert scenario(3) != scenario(4)


def test_owner_is_first_live_node_clockwise():
    sim, _, _ = stable_sim(5)
    a, b = sim.live[:2]
    assert sim.owner(b) == b and sim.owner(a + 1) == b
    sim.fail(b)
    assert sim.owner(a + 1) == sim.live[1]


def test_ring_survives_a_lossy_network():
    sim, rng, _ = stable_sim(30, network="lossy", succ_len=4)
    for i in range(5):
        sim.join(f"lossy-{i}:7000", rng.choice(sim.live))
    periods(sim, 15)
    check_ring(sim)


def test_latency_network_lookups_succeed():
    sim, rng, _ = stable_sim(40, network="latency")
    out = []
    for _ in range(50):
        key = rng.getrandbits(160)
        sim.lookup(rng.choice(sim.live), key, lambda o, h, k, key=key: out.append(o == sim.owner(key)))
    periods(sim, 1)
    assert len(out) == 50 and all(out)


def test_a_partition_drops_messages_between_groups_until_healed():
    sim, _, _ = stable_sim(6)
    a, b, c = sim.live[:3]
    sim.partition([[a, b], [c]])
    got = []

    def ping(dst):
        sim.nodes[a].call(dst, "ping", None, lambda _: got.append(dst), lambda: got.append(-dst))
        sim.run(sim.sched.now + 0.1)

    ping(b)
    ping(c)
    sim.heal()
    ping(c)
    assert got == [b, -c, c]
