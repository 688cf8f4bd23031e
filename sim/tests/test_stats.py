import math

from chordsim.stats import mean, percentile, summary


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([0, 10], 99) == 9.9
    assert percentile(range(101), 1) == 1


def test_empty_gives_nan():
    assert math.isnan(mean([])) and math.isnan(percentile([], 5))


def test_summary_fields():
    s = summary([1, 2, 3])
    assert s["mean"] == 2 and s["max"] == 3
