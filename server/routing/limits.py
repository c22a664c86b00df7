"""Rate limits: token buckets in Redis, one Lua step per check, named after what they protect.

Every limit is a setting `rate_<name>` ("<count>/<seconds>", core.rates.Rate): a burst of
`count`, refilled evenly over `seconds`. A check names one or more buckets and takes from all of
them or from none, so a refused attempt costs nothing. A bucket whose subject lives in one
process only (a socket) is kept in that process (`Charge.local`): no Redis round trip, and
exact all the same, since no other process can spend from it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, fields
from typing import NoReturn

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


@dataclass(frozen=True, slots=True)
class Charge:
    """Take `cost` from the bucket of limit `limit` kept for `subject` (an address, an id)."""

    limit: str
    subject: object
    cost: int = 1
    local: bool = False  # the subject exists in this process only (a socket's connection id)


class LocalBuckets:
    """Token buckets kept in this process, for subjects no other process can spend from."""

    def __init__(self, rates: dict[str, Rate]) -> None:
        self._rates = rates
        self._levels: dict[tuple[str, object], tuple[float, float]] = {}  # (tokens, at)
        self._prune_at = 1024

    def wait(self, charge: Charge, now: float) -> float:
        """Seconds until `charge` could be paid (0: it can be now)."""
        tokens = self._level(charge, now)
        if tokens >= charge.cost:
            return 0.0
        return (charge.cost - tokens) / self._rates[charge.limit].per_second

    def take(self, charge: Charge, now: float) -> None:
        self._levels[(charge.limit, charge.subject)] = (self._level(charge, now) - charge.cost, now)
        if len(self._levels) >= self._prune_at:
            self._prune(now)

    def give_back(self, charge: Charge, now: float) -> None:
        if (charge.limit, charge.subject) in self._levels:
            capacity = self._rates[charge.limit].count
            refilled = min(capacity, self._level(charge, now) + charge.cost)
            self._levels[(charge.limit, charge.subject)] = (refilled, now)

    def _level(self, charge: Charge, now: float) -> float:
        rate = self._rates[charge.limit]
        tokens, at = self._levels.get((charge.limit, charge.subject), (rate.count, now))
        return min(rate.count, tokens + (now - at) * rate.per_second)

    def _prune(self, now: float) -> None:
        # A bucket that has refilled is the same as none: departed sockets' buckets end here.
        for key, (tokens, at) in list(self._levels.items()):
            rate = self._rates[key[0]]
            if tokens + (now - at) * rate.per_second >= rate.count:
                del self._levels[key]
        self._prune_at = max(1024, 2 * len(self._levels))


class RateLimits:
    def __init__(self, redis: Redis, keys: RedisKeys, settings: Settings) -> None:
        self._keys = keys
        self._rates = {name: Rate.parse(getattr(settings, f"rate_{name}")) for name in LIMIT_NAMES}
        self._local = LocalBuckets(self._rates)
        # Pipelined: a storm of connects checks thousands of buckets at once.
        self._take = PipelinedScript(redis, redis.register_script(_TAKE))
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
        local = [charge for charge in charges if charge.local]
        now = time.monotonic()
        for charge in local:
            wait = self._local.wait(charge, now)
            if wait > 0:
                _refuse(charge.limit, wait)
        for charge in local:  # checked and taken with no await between: atomic here
            self._local.take(charge, now)
        shared = [charge for charge in charges if not charge.local]
        if not shared:
            return
        try:
            await self._take_shared(shared, debt)
        except BaseException:
            now = time.monotonic()
            for charge in local:
                self._local.give_back(charge, now)
            raise

    async def _take_shared(self, charges: list[Charge], debt: bool) -> None:
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
                reply = await self._take(keys=keys, args=args)
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
            _refuse(charges[int(which) - 1].limit, float(wait))

    async def give_back(self, *charges: Charge) -> None:
        """Return what a take of the same charges took, for an attempt found not to count
        after all (refilling never goes past a bucket's burst: a take caps it)."""
        now = time.monotonic()
        for charge in charges:
            if charge.local:
                self._local.give_back(charge, now)
        charges = tuple(charge for charge in charges if not charge.local)
        if not charges or now < self._skip_until:
            return
        keys = [self._keys.rate_bucket(c.limit, c.subject) for c in charges]
        try:
            async with asyncio.timeout(_REDIS_SECONDS):
                await self._give_back(keys=keys, args=[c.cost for c in charges])
        except (RedisError, OSError, TimeoutError):
            return  # the tokens come back with the refill, as they would have anyway


def _refuse(limit: str, wait: float) -> NoReturn:
    retry_after = max(1, math.ceil(wait))
    raise ParleyError(
        ErrorCode.RATE_LIMITED,
        f"too many requests; try again in {retry_after} seconds",
        details={"retry_after": retry_after, "limit": limit},
    )
