"""Ring merging after a partition: the Rust node's passive-list probes
(node/src/ring/state.rs, merge_tick and after; the "Merging" section of
node/src/ring/mod.rs), after Shafaat, Ghodsi and Haridi's ring unification.

A partition in which both sides keep neighbours leaves two rings that
stabilization never joins: every pointer points within its own side. So,
when config.probe_every > 0, each joined node at the end of every round:
- acts on the Consider hints received since the last round: a hint c that
  lies between us and our successor (or any c, if we have none) is checked
  as a Zave candidate (maintenance.candidate: adopted only once it has
  answered); a hint just before us is passed to our predecessor, at most
  CONSIDER_TTL times;
- every probe_every rounds records its view (successors, predecessor,
  fingers) in its passive list and asks one passive peer that is not in
  the view for its state (get_state).
A probe answer with another ring nonce is ignored. Otherwise, if the
probed x lies between us and our successor it becomes our successor (it
just answered) and is notified. If not, we look x's id up in our own ring:
if the owner y is x, x is one of us and is left alone for
config.quiet_after rounds; else the rings overlap there, and x is sent
Consider(y) while y is sent Consider(x) (y keeps it if we are y).
Stabilization and rectify then zip the two rings together.
"""
from .interval import in_open
from .lookup import start_lookup
from .maintenance import candidate, notify, trimmed

CONSIDER_QUEUE = 16
"""At most this many Consider hints wait for the next round; more are dropped."""
CONSIDER_TTL = 4
"""How often a Consider hint may be passed on to a predecessor."""


def tick(node) -> None:
    """The merge part of one round (Rust: RingState::merge_tick)."""
    cfg = node.sim.config
    hints, node.considering = node.considering, []
    for c, ttl in hints:
        if c == node.id:
            continue
        if not node.succs or in_open(c, node.id, node.succs[0]):
            candidate(node, c)
        elif (node.pred is not None and node.pred != node.id and ttl > 0
              and in_open(c, node.pred, node.id)):
            node.send(node.pred, "consider", (c, ttl - 1))
    if node.ticks % cfg.probe_every:
        return
    view = view_of(node)
    for p in view:
        node.passive.saw(p, node.ticks)
    members = set(view) | {node.id}
    x = node.passive.next_probe(node.ticks, members.__contains__)
    if x is not None:
        # No answer: nothing happens; the passive peer is not in our view,
        # and the next probe tries again.
        node.call(x, "get_state", None, lambda body: _probed(node, x, body), lambda: None)


def view_of(node) -> list:
    """Successors, predecessor and distinct fingers in finger order (the
    order the Rust node records them in), never the node itself."""
    out = list(node.succs)
    if node.pred is not None:
        out.append(node.pred)
    for i in sorted(node.fingers):
        if node.fingers[i] not in out:
            out.append(node.fingers[i])
    return [p for p in out if p != node.id]


def _probed(node, x: int, body) -> None:
    """Passive peer x answered (Rust: on_probe_answer)."""
    _pred, theirs, ring = body
    if ring != node.ring:
        return  # a member of another ring (a restarted founder): never merged
    node.passive.saw(x, node.ticks)
    if not node.succs or (x != node.succs[0] and in_open(x, node.id, node.succs[0])):
        node.set_succs(trimmed(node, [x] + theirs))
        notify(node, node.succs[0])
        return
    start_lookup(node, x, lambda y, _hops, _has: y is not None and consider_pair(node, x, y))


def consider_pair(node, x: int, y: int) -> None:
    """Our ring says y succeeds x's id. If y is x, x is one of us. Otherwise
    x is told about y (its successor candidate) and y about x (which y
    passes to its predecessor, whose successor candidate x is)."""
    if x == y:
        node.passive.quiet(x, node.ticks + node.sim.config.quiet_after)
        return
    if x != node.id:
        node.send(x, "consider", (y, CONSIDER_TTL))
    if y == node.id:
        queue(node, x, CONSIDER_TTL)
    else:
        node.send(y, "consider", (x, CONSIDER_TTL))


def queue(node, peer: int, ttl: int) -> None:
    """Keep a hint for the next round, unless the queue is full or has it."""
    if len(node.considering) < CONSIDER_QUEUE and all(p != peer for p, _ in node.considering):
        node.considering.append((peer, ttl))


def on_consider(node, msg) -> None:
    """A merge hint (peer, ttl) for the next round."""
    # A node that has not joined answers NotReady in Rust: no hint kept.
    if node.joined:
        queue(node, *msg.body)


HANDLERS = {"consider": on_consider}
"""Message kinds this module answers."""
