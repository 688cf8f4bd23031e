"""Ring merge after a partition: merge time against N and probe interval.

The Rust node's passive-list merging (merging.py) on the event-driven
protocol, with the Rust node's maintenance rules (config.chase off,
config.isolation on) and timing: each node ticks on a fixed 250 ms interval
(the default --stabilize-ms) from a random phase, and its tick counter
starts at a random count, so nodes probe on different ticks as in a
cluster whose nodes were started at different times.

A stable ring of `nodes` nodes runs `warmup` ticks (passive lists fill
in); then a random fraction `split` of the nodes is cut off from the rest.
Each side becomes a correct ring of its own (rings_at_heal 2), runs
`settle` more ticks, and the network heals. Measured from the heal:
merge_ticks, until every node's successor and predecessor are the true
ones (one correct ring), and lists_ticks, until every successor list is
exact too (what the Rust scenario tests count). A tick is one maintenance
round: seconds = ticks * 0.25.

A side can stay split into several rings: a node whose successors,
predecessor and fingers were all on the other side knows nobody on its own
side, in the Rust node as here. That happens when a small minority is
scattered (never at split 0.5 in the sweep); the merge then starts from
more than two rings, and sides_ok_at_heal is 0.
"""
import math
import random
from pathlib import Path

from ..invariants import expected_pointers, successor_cycles, wrong_pointer
from ..output import new_figure, save, write_csv
from ..ring import Ring
from ..sim import Config, Sim
from ..static import random_addresses
from ..stats import percentile

TICK = 0.25
"""Seconds per maintenance round: the Rust node's default --stabilize-ms."""
SIZES = [8, 16, 32, 64]
"""Ring sizes of the full sweep."""
PROBES = [1, 2, 4, 8]
"""Probe intervals (ticks) of the full sweep."""
SPLITS = [0.5, 0.25]
"""Fractions of the nodes cut off in the full sweep: half, and a quarter."""
DEFAULT_PROBE = 4
"""The Rust node's probe_every."""
STARTS = 840
"""Nodes' tick counters start uniformly in [0, STARTS): a multiple of every
probe interval up to 8, so each node's probe phase is uniform."""


def random_split(rng: random.Random, ids: list, split: float) -> list:
    """Two sides: a random `split` fraction of `ids` (at least one node,
    never all), and the rest; each sorted."""
    cut = min(len(ids) - 1, max(1, round(split * len(ids))))
    off = set(rng.sample(ids, cut))
    return [sorted(n for n in ids if n not in off), sorted(off)]


def watch(sim: Sim, conditions: list, limit: float, every_event: bool = True) -> list:
    """Run at most `limit` ticks, checking every condition after every
    event (or only once per tick); return, per condition, the ticks from
    now until it first held (None if it never did). Stops once all held."""
    start = sim.sched.now
    first = [0.0 if c() else None for c in conditions]

    def check():
        for i, c in enumerate(conditions):
            if first[i] is None and c():
                first[i] = (sim.sched.now - start) / TICK

    end = start + limit * TICK
    while None in first and sim.sched.now < end:
        sim.run(min(end, sim.sched.now + TICK), check if every_event else None)
        if not every_event:
            check()
    return first


