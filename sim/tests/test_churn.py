"""Churn against Chord Fig. 13.

Published: 500 nodes, 3 failures (and joins) per stabilization period,
no retry: about 3% of lookups fail. Same per-node churn here at 200 nodes
(1.2 per period). Tolerance: 1%..7% without retry; one retry must help.
"""
from chordsim.experiments import churn


def test_failure_rate_near_three_percent_without_retry():
    row = churn.one_run(1, 200, 1.2, 10, 5)
    assert 0.01 <= row["failed_no_retry"] <= 0.07, row
    assert row["failed_one_retry"] < row["failed_no_retry"]


def test_no_churn_no_failures():
    row = churn.one_run(2, 100, 0, 4, 5)
    assert row["failed_no_retry"] == 0 and row["failed_one_retry"] == 0
