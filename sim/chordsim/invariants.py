"""Checks on the live system, cheap enough to run after every event.

Nodes still joining (no successor list yet) are not members and are
skipped; a lone node (the first one, empty successor list) is its own
successor. check_ring holds at all times in a run whose failures never take out a
node's whole successor list: following each node's first live successor
leads every live node into exactly one cycle, and that cycle goes round
the identifier space exactly once (it is ordered). check_stable and
check_replicas hold once stabilization has finished. successor_cycles and
wrong_pointer do not raise: they count rings and check one side of a
partition (the merge experiment).
"""
from .interval import in_half_open
from .ring import Ring


def best_successor(sim, node):
    """First entry of node's successor list that is alive, or None."""
    for s in node.succs:
        if s in sim.nodes:
            return s
    return None


def successor_map(sim) -> dict:
    """Member id -> its first live successor (itself for a lone node, or a
    node cut off with no successor at all)."""
    nxt = {}
    for n, node in sim.nodes.items():
        if not node.joined:
            continue
        s = best_successor(sim, node)
        nxt[n] = n if s is None and not node.succs else s
    return nxt


def successor_cycles(sim) -> list:
    """The cycles that following first live successors ends in: one per
    ring (a node with an empty successor list is a ring of its own)."""
    nxt = successor_map(sim)
    state = {}
    cycles = []
    for start in nxt:
        path, n = [], start
        while n is not None and n not in state:
            state[n] = start
            path.append(n)
            n = nxt[n]
        if n is not None and state[n] == start:
            cycles.append(path[path.index(n):])
    return cycles


def check_ring(sim) -> None:
    """One ordered ring that every live node reaches; AssertionError if not."""
    nxt = {}
    for n, node in sim.nodes.items():
        if not node.joined:
            continue
        s = n if node.lone and not node.succs else best_successor(sim, node)
        assert s is not None, f"node {n:x} has no live successor"
        nxt[n] = s
    cycles = successor_cycles(sim)
    assert len(cycles) == 1, f"{len(cycles)} cycles"
    cycle = cycles[0]
    wraps = sum(1 for i, n in enumerate(cycle) if nxt[n] <= n)
    assert wraps == 1, f"ring wraps {wraps} times: not ordered"


def expected_pointers(ring: Ring, succ_len: int) -> dict:
    """Node id -> (successor list, predecessor) in the stable ring `ring`
    (a Ring of live ids: all of them, or one side of a partition)."""
    return {n: (ring.successors(n, succ_len), ring.predecessor(n)) for n in ring.ids}


def wrong_pointer(sim, want: dict, lists: bool = True):
    """The first node whose pointers differ from `want` (expected_pointers),
    as a message; None if there is none. lists=False checks only the first
    successor and the predecessor."""
    for n, (succs, pred) in want.items():
        node = sim.nodes[n]
        if (node.succs != succs) if lists else (node.succs[:1] != succs[:1]):
            return f"node {n:x} successors wrong"
        if not (node.pred == pred or (pred == n and node.pred is None)):
            return f"node {n:x} predecessor wrong"
    return None


def check_stable(sim) -> None:
    """Every live node's predecessor and successor list are exact."""
    problem = wrong_pointer(sim, expected_pointers(Ring(sim.live), sim.config.succ_len))
    assert problem is None, problem


def check_replicas(sim, keys) -> None:
    """Each key is held by exactly its owner and the R-1 nodes after it."""
    ring = Ring(sim.live)
    for k in keys:
        want = set(ring.replicas(k, sim.config.replicas))
        have = {n for n, node in sim.nodes.items() if k in node.store}
        assert have == want, f"key {k:x} held by {len(have)} nodes, wanted {len(want)}"


def owners_agree(sim, key: int) -> bool:
    """True if the node that thinks it owns `key` is the true owner."""
    node = sim.nodes[sim.owner(key)]
    return node.pred is None or in_half_open(key, node.pred, node.id)
