"""Successor replication with factor R, kept by leases.

Each round the owner of (pred, self] refreshes its keys and pushes them to
its first R-1 successors. A replica not refreshed for `lease_periods`
rounds is dropped, so copies on nodes that are no longer among the R
holders fade away. When a node gets a new predecessor q it hands q every
key outside (q, self], which covers the range q now owns.
"""
from .interval import in_half_open


def replicate(node) -> None:
    """Refresh and push owned keys; expire stale replicas."""
    cfg, now = node.sim.config, node.sim.sched.now
    if node.pred is None or not node.succs or not node.store:
        return
    owned = [k for k in node.store if in_half_open(k, node.pred, node.id)]
    for k in owned:
        node.store[k] = now
    for s in node.succs[: cfg.replicas - 1]:
        node.send(s, "push", owned)
    oldest = now - cfg.lease_periods * cfg.period
    stale = [k for k, t in node.store.items() if t < oldest]
    for k in stale:
        del node.store[k]


def hand_over(node, q: int) -> None:
    """Give new predecessor q the keys outside (q, self]."""
    keys = [k for k in node.store if not in_half_open(k, q, node.id)]
    if keys:
        node.send(q, "handover", keys)


def on_keys(node, msg) -> None:
    now = node.sim.sched.now
    for k in msg.body:
        node.store[k] = now


HANDLERS = {"push": on_keys, "handover": on_keys}
"""Message kinds this module answers."""
