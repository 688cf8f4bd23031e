#!/usr/bin/env python3
"""Side-by-side benchmark: hello-world vs one chord-node vs an 8-node ring vs Redis.

Run through bench/run.sh (which installs wrk and Redis and builds the binaries).
Every row uses the same load generator (wrk, 2 threads) and concurrency, in one
run on one machine, so the printed ratios compare like with like. Everything
listens on 127.0.0.1 only, every load run is bounded in time, and every process
started here is stopped on exit.
"""

import argparse
import json
import os
import random
import re
import signal
import statistics
import tempfile
import subprocess
import sys
import time
import urllib.request

from ringlib import RELEASE, ROOT, get_json, key_id, ring_correct, wait_until

BENCH = os.path.join(ROOT, "bench")
PROCS = []


def start(cmd, **kw):
    """Starts a process, remembers it for cleanup, returns it."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, **kw)
    PROCS.append(p)
    return p


def stop_all():
    for p in PROCS:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()


def start_node(port, join=None, extra=()):
    cmd = [os.path.join(RELEASE, "chord-node"), "--listen", f"127.0.0.1:{port}"]
    if join:
        cmd += ["--join", join]
    p = start(cmd + list(extra), env={**os.environ, "RUST_LOG": "warn"})
    p.stdout.readline()  # "chord-node listening on ..." once bound
    return p


def owned_keys(port, keys):
    """The keys bench-0..keys-1 that the node on `port` owns: ids in (predecessor, self]."""
    st = get_json(f"http://127.0.0.1:{port}/status")
    me, pred = st["id"], st["predecessor"]["id"]
    out = []
    for i in range(keys):
        k = f"bench-{i}"
        h = key_id(k)
        if (pred < h <= me) if pred < me else (h > pred or h <= me):
            out.append(k)
    return out


def wrk(url, script=None, conc=50, threads=2, duration=10, env=None):
    """Runs wrk; returns (requests/s, p50 ms, p99 ms, non-2xx count)."""
    cmd = ["wrk", f"-t{threads}", f"-c{conc}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", os.path.join(BENCH, script)]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120,
                         env={**os.environ, "THREADS": str(threads), **(env or {})}).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": pct("50"), "p99": pct("99"), "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errs.group(1) if errs else ""}


def load_keys(port, keys, value_size, conc=32):
    """Writes bench-0..keys-1 exactly once each (node/examples/load.rs)."""
    out = subprocess.run([os.path.join(RELEASE, "examples", "load"), f"127.0.0.1:{port}", str(keys),
                          str(value_size), str(conc)], capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"preload failed: {out.stdout} {out.stderr}")
    print("   ", out.stdout.strip(), flush=True)


def mean_hops(ports, keys, samples=1000):
    total = 0
    for _ in range(samples):
        port = random.choice(ports)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/kv/bench-{random.randrange(keys)}")
        with urllib.request.urlopen(req, timeout=5) as r:
            total += int(r.headers["X-Chord-Hops"])
    return total / samples


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def redis_bench(port, conc, value_size, keys, requests):
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "get,set", "-d", str(value_size), "-c", str(conc),
         "-n", str(requests), "-r", str(keys), "--csv"],
        capture_output=True, text=True, timeout=600).stdout
    rows = {}
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if cells[0] in ("SET", "GET"):
            rows[cells[0]] = {"rps": float(cells[1]), "p50": float(cells[5])}
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=int, default=10, help="seconds per load run")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--value-size", type=int, default=100)
    ap.add_argument("--memory-keys", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=4,
                    help="alternating one-connection latency rounds on the ring")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    d, c, k, vs = a.duration, a.concurrency, a.keys, a.value_size
    res = {"machine": f"{os.cpu_count()} cores, {os.uname().release}", "duration_s": d,
           "concurrency": c, "keys": k, "value_size": vs}
    env = {"KEYS": str(k), "VALUE_SIZE": str(vs)}

    # Every GET row sends the same request stream (get.lua: random keys), so
    # the load generator does the same work per request in each.
    print(f"[1/5] hello-world (warp) ...", flush=True)
    hello = start([os.path.join(RELEASE, "examples", "hello"), "127.0.0.1:7900"])
    hello.stdout.readline()
    res["hello"] = wrk("http://127.0.0.1:7900", "get.lua", conc=c, duration=d, env=env)
    res["hello_c1"] = wrk("http://127.0.0.1:7900", "get.lua", conc=1, threads=1,
                          duration=max(3, d // 2), env=env)
    hello.kill()
    hello.wait()
    hello = start([os.path.join(RELEASE, "examples", "hello"), "127.0.0.1:7901", "1"])
    hello.stdout.readline()
    res["hello_t1"] = wrk("http://127.0.0.1:7901", "get.lua", conc=c, duration=d, env=env)
    # The stack's cost of one hop: a relay that makes one keep-alive reqwest
    # call to the hello-world server per request (both on one thread, as the
    # ring's nodes), against that server alone; one connection, alternating.
    relay = start([os.path.join(RELEASE, "examples", "relay"), "127.0.0.1:7902", "127.0.0.1:7901", "1"])
    relay.stdout.readline()
    one = dict(conc=1, threads=1, duration=max(3, d // 4), env=env)
    direct, relayed = [], []
    for _ in range(2):
        direct.append(wrk("http://127.0.0.1:7901", "get.lua", **one)["p50"])
        relayed.append(wrk("http://127.0.0.1:7902", "get.lua", **one)["p50"])
    res["relay_c1"] = {"direct": statistics.median(direct), "relayed": statistics.median(relayed)}
    relay.kill()
    hello.kill()

    print(f"[2/5] one chord-node (keys it owns, 0 hops) ...", flush=True)
    node = start_node(7910)
    wait_until(lambda: get_json("http://127.0.0.1:7910/readyz")["ready"], 10, "node ready")
    time.sleep(1)  # let start-up allocations settle before reading idle memory
    res["idle_rss_kib"] = rss_kib(node.pid)
    load_keys(7910, k, vs)
    res["node_get"] = wrk("http://127.0.0.1:7910", "get.lua", conc=c, duration=d, env=env)
    res["node_put"] = wrk("http://127.0.0.1:7910", "put.lua", conc=c, duration=d, env=env)
    res["node_get_c1"] = wrk("http://127.0.0.1:7910", "get.lua", conc=1, threads=1,
                             duration=max(3, d // 2), env=env)
    node.kill()
    node.wait()
    node = start_node(7912, extra=["--threads", "1"])
    wait_until(lambda: get_json("http://127.0.0.1:7912/readyz")["ready"], 10, "node ready")
    load_keys(7912, k, vs)
    res["node_get_t1"] = wrk("http://127.0.0.1:7912", "get.lua", conc=c, duration=d, env=env)
    node.kill()

    print(f"[3/5] 8-node ring (random keys through one entry node) ...", flush=True)
    ports = list(range(7920, 7928))
    # Eight nodes share two cores here: one worker thread each (--threads 1)
    # saves cross-thread wake-ups on every hop.
    start_node(ports[0], extra=["--threads", "1"])
    for p in ports[1:]:
        start_node(p, join=f"127.0.0.1:{ports[0]}", extra=["--threads", "1"])
    wait_until(lambda: ring_correct(ports), 60, "8-node ring")
    load_keys(ports[0], k, vs)
    entry = random.choice(ports)
    res["ring_entry"] = entry
    res["ring_mean_hops"] = mean_hops([entry], k)
    res["ring_get"] = wrk(f"http://127.0.0.1:{entry}", "get.lua", conc=c, duration=d, env=env)
    res["ring_put"] = wrk(f"http://127.0.0.1:{entry}", "put.lua", conc=c, duration=d, env=env)
    # Latency with one connection, in rounds that alternate between the
    # single-hop baseline (keys the entry node owns: answered by the node the
    # client talks to) and all keys (the real mix of 0 and 1+ hops), on the
    # same nodes, so both see the same machine and runtime. Each round uses
    # another entry node; the figures are medians over the rounds.
    own_p50, all_p50, hops = [], [], []
    fd, keys_file = tempfile.mkstemp(prefix="chord-bench-keys-")
    os.close(fd)
    try:
        for r in range(a.rounds):
            e = ports[(ports.index(entry) + r) % len(ports)]
            with open(keys_file, "w") as f:
                f.write("\n".join(owned_keys(e, k)) + "\n")
            one = dict(conc=1, threads=1, duration=max(3, d // 4))
            own_p50.append(wrk(f"http://127.0.0.1:{e}", "get_keys.lua", env={"KEYS_FILE": keys_file}, **one)["p50"])
            all_p50.append(wrk(f"http://127.0.0.1:{e}", "get.lua", env=env, **one)["p50"])
            hops.append(mean_hops([e], k, samples=400))
    finally:
        os.remove(keys_file)
    res["ring_c1"] = {"own_p50": own_p50, "all_p50": all_p50, "hops": hops,
                      "single_hop": statistics.median(own_p50), "median": statistics.median(all_p50),
                      "mean_hops": statistics.mean(hops)}
    stop_all()

    print(f"[4/5] Redis ...", flush=True)
    redis = start(["redis-server", "--port", "7930", "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no"])
    wait_until(lambda: subprocess.run(["redis-cli", "-p", "7930", "ping"], capture_output=True,
                                      text=True).stdout.strip() == "PONG", 10, "redis")
    res["redis"] = redis_bench(7930, c, vs, k, max(100_000, int(res["node_get"]["rps"] * d)))
    redis.kill()

    print(f"[5/5] memory with {a.memory_keys} keys of {vs}-byte values ...", flush=True)
    node = start_node(7911)
    wait_until(lambda: get_json("http://127.0.0.1:7911/readyz")["ready"], 10, "node ready")
    time.sleep(1)
    before = rss_kib(node.pid)
    load_keys(7911, a.memory_keys, vs)
    held = get_json("http://127.0.0.1:7911/status")["keys"]
    after = rss_kib(node.pid)
    key_len = sum(len(f"bench-{i}") for i in range(0, a.memory_keys, 1000)) / len(range(0, a.memory_keys, 1000))
    per_key = (after - before) * 1024 / max(held, 1)
    res["memory"] = {"keys_held": held, "rss_before_kib": before, "rss_after_kib": after,
                     "bytes_per_key": per_key, "payload_per_key": key_len + vs,
                     "overhead_per_key": per_key - key_len - vs}
    stop_all()
    report(res)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


def report(r):
    rows = [
        ("hello-world (warp)", r["hello"], r["hello_c1"]),
        ("chord-node GET (0 hops)", r["node_get"], r["node_get_c1"]),
        ("chord-node PUT (0 hops)", r["node_put"], None),
        (f"8-node ring GET ({r['ring_mean_hops']:.2f} hops)", r["ring_get"], {"p50": r["ring_c1"]["median"]}),
        ("8-node ring PUT (R=3, W=3)", r["ring_put"], None),
        ("hello-world, --threads 1", r["hello_t1"], None),
        ("chord-node GET, --threads 1", r["node_get_t1"], None),
    ]
    print(f"\nmachine: {r['machine']}; wrk 2 threads, {r['concurrency']} connections, "
          f"{r['duration_s']} s per row; {r['keys']} keys, {r['value_size']}-byte values\n")
    print(f"| {'row':<34} | {'req/s':>9} | {'p50 ms':>7} | {'p99 ms':>7} | {'p50 ms (1 conn)':>15} | errors |")
    print(f"|{'-' * 36}|{'-' * 11}|{'-' * 9}|{'-' * 9}|{'-' * 17}|--------|")
    for name, m, c1 in rows:
        lat1 = f"{c1['p50']:.3f}" if c1 else "-"
        errs = m["non2xx"]
        print(f"| {name:<34} | {m['rps']:>9.0f} | {m['p50']:>7.3f} | {m['p99']:>7.3f} | {lat1:>15} | {errs:>6} |")
    for op in ("GET", "SET"):
        m = r["redis"].get(op)
        if m:
            print(f"| {'Redis ' + op + ' (redis-benchmark)':<34} | {m['rps']:>9.0f} | {m['p50']:>7.3f} | {'-':>7} | {'-':>15} | {'-':>6} |")
    node_get, hello = r["node_get"]["rps"], r["hello"]["rps"]
    c1 = r["ring_c1"]
    print("\nratios:")
    print(f"  node GET / hello-world throughput      = {node_get / hello:.2f}   (target >= 0.80)")
    print(f"  same, both with --threads 1            = {r['node_get_t1']['rps'] / r['hello_t1']['rps']:.2f}")
    print(f"  ring GET / node GET throughput         = {r['ring_get']['rps'] / node_get:.2f}")
    print(f"  ring PUT / node PUT throughput         = {r['ring_put']['rps'] / r['node_put']['rps']:.2f}")
    if "GET" in r["redis"]:
        print(f"  node GET / Redis GET throughput        = {node_get / r['redis']['GET']['rps']:.2f}")
        print(f"  node PUT / Redis SET throughput        = {r['node_put']['rps'] / r['redis']['SET']['rps']:.2f}")
    print(f"\nring latency, 1 connection, {len(c1['all_p50'])} alternating rounds (p50 ms per round):")
    print(f"  single hop (keys the entry owns)       = {' '.join(f'{x:.3f}' for x in c1['own_p50'])}")
    print(f"  all keys                               = {' '.join(f'{x:.3f}' for x in c1['all_p50'])}")
    print(f"  mean hops                              = {' '.join(f'{x:.2f}' for x in c1['hops'])}")
    per_round = [a / ((h + 1) * o) for a, h, o in zip(c1["all_p50"], c1["hops"], c1["own_p50"])]
    print(f"  per round: median / ((hops+1) x single-hop median) = {' '.join(f'{x:.2f}' for x in per_round)}")
    h, single, med = c1["mean_hops"], c1["single_hop"], c1["median"]
    print(f"  ring median / ((hops+1) x single-hop median, same ring) = "
          f"{med:.3f} / ({h:.2f}+1) x {single:.3f} = {med / ((h + 1) * single):.2f}   (target <= 1.5;"
          f" median of the rounds' own ratios {statistics.median(per_round):.2f})")
    rl = r["relay_c1"]
    print(f"  the stack's own hop (relay -> hello)   = {rl['relayed']:.3f} vs {rl['direct']:.3f} direct: "
          f"+{(rl['relayed'] - rl['direct']) * 1000:.0f} us for one hop (ring's median request, "
          f"1 hop: +{(med - single) * 1000:.0f} us over its single hop)")
    alone = r["node_get_c1"]["p50"]
    print(f"  same, single hop taken from the lone node (row 2)       = "
          f"{med:.3f} / ({h:.2f}+1) x {alone:.3f} = {med / ((h + 1) * alone):.2f}")
    m = r["memory"]
    print("\nmemory:")
    print(f"  idle node resident                     = {r['idle_rss_kib'] / 1024:.1f} MiB   (target < 15 MiB)")
    print(f"  node with {m['keys_held']} keys               = {m['rss_after_kib'] / 1024:.1f} MiB")
    print(f"  per key: {m['bytes_per_key']:.0f} bytes, payload {m['payload_per_key']:.0f}, "
          f"overhead {m['overhead_per_key']:.0f} bytes   (target < 200)")


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
