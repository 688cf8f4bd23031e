"""Next-hop choice: a pure function of one node's routing state.

At node n for key k, with predecessor p, successor list S and fingers F:
1. p known and k in (p, n]         -> n owns k, stop.
2. k in (n, S[0]]                  -> go to S[0], which owns k.
3. k in (S[i], S[i+1]]             -> go to S[i+1], which owns k
   (the successor-list shortcut; left out for plain Chord).
4. else the closest preceding node: the candidate c in (n, k) (open)
   farthest clockwise from n, among fingers and successors; if none, S[0].
"""
from bisect import bisect_left

from .ids import SIZE
from .interval import in_half_open


class Table:
    """One node's routing state, with candidates pre-sorted by distance."""

    __slots__ = ("node", "pred", "succs", "dists", "cands")

    def __init__(self, node, pred, succs, fingers):
        self.node = node
        """This node's id."""
        self.pred = pred
        """Predecessor id, or None if unknown."""
        self.succs = list(succs)
        """Successor list, nearest first."""
        pairs = sorted({((c - node) % SIZE, c) for c in list(fingers) + self.succs if c != node})
        self.dists = [d for d, _ in pairs]
        """Clockwise distances of the candidates from this node, ascending."""
        self.cands = [c for _, c in pairs]
        """Candidate ids (fingers and successors), same order as dists."""


def next_hop(t: Table, key: int, shortcut: bool = True):
    """Return (next, final): next is None if t.node owns the key; final
    says the next node owns the key and must not route further."""
    n, succs = t.node, t.succs
    if t.pred is not None and in_half_open(key, t.pred, n):
        return None, True
    if not succs and t.pred is None:
        return None, True  # alone
    if succs and in_half_open(key, n, succs[0]):
        return succs[0], True
    if shortcut:
        for i in range(len(succs) - 1):
            if in_half_open(key, succs[i], succs[i + 1]):
                return succs[i + 1], True
    d = (key - n) % SIZE or SIZE
    i = bisect_left(t.dists, d) - 1
    if i >= 0:
        return t.cands[i], False
    # No successor left but a predecessor: the rest of the ring is behind it.
    return (succs[0], False) if succs else (t.pred, False)


def route(tables: dict, entry: int, key: int, shortcut: bool = True, cache=None) -> list:
    """Path of a lookup on a static ring: the nodes visited after `entry`.

    `cache` is the entry's LocationCache, or None for plain routing. Unless
    the entry owns the key, a key in a cached range is sent straight to the
    cached owner (one hop) and routed on from there as usual if the guess
    was wrong; the owner's answer then teaches the entry its range.
    """
    if cache is None or next_hop(tables[entry], key, shortcut)[0] is None:
        return _walk(tables, entry, key, shortcut)
    guess = cache.lookup(key)
    if guess is None or guess == entry:
        path = _walk(tables, entry, key, shortcut)
    else:
        path = [guess] + _walk(tables, guess, key, shortcut)
    owner = path[-1]
    if tables[owner].pred is not None:
        cache.learn(tables[owner].pred, owner)
    return path


def _walk(tables: dict, entry: int, key: int, shortcut: bool) -> list:
    """Hop by hop by next_hop from `entry`: the nodes visited after it."""
    path = []
    node = entry
    limit = 2 * len(tables) + 4
    while True:
        nxt, final = next_hop(tables[node], key, shortcut)
        if nxt is None:
            return path
        path.append(nxt)
        if final:
            return path
        if len(path) > limit:
            raise RuntimeError(f"routing loop from {entry:x} for key {key:x}")
        node = nxt
