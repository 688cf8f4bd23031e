"""Keys per node, with and without virtual nodes (Chord Fig. 8 and 9).

Static: a key belongs to the first (virtual) node clockwise from it; a
real node's load is the sum over its virtual nodes. Positions are
`static.Placement`'s, the Rust node's rule: virtual node v of address a
has id sha1(f"{a}#{v}"); with one virtual node the id is sha1(a) as for
a real node.
"""
import random
from bisect import bisect_right
from pathlib import Path

from ..ids import hash_id
from ..output import new_figure, save, write_csv
from ..static import Placement, random_addresses
from ..stats import summary


def loads(addrs: list, vnodes: int, keys: list) -> list:
    """Keys held by each address; `keys` must be sorted ids."""
    ring = Placement.of_nodes(addrs, vnodes)
    hosts = [p.host for p in ring.positions]
    counts = dict.fromkeys(addrs, 0)
    # Keys past the last position wrap around to the first.
    below = bisect_right(keys, ring.ids[-1])
    counts[hosts[0]] += len(keys) - below
    prev = 0
    for pid, host in zip(ring.ids, hosts):
        upto = bisect_right(keys, pid)
        counts[host] += upto - prev
        prev = upto
    return list(counts.values())


def run(rng: random.Random, nodes: int, key_counts, vnode_counts=(1, 20)) -> list:
    """One row per (keys, vnodes): mean, p1, p99, max keys per node."""
    addrs = random_addresses(rng, nodes)
    salt = rng.getrandbits(32)
    all_keys = [hash_id(f"key-{salt}-{i}") for i in range(max(key_counts))]
    rows = []
    for vnodes in vnode_counts:
        for count in key_counts:
            s = summary(loads(addrs, vnodes, sorted(all_keys[:count])))
            rows.append({"nodes": nodes, "keys": count, "vnodes": vnodes, "mean": s["mean"],
                         "p1": s["p1"], "p99": s["p99"], "max": s["max"],
                         "p99_over_mean": s["p99"] / s["mean"]})
    return rows


def plot(rows: list, path: Path) -> Path:
    fig, ax = new_figure("Keys per node (cf. Chord Fig. 8, 9)", "total keys", "keys per node")
    for offset, vnodes in zip((0.98, 1.02), sorted({r["vnodes"] for r in rows})):
        sel = [r for r in rows if r["vnodes"] == vnodes]
        ax.errorbar([r["keys"] * offset for r in sel], [r["mean"] for r in sel],
                    yerr=[[r["mean"] - r["p1"] for r in sel], [r["p99"] - r["mean"] for r in sel]],
                    marker="o", capsize=3, label=f"{vnodes} virtual node(s): mean, 1st/99th pct")
    ax.legend()
    return save(fig, path)


def main(out: Path, seed: int, small: bool) -> list:
    if small:
        rows = run(random.Random(seed), 1000, [20_000, 100_000])
    else:
        rows = run(random.Random(seed), 10_000, [k * 100_000 for k in range(1, 11)])
    write_csv(out / "load.csv", rows)
    plot(rows, out / "load.png")
    return rows
