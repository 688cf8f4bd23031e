"""One simulated Chord node: routing state, request plumbing, dispatch.

The protocol itself lives in maintenance.py (ring upkeep), lookup.py
(routing), storage.py (replicas) and merging.py (finding the other half of
a split ring); this file holds the state they share.
"""
from .location_cache import LocationCache
from .passive import PassiveList
from .routing import Table


class Node:
    """State of one node. Handlers are looked up by message kind."""

    def __init__(self, sim, ident: int):
        self.sim = sim
        """The world: clock, network, configuration."""
        self.id = ident
        """This node's ring id."""
        self.pred = None
        """Predecessor id, None when unknown or found dead."""
        self.succs = []
        """Successor list, nearest first, at most config.succ_len long."""
        self.fingers = {}
        """Finger index -> node id, only for indices past the successor."""
        self.next_finger = 0
        """Index fix_fingers refreshes next."""
        self.store = {}
        """Key id -> time the replica was last refreshed."""
        self.pending = {}
        """Request id -> (on_reply, on_timeout) for requests in flight."""
        self.lookups = {}
        """Lookup id -> callback(owner, hops, has_key) for own lookups."""
        self.alive = True
        """False once failed or left."""
        self.lone = False
        """Started the ring by itself: an empty successor list means "only
        me", and the first node to notify it becomes its successor. A node
        whose successors have all failed is not lone: it stays cut off."""
        self.joined = False
        """True once the node has a successor list (or started as a member)."""
        self._table = None
        """Cached routing Table, rebuilt after any pointer changes."""
        self.remembered = []
        """The last non-empty successor list: whom an isolated node asks
        (config.isolation)."""
        self.next_remembered = 0
        """Which remembered peer the next rejoin attempt asks."""
        self.ticks = 0
        """Maintenance rounds run so far: the passive list's clock."""
        self.passive = PassiveList(sim.config.passive_len, sim.config.forget_after)
        """Peers seen, probed to find the other half of a split ring."""
        self.considering = []
        """(peer, ttl) merge candidates received, acted on at the next round."""
        self.ring = 0
        """Nonce of the ring this node belongs to: set by its founder, taken
        over by joiners; probes merge only rings with the same nonce."""
        self.cache = LocationCache(sim.config.location_cache)
        """Owners' ranges learned from lookup answers (off at capacity 0)."""

    # -- routing state -------------------------------------------------
    def table(self) -> Table:
        """Routing table for next_hop, cached until a pointer changes."""
        if self._table is None:
            self._table = Table(self.id, self.pred, self.succs, self.fingers.values())
        return self._table

    def set_succs(self, succs: list) -> None:
        self.succs = succs
        if succs:
            self.remembered = succs
        self.joined = True
        self.lone = self.lone and not succs
        self._table = None

    def set_pred(self, pred) -> None:
        self.pred = pred
        self._table = None

    def forget(self, peer: int) -> None:
        """Drop every pointer to `peer`, which did not answer in time."""
        if peer in self.succs:
            self.succs = [s for s in self.succs if s != peer]
        for i in [i for i, f in self.fingers.items() if f == peer]:
            del self.fingers[i]
        if self.pred == peer:
            self.pred = None
        self.cache.forget(peer)
        self._table = None

    # -- messaging -----------------------------------------------------
    def send(self, dst: int, kind: str, body=None, req: int = 0) -> None:
        self.sim.send(self.id, dst, kind, body, req)

    def call(self, dst: int, kind: str, body, on_reply, on_timeout) -> None:
        """Send a request; exactly one of the callbacks runs later."""
        req = self.sim.next_request()
        self.pending[req] = (on_reply, on_timeout)
        self.sim.send(self.id, dst, kind, body, req)
        self.sim.sched.after(self.sim.rpc_timeout, self._expire, req)

    def _expire(self, req: int) -> None:
        callbacks = self.pending.pop(req, None)
        if callbacks is not None and self.alive:
            callbacks[1]()

    def reply(self, msg, body=None) -> None:
        self.send(msg.src, "reply", body, msg.req)

    def on_reply(self, msg) -> None:
        callbacks = self.pending.pop(msg.req, None)
        if callbacks is not None:
            callbacks[0](msg.body)

    def deliver(self, msg) -> None:
        """Dispatch an arriving message to its handler."""
        self.sim.handlers[msg.kind](self, msg)
