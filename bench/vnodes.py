#!/usr/bin/env python3
"""Virtual nodes: load balance and idle maintenance cost against V.

For each V asked for, in one session (so machine load affects all alike):
start N process nodes with `--vnodes V` on 127.0.0.1 (all but the first
joining the first), wait until the ring of all N·V positions is correct
(every position's successor and predecessor are its neighbours among all
positions, read from `/status`), let it settle, then read utime+stime of
every node from /proc/PID/stat over a window, VmRSS, and each node's share
of the id circle: the sum over its positions of (previous position,
position]. Prints busiest/mean share, % of a core per node and MiB per node.

Only the standard library; every process started is killed by pid on the
way out, also on failure.

    python3 bench/vnodes.py --bin target/release/chord-node --nodes 16 --v 1,4,8,16
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringlib import Ring, get_json, wait_until  # noqa: E402
from idle import cpu_percent, rss_kib  # noqa: E402


def positions(ports):
    """Every position of the nodes on `ports`, as (id int, node port, status), by id."""
    out = []
    for p in ports:
        st = get_json(f"http://127.0.0.1:{p}/status")
        for pos in st.get("positions") or [st]:
            out.append((int(pos["id"], 16), p, pos))
    out.sort(key=lambda t: t[0])
    return out


def ring_of_positions_correct(ports, want):
    try:
        ps = positions(ports)
    except OSError:
        return False
    if len(ps) != want:
        return False
    n = len(ps)
    for i, (_, _, st) in enumerate(ps):
        succ = (st.get("successors") or [{}])[0].get("id")
        pred = (st.get("predecessor") or {}).get("id")
        if n > 1 and (succ != ps[(i + 1) % n][2]["id"] or pred != ps[i - 1][2]["id"]):
            return False
    return True


def shares(ports):
    """Each node's share of the circle (fractions summing to 1)."""
    ps = positions(ports)
    full = 1 << 160
    share = {p: 0.0 for p in ports}
    for i, (pid, port, _) in enumerate(ps):
        prev = ps[i - 1][0]
        share[port] += ((pid - prev) % full or full) / full
    return share


def measure(binary, n, v, window, settle, port0, logdir):
    ring = Ring(binary, n, port0, logdir, args=["--vnodes", str(v)])
    try:
        took = wait_until(lambda: ring_of_positions_correct(ring.ports, n * v), 300,
                          f"{n}x{v} ring")
        print(f"  V={v}: ring of {n * v} positions correct after {took:.1f} s; "
              f"settling {settle} s", flush=True)
        time.sleep(settle)
        pids = [ring.pid(p) for p in ring.ports]
        cpu = cpu_percent(pids, window)
        rss = [rss_kib(pid) / 1024 for pid in pids]
        sh = shares(ring.ports)
        return took, cpu, rss, sh
    finally:
        ring.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="chord-node binary")
    ap.add_argument("--nodes", type=int, default=16)
    ap.add_argument("--v", default="1,4,8,16", help="comma-separated V values")
    ap.add_argument("--window", type=float, default=30, help="CPU sampling window, s")
    ap.add_argument("--settle", type=float, default=15, help="wait after the ring is correct, s")
    ap.add_argument("--port", type=int, default=24000, help="first port")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as logdir:
        for k, v in enumerate(int(x) for x in a.v.split(",")):
            took, cpu, rss, sh = measure(a.bin, a.nodes, v, a.window, a.settle,
                                         a.port + k * 100, logdir)
            mean_share = 1.0 / a.nodes
            rows.append((v, took, max(sh.values()) / mean_share, sum(cpu) / len(cpu),
                         max(cpu), sum(rss) / len(rss), max(rss)))
    print(f"\n{a.nodes} process nodes, idle {a.window:.0f} s window")
    print("| V | ring correct after | busiest/mean share | idle CPU per node, mean (max) "
          "| VmRSS per node, mean (max) |")
    print("|---|---|---|---|---|")
    for v, took, bal, cm, cx, rm, rx in rows:
        print(f"| {v} | {took:.1f} s | {bal:.2f} | {cm:.2f} % ({cx:.2f} %) "
              f"| {rm:.1f} MiB ({rx:.1f} MiB) |")


if __name__ == "__main__":
    main()
