from chordsim.scheduler import Scheduler


def test_events_run_in_time_then_serial_order():
    s, seen = Scheduler(), []
    s.at(2.0, seen.append, "late")
    s.at(1.0, seen.append, "first")
    s.at(1.0, seen.append, "second")
    s.after(0.5, seen.append, "early")
    assert s.run(10) == 4
    assert seen == ["early", "first", "second", "late"]


def test_run_stops_at_until_and_advances_clock():
    s, seen = Scheduler(), []
    s.at(5.0, seen.append, 5)
    s.run(3.0)
    assert seen == [] and s.now == 3.0
    s.run(5.0)
    assert seen == [5]


def test_past_times_are_clamped_to_now():
    s, seen = Scheduler(), []
    s.run(4.0)
    s.at(1.0, lambda: seen.append(s.now))
    s.run(5.0)
    assert seen == [4.0]


def test_after_each_runs_per_event():
    s, count = Scheduler(), []
    for t in range(3):
        s.at(t, lambda: None)
    s.run(10, lambda: count.append(1))
    assert len(count) == 3
