"""Connect admission: how many connects run their handshake at once, so that a storm of them
paces itself instead of crowding live conversations out of the event loop.

A storm of thousands of connects arriving together would otherwise put every one of their
steps (the websocket upgrade, the Engine.IO and Socket.IO handshakes, the connect handler's
Redis round trips) on the event loop's ready queue at once: each loop turn then runs thousands
of them, and a live message waits a whole turn at each of its own steps. With at most `limit`
connects in their handshake, a turn holds a bounded amount of connect work, and the others
wait their turn on a semaphore (an idle wait: no work per turn). A connect is only ever
delayed, never refused or dropped: the client sees a slower handshake.

A connect passes twice, at most once at a time: the Engine.IO handshake until its websocket is
up (or its long-polling answer is ready), then the Socket.IO connect of each namespace until
its handler answered. Neither waits on the client, so a slot is never held by a client that
stays silent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class Admission:
    """A bounded number of connects in their handshake at once; `limit` 0 admits all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = asyncio.Semaphore(limit) if limit > 0 else None
        self.running = 0  # connects in their handshake now
        self.peak = 0  # the most that ever were at once
        self.waiting = 0  # connects waiting for a slot now
        self.waited = 0  # connects that had to wait for a slot, ever

    async def enter(self) -> Ticket:
        """Wait for a slot; the ticket gives it back (once, however often it is released)."""
        if self._slots is not None:
            if self._slots.locked():
                self.waited += 1
                self.waiting += 1
                try:
                    await self._slots.acquire()
                finally:
                    self.waiting -= 1
            else:
                await self._slots.acquire()
        self.running += 1
        self.peak = max(self.peak, self.running)
        return Ticket(self)

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        ticket = await self.enter()
        try:
            yield
        finally:
            ticket.release()

    def _leave(self) -> None:
        self.running -= 1
        if self._slots is not None:
            self._slots.release()


class Ticket:
    """One connect's slot."""

    __slots__ = ("_admission",)

    def __init__(self, admission: Admission) -> None:
        self._admission: Admission | None = admission

    def release(self) -> None:
        admission, self._admission = self._admission, None
        if admission is not None:
            admission._leave()
