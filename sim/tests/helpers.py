"""Small scenarios shared by the protocol tests."""
import random

from chordsim.ids import hash_id
from chordsim.sim import Config, Sim
from chordsim.static import random_addresses


def stable_sim(nodes=20, seed=1, keys=0, network="reliable", **config):
    """A bootstrapped stable ring; returns (sim, rng, key ids)."""
    rng = random.Random(seed)
    sim = Sim(rng, network, Config(**config))
    key_ids = [hash_id(f"key-{i}") for i in range(keys)]
    sim.bootstrap(random_addresses(rng, nodes), key_ids)
    return sim, rng, key_ids


def periods(sim, count):
    """Run `count` stabilization periods from now."""
    sim.run(sim.sched.now + count * sim.config.period)
