"""Fixed-window failure counters in Redis, for throttling password guessing."""

from __future__ import annotations

from redis.asyncio import Redis


class FailureLimiter:
    """Counts failures per key; a key is locked once it reaches its limit within the window."""

    def __init__(self, redis: Redis, *, window_seconds: int) -> None:
        self._redis = redis
        self._window = window_seconds

    async def retry_after(self, limits: dict[str, int]) -> int:
        """Seconds until the first locked key unlocks; 0 when none is locked."""
        keys = list(limits)
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(key)
                pipe.ttl(key)
            replies = await pipe.execute()
        wait = 0
        for index, key in enumerate(keys):
            count, ttl = replies[2 * index], replies[2 * index + 1]
            if count is not None and int(count) >= limits[key]:
                wait = max(wait, int(ttl) if int(ttl) > 0 else self._window)
        return wait

    async def record_failure(self, keys: list[str]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.incr(key)
                pipe.expire(key, self._window, nx=True)
            await pipe.execute()

    async def clear(self, key: str) -> None:
        await self._redis.delete(key)
