"""Location cache hit rate after churn: a fraction of the nodes replaced.

Static, like pathlen-cache: a sample of entry nodes with hot caches (each
made 4 · min(N, capacity) lookups), then a fraction f of the other nodes
crash and as many new nodes join, and the ring is stable again
(build_tables on the new membership) while the caches are as they were.
The measured lookups from the entries (uniform keys) end one of four ways:
- hit: the cached owner still owns the key (1 hop);
- wrong: the cached owner is alive but a new node took the key from it;
  by the owner hint it passes the key back to its predecessor, and so on
  to the new owner (1 hop + one per node that joined in between);
- dead: the cached owner left; the entry drops it and routes as usual
  (no hop for the failed send, but a timeout or refused connection in the
  real node);
- miss: no cached range holds the key (routes as usual).
"after": the state right after the churn (caches frozen while measuring).
"relearned": after each entry made N more lookups of its own, which
correct the ranges they touch.
"""
import copy
import random
from pathlib import Path

from ..location_cache import DEFAULT_CAPACITY, LocationCache
from ..output import new_figure, save, write_csv
from ..ring import Ring
from ..routing import route
from ..static import build_tables, random_ring
from ..stats import mean

FRACTIONS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
"""Fractions of the nodes replaced at once."""

ENTRIES = 16
"""Entry nodes with hot caches; they never crash."""

OUTCOMES = ("hit", "wrong", "dead", "miss")
"""How a measured lookup used the cache, see the module doc."""


def run(rng: random.Random, sizes, lookups: int, fractions=FRACTIONS,
        capacity: int = DEFAULT_CAPACITY) -> list:
    """One row per (N, fraction replaced, phase): outcome fractions and mean
    hops with the cache and without it on the same lookups."""
    rows = []
    for n in sizes:
        ring = random_ring(rng, n)
        tables = build_tables(ring, 8)
        entries = rng.sample(ring.ids, min(n, ENTRIES))
        hot = {e: LocationCache(capacity) for e in entries}
        for e in entries:
            for _ in range(4 * min(n, capacity)):
                route(tables, e, rng.getrandbits(160), cache=hot[e])
        for f in fractions:
            after = _churned(rng, ring, entries, round(f * n))
            caches = copy.deepcopy(hot)
            rows.append(_measure(rng, after, caches, entries, lookups, n, f, "after"))
            for e in entries:
                for _ in range(n):
                    route(after, e, rng.getrandbits(160), cache=caches[e])
            rows.append(_measure(rng, after, caches, entries, lookups, n, f, "relearned"))
    return rows


def _churned(rng: random.Random, ring: Ring, keep: list, count: int) -> dict:
    """Tables of `ring` with `count` nodes other than `keep` replaced by
    as many new random ids."""
    keep = set(keep)
    gone = set(rng.sample([x for x in ring.ids if x not in keep], count))
    ids = {x for x in ring.ids if x not in gone}
    while len(ids) < len(ring):
        new = rng.getrandbits(160)
        if new not in gone:
            ids.add(new)
    return build_tables(Ring(ids), 8)


class _Watch:
    """A frozen view of a cache that records the last guess it gave."""

    def __init__(self, cache: LocationCache):
        self.cache = cache
        self.guess = None

    def lookup(self, key: int):
        self.guess = self.cache.lookup(key)
        return self.guess

    def learn(self, *_args) -> None:
        pass

    def forget(self, _owner) -> None:
        pass  # frozen: the next lookup meets the same dead entry again


def _measure(rng, tables, caches, entries, lookups, n, f, phase) -> dict:
    """Route `lookups` lookups from the entries with frozen caches."""
    truth = Ring(tables)
    counts = dict.fromkeys(OUTCOMES, 0)
    hops, plain, wrong_hops = [], [], []
    for _ in range(lookups):
        e, k = rng.choice(entries), rng.getrandbits(160)
        watch = _Watch(caches[e])
        path = route(tables, e, k, cache=watch)
        owner = truth.successor(k)
        if watch.guess is None:
            outcome = "miss"  # also the keys the entry owns
        elif watch.guess not in tables:
            outcome = "dead"
        elif watch.guess == owner:
            outcome = "hit"
        else:
            outcome = "wrong"
            wrong_hops.append(len(path))
        counts[outcome] += 1
        hops.append(len(path))
        plain.append(len(route(tables, e, k)))
    row = {"nodes": n, "replaced": f, "phase": phase, "lookups": lookups}
    row.update({o: counts[o] / lookups for o in OUTCOMES})
    row.update({"mean": mean(hops), "mean_no_cache": mean(plain),
                "mean_wrong": mean(wrong_hops) if wrong_hops else 0.0})
    return row


def plot(rows: list, path: Path) -> Path:
    fig, ax = new_figure("Location cache after replacing a fraction of the nodes",
                         "fraction of nodes replaced", "fraction of lookups")
    for n, color in zip(sorted({r["nodes"] for r in rows}), ("C0", "C1", "C2", "C3")):
        for phase, style in (("after", "-"), ("relearned", ":")):
            sel = [r for r in rows if r["nodes"] == n and r["phase"] == phase]
            xs = [r["replaced"] for r in sel]
            ax.plot(xs, [r["hit"] for r in sel], style, color=color, marker="o",
                    label=f"N = {n}: hits, {'right after' if phase == 'after' else f'after {n} more lookups each'}")
            if phase == "after":
                ax.plot(xs, [r["wrong"] + r["dead"] for r in sel], "--", color=color, marker="x",
                        label=f"N = {n}: wrong or dead guesses, right after")
    ax.set_ylim(0, 1)
    # Hits stay above 0.6 and bad guesses below 0.35 up to 20 % replaced:
    # the legend fits between them there.
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(0.0, 0.47))
    return save(fig, path)


def main(out: Path, seed: int, small: bool) -> list:
    sizes = [64] if small else [64, 1024]
    rows = run(random.Random(seed), sizes, 1000 if small else 10_000)
    write_csv(out / "cache-churn.csv", rows)
    plot(rows, out / "cache-churn.png")
    return rows