def one_run(seed: int, nodes: int, probe_every: int, split: float = 0.5, warmup: int = 20,
            form: int = 100, settle: int = 10, limit: int = 200,
            network: str = "reliable") -> dict:
    """Split, heal, and time the merge; see the module doc. The sides get
    `form` ticks to become rings of their own (split_ticks nan and
    sides_ok_at_heal 0 if they did not); not merged within `limit` ticks:
    merge_ticks (and lists_ticks) are nan."""
    rng = random.Random(seed)
    # jitter 0: the Rust driver ticks on a fixed interval (first tick at a random phase).
    cfg = Config(period=TICK, jitter=0.0, chase=False, isolation=True, probe_every=probe_every)
    sim = Sim(rng, network, cfg)
    sim.bootstrap(random_addresses(rng, nodes), nonce=1)
    for n in sim.live:
        # Started at different times, as a real cluster's nodes are: their
        # probe rounds (ticks % probe_every == 0) are not in step.
        sim.nodes[n].ticks = rng.randrange(STARTS)
    sim.run(warmup * TICK)
    sides = random_split(rng, sim.live, split)
    sim.partition(sides)
    side_rings = [expected_pointers(Ring(side), cfg.succ_len) for side in sides]
    [split_ticks] = watch(sim, [lambda: all(wrong_pointer(sim, r) is None for r in side_rings)],
                          form, every_event=False)
    sim.run(sim.sched.now + settle * TICK)
    sides_ok = all(wrong_pointer(sim, r) is None for r in side_rings)
    rings_at_heal = len(successor_cycles(sim))
    sim.heal()
    whole = expected_pointers(Ring(sim.live), cfg.succ_len)
    merge_ticks, lists_ticks = watch(sim, [lambda: wrong_pointer(sim, whole, lists=False) is None,
                                           lambda: wrong_pointer(sim, whole) is None], limit)
    # A merged ring must stay correct (the Rust tests check 3 more rounds).
    sim.run(sim.sched.now + 3 * TICK)
    nan = math.nan
    return {"n": nodes, "probe_every_ticks": probe_every, "split": split,
            "cut_off": len(sides[1]), "seed": seed,
            "split_ticks": nan if split_ticks is None else split_ticks,
            "sides_ok_at_heal": int(sides_ok), "rings_at_heal": rings_at_heal,
            "merge_ticks": nan if merge_ticks is None else merge_ticks,
            "merge_s": nan if merge_ticks is None else merge_ticks * TICK,
            "lists_ticks": nan if lists_ticks is None else lists_ticks,
            "lists_s": nan if lists_ticks is None else lists_ticks * TICK,
            "rings_after": len(successor_cycles(sim)),
            "correct_after": int(wrong_pointer(sim, whole) is None)}


def run(seed: int, sizes, probes, seeds: int, split: float = 0.5) -> list:
    """Every size and probe interval on the same `seeds` rings and splits
    (run seed = seed + k): probe intervals are compared on equal footing."""
    return [one_run(seed + k, n, p, split) for n in sizes for k in range(seeds) for p in probes]


def medians(rows: list, column: str = "merge_ticks") -> dict:
    """(n, probe_every_ticks) -> (median, min, max) of `column`."""
    out = {}
    for key in sorted({(r["n"], r["probe_every_ticks"]) for r in rows}):
        vals = [r[column] for r in rows if (r["n"], r["probe_every_ticks"]) == key]
        out[key] = (percentile(vals, 50), min(vals), max(vals))
    return out


def plot(rows: list, path: Path) -> Path:
    """Median merge ticks (min/max bars) against N, one line per probe
    interval at the first row's split; other splits dashed, default probe
    interval only."""
    split = rows[0]["split"]
    fig, ax = new_figure("Ring merge after a partition", "nodes N",
                         "ticks from heal to one correct ring")
    stats = medians([r for r in rows if r["split"] == split])
    probes = sorted({p for _, p in stats})
    sizes = sorted({n for n, _ in stats})
    for j, p in enumerate(probes):
        offset = 1 + 0.03 * (j - (len(probes) - 1) / 2)
        _line(ax, stats, p, offset, marker="o",
              label=f"probe every {p} tick{'s' if p > 1 else ''}, {split:g} cut off")
    for other in sorted({r["split"] for r in rows} - {split}, reverse=True):
        sel = [r for r in rows if r["split"] == other and r["probe_every_ticks"] == DEFAULT_PROBE]
        if sel:
            _line(ax, medians(sel), DEFAULT_PROBE, 1.08, marker="s", linestyle="--", color="grey",
                  label=f"probe every {DEFAULT_PROBE} ticks, {other:g} cut off")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.set_ylim(bottom=0)
    ax.secondary_yaxis("right", functions=(lambda t: t * TICK, lambda s: s / TICK)).set_ylabel(
        "seconds at 250 ms per tick")
    ax.legend(fontsize=7, title="median, min/max", title_fontsize=7)
    return save(fig, path)


def _line(ax, stats: dict, probe: int, offset: float, **style) -> None:
    keys = [k for k in stats if k[1] == probe]
    med = [stats[k][0] for k in keys]
    err = [[stats[k][0] - stats[k][1] for k in keys], [stats[k][2] - stats[k][0] for k in keys]]
    ax.errorbar([n * offset for n, _ in keys], med, yerr=err, capsize=3, **style)


def main(out: Path, seed: int, small: bool) -> list:
    if small:
        rows = run(seed, [8, 16], [1, 4], 2)
    else:
        rows = []
        for split in SPLITS:
            rows += run(seed, SIZES, PROBES, 10, split)
    write_csv(out / "merge.csv", rows)
    plot(rows, out / "merge.png")
    return rows
