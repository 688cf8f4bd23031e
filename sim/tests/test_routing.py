"""The fast next_hop against a literal reading of the routing rules."""
import random

from chordsim.ids import SIZE
from chordsim.interval import in_half_open, in_open
from chordsim.location_cache import LocationCache
from chordsim.routing import Table, next_hop, route
from chordsim.static import build_tables, random_ring


def literal_next_hop(n, pred, succs, fingers, k, shortcut=True):
    if pred is not None and in_half_open(k, pred, n):
        return None, True
    if not succs and pred is None:
        return None, True
    if succs and in_half_open(k, n, succs[0]):
        return succs[0], True
    if shortcut:
        for i in range(len(succs) - 1):
            if in_half_open(k, succs[i], succs[i + 1]):
                return succs[i + 1], True
    best = None
    for c in list(fingers) + list(succs):
        if c != n and in_open(c, n, k):
            if best is None or (c - n) % SIZE > (best - n) % SIZE:
                best = c
    if best is not None:
        return best, False
    return (succs[0], False) if succs else (pred, False)


def test_next_hop_matches_literal_rules_on_messy_tables():
    rng = random.Random(11)
    for _ in range(3000):
        nodes = [rng.getrandbits(160) if rng.random() < 0.8 else rng.randrange(40) for _ in range(12)]
        n, pred = nodes[0], (nodes[1] if rng.random() < 0.7 else None)
        succs, fingers = nodes[2:2 + rng.randrange(0, 6)], nodes[6:]
        k = rng.choice([rng.getrandbits(160), rng.choice(nodes), n, 0, SIZE - 1])
        t = Table(n, pred, succs, fingers)
        for shortcut in (True, False):
            assert next_hop(t, k, shortcut) == literal_next_hop(n, pred, succs, fingers, k, shortcut)


def test_routes_end_at_the_owner():
    rng = random.Random(5)
    ring = random_ring(rng, 200)
    tables = build_tables(ring, 4)
    for _ in range(500):
        entry, key = rng.choice(ring.ids), rng.getrandbits(160)
        for shortcut in (True, False):
            path = route(tables, entry, key, shortcut)
            assert (path[-1] if path else entry) == ring.successor(key)


def test_owner_answers_with_zero_hops():
    ring = random_ring(random.Random(1), 10)
    tables = build_tables(ring)
    n = ring.ids[3]
    assert route(tables, n, n) == []


def cached_ring(n=64, seed=5):
    ring = random_ring(random.Random(seed), n)
    return ring, build_tables(ring)


def test_capacity_zero_routes_exactly_as_without_a_cache():
    ring, tables = cached_ring()
    rng = random.Random(8)
    caches = {n: LocationCache(0) for n in ring.ids}
    for _ in range(2000):
        e, k = rng.choice(ring.ids), rng.getrandbits(160)
        assert route(tables, e, k, cache=caches[e]) == route(tables, e, k)


def test_a_cached_owner_is_reached_in_one_hop_and_an_unknown_one_is_learned():
    ring, tables = cached_ring()
    entry = ring.ids[0]
    key = (ring.ids[40] + ring.ids[41]) // 2  # owned by ids[41], far from the entry
    cache = LocationCache(8)
    assert len(route(tables, entry, key, cache=cache)) > 1
    assert cache.ranges() == [(ring.ids[40], ring.ids[41])]
    assert route(tables, entry, key, cache=cache) == [ring.ids[41]]


def test_the_entry_owning_the_key_takes_no_hop_and_does_not_consult_the_cache():
    ring, tables = cached_ring()
    entry = ring.ids[10]
    cache = LocationCache(8)
    cache.learn(ring.ids[9] - 1, ring.ids[30])  # a wrong range that covers the entry's own
    assert route(tables, entry, entry, cache=cache) == []
    assert cache.hits == 0 and cache.misses == 0


def test_a_wrong_guess_costs_one_hop_plus_the_receivers_route_and_is_corrected():
    ring, tables = cached_ring()
    entry, wrong, owner = ring.ids[0], ring.ids[20], ring.ids[45]
    key = owner - 1
    cache = LocationCache(8)
    cache.learn(ring.ids[19], key + 10, wrong)  # stale: claims the key for `wrong`
    path = route(tables, entry, key, cache=cache)
    assert path == [wrong] + route(tables, wrong, key)
    assert len(path) > 1 and path[-1] == owner
    assert cache.lookup(key) == owner
    assert cache.ranges() == [(ring.ids[44], owner)]
