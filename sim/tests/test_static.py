import random

from chordsim.static import build_tables, random_addresses, random_ring


def test_addresses_are_distinct_and_seeded():
    a = random_addresses(random.Random(4), 50)
    assert len(set(a)) == 50
    assert a == random_addresses(random.Random(4), 50)


def test_tables_hold_stable_pointers():
    ring = random_ring(random.Random(2), 30)
    tables = build_tables(ring, 5)
    for n, t in tables.items():
        assert t.pred == ring.predecessor(n)
        assert t.succs == ring.successors(n, 5)
        assert set(t.cands) >= set(t.succs)
