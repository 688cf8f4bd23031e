"""Interval membership modulo 2^160, exactly as the Rust node defines it.

open (a, b):       a < b: a < x < b;  a > b: x > a or x < b;  a == b: x != a.
half-open (a, b]:  a < b: a < x <= b; a > b: x > a or x <= b; a == b: always.
"""


def in_open(x: int, a: int, b: int) -> bool:
    """True if x lies strictly between a and b going clockwise."""
    if a < b:
        return a < x < b
    if a > b:
        return x > a or x < b
    return x != a


def in_half_open(x: int, a: int, b: int) -> bool:
    """True if x lies in (a, b] going clockwise; (a, a] is the whole ring."""
    if a < b:
        return a < x <= b
    if a > b:
        return x > a or x <= b
    return True
