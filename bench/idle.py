#!/usr/bin/env python3
"""Idle maintenance cost of chord-node, two binaries side by side.

For each binary (baseline first, then the new one, in the same session so
machine load affects both alike):
  * idle CPU: start N nodes as processes (`--listen 127.0.0.1:PORT`, all but
    the first with `--join` to the first), wait until the ring is correct and
    the fingers had time to fill, then read utime+stime of every node from
    /proc/PID/stat over a window: % of one core per node (mean, max) and in
    total, plus resident memory (VmRSS) per node;
  * failure detection: in a ring of M nodes, stop a node (SIGSTOP) or kill it
    (SIGKILL) and poll `/status` of its predecessor and successor every 50 ms
    until the predecessor has dropped it from its successor list and the
    successor no longer names it as predecessor; repeated, mean and max.

Only the standard library; everything runs on 127.0.0.1; every process
started is killed by pid on the way out, also on failure.

    python3 bench/idle.py --base /tmp/base/chord-node --new target/release/chord-node
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringlib import Ring, get_json, ring_correct, wait_until  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    """utime + stime of `pid` in clock ticks (fields 14 and 15 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_kib(pid):
    """Resident memory of `pid` in KiB (VmRSS of /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_percent(pids, window):
    """% of one core each of `pids` used over the next `window` seconds."""
    before = [cpu_ticks(p) for p in pids]
    start = time.monotonic()
    time.sleep(window)
    after = [cpu_ticks(p) for p in pids]
    elapsed = time.monotonic() - start
    return [100.0 * (a - b) / CLK_TCK / elapsed for a, b in zip(after, before)]


def idle_cpu(binary, n, window, settle, port0, logdir):
    """Returns (per-node % list, rss KiB list) for an idle ring of `n` nodes."""
    ring = Ring(binary, n, port0, logdir)
    try:
        took = wait_until(lambda: ring_correct(ring.ports), 120, f"{n}-node ring")
        print(f"  ring of {n} correct after {took:.1f} s; settling {settle} s", flush=True)
        time.sleep(settle)
        pids = [ring.pid(p) for p in ring.ports]
        pct = cpu_percent(pids, window)
        if not ring_correct(ring.ports):
            print("  warning: ring not correct at the end of the window", flush=True)
        return pct, [rss_kib(p) for p in pids]
    finally:
        ring.close()


def neighbours(ring, port):
    """(predecessor port, successor port) of `port` in the true ring order."""
    st = {p: get_json(f"http://127.0.0.1:{p}/status") for p in ring.ports}
    order = sorted(ring.ports, key=lambda p: st[p]["id"])
    i = order.index(port)
    return order[i - 1], order[(i + 1) % len(order)], st[port]["id"]


def dropped(pred, succ, victim_id):
    """Whether the victim's predecessor and successor have both dropped it."""
    ps = get_json(f"http://127.0.0.1:{pred}/status", timeout=2)
    ss = get_json(f"http://127.0.0.1:{succ}/status", timeout=2)
    in_list = any(s["id"] == victim_id for s in ps["successors"])
    as_pred = (ss["predecessor"] or {}).get("id") == victim_id
    return not in_list and not as_pred


def detection(binary, m, reps, sig, port0, logdir, rng):
    """Seconds until a stopped/killed node's neighbours dropped it, per repetition."""
    ring = Ring(binary, m, port0, logdir)
    times = []
    try:
        wait_until(lambda: ring_correct(ring.ports), 60, f"{m}-node ring")
        for _ in range(reps):
            victim = rng.choice(ring.ports[1:])  # the first is everyone's join target
            pred, succ, vid = neighbours(ring, victim)
            t0 = time.time()
            os.kill(ring.pid(victim), sig)
            while not dropped(pred, succ, vid):
                if time.time() - t0 > 30:
                    raise SystemExit(f"node on {victim} not dropped within 30 s")
                time.sleep(0.05)
            times.append(time.time() - t0)
            if sig == signal.SIGSTOP:
                os.kill(ring.pid(victim), signal.SIGCONT)
            else:
                ring.procs[victim].wait()
                ring.start(victim)
            wait_until(lambda: ring_correct(ring.ports), 60, "ring after the fault")
            time.sleep(2)  # let fingers and suspicions settle before the next fault
        return times
    finally:
        ring.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="baseline chord-node binary")
    ap.add_argument("--new", required=True, help="new chord-node binary")
    ap.add_argument("--nodes", type=int, default=48, help="ring size for idle CPU")
    ap.add_argument("--window", type=float, default=30, help="CPU sampling window, s")
    ap.add_argument("--settle", type=float, default=20, help="wait after the ring is correct, s")
    ap.add_argument("--det-nodes", type=int, default=16, help="ring size for detection")
    ap.add_argument("--reps", type=int, default=5, help="faults per kind")
    ap.add_argument("--port", type=int, default=23000, help="first port")
    ap.add_argument("--skip-idle", action="store_true")
    ap.add_argument("--skip-detect", action="store_true")
    args = ap.parse_args()
    bins = [("baseline", os.path.abspath(args.base)), ("new", os.path.abspath(args.new))]
    logdir = tempfile.mkdtemp(prefix="chord-idle-")
    print(f"logs in {logdir}; {os.cpu_count()} CPUs; clock tick {CLK_TCK} Hz", flush=True)
    results = {}
    for name, binary in bins if not args.skip_idle else []:
        print(f"idle CPU, {name}: {binary}", flush=True)
        pct, rss = idle_cpu(binary, args.nodes, args.window, args.settle, args.port, logdir)
        results[name] = (pct, rss)
    for name, (pct, rss) in results.items():
        mean = sum(pct) / len(pct)
        print(
            f"{name:8} idle, {len(pct)} nodes over {args.window:.0f} s: "
            f"{mean:.2f} % of a core per node (max {max(pct):.2f} %), "
            f"total {sum(pct):.1f} %; VmRSS mean {sum(rss) / len(rss) / 1024:.1f} MiB "
            f"(max {max(rss) / 1024:.1f} MiB)"
        )
    if args.skip_detect:
        return
    det = {}
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for name, binary in bins:
            rng = random.Random(13)  # the same victims for both binaries
            print(f"detection, {sig.name}, {name}", flush=True)
            det[(sig.name, name)] = detection(
                binary, args.det_nodes, args.reps, sig, args.port, logdir, rng
            )
    for (sig, name), t in det.items():
        print(
            f"{sig:7} {name:8} {args.det_nodes} nodes, {len(t)} faults: "
            f"mean {sum(t) / len(t):.2f} s, max {max(t):.2f} s  "
            f"({' '.join(f'{x:.2f}' for x in t)})"
        )


if __name__ == "__main__":
    main()
