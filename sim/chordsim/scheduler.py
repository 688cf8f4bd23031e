"""The event queue: callbacks ordered by (time, serial).

The serial number breaks ties, so events scheduled for the same instant
run in the order they were scheduled and a run never depends on how the
heap compares callbacks.
"""
import heapq


class Scheduler:
    """A clock plus a heap of pending callbacks."""

    def __init__(self):
        self.now = 0.0
        """Current simulated time in seconds."""
        self.serial = 0
        """Events scheduled so far; the tie-breaker."""
        self.heap = []
        """Pending events as (time, serial, fn, args)."""

    def at(self, time: float, fn, *args) -> None:
        """Run fn(*args) at `time` (never earlier than now)."""
        self.serial += 1
        heapq.heappush(self.heap, (max(time, self.now), self.serial, fn, args))

    def after(self, delay: float, fn, *args) -> None:
        """Run fn(*args) `delay` seconds from now."""
        self.at(self.now + delay, fn, *args)

    def run(self, until: float, after_each=None) -> int:
        """Run events up to and including time `until`; return how many.

        `after_each`, if given, is called after every event (for invariant
        checks)."""
        heap, count = self.heap, 0
        while heap and heap[0][0] <= until:
            time, _, fn, args = heapq.heappop(heap)
            self.now = time
            fn(*args)
            count += 1
            if after_each is not None:
                after_each()
        self.now = max(self.now, until)
        return count
