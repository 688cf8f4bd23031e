import random

import pytest

from chordsim.network import named


def test_reliable_is_fixed_delay():
    net = named("reliable")
    assert {net.delay(random.Random(1)) for _ in range(10)} == {0.001}


def test_latency_stays_in_range():
    net, rng = named("latency"), random.Random(2)
    delays = [net.delay(rng) for _ in range(1000)]
    assert min(delays) >= 0.01 and max(delays) <= net.max_delay


def test_lossy_drops_about_the_given_rate():
    net, rng = named("lossy", drop=0.2), random.Random(3)
    dropped = sum(net.delay(rng) is None for _ in range(5000))
    assert 800 < dropped < 1200


def test_unknown_name_is_an_error():
    with pytest.raises(ValueError):
        named("carrier-pigeon")
