"""Ring merge after a partition (experiments/merge.py).

Bounds, from the algorithm: the merged ring has the members the ring had
before the split, so each node's true successor s was in its view during
the warm-up, hence in its passive list (which holds every other node when
N <= 33). A node probes the passive peers out of its view in turn, least
recently probed first, one every p ticks; so within N - 1 probe rounds,
(N - 1) * p ticks, it has probed s, and s answering makes it the node's
successor (nothing can be closer). One more round of notifies puts every
predecessor right: merge_ticks <= (N - 1) * p + 1 (+ message time). Each
stabilize copies the successor's list, so exact lists travel one node back
per round: lists_ticks <= merge_ticks + L + 1.
"""
import math

from chordsim.experiments import merge
from chordsim.sim import Config

ROWS = merge.run(1, [8, 16], [1, 4], 2)
SUCC_LEN = Config().succ_len


def test_each_side_is_a_ring_of_its_own_before_the_heal():
    for r in ROWS:
        assert r["sides_ok_at_heal"] == 1 and r["rings_at_heal"] == 2, r


def test_exactly_one_correct_ring_after_the_heal():
    for r in ROWS:
        assert not math.isnan(r["lists_ticks"]), r
        assert r["rings_after"] == 1 and r["correct_after"] == 1, r


def test_merge_time_within_the_probe_bound():
    for r in ROWS:
        n, p = r["n"], r["probe_every_ticks"]
        assert r["merge_ticks"] <= (n - 1) * p + 1.1, r
        assert r["merge_ticks"] <= r["lists_ticks"] <= r["merge_ticks"] + SUCC_LEN + 1.1, r
        assert r["merge_s"] == r["merge_ticks"] * merge.TICK


def test_probing_more_often_merges_sooner():
    total = {p: sum(r["merge_ticks"] for r in ROWS if r["probe_every_ticks"] == p) for p in (1, 4)}
    assert total[1] < total[4]


def test_without_probes_the_rings_never_merge():
    r = merge.one_run(1, 16, 0, limit=100)
    assert r["rings_at_heal"] == 2 and r["sides_ok_at_heal"] == 1
    assert math.isnan(r["merge_ticks"]) and math.isnan(r["lists_ticks"])
    assert r["rings_after"] == 2 and r["correct_after"] == 0


def test_a_single_node_cut_off_comes_back():
    r = merge.one_run(3, 16, 4, split=0.05)
    assert r["cut_off"] == 1 and r["rings_at_heal"] == 2
    assert r["rings_after"] == 1 and r["correct_after"] == 1


def test_random_split_sizes():
    import random
    ids = list(range(100, 116))
    for split, cut in [(0.5, 8), (0.25, 4), (0.01, 1), (0.99, 15)]:
        sides = merge.random_split(random.Random(1), ids, split)
        assert len(sides[1]) == cut and sorted(sides[0] + sides[1]) == ids


def test_main_writes_csv_and_png(tmp_path):
    merge.main(tmp_path, 1, small=True)
    header = (tmp_path / "merge.csv").read_text().splitlines()[0].split(",")
    assert {"n", "probe_every_ticks", "split", "seed", "merge_ticks", "merge_s"} <= set(header)
    assert (tmp_path / "merge.png").read_bytes()[:4] == b"\x89PNG"
