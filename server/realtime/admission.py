"""Connect admission: how many connects run their Engine.IO handshake at once, so that a
storm of them paces itself instead of crowding live conversations out of the event loop.

A storm of thousands of connects arriving together would otherwise put every one of their
handshake's steps (the websocket upgrade, Engine.IO's session and its first packet) on the
event loop's ready queue at once: each loop turn then runs thousands of them, and a live
message waits a whole turn at each of its own steps. With at most `limit` handshakes under
way, a turn holds a bounded amount of that work, and the others wait on a semaphore (an idle
wait: no work per turn). A connect is only ever delayed, never refused or dropped: the client
sees a slower handshake.

A slot is held from the handshake's start until its websocket is up (or its long-polling
answer is ready), which never waits on the client, so a client that stays silent holds none.
The Socket.IO connect that follows is not bounded: it mostly waits on Redis round trips
(batched for all connects at once), and bounding work that waits bounds throughput by its
latency (measured: with 64 slots held through it, the server sat at 38% of a core during a
storm of 3,000 connects: the slots were waiting on Redis).

Measured later (docs/performance.md, "Connection storms: round 4"): a websocket handshake
runs from taking its slot to giving it back without suspending, so in a storm each slot is
passed on within the same loop turn and no connect ever waited; what bounds a turn's connect
work is the connect pacer (connect_pacing.py).
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
