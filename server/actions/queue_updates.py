"""Coalesced queue announcements: many changes to a team's line become one update.

Every enqueue, assignment or departure changes a line, and announcing it means reading the
whole line and telling each waiting customer their new place. Doing that per change costs
O(line length) per change, O(n^2) for a burst. Instead changes mark the team dirty, and one
flush announces the line as it is then: at once when the announcer is idle (a customer who
joins a quiet line hears their place without waiting for a timer), and otherwise no sooner
than the base interval after the previous flush, so a burst becomes a few announcements.

The interval paces itself: after a flush that took t seconds, the next waits at least
`pacing` * t. A short line is announced within the base interval; a line of thousands, whose
announcement is expensive, is announced less often, so announcing never takes more than about
1 / (pacing + 1) of the process while a backlog drains.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from uuid import UUID

from ..clock import Clock, LoopClock

log = logging.getLogger(__name__)

Announce = Callable[[UUID], Awaitable[None]]


class QueueUpdates:
    def __init__(
        self,
        interval_seconds: float = 0.05,
        *,
        pacing: float = 4.0,
        max_delay_seconds: float = 2.0,
        clock: Clock | None = None,
    ) -> None:
        self._clock = clock or LoopClock()
        self._interval = interval_seconds
        self._pacing = pacing
        self._max_delay = max_delay_seconds
        self._not_before = 0.0  # clock time before which the next flush waits
        self._dirty: set[UUID] = set()
        self._announce: Announce | None = None
        self._flushing: asyncio.Task[None] | None = None

    def bind(self, announce: Announce) -> None:
        self._announce = announce

    def changed(self, team_id: UUID) -> None:
        """Note a change; the announcement follows at once, or when the interval allows."""
        self._dirty.add(team_id)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        clock = self._clock
        while True:
            # Even with no wait, yield once: changes made in the same step join this flush.
            await clock.sleep(max(0.0, self._not_before - clock.now()))
            if not self._dirty:
                return
            teams, self._dirty = self._dirty, set()
            started = clock.now()
            for team_id in teams:
                try:
                    if self._announce is not None:
                        await self._announce(team_id)
                except Exception:
                    log.exception("announcing the line of team %s failed", team_id)
            took = clock.now() - started
            pause = min(self._max_delay, max(self._interval, took * self._pacing))
            self._not_before = clock.now() + pause

    async def close(self) -> None:
        if self._flushing is not None and not self._flushing.done():
            self._flushing.cancel()
