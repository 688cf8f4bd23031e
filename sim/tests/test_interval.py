from chordsim.ids import SIZE
from chordsim.interval import in_half_open, in_open

TOP = SIZE - 1


def test_open_without_wrap():
    assert in_open(7, 5, 10)
    assert not in_open(5, 5, 10)
    assert not in_open(10, 5, 10)
    assert not in_open(11, 5, 10)


def test_open_with_wrap():
    assert in_open(TOP, 10, 5) and in_open(0, 10, 5) and in_open(4, 10, 5)
    assert not in_open(10, 10, 5) and not in_open(5, 10, 5) and not in_open(7, 10, 5)


def test_open_with_equal_ends_is_ring_minus_point():
    assert in_open(0, 5, 5) and in_open(TOP, 5, 5)
    assert not in_open(5, 5, 5)


def test_half_open_includes_right_end_only():
    assert in_half_open(10, 5, 10) and not in_half_open(5, 5, 10)
    assert in_half_open(5, 10, 5) and not in_half_open(10, 10, 5)
    assert in_half_open(0, TOP, 0) and not in_half_open(TOP, TOP, 0)


def test_half_open_with_equal_ends_is_whole_ring():
    for x in (0, 5, TOP):
        assert in_half_open(x, 5, 5)
