"""The fast next_hop against a literal reading of the routing rules."""
import random

from chordsim.ids import SIZE
from chordsim.interval import in_half_open, in_open
from chordsim.location_cache import LocationCache
from chordsim.ring import Ring
from chordsim.routing import Table, hinted_hop, next_hop, route
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


def test_a_guess_a_new_node_took_the_key_from_costs_one_hop_back():
    # The entry learned (ids[44], ids[46]] before ids[45] joined and took
    # (ids[44], ids[45]]. The guess ids[46] sees the key behind it and, by
    # the owner hint, passes it back to its predecessor, the new owner.
    ring, tables = cached_ring()
    entry, joined, guess = ring.ids[0], ring.ids[45], ring.ids[46]
    key = joined - 1
    cache = LocationCache(8)
    cache.learn(ring.ids[44], guess)
    assert route(tables, entry, key, cache=cache) == [guess, joined]
    assert cache.ranges() == [(ring.ids[44], joined)]


def test_several_joins_behind_the_guess_are_walked_back_one_by_one():
    ring, tables = cached_ring()
    cache = LocationCache(8)
    cache.learn(ring.ids[40], ring.ids[44])
    key = ring.ids[41] - 1
    path = route(tables, ring.ids[0], key, cache=cache)
    assert path == [ring.ids[44], ring.ids[43], ring.ids[42], ring.ids[41]]


def test_a_hinted_key_ahead_of_the_guess_is_routed_on_as_usual():
    # Within the guess's successor list: the usual rules (here the shortcut).
    ring, tables = cached_ring()
    entry, guess = ring.ids[0], ring.ids[20]
    key = ring.ids[23] - 1
    cache = LocationCache(8)
    cache.learn(ring.ids[19], key + 1, guess)  # a stale range that says guess
    assert route(tables, entry, key, cache=cache) == [guess, ring.ids[23]]


def test_hinted_hop_with_no_predecessor_takes_the_key():
    t = Table(100, None, [200, 300], [])
    assert hinted_hop(t, 50) == (None, False)
    assert hinted_hop(t, 250) == (300, False)
    assert hinted_hop(Table(100, 90, [200, 300], []), 50) == (90, True)
    assert hinted_hop(Table(100, 90, [200, 300], []), 95) == (None, False)


def test_a_guess_that_left_the_ring_is_dropped_and_costs_no_hop():
    ring, _ = cached_ring()
    entry, gone = ring.ids[0], ring.ids[30]
    key = gone - 1
    cache = LocationCache(8)
    cache.learn(ring.ids[29], gone)
    after = build_tables(Ring([n for n in ring.ids if n != gone]))
    path = route(after, entry, key, cache=cache)
    assert path == route(after, entry, key)
    assert cache.ranges() == [(ring.ids[29], ring.ids[31])]  # learned from the new owner
