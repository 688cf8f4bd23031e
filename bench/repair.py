#!/usr/bin/env python3
"""Time from a SIGKILL to full replication, at default intervals.

Starts N release `chord-node` processes on 127.0.0.1 (default intervals:
stabilize 250 ms, repair 1 s), writes K keys, SIGKILLs `--kill` random nodes at
the same moment, and polls every live node's `/chord/keys` until each key is on
exactly its R expected holders with one version. Prints the time from the kill
to a correct ring and to full copies. Bounded: gives up after `--timeout` s.
"""

import argparse
import bisect
import os
import random
import signal
import subprocess
import time

from ringlib import RELEASE, get_json, key_id, ring_correct, wait_until


def expected_holders(sorted_ids, kid, r):
    i = bisect.bisect_left(sorted_ids, kid) % len(sorted_ids)
    return {sorted_ids[(i + k) % len(sorted_ids)] for k in range(min(r, len(sorted_ids)))}


def placement_ok(nodes, r, keys):
    ids = sorted(nodes)
    seen = {}
    for nid, port in nodes.items():
        for e in get_json(f"http://127.0.0.1:{port}/chord/keys")["entries"]:
            seen.setdefault(e["key"], []).append((nid, e["version"]))
    if len(seen) < keys:
        return False
    for key, copies in seen.items():
        if {n for n, _ in copies} != expected_holders(ids, key_id(key), r):
            return False
        if len({v for _, v in copies}) != 1:
            return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nodes", type=int, default=16)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--kill", type=int, default=2)
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--base-port", type=int, default=7950)
    a = ap.parse_args()
    procs = {}
    try:
        ports = list(range(a.base_port, a.base_port + a.nodes))
        for p in ports:
            cmd = [os.path.join(RELEASE, "chord-node"), "--listen", f"127.0.0.1:{p}",
                   "--replicas", str(a.replicas)]
            if p != ports[0]:
                cmd += ["--join", f"127.0.0.1:{ports[0]}"]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True, env={**os.environ, "RUST_LOG": "warn"})
            words = proc.stdout.readline().split()
            procs[words[7]] = (proc, p)
        nodes = {nid: p for nid, (_, p) in procs.items()}
        wait_until(lambda: ring_correct(list(nodes.values())), 60, "the ring")
        out = subprocess.run([os.path.join(RELEASE, "examples", "load"), f"127.0.0.1:{ports[0]}",
                              str(a.keys), "100", "32"], capture_output=True, text=True, timeout=900)
        print(out.stdout.strip())
        wait_until(lambda: placement_ok(nodes, a.replicas, a.keys), a.timeout, "full copies")
        victims = random.sample(sorted(nodes), a.kill)
        killed_at = time.time()
        for v in victims:
            procs[v][0].send_signal(signal.SIGKILL)
            del nodes[v]
        t_ring = wait_until(lambda: ring_correct(list(nodes.values())), a.timeout, "the ring")
        wait_until(lambda: placement_ok(nodes, a.replicas, a.keys), a.timeout, "full copies")
        t_full = time.time() - killed_at
        print(f"{a.nodes} nodes, R={a.replicas}, {a.keys} keys, {a.kill} SIGKILLed at once "
              f"({', '.join(v[:8] for v in victims)}): ring correct after {t_ring:.2f} s, "
              f"every key on exactly {a.replicas} holders {t_full:.2f} s after the kill")
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
