"""A stable ring computed directly with bisect: routing tables, and where
keys live when nodes take virtual-node positions.

The static experiments (path length, load balance) use these instead of
running stabilization: on a stable ring the protocol converges to exactly
these tables, so the shortcut only saves time. `Placement` is the one home
of virtual-node placement (the Rust `peer::position_id`, `position_addr`
and `placement::holders_of`): the load experiment and the vnode vectors
use it.
"""
import random
from bisect import bisect_left
from typing import NamedTuple

from .ids import SIZE, hash_id
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


class Position(NamedTuple):
    """One position a node takes on the ring (a virtual node)."""

    id: int
    """Ring id of the position."""
    addr: str
    """Address the position answers at: the advertise address, or `addr/v{i}`."""

    @property
    def host(self) -> str:
        """The physical node: the address before the first "/"."""
        return host_of(self.addr)


def host_of(addr: str) -> str:
    """The physical node of a position address (the Rust `Peer::host`)."""
    return addr.split("/", 1)[0]


def position_id(advertise: str, i: int, vnodes: int) -> int:
    """Id of position i of a node: sha1(advertise) alone when vnodes is 1,
    else sha1(f"{advertise}#{i}"), so one virtual node keeps the plain id."""
    return hash_id(advertise if vnodes == 1 else f"{advertise}#{i}")


def position_addr(advertise: str, i: int) -> str:
    """Address of position i: the bare address for 0, else `advertise/v{i}`."""
    return advertise if i == 0 else f"{advertise}/v{i}"


def positions(advertise: str, vnodes: int) -> list:
    """The `vnodes` positions of the node advertised as `advertise`."""
    return [Position(position_id(advertise, i, vnodes), position_addr(advertise, i))
            for i in range(vnodes)]


class Placement:
    """Where keys live on a ring of positions (the Rust
    `placement::holders_of` over sorted positions).

    A key's owner is the first position clockwise from the key (inclusive);
    its holders are the owner and the first positions of the next R - 1
    distinct hosts, so the R copies sit on R machines.
    """

    def __init__(self, given):
        self.positions = sorted(given)
        """Every position, in increasing id order."""
        self.ids = [p.id for p in self.positions]
        if not self.ids:
            raise ValueError("a ring needs at least one node")
        # Two positions with one id (hand-made, or a SHA-1 collision) would
        # leave the owner of that id to the sort order.
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("two positions share an id")

    @classmethod
    def of_nodes(cls, addrs, vnodes: int) -> "Placement":
        """The ring of the nodes advertised as `addrs`, `vnodes` positions each."""
        return cls(p for a in addrs for p in positions(a, vnodes))

    def owner_index(self, key: int) -> int:
        """Index of the first position with id >= key, wrapping to 0."""
        i = bisect_left(self.ids, key)
        return 0 if i == len(self.ids) else i

    def holder_indices(self, key: int, replicas: int) -> list:
        """Indices of the owner and the next replicas - 1 distinct hosts'
        first positions clockwise (fewer if the ring has fewer hosts)."""
        start, size = self.owner_index(key), len(self.positions)
        out, hosts = [], set()
        for k in range(size):
            if len(out) >= replicas:
                break
            p = self.positions[(start + k) % size]
            if p.host not in hosts:
                hosts.add(p.host)
                out.append((start + k) % size)
        return out

    def owner(self, key: int) -> Position:
        """The position that owns key."""
        return self.positions[self.owner_index(key)]

    def holders(self, key: int, replicas: int) -> list:
        """The positions holding copies of key, owner first."""
        return [self.positions[i] for i in self.holder_indices(key, replicas)]

    def shares(self) -> dict:
        """Fraction of the ring each host owns: the sum of its positions'
        arcs (pred, pos]. A one-position ring owns it all."""
        out = {}
        for pred, p in zip([self.positions[-1]] + self.positions, self.positions):
            arc = (p.id - pred.id) % SIZE or SIZE
            out[p.host] = out.get(p.host, 0) + arc
        return {h: arc / SIZE for h, arc in out.items()}
