"""Network models, chosen by name.

reliable: every message arrives after a fixed 1 ms.
latency:  every message arrives after a uniform 10..100 ms delay.
lossy:    like reliable, but each message is dropped with probability `drop`.
A message to a dead node is silently lost; the sender notices by timeout.
"""
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Network:
    """Delay and loss of one message."""

    name: str
    """Setting name, for reports."""
    base: float = 0.001
    """Minimum one-way delay in seconds."""
    jitter: float = 0.0
    """Extra delay drawn uniformly from [0, jitter)."""
    drop: float = 0.0
    """Probability that a message is lost."""

    @property
    def max_delay(self) -> float:
        """Longest one-way delay this model produces."""
        return self.base + self.jitter

    def delay(self, rng: random.Random):
        """One-way delay of the next message, or None if it is dropped."""
        if self.drop and rng.random() < self.drop:
            return None
        if self.jitter:
            return self.base + rng.random() * self.jitter
        return self.base


SETTINGS = {
    "reliable": {},
    "latency": {"base": 0.01, "jitter": 0.09},
    "lossy": {"drop": 0.05},
}
"""Named settings; `named()` starts from these."""


def named(name: str, **overrides) -> Network:
    """The model called `name`, with fields optionally overridden."""
    if name not in SETTINGS:
        raise ValueError(f"unknown network {name!r}; choose from {', '.join(SETTINGS)}")
    return Network(name, **{**SETTINGS[name], **overrides})
