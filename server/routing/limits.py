"""Rate limits: token buckets in Redis, one Lua step per check, named after what they protect.

Every limit is a setting `rate_<name>` ("<count>/<seconds>", core.rates.Rate): a burst of
`count`, refilled evenly over `seconds`. A check names one or more buckets and takes from all of
them or from none, so a refused attempt costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, fields

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..config import Settings
from ..core.errors import ErrorCode, ParleyError
from ..core.rates import Rate
from .keys import RedisKeys
from .pipelined import PipelinedScript

log = logging.getLogger(__name__)

# How long a request waits for its rate-limit check before going on without it, and how
# long checks then go without Redis before asking it again.
_REDIS_SECONDS = 0.5
_RETRY_SECONDS = 5.0

# ARGV holds, per key, capacity, refill per second and cost, then a debt flag. With debt on, a
# bucket holding at least one token pays the whole cost even if that leaves it below zero: an
# upload's size is only known once it has been read, and the next upload then waits.
# Returns "0" when taken, else "<seconds>:<index>": the longest wait and which key it is for.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local debt = ARGV[#ARGV] == '1'
local levels = {}
local wait = 0
local which = 0
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[3 * i - 2])
  local rate = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
  levels[i] = tokens
  local needed = cost
  if debt then needed = math.min(cost, 1) end
  if tokens < needed then
    local seconds = (needed - tokens) / rate
    if seconds > wait then wait = seconds; which = i end
  end
end
if wait > 0 then return tostring(wait) .. ':' .. which end
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[3 * i - 2])
  local rate = tonumber(ARGV[3 * i - 1])
  local tokens = levels[i] - tonumber(ARGV[3 * i])
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('EXPIRE', key, math.ceil((capacity - tokens) / rate) + 1)
end
return '0'
"""

# Returns what a check took: ARGV holds each key's cost. A bucket that expired meanwhile is full.
_GIVE_BACK = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('HINCRBYFLOAT', key, 'tokens', ARGV[i])
  end
end
return 0
"""

LIMIT_NAMES = tuple(
    f.name.removeprefix("rate_") for f in fields(Settings) if f.name.startswith("rate_")
)


# The limits a connect checks (a new visitor): checked in their own queue.
CONNECT_LIMITS = frozenset({"visitors_per_address"})


@dataclass(frozen=True, slots=True)
class Charge:
    """Take `cost` from the bucket of limit `limit` kept for `subject` (an address, an id)."""

    limit: str
    subject: object
    cost: int = 1


class RateLimits:
    def __init__(self, redis: Redis, keys: RedisKeys, settings: Settings) -> None:
        self._keys = keys
        self._rates = {name: Rate.parse(getattr(settings, f"rate_{name}")) for name in LIMIT_NAMES}
        # Pipelined: a storm of connects checks thousands of buckets at once. Connects have a
        # queue of their own, so that a storm's thousands of checks never stand in front of a
        # live conversation's message (each queue sends one batch at a time).
        take = redis.register_script(_TAKE)
        self._take = PipelinedScript(redis, take)
        self._take_connects = PipelinedScript(redis, take)
        self._give_back = redis.register_script(_GIVE_BACK)
        self.skipped = 0  # checks that went without Redis (it was down or stalled)
        self._skip_until = 0.0

    def rate(self, limit: str) -> Rate:
        return self._rates[limit]

    async def take(self, *charges: Charge, debt: bool = False) -> None:
        """Take from every bucket or from none; over a limit raises rate_limited with
        `retry_after` (whole seconds) and the name of the limit."""
        if not charges:
            return
        keys: list[str] = []
        args: list[int | float] = []
        for charge in charges:
            rate = self._rates[charge.limit]
            keys.append(self._keys.rate_bucket(charge.limit, charge.subject))
            args += [rate.count, rate.per_second, charge.cost]
        args.append(1 if debt else 0)
        if time.monotonic() < self._skip_until:
            self.skipped += 1  # Redis failed a moment ago: don't make every request wait
            return
        try:
            async with asyncio.timeout(_REDIS_SECONDS):
                lane = self._take_connects if charges[0].limit in CONNECT_LIMITS else self._take
                reply = await lane(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            # Limits fail open: while Redis is down or stalled a request goes through
            # unthrottled rather than fail or wait (docs/architecture.md, "Restarts and
            # outages"); Redis is asked again after a few seconds.
            self._skip_until = time.monotonic() + _RETRY_SECONDS
            self.skipped += 1
            if self.skipped & (self.skipped - 1) == 0:  # 1, 2, 4...: no flood in an outage
                log.warning("rate limits skipped: Redis unavailable (%s)", type(exc).__name__)
            return
        wait, _, which = (reply.decode() if isinstance(reply, bytes) else str(reply)).partition(":")
        if float(wait) > 0:
            refused = charges[int(which) - 1].limit
            retry_after = max(1, math.ceil(float(wait)))
            raise ParleyError(
                ErrorCode.RATE_LIMITED,
                f"too many requests; try again in {retry_after} seconds",
                details={"retry_after": retry_after, "limit": refused},
            )

    async def give_back(self, *charges: Charge) -> None:
        """Return what a take of the same charges took, for an attempt found not to count
        after all (refilling never goes past a bucket's burst: a take caps it)."""
        if not charges or time.monotonic() < self._skip_until:
            return
        keys = [self._keys.rate_bucket(c.limit, c.subject) for c in charges]
        try:
            async with asyncio.timeout(_REDIS_SECONDS):
                await self._give_back(keys=keys, args=[c.cost for c in charges])
        except (RedisError, OSError, TimeoutError):
            return  # the tokens come back with the refill, as they would have anyway
