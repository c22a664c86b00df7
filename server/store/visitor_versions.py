"""Visitors' token versions, read from PostgreSQL and kept in process memory for a few seconds."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

import asyncpg

from . import customers as customer_store

# How stale another process's view may be after `identify` rotated a visitor's token. Sockets
# connect often; one query per connect would add up, and a few seconds is the whole exposure.
CACHE_SECONDS = 5.0
_MAX_ENTRIES = 50_000


class VisitorVersions:
    """Visitors asking at once (a storm of reconnects after a deploy) share one query: while a
    query runs, the visitors asked meanwhile wait for the next, which reads them all."""

    def __init__(self, pool: asyncpg.Pool, *, seconds: float = CACHE_SECONDS) -> None:
        self._pool = pool
        self._seconds = seconds
        self._cached: dict[UUID, tuple[int, float]] = {}
        self._asked: dict[UUID, asyncio.Future[int]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.queries = 0

    async def get(self, customer_id: UUID) -> int:
        now = time.monotonic()
        cached = self._cached.get(customer_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        loop = asyncio.get_running_loop()
        answer = self._asked.get(customer_id)
        if answer is None:
            answer = self._asked[customer_id] = loop.create_future()
            if self._reader is None or self._reader.done():
                self._reader = loop.create_task(self._read())
        # Shielded: others may wait for the same answer when this caller gives up.
        return await asyncio.shield(answer)

    async def _read(self) -> None:
        while self._asked:
            asked, self._asked = self._asked, {}
            try:
                async with self._pool.acquire() as conn:
                    versions = await customer_store.token_versions(conn, list(asked))
                self.queries += 1
            except Exception as exc:
                for answer in asked.values():
                    if not answer.done():
                        answer.set_exception(exc)
                        answer.exception()  # retrieved: a caller may have given up on it
                continue
            for customer_id, answer in asked.items():
                version = versions.get(customer_id, 0)
                self.remember(customer_id, version)
                if not answer.done():
                    answer.set_result(version)

    def remember(self, customer_id: UUID, version: int) -> None:
        if len(self._cached) >= _MAX_ENTRIES:
            self._cached.clear()
        self._cached[customer_id] = (version, time.monotonic() + self._seconds)
