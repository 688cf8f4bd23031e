"""Path length with the location cache (issue #13), static ring.

The node's goal: once warm, a lookup takes about one hop. Checked at
N = 32 with the default capacity (4096) after 3000 warm-up lookups from
random entry nodes: mean ≤ 1.1 hops. Capacity 0 must change nothing.
"""
import random

from chordsim.experiments import pathlen_cache

SIZES = [8, 16, 32, 64]
ROWS = pathlen_cache.run(random.Random(1), SIZES, 2000, warmup=3000)


def row(series, n, rows=ROWS):
    return next(r for r in rows if r["series"] == series and r["nodes"] == n)


def test_warm_cache_brings_mean_hops_to_at_most_1_1_at_32_nodes():
    assert row("warm", 32)["capacity"] == 4096
    assert row("warm", 32)["mean"] <= 1.1


def test_warm_is_never_longer_than_cold_and_much_shorter_from_32_nodes():
    for n in SIZES:
        assert row("warm", n)["mean"] <= row("cold", n)["mean"]
    for n in (32, 64):
        assert row("warm", n)["mean"] < row("cold", n)["mean"] - 0.5


def test_hot_caches_send_almost_every_lookup_straight_to_its_owner():
    for n in SIZES:
        # 1/N of the keys are the entry's own and never consult the cache.
        assert row("hot", n)["hit_rate"] >= 0.9 * (1 - 1 / n)


def test_capacity_zero_gives_exactly_the_cold_hop_counts():
    rows = pathlen_cache.run(random.Random(2), [32, 64], 1000, warmup=500, capacity=0)
    for n in (32, 64):
        warm, cold = row("warm", n, rows), row("cold", n, rows)
        # Same measured (entry, key) pairs: any hop that differs shows in the sum.
        assert (warm["mean"], warm["p99"], warm["max"]) == (cold["mean"], cold["p99"], cold["max"])
        assert warm["hit_rate"] == 0.0 and row("hot", n, rows)["hit_rate"] == 0.0


def test_a_cache_smaller_than_the_ring_serves_only_part_of_the_lookups():
    rows = pathlen_cache.run(random.Random(3), [64], 4000, warmup=100, capacity=16)
    small = row("hot", 64, rows)
    # More than 16 of the 63 other ranges' share (LRU keeps the big ranges,
    # test_location_cache checks how many), far less than a full cache.
    assert 16 / 63 < small["hit_rate"] < 0.7
    assert row("cold", 64, rows)["mean"] - 0.3 > small["mean"] > row("hot", 64)["mean"] + 0.3


def test_main_writes_csv_and_png(tmp_path):
    pathlen_cache.main(tmp_path, 1, small=True)
    assert (tmp_path / "pathlen-cache.csv").exists() and (tmp_path / "pathlen-cache.png").exists()
