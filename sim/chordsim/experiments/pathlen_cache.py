"""Path length with and without the location cache (issue #13).

Static, like the pathlen experiment: a stable ring with the project's
routing (8 successors and the shortcut), tables from static.build_tables.
Each node has a LocationCache; a lookup's entry sends a key in a cached
range straight to its owner and learns (pred, owner] from every answer
(routing.route with a cache). Hops count the real forwarding steps: a
cache hit is 1 hop, a key the entry owns 0.

Three series per ring size N:
- "cold": no cache (the project curve of the pathlen experiment);
- "warm": every node's cache starts empty, then `warmup` lookups (uniform
  keys, random entry nodes) run across the whole ring before the measured
  ones, so each node has made about warmup / N of them;
- "hot": a sample of entry nodes that have each made 4 · min(N, capacity)
  lookups themselves. For N <= capacity such an entry knows about 98 % of
  the ranges, which hold about 96 % of the keys (a small range is found
  last); for N > capacity its LRU is full and in its steady state. Sampling
  keeps the memory bounded: N caches of 4096 ranges each would not fit at
  16 384 nodes, and on a static ring a node's cache depends only on its
  own lookups, so a sample measures the same thing.

The measured lookups use the caches but do not teach them (the caches are
frozen after the warm-up), so a row describes the state after exactly its
warm-up, however many lookups measure it. On a static ring every learned
range stays right, so there are no wrong guesses here; the cache-churn
experiment and the routing tests cover what wrong guesses cost.
"""
import random
from pathlib import Path

from ..location_cache import DEFAULT_CAPACITY, LocationCache
from ..output import new_figure, save, write_csv
from ..routing import route
from ..static import build_tables, random_ring
from ..stats import summary

SERIES = ("cold", "warm", "hot")
"""Row kinds, see the module doc."""

WARMUP = 3000
"""Warm-up lookups of the "warm" series, ring-wide."""

HOT_ENTRIES = 16
"""Entry nodes sampled for the hot series (all of them when N is smaller)."""


def run(rng: random.Random, sizes, lookups: int, warmup: int = WARMUP,
        capacity: int = DEFAULT_CAPACITY) -> list:
    """One row per (N, series): mean, p99 and max hops and the cache hit
    rate of `lookups` measured lookups; `warmup` is the "warm" series'
    ring-wide warm-up."""
    rows = []
    for n in sizes:
        ring = random_ring(rng, n)
        tables = build_tables(ring, 8)
        measured = _uniform(rng, ring.ids, lookups)
        cold = [len(route(tables, e, k)) for e, k in measured]
        rows.append(_row(n, "cold", 0.0, capacity, cold, 0))
        rows.append(_warm(rng, tables, ring.ids, measured, warmup, capacity))
        rows.append(_hot(rng, tables, ring.ids, lookups, capacity))
    return rows


def _uniform(rng: random.Random, entries: list, count: int) -> list:
    """`count` (entry, key) pairs: entries drawn from `entries`, keys uniform."""
    return [(rng.choice(entries), rng.getrandbits(160)) for _ in range(count)]


def _warm(rng, tables, ids, measured, warmup, capacity) -> dict:
    """The "warm" row: `warmup` lookups ring-wide, then `measured` ones."""
    caches = {}
    for e, k in _uniform(rng, ids, warmup):
        route(tables, e, k, cache=_cache_of(caches, e, capacity))
    before = _hits(caches.values())
    frozen = {e: _Frozen(c) for e, c in caches.items()}
    empty = _Frozen(LocationCache(0))  # a node that made no warm-up lookup
    hops = [len(route(tables, e, k, cache=frozen.get(e, empty))) for e, k in measured]
    return _row(len(ids), "warm", warmup / len(ids), capacity, hops, _hits(caches.values()) - before)


def _hot(rng, tables, ids, lookups, capacity) -> dict:
    """The "hot" row: sampled entries that each made 4 · min(N, capacity)
    lookups, then `lookups` measured ones from them."""
    n = len(ids)
    entries = rng.sample(ids, min(n, HOT_ENTRIES))
    per_entry = 4 * min(n, capacity)
    caches = {e: LocationCache(capacity) for e in entries}
    for e in entries:
        for _ in range(per_entry):
            route(tables, e, rng.getrandbits(160), cache=caches[e])
    before = _hits(caches.values())
    hops = [len(route(tables, e, k, cache=_Frozen(caches[e]))) for e, k in _uniform(rng, entries, lookups)]
    return _row(n, "hot", per_entry, capacity, hops, _hits(caches.values()) - before)


def _cache_of(caches: dict, node: int, capacity: int) -> LocationCache:
    """The node's cache, created empty on first use."""
    cache = caches.get(node)
    if cache is None:
        cache = caches[node] = LocationCache(capacity)
    return cache


class _Frozen:
    """A cache that answers lookups but learns nothing (route() calls
    learn after every lookup)."""

    def __init__(self, cache: LocationCache):
        self.cache = cache

    def lookup(self, key: int):
        return self.cache.lookup(key)

    def learn(self, *_args) -> None:
        pass


def _hits(caches) -> int:
    """Cache hits so far, summed over `caches`."""
    return sum(c.hits for c in caches)


def _row(n, series, per_entry, capacity, hops, hits) -> dict:
    """A CSV row. warmup_per_entry: lookups each entry node made before the
    measured ones (on average for "warm"); hit_rate: the fraction of the
    measured lookups that the cache sent straight to the owner (`hits`)."""
    s = summary(hops)
    return {"nodes": n, "series": series, "capacity": capacity, "warmup_per_entry": per_entry,
            "lookups": len(hops), "mean": s["mean"], "p99": s["p99"], "max": s["max"],
            "hit_rate": hits / len(hops)}


def plot(rows: list, path: Path) -> Path:
    cap = rows[0]["capacity"]
    fig, ax = new_figure(f"Path length with a location cache of {cap} ranges (project routing)",
                         "nodes N", "mean hops")
    warm = next(r for r in rows if r["series"] == "warm")
    labels = {"cold": "no cache",
              "warm": f"warm: after {warm['warmup_per_entry'] * warm['nodes']:.0f} lookups ring-wide",
              "hot": "hot: each entry made 4·min(N, capacity) lookups itself"}
    for series, marker in zip(SERIES, "os^"):
        sel = [r for r in rows if r["series"] == series]
        ax.plot([r["nodes"] for r in sel], [r["mean"] for r in sel], marker=marker,
                label=labels[series])
    ax.axhline(1.0, color="k", linestyle=":", linewidth=1, label="1 hop (every lookup a hit)")
    ax.set_xscale("log", base=2)
    ax.set_ylim(bottom=0)
    ax.legend()
    return save(fig, path)


def main(out: Path, seed: int, small: bool) -> list:
    # Small stops at 256 nodes: the hot series costs 4·N lookups per entry.
    sizes = [2 ** k for k in range(3, 9 if small else 15)]
    rows = run(random.Random(seed), sizes, 2000 if small else 20_000)
    write_csv(out / "pathlen-cache.csv", rows)
    plot(rows, out / "pathlen-cache.png")
    return rows
