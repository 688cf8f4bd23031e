"""Ring upkeep after Pamela Zave's corrected Chord.

- join: look up our own id through any member, fetch that successor's
  list, adopt successor :: list. No predecessor yet.
- stabilize: ask the first successor for (predecessor, successor list);
  if it does not answer, drop it and try the next. Adopt successor :: its
  list. If its predecessor p lies between us and it, ask p too and switch
  to p only once p has answered; repeat with p's predecessor while that is
  closer still (each step gets strictly closer, so this ends). Finish by
  notifying the successor.
- rectify (on notify from q): take q as predecessor if we have none or q
  lies between the current one and us. A lone first node (successor list
  empty, meaning itself) also takes q as successor: a two-node ring.
- check predecessor: ping it; forget it if it does not answer.
- leave: hand keys to the successor, tell both neighbours, go.

Two options switch to the Rust node's rules (the merge experiment turns
both on; the other experiments keep the simulator's original rules; a peer
is still dropped at its first unanswered request, not the Rust node's third):
- config.chase False: stabilize checks one closer candidate per round, as
  the Rust node's tick does, instead of chasing predecessors to the end.
- config.isolation: a node whose successor list emptied takes the node
  that notified it as its successor-to-be; with no predecessor either it
  looks itself up through the successors it last had (one per round), and
  it answers its finger lookups itself, so its fingers drain (lookup.py).
  Without it such a node stays cut off (README, Caveats).

get_state answers (predecessor, successor list, ring nonce); stabilization
spreads the smaller nonce, a joiner takes its ring's.
"""
from .ids import finger_start
from .interval import in_open
from .storage import hand_over


def trimmed(node, succs: list) -> list:
    """Distinct nodes up to (not including) ourselves, at most L long."""
    out = []
    for s in succs:
        if s == node.id:
            break
        if s not in out:
            out.append(s)
    return out[: node.sim.config.succ_len]


def stabilize(node) -> None:
    if not node.succs:
        if node.sim.config.isolation and not node.lone:
            _isolated(node)
        return
    s = node.succs[0]
    node.call(s, "get_state", None,
              lambda body: _stabilized(node, s, body), lambda: _succ_dead(node, s))


def _stabilized(node, s: int, body) -> None:
    # One ring, two nonces: a node that founded a ring of its own was pulled
    # back in by old pointers. The smaller nonce spreads backwards.
    node.ring = min(node.ring, body[2])
    _got_state(node, s, body)


def _succ_dead(node, s: int) -> None:
    node.forget(s)
    if node.succs:
        stabilize(node)


def _got_state(node, s: int, body) -> None:
    pred_s, list_s, _ring = body
    node.set_succs(trimmed(node, [s] + list_s))
    if pred_s is not None and in_open(pred_s, node.id, s):
        if node.sim.config.chase:
            node.call(pred_s, "get_state", None,
                      lambda b: _got_state(node, pred_s, b), lambda: notify(node, s))
        else:
            candidate(node, pred_s)
    else:
        notify(node, s)


def candidate(node, c: int) -> None:
    """Zave's rule for a node c that may belong right after us: ask it, and
    adopt c :: its list only once it answered and only if it is still
    closer than our successor; then notify the successor either way. Used
    by stabilize (chase off), isolation and merging (merging.py)."""
    node.call(c, "get_state", None,
              lambda body: _candidate_answered(node, c, body), lambda: _notify_first(node))


def _candidate_answered(node, c: int, body) -> None:
    if c != node.id and (not node.succs or in_open(c, node.id, node.succs[0])):
        node.set_succs(trimmed(node, [c] + body[1]))
    _notify_first(node)


def _notify_first(node) -> None:
    if node.succs:
        notify(node, node.succs[0])


def notify(node, s: int) -> None:
    if s != node.id:
        node.send(s, "notify")


def on_get_state(node, msg) -> None:
    node.reply(msg, (node.pred, list(node.succs), node.ring))


def on_notify(node, msg) -> None:
    """Rectify."""
    q = msg.src
    if node.pred is None or node.pred == node.id or in_open(q, node.pred, node.id):
        node.set_pred(q)
        if node.lone and not node.succs:
            node.set_succs([q])
        hand_over(node, q)


def check_predecessor(node) -> None:
    p = node.pred
    if p is not None and p != node.id:
        node.call(p, "ping", None, lambda _: None, lambda: _pred_dead(node, p))


def _pred_dead(node, p: int) -> None:
    if node.pred == p:
        node.set_pred(None)


def on_ping(node, msg) -> None:
    node.reply(msg)


def join(node, via: int) -> None:
    """Find our successor through member `via`, then adopt its list."""
    from .lookup import start_lookup

    def found(owner, _hops, _has):
        if owner is None:
            node.sim.sched.after(node.sim.config.period, join, node, via)
        elif owner != node.id:
            node.call(owner, "get_state", None,
                      lambda body: _adopt_ring(node, owner, body), lambda: join(node, via))
    node.passive.saw(via, node.ticks)
    start_lookup(node, node.id, found, entry=via)


def _adopt_ring(node, owner: int, body) -> None:
    """Join: successor :: its list, and the ring's nonce."""
    node.set_succs(trimmed(node, [owner] + body[1]))
    node.ring = body[2]


def _isolated(node) -> None:
    """The Rust tick of a node with no successor (config.isolation)."""
    if node.pred is not None and node.pred != node.id:
        # Alone but notified: the notifier is our successor-to-be.
        candidate(node, node.pred)
    elif node.remembered:
        # Cut off, or every neighbour died: keep asking the peers we last
        # knew, so a split heals once one of them answers again.
        i = node.next_remembered % len(node.remembered)
        node.next_remembered = i + 1
        _rejoin(node, node.remembered[i])


def _rejoin(node, via: int) -> None:
    """Look up our successor (of id + 1, never ourselves) through `via`."""
    from .lookup import start_lookup

    def found(owner, _hops, _has):
        if owner is not None and owner != node.id:
            node.call(owner, "get_state", None, lambda body: _rejoined(node, owner, body),
                      lambda: None)
    start_lookup(node, finger_start(node.id, 0), found, entry=via)


def _rejoined(node, owner: int, body) -> None:
    if body[2] != node.ring and (node.succs or node.pred is not None):
        return  # no longer isolated: another ring's member is not adopted
    _adopt_ring(node, owner, body)
    notify(node, owner)


def leave(node) -> None:
    """Graceful leave: keys to the successor, pointers to both neighbours."""
    if node.succs:
        node.send(node.succs[0], "handover", list(node.store))
        node.send(node.succs[0], "leaving", (node.pred, []))
    if node.pred is not None and node.pred != node.id:
        node.send(node.pred, "leaving", (None, list(node.succs)))


def on_leaving(node, msg) -> None:
    """A neighbour leaves: splice its successors in, or take its predecessor."""
    gone, (pred, succs) = msg.src, msg.body
    was_pred, old = node.pred == gone, node.succs
    node.forget(gone)
    if was_pred and pred is not None and pred != node.id:
        node.set_pred(pred)
    if gone in old:
        i = old.index(gone)
        node.set_succs(trimmed(node, old[:i] + succs + old[i + 1:]))


HANDLERS = {"get_state": on_get_state, "notify": on_notify, "ping": on_ping,
            "leaving": on_leaving}
"""Message kinds this module answers."""
