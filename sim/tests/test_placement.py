"""Virtual-node placement (`static.Placement`): positions, owner, holders
on distinct hosts, shares. The Rust node checks the same rule against
vectors/vnodes-v1.json."""
import random

import pytest

from chordsim.ids import SIZE, hash_id
from chordsim.static import (
    Placement,
    Position,
    host_of,
    position_addr,
    position_id,
    positions,
    random_addresses,
)


def test_one_position_keeps_the_plain_id_and_more_hash_the_index():
    assert position_id("a:1", 0, 1) == hash_id("a:1")
    assert position_id("a:1", 0, 4) == hash_id("a:1#0")
    assert position_id("a:1", 3, 4) == hash_id("a:1#3")


def test_position_addresses_and_hosts():
    assert position_addr("n1:7000", 0) == "n1:7000"
    assert position_addr("n1:7000", 3) == "n1:7000/v3"
    assert host_of("n1:7000/v3") == "n1:7000" == host_of("n1:7000")
    ps = positions("n1:7000", 3)
    assert [p.addr for p in ps] == ["n1:7000", "n1:7000/v1", "n1:7000/v2"]
    assert {p.host for p in ps} == {"n1:7000"}


def hand_made(entries) -> Placement:
    """A Placement over given (id, addr) positions, bypassing the hashes."""
    return Placement(Position(i, a) for i, a in entries)


# Positions 10 (a), 20 (a), 30 (b), 40 (a), 50 (c), as in the Rust
# placement test copies_skip_other_positions_of_a_host_already_holding_them.
RING = [(10, "a"), (20, "a/v1"), (30, "b"), (40, "a/v2"), (50, "c")]


def test_copies_skip_positions_of_a_host_already_holding_them():
    ring = hand_made(RING)
    # Key 15: owner a/v1 at 20; a/v2 at 40 is skipped for c at 50.
    assert [p.addr for p in ring.holders(15, 3)] == ["a/v1", "b", "c"]
    # Key 45: owner c at 50, then wrap: a at 10, skip a/v1 at 20, b at 30.
    assert [p.addr for p in ring.holders(45, 3)] == ["c", "a", "b"]
    # An id equal to a position belongs to that position.
    assert ring.owner(30).addr == "b"
    # Past the last position the key wraps to the first.
    assert ring.owner(51).addr == "a"
    # Two hosts: two copies, however many positions and however large R.
    two = hand_made(RING[:4])
    assert [p.addr for p in two.holders(15, 3)] == ["a/v1", "b"]
    assert [p.addr for p in two.holders(15, 1)] == ["a/v1"]


def test_shares_sum_the_arcs_of_each_hosts_positions():
    ring = hand_made(RING)
    # a owns (50, 10] wrapping, (10, 20] and (30, 40].
    shares = ring.shares()
    assert shares["a"] * SIZE == pytest.approx(SIZE - 50 + 10 + 10 + 10)
    assert shares["b"] * SIZE == pytest.approx(10)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert hand_made([(7, "x")]).shares() == {"x": 1.0}


@pytest.mark.parametrize("hosts,vnodes,replicas", [(1, 4, 3), (2, 8, 3), (3, 4, 3),
                                                   (5, 1, 3), (16, 16, 3), (6, 5, 5)])
def test_every_keys_holders_are_distinct_hosts_after_its_successor(hosts, vnodes, replicas):
    rng = random.Random(hosts * 100 + vnodes)
    addrs = random_addresses(rng, hosts)
    ring = Placement.of_nodes(addrs, vnodes)
    assert len(ring.positions) == hosts * vnodes
    for _ in range(300):
        key = rng.getrandbits(160)
        held = ring.holders(key, replicas)
        owner = held[0]
        # The owner is the key's successor position (the id itself counts).
        assert owner == min(ring.positions, key=lambda p: (p.id - key) % SIZE)
        assert len({p.host for p in held}) == len(held) == min(replicas, hosts)
        # Later holders are the first positions of the next distinct hosts:
        # each is its host's first position clockwise from the owner, and
        # every position skipped before the last holder is on a chosen host.
        gap = lambda p: (p.id - owner.id) % SIZE  # noqa: E731
        for p in held[1:]:
            assert not any(q.host == p.host and gap(q) < gap(p) for q in ring.positions)
        chosen = {p.host for p in held}
        assert all(q.host in chosen for q in ring.positions if gap(q) < gap(held[-1]))
    assert sum(ring.shares().values()) == pytest.approx(1.0)


def test_a_position_id_is_owned_by_that_position():
    ring = Placement.of_nodes(random_addresses(random.Random(9), 4), 6)
    for i, p in enumerate(ring.positions):
        assert ring.owner(p.id) == p
        assert ring.owner((p.id + 1) % SIZE) == ring.positions[(i + 1) % len(ring.positions)]
