"""Time as the code that paces itself sees it: the event loop's clock, or a test's own.

Code that waits or measures durations takes a `Clock` so tests can move time forward
themselves instead of sleeping (tests/support.py has the virtual one)."""

from __future__ import annotations

import asyncio
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale."""

    async def sleep(self, seconds: float) -> None:
        """Wait this long (zero still yields once to other tasks)."""


class LoopClock:
    """The running event loop's monotonic clock."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
