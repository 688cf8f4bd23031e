import math
import random

import pytest

from chordsim.ids import SIZE
from chordsim.interval import in_half_open
from chordsim.location_cache import LocationCache
from chordsim.static import random_ring


def test_a_learned_range_holds_its_keys_and_only_those():
    c = LocationCache(8)
    c.learn(100, 200, "node-b:7000")
    assert c.lookup(101) == "node-b:7000"
    assert c.lookup(200) == "node-b:7000"
    assert c.lookup(100) is None  # the predecessor's own id is not in (pred, owner]
    assert c.lookup(201) is None
    assert c.lookup(50) is None


def test_the_owner_id_is_the_handle_by_default():
    c = LocationCache(8)
    c.learn(100, 200)
    assert c.lookup(150) == 200


def test_a_range_wrapping_past_zero():
    c = LocationCache(8)
    c.learn(SIZE - 100, 50)
    for key in (SIZE - 99, SIZE - 1, 0, 1, 50):
        assert c.lookup(key) == 50, key
    for key in (SIZE - 100, SIZE - 101, 51, SIZE // 2):
        assert c.lookup(key) is None, key


def test_a_wrapping_range_replaces_the_ranges_it_covers_on_both_sides_of_zero():
    c = LocationCache(8)
    c.learn(SIZE - 50, SIZE - 10)
    c.learn(5, 20)
    c.learn(1000, 2000)
    c.learn(SIZE - 100, 30)
    assert sorted(c.ranges()) == [(1000, 2000), (SIZE - 100, 30)]
    assert c.lookup(SIZE - 20) == 30 and c.lookup(10) == 30


def test_overlapping_ranges_are_replaced_by_the_newer_one():
    c = LocationCache(8)
    c.learn(10, 20)
    c.learn(20, 30)
    c.learn(40, 50)
    c.learn(15, 25)  # overlaps the first two, not the third
    assert sorted(c.ranges()) == [(15, 25), (40, 50)]
    assert c.lookup(12) is None and c.lookup(28) is None
    assert c.lookup(16) == 25


def test_a_range_inside_an_older_one_replaces_it():
    c = LocationCache(8)
    c.learn(0, 100)
    c.learn(40, 60)  # holds no end of (0, 100], but (0, 100] holds 60
    assert c.ranges() == [(40, 60)]
    assert c.lookup(20) is None


def test_ranges_that_only_touch_both_stay():
    c = LocationCache(8)
    c.learn(10, 20)
    c.learn(20, 30)
    assert sorted(c.ranges()) == [(10, 20), (20, 30)]


def test_an_owner_that_is_its_own_predecessor_holds_the_whole_ring():
    c = LocationCache(8)
    c.learn(10, 20)
    c.learn(7, 7)
    assert c.ranges() == [(7, 7)]
    assert c.lookup(7) == 7 and c.lookup(SIZE - 1) == 7 and c.lookup(8) == 7
    c.learn(100, 200)  # a second node joined: the whole-ring range is wrong now
    assert c.ranges() == [(100, 200)]


def test_least_recently_used_is_evicted_when_full():
    c = LocationCache(2)
    c.learn(0, 10, "a")
    c.learn(10, 20, "b")
    assert c.lookup(5) == "a"  # a is now more recent than b
    c.learn(20, 30, "c")
    assert len(c) == 2
    assert c.lookup(15) is None
    assert c.lookup(5) == "a" and c.lookup(25) == "c"


def test_relearning_a_range_makes_it_recent():
    c = LocationCache(2)
    c.learn(0, 10)
    c.learn(10, 20)
    c.learn(0, 10)
    c.learn(20, 30)
    assert sorted(c.ranges()) == [(0, 10), (20, 30)]


def test_a_miss_does_not_change_the_lru_order():
    c = LocationCache(2)
    c.learn(0, 10)
    c.learn(10, 20)
    assert c.lookup(500) is None
    c.learn(20, 30)
    assert sorted(c.ranges()) == [(10, 20), (20, 30)]


def test_capacity_zero_is_off():
    c = LocationCache(0)
    c.learn(0, 10)
    assert len(c) == 0
    assert c.lookup(5) is None


def test_negative_capacity_is_refused():
    with pytest.raises(ValueError):
        LocationCache(-1)


def test_forget_drops_only_that_owner():
    c = LocationCache(8)
    c.learn(0, 10)
    c.learn(10, 20)
    assert c.forget(10) is True
    assert c.forget(10) is False
    assert c.lookup(5) is None and c.lookup(15) == 20


def test_forget_by_handle():
    c = LocationCache(8)
    c.learn(0, 10, "node-a:7000")
    c.learn(10, 20, "node-b:7000")
    assert c.forget("node-a:7000") is True
    assert c.ranges() == [(10, 20)]


class Model:
    """A literal cache on a grid of ids: ranges as sets of grid points,
    LRU order as a list. Ranges with grid endpoints overlap exactly when
    they share a grid point (the overlap, if any, ends on a grid point)."""

    def __init__(self, capacity, grid):
        self.capacity, self.grid, self.held = capacity, grid, []

    def points(self, pred, owner):
        return {g for g in self.grid if in_half_open(g, pred, owner)}

    def learn(self, pred, owner):
        new = self.points(pred, owner)
        self.held = [r for r in self.held if not (self.points(*r) & new)] + [(pred, owner)]
        self.held = self.held[-self.capacity:]

    def lookup(self, key):
        for r in self.held:
            if in_half_open(key, *r):
                self.held.remove(r)
                self.held.append(r)
                return r[1]
        return None

    def forget(self, owner):
        self.held = [r for r in self.held if r[1] != owner]


def test_agrees_with_a_literal_model_on_random_operations():
    rng = random.Random(13)
    step = SIZE // 40
    grid = [i * step for i in range(40)] + [SIZE - 1]  # SIZE - 1 exercises the wrap
    for capacity in (1, 3, 8):
        cache, model = LocationCache(capacity), Model(capacity, grid)
        for _ in range(1500):
            op = rng.random()
            if op < 0.45:
                pred, owner = rng.choice(grid), rng.choice(grid)
                cache.learn(pred, owner)
                model.learn(pred, owner)
            elif op < 0.95:
                key = (rng.choice(grid) + rng.choice((0, 1, step // 2))) % SIZE
                assert cache.lookup(key) == model.lookup(key)
            else:
                owner = rng.choice(grid)
                cache.forget(owner)
                model.forget(owner)
            assert cache.ranges() == model.held


def test_hits_and_misses_are_counted():
    c = LocationCache(8)
    c.learn(0, 10)
    c.lookup(5)
    c.lookup(15)
    c.lookup(20)
    assert (c.hits, c.misses) == (1, 2)


def che_hit_rate(shares, capacity):
    """Che's approximation of an LRU cache's hit rate when item i is asked
    for with probability shares[i], independently: item i is held with
    probability 1 - exp(-shares[i] * T), T chosen so the cache is full."""
    def held(t):
        return sum(1 - math.exp(-p * t) for p in shares)
    lo, hi = 0.0, 1.0
    while held(hi) < capacity:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if held(mid) < capacity else (lo, mid)
    return sum(p * (1 - math.exp(-p * lo)) for p in shares)


def test_lru_hit_rate_on_a_ring_matches_ches_approximation():
    # An entry node learning the owner's range after every miss, keys
    # uniform: ranges are asked for in proportion to their size, so LRU
    # keeps the big ones and serves more than capacity / N of the lookups.
    ring = random_ring(random.Random(21), 64)
    entry = ring.ids[0]
    rng = random.Random(22)
    cache, hits, count = LocationCache(16), 0, 20_000
    for i in range(2000 + count):
        key = rng.getrandbits(160)
        owner = ring.successor(key)
        if owner == entry:
            continue  # the entry's own keys never reach the cache
        if cache.lookup(key) == owner:
            hits += i >= 2000
        else:
            cache.learn(ring.predecessor(owner), owner)
    shares = [((n - ring.predecessor(n)) % SIZE) / SIZE for n in ring.ids if n != entry]
    expected = che_hit_rate(shares, 16)
    assert expected > 16 / 63 + 0.1  # the skew is there to be seen
    assert abs(hits / count - expected) < 0.03
