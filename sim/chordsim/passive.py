"""The passive list: peers a node has seen, probed now and then so that a
ring split by a partition finds its other half again (Rust:
node/src/ring/passive.rs, line for line).

Pure bookkeeping in the node's own ticks (maintenance rounds); merging.py
decides what a probe's answer means. Entries keep their Rust order, because
ties in next_probe go to the first entry and eviction swaps the last entry
into the freed slot.
"""
from dataclasses import dataclass


@dataclass
class Seen:
    """One remembered peer."""

    peer: int
    """Its node id."""
    seen_at: int
    """Last tick it was in our view or answered a probe."""
    probed_at: int = 0
    """Last tick we probed it (0: never)."""
    quiet_until: int = 0
    """Not probed before this tick: it was just found to be in our own ring."""


class PassiveList:
    """A bounded list of peers seen; the one heard from longest ago goes first."""

    def __init__(self, cap: int, forget_after: int):
        self.entries = []
        """Seen records in Rust Vec order."""
        self.cap = cap
        """Most peers kept; 0 keeps none."""
        self.forget_after = forget_after
        """A peer not seen for this many ticks is dropped."""

    def saw(self, peer: int, now: int) -> None:
        """Record that `peer` was in our view, or answered, at tick `now`."""
        for e in self.entries:
            if e.peer == peer:
                e.seen_at = now
                return
        if self.cap == 0:
            return
        if len(self.entries) >= self.cap:
            oldest = min(range(len(self.entries)), key=lambda i: self.entries[i].seen_at)
            # Vec::swap_remove: the last entry takes the freed slot.
            self.entries[oldest] = self.entries[-1]
            self.entries.pop()
        self.entries.append(Seen(peer, now))

    def next_probe(self, now: int, in_view):
        """The peer to probe at tick `now`, or None: of those not in our view
        (`in_view(id)` false) and not quiet, the one probed longest ago, ties
        to the one seen last. Peers unseen for forget_after ticks go first."""
        self.entries = [e for e in self.entries
                        if max(0, now - e.seen_at) <= self.forget_after or in_view(e.peer)]
        best = None
        for i, e in enumerate(self.entries):
            if e.quiet_until <= now and not in_view(e.peer):
                key = (e.probed_at, -e.seen_at)
                if best is None or key < best[0]:
                    best = (key, i)
        if best is None:
            return None
        chosen = self.entries[best[1]]
        chosen.probed_at = now
        return chosen.peer

    def quiet(self, peer: int, until: int) -> None:
        """`peer` turned out to be in our own ring: leave it alone until `until`."""
        for e in self.entries:
            if e.peer == peer:
                e.quiet_until = until

    def __len__(self):
        return len(self.entries)
