"""Visitors' token versions, read from PostgreSQL and kept in process memory for a few seconds."""

from __future__ import annotations

import time
from uuid import UUID

import asyncpg

from . import customers as customer_store

# How stale another process's view may be after `identify` rotated a visitor's token. Sockets
# connect often; one query per connect would add up, and a few seconds is the whole exposure.
CACHE_SECONDS = 5.0
_MAX_ENTRIES = 50_000


class VisitorVersions:
    def __init__(self, pool: asyncpg.Pool, *, seconds: float = CACHE_SECONDS) -> None:
        self._pool = pool
        self._seconds = seconds
        self._cached: dict[UUID, tuple[int, float]] = {}

    async def get(self, customer_id: UUID) -> int:
        now = time.monotonic()
        cached = self._cached.get(customer_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self._pool.acquire() as conn:
            version = await customer_store.token_version(conn, customer_id)
        self.remember(customer_id, version)
        return version

    def remember(self, customer_id: UUID, version: int) -> None:
        if len(self._cached) >= _MAX_ENTRIES:
            self._cached.clear()
        self._cached[customer_id] = (version, time.monotonic() + self._seconds)
