"""Identifiers on the 160-bit Chord ring.

Every id is SHA-1 of a string, read as a big-endian unsigned integer.
Node ids hash the address ("host:port"), key ids hash the key's UTF-8 bytes.
"""
import hashlib

BITS = 160
"""Width of the identifier space in bits."""

SIZE = 1 << BITS
"""Number of identifiers on the ring (2^160)."""


def hash_id(text: str) -> int:
    """Return the ring id of `text` (SHA-1 of its UTF-8 bytes)."""
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest(), "big")


def to_hex(ident: int) -> str:
    """Render an id as 40 lowercase hex digits, zero padded."""
    return format(ident, "040x")


def from_hex(text: str) -> int:
    """Parse the 40-hex-digit form back to an integer id."""
    return int(text, 16)


def distance(a: int, b: int) -> int:
    """Clockwise distance from `a` to `b`, in [0, 2^160)."""
    return (b - a) % SIZE


def finger_start(n: int, i: int) -> int:
    """Start of finger `i` (0..159) of node `n`: (n + 2^i) mod 2^160."""
    return (n + (1 << i)) % SIZE
