import random

from chordsim.ids import BITS, SIZE
from chordsim.ring import Ring


def small_ring():
    return Ring([100, 200, 300, SIZE - 50])


def test_successor_wraps_and_includes_equal():
    r = small_ring()
    assert r.successor(100) == 100
    assert r.successor(101) == 200
    assert r.successor(SIZE - 49) == 100
    assert r.successor(0) == 100


def test_successor_list_never_contains_self():
    r = small_ring()
    assert r.successors(300, 8) == [SIZE - 50, 100, 200]
    assert Ring([7]).successors(7, 8) == []


def test_replicas_are_owner_then_next_nodes():
    r = small_ring()
    assert r.replicas(150, 3) == [200, 300, SIZE - 50]
    assert Ring([1, 2]).replicas(5, 3) == [1, 2]


def test_predecessor_wraps():
    r = small_ring()
    assert r.predecessor(100) == SIZE - 50
    assert Ring([9]).predecessor(9) == 9


def test_distinct_fingers_match_full_table():
    rng = random.Random(3)
    r = Ring(rng.getrandbits(BITS) for _ in range(300))
    for n in r.ids[:40]:
        full = r.fingers(n)
        distinct = []
        for f in full:
            if f not in distinct:
                distinct.append(f)
        assert r.distinct_fingers(n) == distinct
