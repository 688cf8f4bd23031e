"""Simultaneous failure (Chord Fig. 11), run on the event-driven protocol.

A stable ring of `nodes` nodes holds `keys` keys on their R holders. At
time 0 a random fraction p of the nodes crash together. The survivors run
the protocol for `settle` rounds, then `lookups` lookups for stored keys
start from random survivors. A lookup fails unless the true owner answers
and holds the key. A key is lost when all R of its holders crashed.
Lookups route around dead hops (config.reroute).
"""
import random
from pathlib import Path

from ..ids import hash_id
from ..output import new_figure, save, write_csv
from ..ring import Ring
from ..sim import Config, Sim
from ..static import random_addresses


def one_run(seed: int, nodes: int, p: float, succ_len: int, replicas: int,
            keys: int, lookups: int, settle: float = 5, network: str = "reliable") -> dict:
    """Crash a fraction p at once; return failed-lookup and lost-key fractions."""
    rng = random.Random(seed)
    cfg = Config(succ_len=succ_len, replicas=replicas)
    sim = Sim(rng, network, cfg)
    key_ids = [hash_id(f"key-{seed}-{i}") for i in range(keys)]
    sim.bootstrap(random_addresses(rng, nodes), key_ids)
    ring = Ring(sim.live)
    failed = set(rng.sample(sim.live, round(p * nodes)))
    for n in sorted(failed):
        sim.fail(n)
    lost = sum(1 for k in key_ids if failed.issuperset(ring.replicas(k, replicas)))
    start = settle * cfg.period
    outcome = []

    def launch(key):
        sim.lookup(rng.choice(sim.live), key,
                   lambda owner, _h, has: outcome.append(owner == sim.owner(key) and has))

    for i in range(lookups):
        sim.sched.at(start + cfg.period * i / lookups, launch, rng.choice(key_ids))
    sim.run(start + cfg.period + cfg.lookup_timeout + 1)
    return {"nodes": nodes, "p": p, "succ_len": succ_len, "replicas": replicas,
            "keys": keys, "lookups": len(outcome), "failed_lookups": 1 - sum(outcome) / len(outcome),
            "lost_keys": lost / keys, "p_to_the_r": p ** replicas}


def run(seed: int, nodes: int, fractions, succ_lens, replica_counts, keys: int,
        lookups: int) -> list:
    """Grid: every succ_len with R = 1, then every R with the largest succ_len."""
    longest = max(succ_lens)
    combos = [(length, 1) for length in succ_lens]
    combos += [(longest, r) for r in replica_counts if r != 1]
    return [one_run(seed + i, nodes, p, length, r, keys, lookups)
            for length, r in combos for i, p in enumerate(fractions)]


def plot(rows: list, path: Path) -> Path:
    fig, ax = new_figure(f"Simultaneous failure, {rows[0]['nodes']} nodes (cf. Chord Fig. 11)",
                         "fraction of nodes failed p", "fraction")
    combos = sorted({(r["succ_len"], r["replicas"]) for r in rows})
    for length, reps in combos:
        sel = [r for r in rows if (r["succ_len"], r["replicas"]) == (length, reps)]
        ax.plot([r["p"] for r in sel], [r["failed_lookups"] for r in sel], marker="o",
                label=f"failed lookups, L={length}, R={reps}")
    for reps in sorted({r["replicas"] for r in rows}):
        sel = [r for r in rows if r["replicas"] == reps and r["succ_len"] == combos[-1][0]]
        ax.plot([r["p"] for r in sel], [r["lost_keys"] for r in sel], "k:", marker="x",
                label=f"lost keys, R={reps}")
    ax.plot([0, 0.5], [0, 0.5], color="grey", lw=0.8, label="y = p")
    ax.legend(fontsize=7)
    return save(fig, path)


def main(out: Path, seed: int, small: bool) -> list:
    fractions = [0.1, 0.2, 0.3, 0.4, 0.5]
    if small:
        rows = run(seed, 300, fractions, [1, 8], [1, 3], 3000, 300)
    else:
        rows = run(seed, 10_000, fractions, [1, 4, 8, 16], [1, 2, 3], 100_000, 2000)
    write_csv(out / "failure.csv", rows)
    plot(rows, out / "failure.png")
    return rows
