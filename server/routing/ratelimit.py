"""Sign-in throttling in Redis: each attempt is reserved atomically before its password check."""

from __future__ import annotations

from redis.asyncio import Redis

# Counts per key within a fixed window. Every key must be under its limit for the attempt to
# be let through, and then every key counts it, in one step: checking first and counting after
# the slow password check is what let 200 concurrent guesses through where 5 are allowed.
# Returns 0 when reserved, else the seconds until the first full key's window ends.
_RESERVE = """
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl <= 0 then ttl = tonumber(ARGV[1]) end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[1], 'NX')
end
return 0
"""

# A successful attempt gives its reservation back: successes never lock anyone out.
_RELEASE = """
for _, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count > 0 then redis.call('DECR', key) end
end
return 0
"""


class AttemptLimiter:
    """At most `limit` attempts per key and window, counted before the attempt runs."""

    def __init__(self, redis: Redis, *, window_seconds: int) -> None:
        self._redis = redis
        self._window = window_seconds
        self._reserve = redis.register_script(_RESERVE)
        self._release = redis.register_script(_RELEASE)

    async def reserve(self, limits: dict[str, int]) -> int:
        """Count one attempt on every key, or none: 0 when reserved, else seconds to wait."""
        keys = list(limits)
        args = [self._window, *(limits[key] for key in keys)]
        return int(await self._reserve(keys=keys, args=args))

    async def release(self, keys: list[str]) -> None:
        await self._release(keys=keys, args=[])

    async def clear(self, *keys: str) -> None:
        await self._redis.delete(*keys)
