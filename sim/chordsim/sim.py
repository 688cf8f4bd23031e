"""The simulated world: nodes, clock, network and the true live ring.

Sim owns one seeded random.Random and hands it to everything that draws
numbers, so a seed fixes the whole run. Each node runs one periodic round
(stabilize, check predecessor, fix one finger, replicate, and with
config.probe_every the merge probes of merging.py) every `period` seconds,
jittered uniformly by +-`jitter`. partition() cuts the network into groups
until heal().
"""
import random
from bisect import bisect_left, insort
from dataclasses import dataclass

from . import lookup, maintenance, merging, storage
from .ids import distance, hash_id
from .message import Msg
from .network import Network, named
from .node import Node
from .ring import Ring
from .scheduler import Scheduler


@dataclass
class Config:
    """Protocol sizes and timing. Times are simulated seconds."""

    succ_len: int = 8
    """Successor list length L."""
    replicas: int = 3
    """Replication factor R (owner included)."""
    period: float = 30.0
    """Mean time between a node's maintenance rounds."""
    jitter: float = 0.5
    """Rounds are period * uniform(1 - jitter, 1 + jitter) apart."""
    lease_periods: float = 3.0
    """Rounds a replica survives without being refreshed."""
    lookup_timeout: float = 5.0
    """Originator gives a lookup up after this long."""
    max_hops: int = 64
    """A lookup this many hops long is dropped (loop guard)."""
    shortcut: bool = True
    """Use the successor-list shortcut when routing."""
    reroute: bool = True
    """Route around a next hop that does not acknowledge."""
    chase: bool = True
    """Stabilize follows closer predecessors to the end within one round;
    False checks one candidate per round, as the Rust node does."""
    isolation: bool = False
    """The Rust node's rules for a node whose successor list emptied
    (maintenance.py); off, such a node stays cut off."""
    probe_every: int = 0
    """Ring merging (merging.py): a node probes one passive peer every this
    many rounds; 0 turns merging off (the Rust default is 4, and the Rust
    node turns merging off with passive_len 0)."""
    passive_len: int = 32
    """Peers kept in each node's passive list."""
    forget_after: int = 2400
    """A passive peer not heard from for this many rounds is forgotten."""
    quiet_after: int = 200
    """A passive peer found in our own ring is not probed for this many rounds."""
    location_cache: int = 0
    """Ranges in each node's location cache (location_cache.py); 0 = off,
    the default here so earlier results stay as they were (the Rust
    default is 4096)."""


