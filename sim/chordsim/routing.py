"""Next-hop choice: a pure function of one node's routing state.

At node n for key k, with predecessor p, successor list S and fingers F:
1. p known and k in (p, n]         -> n owns k, stop.
2. k in (n, S[0]]                  -> go to S[0], which owns k.
3. k in (S[i], S[i+1]]             -> go to S[i+1], which owns k
   (the successor-list shortcut; left out for plain Chord).
4. else the closest preceding node: the candidate c in (n, k) (open)
   farthest clockwise from n, among fingers and successors; if none, S[0].

A request sent to a node as the key's presumed owner by a location cache
carries the owner hint, and the receiver applies the Rust node's hint rule
(`RouteView::hinted_route` in node/src/routing.rs, see hinted_hop). Hops by
rules 2 and 3 are modelled without it: they are final (the receiver
answers), which is the same on the stable rings the static experiments use.
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


def hinted_hop(t: Table, key: int, shortcut: bool = True):
    """next_hop for a request that reached t.node as the key's presumed
    owner. A key this node owns, or one between it and its last successor,
    goes by next_hop. Any other key is behind it: a node joined there and
    took it, so it goes back to the predecessor, still hinted. With no
    predecessor nobody knows better than the sender, and this node takes
    it. Returns (next, hinted): next None means answer here."""
    if (t.pred is not None and in_half_open(key, t.pred, t.node)) or (
            t.succs and in_half_open(key, t.node, t.succs[-1])):
        nxt, _final = next_hop(t, key, shortcut)
        return nxt, False
    if t.pred is None:
        return None, False
    return t.pred, True


def route(tables: dict, entry: int, key: int, shortcut: bool = True, cache=None) -> list:
    """Path of a lookup on a static ring: the nodes visited after `entry`.

    `cache` is the entry's LocationCache, or None for plain routing. Unless
    the entry owns the key, a key in a cached range is sent straight to the
    cached owner (one hop) with the owner hint, and if the guess was wrong
    the receiver routes on by the hint rule (hinted_hop); the owner's answer
    then teaches the entry its range. A
    guessed owner missing from `tables` has left the ring: the entry drops
    it from the cache and routes as usual (the failed send is not a hop;
    in the real node it costs a timeout or a refused connection).
    """
    if cache is None or next_hop(tables[entry], key, shortcut)[0] is None:
        return _walk(tables, entry, key, shortcut)
    guess = cache.lookup(key)
    if guess is not None and guess not in tables:
        cache.forget(guess)
        guess = None
    if guess is None or guess == entry:
        path = _walk(tables, entry, key, shortcut)
    else:
        path = [guess] + _hinted_walk(tables, guess, key, shortcut)
    owner = path[-1]
    if tables[owner].pred is not None:
        cache.learn(tables[owner].pred, owner)
    return path


def _hinted_walk(tables: dict, node: int, key: int, shortcut: bool) -> list:
    """The nodes visited after `node`, which got the key with the owner hint."""
    path = []
    hinted = True
    while hinted:
        nxt, hinted = hinted_hop(tables[node], key, shortcut)
        if nxt is None:
            return path
        path.append(nxt)
        if len(path) > len(tables):
            raise RuntimeError(f"hinted loop from {node:x} for key {key:x}")
        node = nxt
    return path + _walk(tables, node, key, shortcut)


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
