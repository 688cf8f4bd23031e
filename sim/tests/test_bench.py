from chordsim import bench


def test_static_and_event_driven_agree_on_hops():
    s = bench.static(1, 300, 2000)
    e = bench.event_driven(1, 300, 2000)
    assert e["correct"] == 1.0
    assert abs(s["mean_hops"] - e["mean_hops"]) < 0.2
