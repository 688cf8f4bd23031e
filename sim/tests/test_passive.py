"""The passive list, against the Rust unit tests in node/src/ring/passive.rs."""
from chordsim.passive import PassiveList

P1, P2, P3 = 101, 102, 103


def never(_peer):
    return False


def test_probes_rotate_over_peers_out_of_view():
    lst = PassiveList(8, 100)
    for p in (P1, P2, P3):
        lst.saw(p, 1)
    in_view = P2.__eq__
    a, b, c = (lst.next_probe(t, in_view) for t in (2, 3, 4))
    assert a != b
    assert a == c, "round robin over the two out of view"
    assert P2 not in (a, b)


def test_quiet_peers_wait_and_old_ones_are_forgotten():
    lst = PassiveList(8, 10)
    lst.saw(P1, 1)
    lst.saw(P2, 5)
    lst.quiet(P2, 14)
    assert lst.next_probe(6, never) == P1
    assert lst.next_probe(7, never) == P1
    # P1 was last seen at 1: forgotten past tick 11; P2 is quiet.
    assert lst.next_probe(12, never) is None
    assert len(lst) == 1
    assert lst.next_probe(14, never) == P2
    # Unseen for longer than forget_after: gone.
    assert lst.next_probe(16, never) is None
    assert len(lst) == 0


def test_a_full_list_forgets_the_peer_heard_from_longest_ago():
    lst = PassiveList(2, 100)
    lst.saw(P1, 1)
    lst.saw(P2, 2)
    lst.saw(P1, 3)
    lst.saw(P3, 4)
    assert len(lst) == 2
    assert sorted([lst.next_probe(5, never), lst.next_probe(6, never)]) == [P1, P3]


def test_in_view_peers_are_kept_past_forget_after_but_not_probed():
    lst = PassiveList(8, 10)
    lst.saw(P1, 1)
    assert lst.next_probe(50, P1.__eq__) is None
    assert len(lst) == 1


def test_zero_capacity_keeps_nothing():
    lst = PassiveList(0, 100)
    lst.saw(P1, 1)
    assert len(lst) == 0 and lst.next_probe(2, never) is None
