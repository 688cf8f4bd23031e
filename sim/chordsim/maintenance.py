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
"""
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
        return
    s = node.succs[0]
    node.call(s, "get_state", None,
              lambda body: _got_state(node, s, body), lambda: _succ_dead(node, s))


def _succ_dead(node, s: int) -> None:
    node.forget(s)
    if node.succs:
        stabilize(node)


def _got_state(node, s: int, body) -> None:
    pred_s, list_s = body
    node.set_succs(trimmed(node, [s] + list_s))
    if pred_s is not None and in_open(pred_s, node.id, s):
        node.call(pred_s, "get_state", None,
                  lambda b: _got_state(node, pred_s, b), lambda: notify(node, s))
    else:
        notify(node, s)


def notify(node, s: int) -> None:
    if s != node.id:
        node.send(s, "notify")


def on_get_state(node, msg) -> None:
    node.reply(msg, (node.pred, list(node.succs)))


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
                      lambda body: node.set_succs(trimmed(node, [owner] + body[1])),
                      lambda: join(node, via))
    start_lookup(node, node.id, found, entry=via)


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
