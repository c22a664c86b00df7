"""Due work shared by all processes: grace periods, unanswered-chat deadlines, abandonment.

A timer is a member of one Redis sorted set, scored by its deadline. Any process may pop due
timers; the pop is one script, so each timer fires in exactly one process.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from .keys import RedisKeys

# KEYS: timers   ARGV: now, limit
_POP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do redis.call('ZREM', KEYS[1], member) end
return due
"""


class Timers:
    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self._redis = redis
        self._key = keys.timers()
        self._pop = redis.register_script(_POP_DUE)

    async def schedule(self, kind: str, subject: object, delay_seconds: float) -> None:
        """Set (or move) the deadline of one timer."""
        await self._redis.zadd(self._key, {f"{kind}:{subject}": time.time() + delay_seconds})

    async def ensure(self, kind: str, subject: object, deadline: float) -> bool:
        """Set a timer's deadline (a Unix time) unless it is already pending; True if set."""
        return bool(await self._redis.zadd(self._key, {f"{kind}:{subject}": deadline}, nx=True))

    async def cancel(self, kind: str, subject: object) -> bool:
        return bool(await self._redis.zrem(self._key, f"{kind}:{subject}"))

    async def pending(self, kind: str, subject: object) -> bool:
        return await self._redis.zscore(self._key, f"{kind}:{subject}") is not None

    async def pop_due(self, limit: int = 100) -> list[tuple[str, str]]:
        members = await self._pop(keys=[self._key], args=[time.time(), limit])
        due = []
        for raw in members:
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            kind, _, subject = text.partition(":")
            due.append((kind, subject))
        return due
