"""The location cache after a fraction of the nodes was replaced (static)."""
import random

from chordsim.experiments import cache_churn

ROWS = cache_churn.run(random.Random(1), [64], 1500, fractions=(0.0, 0.1, 0.5))


def row(f, phase):
    return next(r for r in ROWS if r["replaced"] == f and r["phase"] == phase)


def test_without_churn_no_guess_is_wrong_or_dead():
    for phase in ("after", "relearned"):
        assert row(0.0, phase)["wrong"] == row(0.0, phase)["dead"] == 0


def test_outcomes_add_up():
    for r in ROWS:
        assert abs(sum(r[o] for o in cache_churn.OUTCOMES) - 1) < 1e-9


def test_hits_fall_with_the_fraction_replaced():
    assert row(0.0, "after")["hit"] > row(0.1, "after")["hit"] > row(0.5, "after")["hit"]
    assert row(0.5, "after")["dead"] > 0.3


def test_a_wrong_guess_costs_about_one_hop_more_than_a_hit():
    # The owner hint sends the key back through the nodes that joined in
    # between: 2 hops for one joiner, rarely more.
    for f in (0.1, 0.5):
        assert 2 <= row(f, "after")["mean_wrong"] < 3


def test_lookups_relearn_the_ranges():
    for f in (0.1, 0.5):
        assert row(f, "relearned")["hit"] > row(f, "after")["hit"] + 0.05
        assert row(f, "relearned")["mean"] < row(f, "after")["mean"]


def test_the_cache_beats_no_cache_even_right_after_churn():
    for r in ROWS:
        assert r["mean"] < r["mean_no_cache"]


def test_main_writes_csv_and_png(tmp_path):
    cache_churn.main(tmp_path, 1, small=True)
    assert (tmp_path / "cache-churn.csv").exists() and (tmp_path / "cache-churn.png").exists()
