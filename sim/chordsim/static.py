"""Routing tables of a stable ring, computed directly with bisect.

The static experiments (path length, load balance) use these instead of
running stabilization: on a stable ring the protocol converges to exactly
these tables, so the shortcut only saves time.
"""
import random

from .ids import hash_id
from .ring import Ring
from .routing import Table


def random_addresses(rng: random.Random, count: int) -> list:
    """`count` distinct made-up addresses "a.b.c.d:port" drawn from rng."""
    seen = set()
    while len(seen) < count:
        ip = rng.getrandbits(32)
        seen.add(f"{ip >> 24}.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}:7000")
    return sorted(seen)


def random_ring(rng: random.Random, count: int) -> Ring:
    """A ring of `count` nodes whose ids hash random addresses."""
    return Ring(hash_id(a) for a in random_addresses(rng, count))


def build_tables(ring: Ring, succ_len: int = 8) -> dict:
    """Stable routing table of every node, keyed by node id."""
    return {
        n: Table(n, ring.predecessor(n), ring.successors(n, succ_len), ring.distinct_fingers(n))
        for n in ring.ids
    }
