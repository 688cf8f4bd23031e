"""A static, fully stabilized ring computed straight from the sorted ids.

This is the answer the protocol converges to: every pointer is what
`successor()` says it should be. The vectors, the invariant checks and the
static experiments (path length, load balance) use it; the event-driven
protocol in `node.py` has to reach the same state by itself.
"""
from bisect import bisect_left

from .ids import BITS, SIZE, distance


class Ring:
    """Sorted, distinct node ids with successor arithmetic."""

    def __init__(self, ids):
        self.ids = sorted(set(ids))
        """Node ids in increasing order."""
        if not self.ids:
            raise ValueError("a ring needs at least one node")

    def __len__(self):
        return len(self.ids)

    def index_of_successor(self, x: int) -> int:
        """Index of the first node with id >= x, wrapping to 0."""
        i = bisect_left(self.ids, x)
        return 0 if i == len(self.ids) else i

    def successor(self, x: int) -> int:
        """First node clockwise from x (x itself if x is a node)."""
        return self.ids[self.index_of_successor(x)]

    def predecessor(self, n: int) -> int:
        """The node before node n (n itself on a one-node ring)."""
        return self.ids[bisect_left(self.ids, n) - 1]

    def after(self, n: int, count: int) -> list:
        """The next `count` distinct nodes clockwise after node n, never n."""
        i = bisect_left(self.ids, n)
        size = len(self.ids)
        count = min(count, size - 1)
        return [self.ids[(i + j) % size] for j in range(1, count + 1)]

    def successors(self, n: int, length: int) -> list:
        """Successor list of node n: the next `length` distinct nodes."""
        return self.after(n, length)

    def replicas(self, key: int, factor: int) -> list:
        """Owner of key followed by the next factor-1 distinct nodes."""
        owner = self.successor(key)
        return [owner] + self.after(owner, factor - 1)

    def fingers(self, n: int) -> list:
        """All 160 fingers of n: finger[i] = successor(n + 2^i)."""
        return [self.successor((n + (1 << i)) % SIZE) for i in range(BITS)]

    def distinct_fingers(self, n: int) -> list:
        """The distinct values of n's fingers, in increasing distance.

        Finger i is the same node f for every i with 2^i <= distance(n, f),
        so after finding f we skip straight to i = bit_length(distance).
        """
        out = []
        i = 0
        while i < BITS:
            f = self.successor((n + (1 << i)) % SIZE)
            if not out or out[-1] != f:
                out.append(f)
            d = distance(n, f)
            if d == 0:
                break
            i = max(i + 1, d.bit_length())
        return out
