"""Summary statistics without numpy."""
import math


def percentile(values, q: float) -> float:
    """q-th percentile (0..100) with linear interpolation between ranks."""
    data = sorted(values)
    if not data:
        return math.nan
    pos = (len(data) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def mean(values) -> float:
    """Arithmetic mean (nan for no values)."""
    values = list(values)
    return sum(values) / len(values) if values else math.nan


def summary(values) -> dict:
    """mean, p1, p99 and max of `values`."""
    return {"mean": mean(values), "p1": percentile(values, 1),
            "p99": percentile(values, 99), "max": max(values) if values else math.nan}