class Sim:
    """Nodes plus the scheduler, network and truth about who is alive."""

    def __init__(self, rng: random.Random, network="reliable", config: Config = None):
        self.rng = rng
        """The only source of randomness in a run."""
        self.net = named(network) if isinstance(network, str) else network
        """Delay and loss model (network.Network)."""
        self.config = config or Config()
        """Protocol settings."""
        self.sched = Scheduler()
        """Clock and event queue."""
        self.rpc_timeout = 4 * self.net.max_delay + 0.01
        """How long a request waits for its reply."""
        self.nodes = {}
        """Live node id -> Node."""
        self.live = []
        """Sorted ids of live nodes: the truth lookups are judged against."""
        self.requests = 0
        """Request and lookup ids handed out so far."""
        self.messages = 0
        """Messages sent so far."""
        self.handlers = {"reply": Node.on_reply, **maintenance.HANDLERS,
                         **lookup.HANDLERS, **storage.HANDLERS, **merging.HANDLERS}
        """Message kind -> handler(node, msg)."""
        self.groups = {}
        """Partition: node id -> group; a message between two nodes in
        different groups is lost on arrival. Empty: one network."""

    # -- plumbing ------------------------------------------------------
    def next_request(self) -> int:
        self.requests += 1
        return self.requests

    def send(self, src: int, dst: int, kind: str, body, req: int) -> None:
        self.messages += 1
        delay = self.net.delay(self.rng)
        if delay is not None:
            self.sched.after(delay, self._deliver, Msg(kind, src, dst, req, body))

    def _deliver(self, msg: Msg) -> None:
        if self.groups and self._cut(msg.src, msg.dst):
            return
        node = self.nodes.get(msg.dst)
        if node is not None:
            node.deliver(msg)

    def _cut(self, a: int, b: int) -> bool:
        """True if a partition separates a and b (nodes in no group are not cut)."""
        ga, gb = self.groups.get(a), self.groups.get(b)
        return ga is not None and gb is not None and ga != gb

    def _round(self, node: Node) -> None:
        if not node.alive:
            return
        node.ticks += 1
        maintenance.stabilize(node)
        maintenance.check_predecessor(node)
        lookup.fix_finger(node)
        storage.replicate(node)
        if self.config.probe_every and node.joined:
            merging.tick(node)
        self._schedule_round(node)

    def _schedule_round(self, node: Node, first: bool = False) -> None:
        cfg = self.config
        gap = cfg.period * (self.rng.random() if first else
                            1 - cfg.jitter + 2 * cfg.jitter * self.rng.random())
        self.sched.after(gap, self._round, node)

    def _add(self, ident: int) -> Node:
        if ident in self.nodes:
            raise ValueError(f"node {ident:x} already live")
        node = Node(self, ident)
        self.nodes[ident] = node
        insort(self.live, ident)
        self._schedule_round(node, first=True)
        return node

    # -- truth ---------------------------------------------------------
    def owner(self, key: int) -> int:
        """The live node that should own `key` right now."""
        i = bisect_left(self.live, key)
        return self.live[i % len(self.live)]

    # -- scenario ------------------------------------------------------
    def bootstrap(self, addrs: list, keys=(), nonce: int = 0) -> None:
        """Start a stable ring of `addrs` with correct pointers and ring
        nonce `nonce`, and store `keys` (ids) on their R holders, without
        running the protocol. One address: a node that founds a ring."""
        ring = Ring(hash_id(a) for a in addrs)
        for n in ring.ids:
            node = self._add(n)
            node.joined = True
            node.lone = len(ring) == 1
            node.pred = ring.predecessor(n)
            node.succs = ring.successors(n, self.config.succ_len)
            node.remembered = node.succs
            node.fingers = _finger_map(n, ring.distinct_fingers(n))
            node.ring = nonce
        for k in keys:
            for holder in ring.replicas(k, self.config.replicas):
                self.nodes[holder].store[k] = 0.0

    def join(self, addr: str, via: int) -> int:
        """Start a node for `addr` that joins through member `via`."""
        node = self._add(hash_id(addr))
        maintenance.join(node, via)
        return node.id

    def fail(self, ident: int) -> None:
        """Crash a node: it stops answering at once."""
        node = self.nodes.pop(ident)
        node.alive = False
        self.live.pop(bisect_left(self.live, ident))

    def leave(self, ident: int) -> None:
        """Graceful leave: hand off, tell the neighbours, then stop."""
        maintenance.leave(self.nodes[ident])
        self.fail(ident)

    def partition(self, groups) -> None:
        """Cut the network into `groups` (iterables of node ids): from now on
        messages between nodes of different groups are lost."""
        self.groups = {n: g for g, members in enumerate(groups) for n in members}

    def heal(self) -> None:
        """End the partition: one network again."""
        self.groups = {}

    def lookup(self, origin: int, key: int, callback) -> None:
        """Start a client lookup at live node `origin` (it may use the
        node's location cache)."""
        lookup.start_lookup(self.nodes[origin], key, callback, use_cache=True)

    def run(self, until: float, after_each=None) -> int:
        """Advance the clock to `until`; see Scheduler.run."""
        return self.sched.run(until, after_each)


def _finger_map(n: int, fingers: list) -> dict:
    """Finger index -> node for the distinct fingers of n."""
    out, i = {}, 0
    for f in fingers:
        out[i] = f
        i = max(i + 1, distance(n, f).bit_length())
    return out
