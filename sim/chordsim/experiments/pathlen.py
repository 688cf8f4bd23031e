"""Path length against ring size (Chord, SIGCOMM 2001, Fig. 10).

Static: tables come straight from the sorted ring (static.build_tables),
no stabilization is simulated. Hops count every node visited after the
entry, the final step to the owner included.

Modes: "chord" is the paper's algorithm (fingers plus the first successor
only), "no-shortcut" adds the 8-entry successor list as routing
candidates but skips rule 3, "project" is the node's full rule set.
"""
import math
import random
from pathlib import Path

from ..ids import hash_id
from ..output import new_figure, save, write_csv
from ..routing import route
from ..static import build_tables, random_ring
from ..stats import summary

MODES = {"chord": (1, False), "no-shortcut": (8, False), "project": (8, True)}
"""Routing variants: name -> (successor list length, use rule 3)."""


def run(rng: random.Random, sizes, lookups: int) -> list:
    """One row per (size, mode): mean, p1, p99 hops and ½·log2 N."""
    rows = []
    for n in sizes:
        ring = random_ring(rng, n)
        tables = {length: build_tables(ring, length) for length in (1, 8)}
        pairs = [(rng.choice(ring.ids), hash_id(f"key-{rng.getrandbits(64)}")) for _ in range(lookups)]
        for mode, (length, shortcut) in MODES.items():
            hops = [len(route(tables[length], e, k, shortcut)) for e, k in pairs]
            s = summary(hops)
            rows.append({"nodes": n, "mode": mode, "lookups": lookups, "mean": s["mean"],
                         "p1": s["p1"], "p99": s["p99"], "max": s["max"],
                         "half_log2_n": 0.5 * math.log2(n)})
    return rows


def plot(rows: list, path: Path) -> Path:
    fig, ax = new_figure("Lookup path length (cf. Chord Fig. 10)", "nodes N", "hops")
    for offset, mode, marker in zip((0.96, 1.0, 1.04), MODES, "os^"):
        sel = [r for r in rows if r["mode"] == mode]
        xs = [r["nodes"] * offset for r in sel]
        ys = [r["mean"] for r in sel]
        err = [[r["mean"] - r["p1"] for r in sel], [r["p99"] - r["mean"] for r in sel]]
        ax.errorbar(xs, ys, yerr=err, marker=marker, capsize=3, label=f"{mode}: mean, 1st/99th pct")
    ns = sorted({r["nodes"] for r in rows})
    ax.plot(ns, [0.5 * math.log2(n) for n in ns], "k--", label="½·log2 N")
    ax.set_xscale("log", base=2)
    ax.legend()
    return save(fig, path)


def main(out: Path, seed: int, small: bool) -> list:
    sizes = [2 ** k for k in range(3, 11 if small else 15)]
    rows = run(random.Random(seed), sizes, 2000 if small else 100_000)
    write_csv(out / "pathlen.csv", rows)
    plot(rows, out / "pathlen.png")
    return rows
