"""Simultaneous failure against Chord Fig. 11.

Published: with no replication, the fraction of failed lookups after
stabilization is ≈ p (the keys lost with their nodes). Tolerance ±0.07
at 300 nodes. With R = 3 a key is lost only if its 3 holders all failed,
≈ p^3. A one-entry successor list lets the ring break at p = 0.5.
"""
from chordsim.experiments import failure


def test_failed_lookups_match_p_without_replication():
    row = failure.one_run(1, 300, 0.2, 8, 1, 3000, 300)
    assert abs(row["failed_lookups"] - 0.2) <= 0.07
    assert abs(row["lost_keys"] - 0.2) <= 0.07


def test_three_replicas_lose_about_p_cubed():
    row = failure.one_run(2, 300, 0.3, 8, 3, 3000, 300)
    assert row["lost_keys"] <= 0.027 + 0.03
    assert row["failed_lookups"] <= row["lost_keys"] + 0.05


def test_short_successor_list_breaks_the_ring():
    short = failure.one_run(3, 300, 0.5, 1, 1, 3000, 300)
    assert short["failed_lookups"] > short["lost_keys"] + 0.2
