"""Location cache: the key ranges of owners an entry node has heard from.

When a lookup's owner answers the entry node directly, the answer carries
the owner's id and its predecessor's id, so the entry learns that the
owner holds (pred, owner]. The next lookup for a key in a remembered range
goes straight to that owner as its first hop. The Rust node keeps the
same cache (issue #13); this is its model, a pure class with no clock and
no network.

Remembered ranges never overlap: learning a range drops every range it
overlaps (the newer answer wins). Since two disjoint ranges cannot end at
the same id, each range is stored under its end, the owner's id, which
also means an owner has at most one range. A range (a, a] is the whole
ring (a one-node ring: the owner is its own predecessor).
"""
from bisect import bisect_left, insort
from collections import OrderedDict

from .interval import in_half_open

DEFAULT_CAPACITY = 4096
"""Ranges a node remembers unless told otherwise (the Rust default)."""


class LocationCache:
    """Up to `capacity` disjoint ranges (pred, owner], least recently used
    dropped first; capacity 0 turns the cache off."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        if capacity < 0:
            raise ValueError("capacity must be >= 0")
        self.capacity = capacity
        """Most ranges held at once; 0 = off (learn ignores, lookup misses)."""
        self._ranges = OrderedDict()
        """Owner id -> (pred id, owner handle), least recently used first."""
        self._ends = []
        """The owner ids of _ranges, sorted: bisect finds the range of a key."""
        self.hits = 0
        """Lookups that found a range."""
        self.misses = 0
        """Lookups that found none."""

    def __len__(self) -> int:
        return len(self._ranges)

    def ranges(self) -> list:
        """(pred id, owner id) of every range held, least recently used first."""
        return [(pred, end) for end, (pred, _) in self._ranges.items()]

    def lookup(self, key: int):
        """The owner handle of the range holding `key`, or None. A hit
        counts as a use for the LRU order."""
        end = self._first_end_from(key)
        # Ranges are disjoint, so if any range holds the key it is the one
        # that ends first at or after it: every other end is past that one.
        if end is None or not in_half_open(key, self._ranges[end][0], end):
            self.misses += 1
            return None
        self.hits += 1
        self._ranges.move_to_end(end)
        return self._ranges[end][1]

    def learn(self, pred_id: int, owner_id: int, owner=None) -> None:
        """Remember that `owner` (default: its id) holds (pred_id, owner_id],
        replacing every range that overlaps it."""
        if self.capacity == 0:
            return
        for end in self._overlapping(pred_id, owner_id):
            self._drop(end)
        self._ranges[owner_id] = (pred_id, owner_id if owner is None else owner)
        insort(self._ends, owner_id)
        while len(self._ranges) > self.capacity:
            oldest = next(iter(self._ranges))
            self._drop(oldest)

    def forget(self, owner) -> bool:
        """Drop the ranges of an owner found dead, named by its id or its
        handle; True if there was one."""
        if owner in self._ranges:
            self._drop(owner)
            return True
        # Rare (a node found dead), so a scan of the handles is fine.
        ends = [end for end, (_, handle) in self._ranges.items() if handle == owner]
        for end in ends:
            self._drop(end)
        return bool(ends)

    # -- internals -----------------------------------------------------
    def _first_end_from(self, x: int):
        """The first range end clockwise from x (x itself included), or None."""
        if not self._ends:
            return None
        i = bisect_left(self._ends, x)
        return self._ends[i % len(self._ends)]

    def _overlapping(self, pred_id: int, owner_id: int) -> list:
        """Ends of the held ranges that overlap (pred_id, owner_id].

        Two ranges on a circle overlap exactly when one holds the other's
        end. The held ranges that (pred, owner] holds the end of are a run
        of _ends; the only held range that can hold owner_id without ending
        inside (pred, owner] is the one ending first at or after owner_id.
        """
        if pred_id == owner_id:
            return list(self._ends)  # the new range is the whole ring
        out = self._ends_in(pred_id, owner_id)
        nxt = self._first_end_from(owner_id)
        if nxt is not None and nxt not in out and in_half_open(owner_id, self._ranges[nxt][0], nxt):
            out.append(nxt)
        return out

    def _ends_in(self, a: int, b: int) -> list:
        """Held ends in (a, b], a != b, with wrap-around past zero."""
        ends = self._ends
        lo = bisect_left(ends, a + 1)
        hi = bisect_left(ends, b + 1)
        if a < b:
            return ends[lo:hi]
        return ends[lo:] + ends[:hi]

    def _drop(self, end: int) -> None:
        del self._ranges[end]
        del self._ends[bisect_left(self._ends, end)]
