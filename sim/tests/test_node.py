from chordsim.node import Node
from helpers import stable_sim


def test_forget_clears_every_pointer():
    sim, _, _ = stable_sim(10)
    node = sim.nodes[sim.live[0]]
    peer = node.succs[0]
    node.pred = peer
    node.forget(peer)
    assert peer not in node.succs and peer not in node.fingers.values() and node.pred is None
    assert peer not in node.table().cands


def test_reply_cancels_timeout_and_timeout_fires_once():
    sim, _, _ = stable_sim(4)
    a, b = (sim.nodes[n] for n in sim.live[:2])
    got = []
    a.call(b.id, "ping", None, lambda _: got.append("reply"), lambda: got.append("timeout"))
    sim.fail(b.id)
    a.call(sim.live[1], "ping", None, lambda _: got.append("reply2"), lambda: got.append("t2"))
    sim.run(1.0)
    assert sorted(got) == ["reply2", "timeout"]


def test_table_cache_is_rebuilt_after_change():
    sim, _, _ = stable_sim(6)
    node: Node = sim.nodes[sim.live[0]]
    first = node.table()
    assert node.table() is first
    node.set_pred(None)
    assert node.table() is not first and node.table().pred is None


def test_set_succs_remembers_the_last_non_empty_list():
    sim, _, _ = stable_sim(6)
    node = sim.nodes[sim.live[0]]
    assert node.remembered == node.succs
    node.set_succs([sim.live[2]])
    node.set_succs([])
    assert node.remembered == [sim.live[2]]
