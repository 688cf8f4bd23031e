"""Test vectors for the Rust node: sim/vectors/ring-v1.json (ring
arithmetic, tables, owners, routes) and sim/vectors/vnodes-v1.json
(virtual-node positions, holders on distinct hosts, ring shares).

Everything is derived from fixed addresses and keys plus one seeded RNG,
so regenerating gives the same bytes. Ids are 40-hex strings.
"""
import json
import random
from pathlib import Path

from .ids import SIZE, finger_start, hash_id, to_hex
from .interval import in_half_open, in_open
from .ring import Ring
from .routing import Table, route
from .static import Placement

SUCC_LEN = 8
REPLICAS = 3
SEED = 20240601
VECTOR_PATH = Path(__file__).resolve().parent.parent / "vectors" / "ring-v1.json"
VNODE_PATH = VECTOR_PATH.with_name("vnodes-v1.json")
VNODE_CASES = [(16, 16, 300), (16, 1, 100), (3, 4, 200), (1, 4, 20)]
"""(hosts, vnodes, keys) of each vnode case: the main ring, the same hosts
without virtual nodes, three hosts where copies skip many positions of a
host already holding the key, and one host (one copy)."""


ODD_KEYS = ["ユーザー:1", "emoji-🔑", "users/42/profile", "ключ", "k\u00e9y", "日本 語"]
"""Keys beyond key-N: non-ASCII, a "/" and a space."""


def vector_keys(count: int) -> list:
    """key-0 .. key-(count-1) followed by the odd keys."""
    return [f"key-{i}" for i in range(count)] + ODD_KEYS


def ring_section(addrs: list, keys: list, routes: int, rng: random.Random) -> dict:
    """nodes, tables, keys and routes of the ring made of `addrs`."""
    by_id = {hash_id(a): a for a in addrs}
    ring = Ring(by_id)
    name = by_id.__getitem__
    tables = []
    routing = {}
    for n in ring.ids:
        succs, fingers = ring.successors(n, SUCC_LEN), ring.fingers(n)
        pred = ring.predecessor(n)
        routing[n] = Table(n, pred, succs, fingers)
        tables.append({"addr": name(n), "id": to_hex(n), "predecessor": name(pred),
                       "successors": [name(s) for s in succs],
                       "fingers": [name(f) for f in fingers]})
    tables.sort(key=lambda t: t["addr"])
    key_rows = []
    for k in keys:
        kid = hash_id(k)
        reps = ring.replicas(kid, REPLICAS)
        key_rows.append({"key": k, "id": to_hex(kid), "owner": name(reps[0]),
                         "replicas": [name(r) for r in reps]})
    route_rows = []
    for _ in range(routes):
        entry, k = rng.choice(addrs), rng.choice(keys)
        path = route(routing, hash_id(entry), hash_id(k))
        route_rows.append({"entry": entry, "key": k, "path": [name(p) for p in path],
                           "hops": len(path)})
    nodes = [{"addr": a, "id": to_hex(hash_id(a))} for a in sorted(addrs)]
    return {"nodes": nodes, "tables": tables, "keys": key_rows, "routes": route_rows}


def interval_cases(rng: random.Random) -> list:
    """Interval cases: wrap-around, a == b, x on either end, 0 and 2^160-1."""
    top = SIZE - 1
    r = lambda: rng.getrandbits(160)  # noqa: E731
    a, b = sorted([r(), r()])
    triples = [(0, 0, 0), (top, top, top), (0, top, 0), (top, top, 0), (0, top, top),
               (5, 10, 10), (10, 10, 5), (7, 10, 5), (3, 10, 5), (10, 5, 10),
               (5, 5, 10), (0, 5, 10), (top, 5, 10), (11, 10, 5), (4, 10, 5),
               (a, a, b), (b, a, b), ((a + b) // 2, a, b), ((a + b) // 2, b, a),
               (a, b, a), (b, b, a), (0, b, a), (top, b, a), (b + 1, b, a),
               (a - 1, b, a), (a + 1, a, a), (a, a, a), (0, top, 1), (1, top, 1),
               (top, 1, top), (2, 1, top)]
    while len(triples) < 48:
        triples.append((r(), r(), r()))
    return [{"x": to_hex(x), "a": to_hex(a), "b": to_hex(b),
             "open": in_open(x, a, b), "half_open": in_half_open(x, a, b)}
            for x, a, b in triples]


def finger_cases(rng: random.Random, node_ids: list) -> list:
    """Finger starts, including i = 0, i = 159 and wraps past 2^160."""
    pairs = [(0, 0), (0, 159), (SIZE - 1, 0), (SIZE - 1, 159), (SIZE - 1, 100),
             ((1 << 159) + 5, 159), ((1 << 159) - 1, 159)]
    for n in node_ids[:8]:
        pairs += [(n, 0), (n, 159), (n, rng.randrange(1, 159))]
    while len(pairs) < 40:
        pairs.append((rng.getrandbits(160), rng.randrange(160)))
    return [{"n": to_hex(n), "i": i, "start": to_hex(finger_start(n, i))} for n, i in pairs]


def generate() -> dict:
    """The whole vector document."""
    rng = random.Random(SEED)
    addrs = [f"node-{i:02d}:7000" for i in range(32)]
    main = ring_section(addrs, vector_keys(200), 300, rng)
    small = [ring_section([f"node-{i:02d}:7000" for i in range(size)],
                          vector_keys(20), 40, rng) for size in (1, 2, 3)]
    return {"format": "chord-ring-vectors-v1", "successor_list_length": SUCC_LEN,
            "replicas": REPLICAS, **main,
            "intervals": interval_cases(rng),
            "finger_starts": finger_cases(rng, sorted(hash_id(a) for a in addrs)),
            "small_rings": small}


def vnode_case(hosts: int, vnodes: int, key_count: int) -> dict:
    """Positions, key holders and host shares of `hosts` nodes with `vnodes`
    positions each; addresses as in ring-v1 (node-00:7000, ...)."""
    addrs = [f"node-{i:02d}:7000" for i in range(hosts)]
    ring = Placement.of_nodes(addrs, vnodes)
    key_rows = []
    for k in vector_keys(key_count):
        kid = hash_id(k)
        held = ring.holders(kid, REPLICAS)
        key_rows.append({"key": k, "id": to_hex(kid), "owner": held[0].addr,
                         "holders": [p.addr for p in held]})
    shares = ring.shares()
    return {"hosts": addrs, "vnodes": vnodes,
            "positions": [{"id": to_hex(p.id), "addr": p.addr, "host": p.host}
                          for p in ring.positions],
            "keys": key_rows, "shares": shares,
            "busiest_over_mean": max(shares.values()) * hosts}


def generate_vnodes() -> dict:
    """The whole vnode vector document."""
    return {"format": "chord-vnode-vectors-v1", "replicas": REPLICAS,
            "cases": [vnode_case(*c) for c in VNODE_CASES]}


def render(doc: dict) -> str:
    """Canonical text: sorted keys, indent 1, UTF-8 kept, trailing newline."""
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def write(path: Path = VECTOR_PATH, doc: dict = None) -> Path:
    """Regenerate the vector file at `path` (ring-v1 unless `doc` is given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(generate() if doc is None else doc), encoding="utf-8")
    return path


def write_vnodes(path: Path = VNODE_PATH) -> Path:
    """Regenerate the vnode vector file at `path`."""
    return write(path, generate_vnodes())
