"""The garbage collector with thousands of long-lived connections: thresholds, and a frozen
heap after start-up and after bursts of connections, so that collections stop re-scanning it.

CPython's collector stops the process for as long as it scans, and a full (oldest-generation)
collection scans every tracked object: about 170 per connected socket, so ~250 ms with 2,000
connections here and over a second with 10,000. `gc.freeze()` moves everything alive into a
generation no collection scans. What a frozen object keeps alive is freed by reference
counting when it goes (departed connections are: see realtime/eio_websocket.py), but a
reference cycle among frozen objects is never collected, so the young generation is collected
just before each freeze (its cost bounded by the first threshold).

Chosen with `python -m bench.heap` (pauses during a storm of connects and drops, per setting):
see docs/performance.md.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

# Young generation: a collection per 50,000 net allocations, each scanning at most that many
# objects (a few milliseconds). Middle: every 10 young collections, so what survives them
# (a burst's new connections) is scanned in slices of at most ~0.5 M objects rather than the
# 2.5 M that 50 allowed; and the oldest every 10 middle ones (CPython further waits until it
# has grown by a quarter), cheap once the heap is frozen because it then holds only what
# arrived since the last freeze.
THRESHOLDS = (50_000, 10, 10)
# How often the connection count is checked for a burst worth freezing.
_TICK_SECONDS = 0.5


def configure() -> None:
    gc.set_threshold(*THRESHOLDS)


class HeapFreezer:
    """Freezes the heap when the process has gained `step` connections since the last freeze
    (and once at start-up); a count that fell lowers the mark, so the next burst is measured
    from what is connected."""

    def __init__(self, connections: Callable[[], int], step: int) -> None:
        self._connections = connections
        self._step = step
        self._frozen_at = 0
        self.freezes = 0

    def freeze(self) -> None:
        # Young garbage frozen now could never be collected; the young generation is at most
        # the first threshold's worth of objects (a few ms), where the middle one after a burst
        # held up to half a million (a pause of its own).
        gc.collect(0)
        gc.freeze()
        self._frozen_at = self._connections()
        self.freezes += 1

    def check(self) -> bool:
        """Freeze if a burst arrived since the last freeze; whether it did."""
        count = self._connections()
        if count < self._frozen_at:
            self._frozen_at = count
        if count - self._frozen_at < self._step:
            return False
        self.freeze()
        # Not gc.get_freeze_count(): it walks the whole frozen generation (about 25 ms at
        # 10,000 connections, a pause of its own in the middle of every burst).
        log.info("heap frozen at %d connections", count)
        return True

    async def run(self) -> None:
        """Until cancelled: freeze after start-up, then after each burst."""
        self.freeze()
        while True:
            await asyncio.sleep(_TICK_SECONDS)
            self.check()
