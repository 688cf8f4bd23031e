"""Path length against Chord Fig. 10.

Published: mean ≈ ½·log2 N; with the final hop to the owner counted
(as we do) about ½·log2 N + 0.7 (16 nodes ≈ 2.7, 1024 ≈ 5.9).
Tolerance: the paper's algorithm ("chord" mode) within ±0.35 hops of
½·log2 N + 0.7 for N = 2^3..2^10 with 2000 lookups each.
"""
import math
import random

from chordsim.experiments import pathlen

ROWS = pathlen.run(random.Random(1), [2 ** k for k in range(3, 11)], 2000)


def by(mode):
    return [r for r in ROWS if r["mode"] == mode]


def test_chord_mean_is_half_log2_n_plus_final_hop():
    for r in by("chord"):
        assert abs(r["mean"] - (0.5 * math.log2(r["nodes"]) + 0.7)) <= 0.35, r


def test_chord_grows_half_a_hop_per_doubling():
    rows = by("chord")
    slope = (rows[-1]["mean"] - rows[0]["mean"]) / (len(rows) - 1)
    assert 0.4 <= slope <= 0.6


def test_99th_percentile_stays_within_log2_n_plus_one():
    for r in by("chord"):
        assert r["p99"] <= math.log2(r["nodes"]) + 1


def test_successor_list_only_shortens_paths():
    for chord, plain, project in zip(by("chord"), by("no-shortcut"), by("project")):
        assert project["mean"] < plain["mean"] < chord["mean"]


def test_main_writes_csv_and_png(tmp_path):
    pathlen.main(tmp_path, 1, small=True)
    assert (tmp_path / "pathlen.csv").exists() and (tmp_path / "pathlen.png").exists()
