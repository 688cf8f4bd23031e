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
- "steady": a sample of entry nodes that have each made 4 · min(N,
  capacity) lookups already, so each has seen about 98 % of the ranges it
  can hold (the cache's steady state under uniform keys). Sampling keeps
  the memory bounded: N caches of 4096 ranges each would not fit at 16 384
  nodes, and a node's cache depends only on its own lookups on a static
  ring, so a sample measures the same thing.

The caches keep learning during the measured lookups, as the node's would.
On a static ring every learned range stays right, so there are no wrong
guesses here; routing tests cover what a wrong guess costs.
"""
import random
from pathlib import Path

from ..location_cache import DEFAULT_CAPACITY, LocationCache
from ..output import new_figure, save, write_csv
from ..routing import route
from ..static import build_tables, random_ring
from ..stats import summary

SERIES = ("cold", "warm", "steady")
"""Row kinds, see the module doc."""

STEADY_ENTRIES = 16
"""Entry nodes sampled for the steady series (all of them when N is smaller)."""


def run(rng: random.Random, sizes, lookups: int, warmup: int = 3000,
        capacity: int = DEFAULT_CAPACITY) -> list:
    """One row per (N, series): mean, p99 and max hops and the cache hit
    rate of the measured lookups."""
    rows = []
    for n in sizes:
        ring = random_ring(rng, n)
        tables = build_tables(ring, 8)

        def uniform(entries, count):
            return [(rng.choice(entries), rng.getrandbits(160)) for _ in range(count)]

        measured = uniform(ring.ids, lookups)
        cold = [len(route(tables, e, k)) for e, k in measured]
        rows.append(_row(n, "cold", 0, capacity, cold, 0))

        caches = {}
        for e, k in uniform(ring.ids, warmup):
            route(tables, e, k, cache=_cache_of(caches, e, capacity))
        before = _hits(caches.values())
        warm = [len(route(tables, e, k, cache=_cache_of(caches, e, capacity))) for e, k in measured]
        rows.append(_row(n, "warm", warmup, capacity, warm, _hits(caches.values()) - before))

        entries = rng.sample(ring.ids, min(n, STEADY_ENTRIES))
        per_entry = 4 * min(n, capacity)
        steady_caches = {e: LocationCache(capacity) for e in entries}
        for e in entries:
            for _ in range(per_entry):
                route(tables, e, rng.getrandbits(160), cache=steady_caches[e])
        before = _hits(steady_caches.values())
        steady = [len(route(tables, e, k, cache=steady_caches[e])) for e, k in uniform(entries, lookups)]
        rows.append(_row(n, "steady", per_entry, capacity, steady,
                         _hits(steady_caches.values()) - before))
    return rows


def _cache_of(caches: dict, node: int, capacity: int) -> LocationCache:
    """The node's cache, created empty on first use."""
    cache = caches.get(node)
    if cache is None:
        cache = caches[node] = LocationCache(capacity)
    return cache


def _hits(caches) -> int:
    """Cache hits so far, summed over `caches`."""
    return sum(c.hits for c in caches)


def _row(n, series, warmup, capacity, hops, hits) -> dict:
    """A CSV row. hit_rate: the fraction of the measured lookups that the
    cache sent straight to the owner (`hits` of them)."""
    s = summary(hops)
    return {"nodes": n, "series": series, "capacity": capacity, "warmup": warmup,
            "lookups": len(hops), "mean": s["mean"], "p99": s["p99"], "max": s["max"],
            "hit_rate": hits / len(hops)}


def plot(rows: list, path: Path) -> Path:
    fig, ax = new_figure("Path length with the location cache (project routing)",
                         "nodes N", "mean hops")
    labels = {"cold": "no cache", "warm": "warm: {w} lookups over the whole ring",
              "steady": "steady: each entry made 4·min(N, capacity) lookups"}
    for series, marker in zip(SERIES, "os^"):
        sel = [r for r in rows if r["series"] == series]
        label = labels[series].format(w=sel[0]["warmup"])
        ax.plot([r["nodes"] for r in sel], [r["mean"] for r in sel], marker=marker, label=label)
    ax.axhline(1.0, color="k", linestyle=":", linewidth=1, label="1 hop (every lookup a hit)")
    ax.set_xscale("log", base=2)
    ax.set_ylim(bottom=0)
    ax.legend()
    return save(fig, path)


def main(out: Path, seed: int, small: bool) -> list:
    sizes = [2 ** k for k in range(3, 11 if small else 15)]
    rows = run(random.Random(seed), sizes, 2000 if small else 20_000)
    write_csv(out / "pathlen-cache.csv", rows)
    plot(rows, out / "pathlen-cache.png")
    return rows
