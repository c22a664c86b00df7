"""How late the event loop runs a timer: the time every ready callback waited for the loop.

A timer re-armed every `interval` seconds records how long after its due time it ran. When
one loop turn runs a long batch of work (thousands of connects' steps, a garbage
collection), every socket waits for that turn to end, and the timer's lateness is that wait.
A short interval sees short stalls: a quarter-second probe saw only the part of a stall that
came after one of its four wake-ups a second, and missed most stalls under 0.25 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# 40 samples a second: about 2 µs each, and a stall of 50 ms is caught by at least one.
PROBE_INTERVAL_SECONDS = 0.025


class LoopLagProbe:
    """Calls `observe(seconds late)` each time its timer fires, until stopped."""

    def __init__(
        self, observe: Callable[[float], None], interval: float = PROBE_INTERVAL_SECONDS
    ) -> None:
        self._observe = observe
        self._interval = interval
        self._due = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self.longest = 0.0  # the latest it ever ran, seconds

    def start(self) -> None:
        self._arm(asyncio.get_running_loop())

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        # perf_counter, not loop.time(): uvloop's clock is cached per turn, in milliseconds.
        self._due = time.perf_counter() + self._interval
        self._timer = loop.call_later(self._interval, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        late = max(0.0, time.perf_counter() - self._due)
        self.longest = max(self.longest, late)
        self._observe(late)
        self._arm(loop)
