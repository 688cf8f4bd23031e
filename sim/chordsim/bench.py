"""Speed check: N nodes and L lookups, static and event-driven."""
import random
import time

from .routing import route
from .sim import Sim
from .static import build_tables, random_addresses, random_ring


def static(seed: int, nodes: int, lookups: int) -> dict:
    """Build tables from the sorted ring and route `lookups` lookups."""
    rng = random.Random(seed)
    began = time.perf_counter()
    ring = random_ring(rng, nodes)
    tables = build_tables(ring)
    hops = sum(len(route(tables, rng.choice(ring.ids), rng.getrandbits(160))) for _ in range(lookups))
    return {"mode": "static", "nodes": nodes, "lookups": lookups,
            "mean_hops": hops / lookups, "seconds": time.perf_counter() - began}


def event_driven(seed: int, nodes: int, lookups: int) -> dict:
    """Run the message-level protocol on a stable ring while `lookups`
    lookups (1000 per simulated second) go through it."""
    rng = random.Random(seed)
    began = time.perf_counter()
    sim = Sim(rng)
    sim.bootstrap(random_addresses(rng, nodes))
    results = []

    def launch():
        key = rng.getrandbits(160)
        sim.lookup(rng.choice(sim.live), key,
                   lambda owner, hops, _k: results.append((owner == sim.owner(key), hops)))

    for i in range(lookups):
        sim.sched.at(i / 1000, launch)
    events = sim.run(lookups / 1000 + 10)
    return {"mode": "event-driven", "nodes": nodes, "lookups": lookups, "events": events,
            "correct": sum(ok for ok, _ in results) / len(results),
            "mean_hops": sum(h for _, h in results) / len(results),
            "seconds": time.perf_counter() - began}
