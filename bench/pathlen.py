#!/usr/bin/env python3
"""Mean hops per request, cold and warm, on rings of process nodes.

For each ring size N (default 8, 16, 32, 64), two rings of the release
chord-node side by side in time:
  * cold: `--location-cache 0`, every request routed by the ring (successor
    list shortcut and fingers), the path length Chord gives;
  * warm: the default location cache, after a warm-up of `--warm-factor`
    x N GETs per node through random entry nodes (each entry then has heard
    from nearly every owner).
Each is measured over `--requests` GETs of random keys through random entry
nodes, hops read from `X-Chord-Hops` (forwards actually taken). Prints one
line per N and a table at the end.

Only the standard library; every process started is killed on the way out.

    cargo build --release -p chord-node && python3 bench/pathlen.py
"""

import argparse
import http.client
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ringlib import RELEASE, Ring, get_json, ring_correct, wait_until  # noqa: E402


class Clients:
    """One keep-alive connection per node, reopened if it breaks."""

    def __init__(self, ports):
        self.ports = ports
        self.conns = {}

    def get(self, port, key):
        """GET /kv/KEY through `port`: (status, hops)."""
        for _ in range(2):
            conn = self.conns.get(port)
            if conn is None:
                conn = self.conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", f"/kv/{key}")
                r = conn.getresponse()
                r.read()
                return r.status, int(r.getheader("X-Chord-Hops", "0"))
            except (OSError, http.client.HTTPException):
                conn.close()
                self.conns.pop(port, None)
        raise SystemExit(f"node on port {port} does not answer")

    def put(self, port, key, body):
        """PUT /kv/KEY through `port`; returns the status."""
        conn = self.conns.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conns[port] = conn
        conn.request("PUT", f"/kv/{key}", body=body, headers={"content-type": "application/json"})
        r = conn.getresponse()
        r.read()
        return r.status

    def close(self):
        for c in self.conns.values():
            c.close()


def finger_tables(ports):
    """Every node's finger list (addresses), in port order."""
    return [
        [f["addr"] for f in get_json(f"http://127.0.0.1:{p}/status")["fingers"]] for p in ports
    ]


class Settled:
    """A condition for `wait_until`: every finger table unchanged for `quiet` s."""

    def __init__(self, ports, quiet=3.0):
        self.ports, self.quiet = ports, quiet
        self.last, self.since = None, 0.0

    def __call__(self):
        now, tables = time.time(), finger_tables(self.ports)
        if tables != self.last:
            self.last, self.since = tables, now
        return now - self.since >= self.quiet


def mean_hops(clients, ports, keys, requests, rng):
    total, counted = 0, 0
    for _ in range(requests):
        status, hops = clients.get(rng.choice(ports), rng.choice(keys))
        if status == 200:
            total += hops
            counted += 1
    return total / max(counted, 1)


def run(binary, n, args, warm, requests, port0, logdir, seed):
    ring = Ring(binary, n, port0, logdir, args)
    clients = Clients(ring.ports)
    try:
        wait_until(lambda: ring_correct(ring.ports), 120, f"{n}-node ring")
        wait_until(Settled(ring.ports), 120, f"{n}-node fingers to settle")
        rng = random.Random(seed)
        keys = [f"k{i}" for i in range(1000)]
        for k in keys:
            if clients.put(rng.choice(ring.ports), k, b'{"v":1}') != 200:
                raise SystemExit(f"put {k} failed")
        for _ in range(warm):
            clients.get(rng.choice(ring.ports), rng.choice(keys))
        return mean_hops(clients, ring.ports, keys, requests, rng)
    finally:
        clients.close()
        ring.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(RELEASE, "chord-node"))
    ap.add_argument("--sizes", default="8,16,32,64")
    ap.add_argument(
        "--warm-factor",
        type=int,
        default=4,
        help="warm-up: this many times N GETs per node (each entry then has asked about every owner's range a few times)",
    )
    ap.add_argument("--requests", type=int, default=2000, help="measured GETs per ring")
    ap.add_argument("--port0", type=int, default=21000, help="first port (below the ephemeral range, so no outgoing connection holds it)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="chord-pathlen-") as logdir:
        for n in [int(x) for x in a.sizes.split(",")]:
            cold = run(a.binary, n, ["--location-cache", "0"], 0, a.requests, a.port0, logdir, a.seed)
            warm = run(a.binary, n, [], a.warm_factor * n * n, a.requests, a.port0 + 200, logdir, a.seed)
            print(f"N={n}: mean hops cold {cold:.2f}, warm {warm:.2f}", flush=True)
            rows.append((n, cold, warm))
    print("\n| nodes | cold (no cache) | warm (cache) |\n|---:|---:|---:|")
    for n, cold, warm in rows:
        print(f"| {n} | {cold:.2f} | {warm:.2f} |")


if __name__ == "__main__":
    main()
