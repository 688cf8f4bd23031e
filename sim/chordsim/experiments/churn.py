"""Lookups under churn (Chord Fig. 13), on the event-driven protocol.

A stable ring of `nodes` nodes; joins and crashes each arrive as a
Poisson process with `rate` events per stabilization period, so the size
stays near `nodes`. Lookups for random ids start from random members at
`lookup_rate` per second. An attempt fails if it times out or the node
that answers is not the key's true owner at that moment. A hop to a
crashed node is not rerouted: the forwarder forgets it and the attempt
is lost, as in the paper. With one retry, an attempt that timed out is
started once more (a wrong answer cannot be noticed by the originator
and is not retried).
"""
import random
from pathlib import Path

from ..output import new_figure, save, write_csv
from ..sim import Config, Sim
from ..static import random_addresses


def one_run(seed: int, nodes: int, rate: float, periods: float, lookup_rate: float,
            warmup: float = 3, network: str = "reliable") -> dict:
    """Run churn at `rate` events per period; return failure fractions."""
    rng = random.Random(seed)
    cfg = Config(reroute=False)
    sim = Sim(rng, network, cfg)
    sim.bootstrap(random_addresses(rng, nodes))
    end = (warmup + periods) * cfg.period
    counter = [0]

    def join():
        counter[0] += 1
        sim.join(f"churn-{seed}-{counter[0]}:7000", _member(rng, sim))
        sim.sched.after(rng.expovariate(rate / cfg.period), join)

    def crash():
        if len(sim.live) > 2:
            sim.fail(_member(rng, sim))
        sim.sched.after(rng.expovariate(rate / cfg.period), crash)

    if rate > 0:
        sim.sched.after(rng.expovariate(rate / cfg.period), join)
        sim.sched.after(rng.expovariate(rate / cfg.period), crash)
    first, second = [], []

    def attempt(key, results, retry):
        origin = _member(rng, sim)

        def done(owner, _hops, _has):
            results.append(owner == sim.owner(key))
            if retry is not None:
                if owner is None:
                    attempt(key, retry, None)
                else:
                    retry.append(owner == sim.owner(key))
        sim.lookup(origin, key, done)

    t = warmup * cfg.period
    while t < end:
        sim.sched.at(t, lambda: attempt(rng.getrandbits(160), first, second))
        t += rng.expovariate(lookup_rate)
    sim.run(end + 2 * cfg.lookup_timeout + 1)
    return {"nodes": nodes, "rate_per_period": rate, "lookups": len(first),
            "failed_no_retry": 1 - sum(first) / len(first),
            "failed_one_retry": 1 - sum(second) / len(second), "final_nodes": len(sim.live)}


def _member(rng: random.Random, sim: Sim) -> int:
    """A random live node that has finished joining."""
    while True:
        n = rng.choice(sim.live)
        if sim.nodes[n].joined:
            return n


def run(seed: int, nodes: int, rates, periods: float, lookup_rate: float) -> list:
    return [one_run(seed + i, nodes, r, periods, lookup_rate) for i, r in enumerate(rates)]


def plot(rows: list, path: Path) -> Path:
    fig, ax = new_figure(f"Lookups under churn, {rows[0]['nodes']} nodes (cf. Chord Fig. 13)",
                         "joins and crashes per stabilization period (each)", "failed lookups")
    xs = [r["rate_per_period"] for r in rows]
    ax.plot(xs, [r["failed_no_retry"] for r in rows], marker="o", label="no retry")
    ax.plot(xs, [r["failed_one_retry"] for r in rows], marker="s", label="one retry")
    ax.legend()
    return save(fig, path)


def main(out: Path, seed: int, small: bool) -> list:
    if small:
        rows = run(seed, 200, [0, 1.2], 10, 5)
    else:
        rows = run(seed, 500, [0, 0.5, 1, 1.5, 2, 2.5, 3, 4], 40, 10)
    write_csv(out / "churn.csv", rows)
    plot(rows, out / "churn.png")
    return rows
