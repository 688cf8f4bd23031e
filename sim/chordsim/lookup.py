"""Lookups: hop by hop to the closest preceding node; the owner replies
straight to the originator.

Each hop is acknowledged. If the next node does not acknowledge in time
the forwarder forgets it and, when `config.reroute` is on, routes the
lookup again from its own table; otherwise the lookup is lost and the
originator gives up after `config.lookup_timeout`. With
`config.location_cache` on, the owner's answer also carries its
predecessor and the originator caches the owner's range; a client lookup
(Sim.lookup) for a key in a cached range goes to that owner first, with
the owner hint, and a wrong guess is routed on by the receiver by the hint
rule (routing.hinted_hop). Only client lookups use the cache, every answer
feeds it. fix_fingers refreshes
one finger per round with an ordinary lookup of the finger's start. A
node without successors answers those lookups itself; with
config.isolation it then clears its fingers as the Rust node does, four
indices per round (so an isolated node's fingers leave its view in about
40 rounds and merging.py can probe them).
"""
from .ids import BITS, distance, finger_start
from .message import Lookup
from .routing import hinted_hop, next_hop


def start_lookup(node, key: int, callback, entry=None, use_cache: bool = False) -> None:
    """Look `key` up; later callback(owner, hops, has_key), owner None on
    timeout. The route starts at `entry` (default: this node). With
    `use_cache`, a key this node does not own but has a cached owner for
    goes straight to that owner."""
    sim = node.sim
    lid = sim.next_request()
    node.lookups[lid] = callback
    sim.sched.after(sim.config.lookup_timeout, _give_up, node, lid)
    look = Lookup(lid, key, node.id)
    if entry is not None and entry != node.id:
        node.send(entry, "lookup", look)
        return
    guess = None
    # Internal lookups (fix fingers, joins, merge checks) route as before:
    # they ask where the ring really is, which a stale entry could hide.
    if use_cache and next_hop(node.table(), key, sim.config.shortcut)[0] is not None:
        guess = node.cache.lookup(key)
    if guess is None or guess == node.id:
        step(node, look)
        return
    # With the owner hint, as the Rust node sends a cached guess: a wrong
    # guess routes on from itself by the hint rule (routing.hinted_hop).
    first = Lookup(lid, key, node.id, 1, False, True)
    node.call(guess, "lookup", first, _acked, lambda: _hop_failed(node, guess, look))


def step(node, look: Lookup) -> None:
    """Answer as owner, or pass the lookup one hop on (by the hint rule
    if it came with the owner hint)."""
    cfg = node.sim.config
    if look.hops > cfg.max_hops:
        return
    hinted = final = False
    if look.hinted:
        nxt, hinted = hinted_hop(node.table(), look.key, cfg.shortcut)
        if nxt is None:  # ours, or no predecessor to pass it back to
            answer(node, look)
            return
    if not hinted:
        nxt, final = next_hop(node.table(), look.key, cfg.shortcut)
    if nxt is None:
        answer(node, look)
        return
    hop = Lookup(look.lid, look.key, look.origin, look.hops + 1, final, hinted)
    node.call(nxt, "lookup", hop, _acked, lambda: _hop_failed(node, nxt, look))


def _acked(_body) -> None:
    pass


def _hop_failed(node, nxt: int, look: Lookup) -> None:
    node.forget(nxt)
    if node.sim.config.reroute:
        step(node, look)


def answer(node, look: Lookup) -> None:
    """This node owns the key: tell the originator directly."""
    result = (look.lid, node.id, look.hops, look.key in node.store)
    if look.origin == node.id:
        _finish(node, *result)
    else:
        node.send(look.origin, "found", (*result, node.pred))


def on_lookup(node, msg) -> None:
    if msg.req:
        node.reply(msg)
    if msg.body.final:
        answer(node, msg.body)
    else:
        step(node, msg.body)


def on_found(node, msg) -> None:
    lid, owner, hops, has_key, pred = msg.body
    if pred is not None:
        node.cache.learn(pred, owner)
    _finish(node, lid, owner, hops, has_key)


def _finish(node, lid, owner, hops, has_key) -> None:
    callback = node.lookups.pop(lid, None)
    if callback is not None:
        callback(owner, hops, has_key)


def _give_up(node, lid: int) -> None:
    callback = node.lookups.pop(lid, None)
    if callback is not None and node.alive:
        callback(None, None, False)


def fix_finger(node) -> None:
    """Refresh the next finger past the successor, round robin."""
    if not node.succs:
        if node.sim.config.isolation:
            _clear_fingers(node, ISOLATED_CLEARS)
        return
    first = distance(node.id, node.succs[0]).bit_length()
    i = node.next_finger if node.next_finger >= first else first
    if i >= BITS:
        i = first
        if i >= BITS:
            return
    node.next_finger = i + 1
    start_lookup(node, finger_start(node.id, i), lambda f, _h, _k: _set_finger(node, i, f))


def _set_finger(node, i: int, f) -> None:
    if f is None or f == node.id:
        return
    node.fingers[i] = f
    end = min(BITS, max(i + 1, distance(node.id, f).bit_length()))
    for j in range(i + 1, end):
        node.fingers.pop(j, None)
    node.next_finger = end
    node._table = None


ISOLATED_CLEARS = 4
"""Finger indices an isolated node clears per round (Rust: fingers_per_tick,
every one answered locally)."""


def _clear_fingers(node, count: int) -> None:
    """Clear finger indices at the round-robin cursor. An entry i -> f stands
    for every index from i up to the next entry, so clearing index i moves
    f on to i + 1 unless that index starts another entry or is past the end."""
    for _ in range(count):
        i = node.next_finger % BITS
        node.next_finger = (i + 1) % BITS
        f = node.fingers.pop(i, None)
        if f is not None and i + 1 < BITS and i + 1 not in node.fingers:
            node.fingers[i + 1] = f
    node._table = None


HANDLERS = {"lookup": on_lookup, "found": on_found}
"""Message kinds this module answers."""
