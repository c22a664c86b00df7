"""Rate limits: token buckets in Redis, one Lua step per check, named after what they protect.

Every limit is a setting `rate_<name>` ("<count>/<seconds>", core.rates.Rate): a burst of
`count`, refilled evenly over `seconds`. A check names one or more buckets and takes from all of
them or from none, so a refused attempt costs nothing. The two message limits and the new
visitors' limit are served in the process (`local_limits.py`): a socket's bucket lives where the
socket does; a conversation's and an address's tokens are leased from Redis a few at a time.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from dataclasses import dataclass, fields
from functools import partial

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..config import Settings
from ..core.errors import ErrorCode, ParleyError
from ..core.rates import Rate
from .keys import RedisKeys
from .local_limits import SWEEP_SECONDS, Leases, LocalBuckets, lease_size
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

# A lease: ARGV holds capacity, refill per second, the tokens wanted, the tokens needed (the
# post's cost) and the tokens the process hands back (its lease's remainder). Returns the
# tokens granted (between needed and wanted), or "w<seconds>" while fewer than needed are there.
_LEASE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local need = tonumber(ARGV[4])
local returned = tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate + returned)
local granted = 0
if tokens >= need then granted = math.max(need, math.min(want, math.floor(tokens))) end
if granted > 0 or returned > 0 then
  tokens = tokens - granted
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('EXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate) + 1)
end
if granted == 0 then return 'w' .. tostring((need - tokens) / rate) end
return tostring(granted)
"""

# A waiting charge's turn to ask Redis for the next lease.
_LEAD = object()

# Served in the process: exact per socket (a socket lives in one process).
_LOCAL = frozenset({"messages_per_socket"})
# Leased from Redis a few tokens at a time (shared by every process).
_LEASED = frozenset({"messages_per_conversation", "visitors_per_address"})

LIMIT_NAMES = tuple(
    f.name.removeprefix("rate_") for f in fields(Settings) if f.name.startswith("rate_")
)


# The limits a connect checks (a new visitor): checked in their own queue. Their leases grow
# with demand: an address's first connect leases only its own token (one visitor from an
# address, the usual case, leaves nothing to hand back), and only an address whose lease was
# used up a moment ago (a storm from one address: an office, a NAT, a load test) leases more.
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
        # queue of their own, so that a storm's thousands of checks never stand in front of
        # another request's check (each queue sends one batch at a time).
        take = redis.register_script(_TAKE)
        self._take = PipelinedScript(redis, take)
        self._take_connects = PipelinedScript(redis, take)
        lease = redis.register_script(_LEASE)
        self._lease = PipelinedScript(redis, lease)
        self._lease_connects = PipelinedScript(redis, lease)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._local = LocalBuckets()
        self._leases = Leases()
        # Charges waiting for the lease request under way, by bucket key.
        self._lines: dict[str, deque[tuple[int, asyncio.Future[object]]]] = {}
        self._next_sweep = 0.0
        # While leases are held, a sweep also runs on a timer: a process that stops posting
        # still hands its leftovers back within about two seconds.
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._returns: set[asyncio.Task[None]] = set()
        # Lease requests whose asker stopped waiting: a stop waits for their grants to hand
        # them back.
        self._abandoned: set[asyncio.Future[bool]] = set()
        self.skipped = 0  # checks that went without Redis (it was down or stalled)
        self.lease_requests = 0  # round trips of the leased limits (for measurements)
        self._skip_until = 0.0

    def rate(self, limit: str) -> Rate:
        return self._rates[limit]

    def redis_failed(self) -> None:
        """Redis failed somewhere in this process (a publish, the fan-out's listener): limits
        fail open for a few seconds, the ones served in the process too, as if the check
        itself had failed. Without it the message limits, which seldom ask Redis, would go
        on refusing through an outage that every other limit lets pass."""
        self._skip_until = time.monotonic() + _RETRY_SECONDS

    async def take(self, *charges: Charge, debt: bool = False) -> None:
        """Take from every bucket or from none; over a limit raises rate_limited with
        `retry_after` (whole seconds) and the name of the limit."""
        if not charges:
            return
        if time.monotonic() < self._skip_until:
            self.skipped += 1  # Redis failed a moment ago: don't make every request wait
            return
        if any(c.limit in _LOCAL or c.limit in _LEASED for c in charges):
            await self._take_in_process(charges)
            return
        keys: list[str] = []
        args: list[int | float] = []
        for charge in charges:
            rate = self._rates[charge.limit]
            keys.append(self._keys.rate_bucket(charge.limit, charge.subject))
            args += [rate.count, rate.per_second, charge.cost]
        args.append(1 if debt else 0)
        try:
            async with asyncio.timeout(_REDIS_SECONDS):
                lane = self._take_connects if charges[0].limit in CONNECT_LIMITS else self._take
                reply = await lane(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            self._fail_open(exc)
            return
        wait, _, which = _text(reply).partition(":")
        if float(wait) > 0:
            raise _refused(charges[int(which) - 1].limit, float(wait))

    async def _take_in_process(self, charges: tuple[Charge, ...]) -> None:
        """The message limits: the socket's bucket here, the conversation's from its lease
        (asking Redis only when the lease has run out)."""
        if any(c.limit not in _LOCAL and c.limit not in _LEASED for c in charges):
            raise ValueError("the message limits are taken without the others")
        now = time.monotonic()
        if now >= self._next_sweep:
            self._sweep(now)
        for charge in charges:  # a refusal here costs no round trip
            if charge.limit in _LOCAL:
                rate = self._rates[charge.limit]
                wait = self._local.wait(rate, _local_key(charge), charge.cost, now)
                if wait > 0:
                    raise _refused(charge.limit, wait)
        leased: list[Charge] = []
        try:
            for charge in charges:
                if charge.limit in _LEASED:
                    if not await self._take_leased(charge):
                        return  # Redis failed: the limits fail open, nothing is counted
                    leased.append(charge)
        except ParleyError:
            for charge in leased:
                self._leases.add(self._bucket(charge), charge.cost, time.monotonic())
            raise
        now = time.monotonic()
        for charge in charges:
            if charge.limit in _LOCAL:
                self._local.take(self._rates[charge.limit], _local_key(charge), charge.cost, now)

    async def _take_leased(self, charge: Charge) -> bool:
        """Serve the charge from the lease, leasing more first when it holds too few. False
        when Redis could not be asked (fail open).

        One lease request per bucket at a time: charges that find the lease empty while a
        request is under way wait in line for its grant and are served from it in order; the
        first one it does not cover makes the next request. Each leasing on its own took a
        storm's tokens into this process many leases at a time (refusing other processes more
        than one lease early), and waking every waiter on each grant cost a storm time
        quadratic in the waiters."""
        key = self._bucket(charge)
        if self._leases.take(key, charge.cost, time.monotonic()):
            return True
        line = self._lines.get(key)
        if line is None:
            self._lines[key] = deque()
        else:
            turn: asyncio.Future[object] = asyncio.get_running_loop().create_future()
            line.append((charge.cost, turn))
            try:
                outcome = await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    if turn.result() is _LEAD:
                        self._next_in_line(key)  # it was this one's turn to ask: pass it on
                    elif turn.result() is True:  # served, but no longer wanted: keep the token
                        self._leases.add(key, charge.cost, time.monotonic())
                raise
            if isinstance(outcome, ParleyError):
                raise outcome
            if outcome is not _LEAD:
                return bool(outcome)
        request = asyncio.ensure_future(self._lease_more(key, charge))
        try:
            granted = await asyncio.shield(request)
        except asyncio.CancelledError:
            # Redis may have spent the tokens already: the grant still serves the line when it
            # lands, and this charge's share stays in the lease.
            if request.done():
                self._settle_abandoned(key, charge, request)
            else:
                self._abandoned.add(request)
                request.add_done_callback(self._abandoned.discard)
                request.add_done_callback(partial(self._settle_abandoned, key, charge))
            raise
        except ParleyError as refused:
            self._refuse_line(key, refused, charge.cost)
            self._next_in_line(key)
            raise
        except BaseException:
            self._next_in_line(key)
            raise
        self._next_in_line(key)
        return granted

    def _settle_abandoned(self, key: str, charge: Charge, request: asyncio.Future[bool]) -> None:
        """The answer to a lease request whose asker stopped waiting for it: tokens granted go
        to the lease, a refusal to the charges in line, and the line goes on."""
        if not request.cancelled():
            error = request.exception()
            if isinstance(error, ParleyError):
                self._refuse_line(key, error, charge.cost)
            elif error is not None:
                log.error("lease request failed", exc_info=error)
            elif request.result():
                self._leases.add(key, charge.cost, time.monotonic())
        self._next_in_line(key)

    def _next_in_line(self, key: str) -> None:
        """Serve the waiting charges from what the lease holds now, in order; the first it
        cannot serve asks for the next lease."""
        line = self._lines.get(key)
        while line:
            cost, turn = line.popleft()
            if turn.done():
                continue  # its caller stopped waiting
            if time.monotonic() < self._skip_until:
                turn.set_result(False)  # Redis failed: fail open, as the request did
            elif self._leases.take(key, cost, time.monotonic()):
                turn.set_result(True)
            else:
                turn.set_result(_LEAD)
                return
        self._lines.pop(key, None)

    def _refuse_line(self, key: str, refused: ParleyError, cost: int) -> None:
        """The refusal holds for the charges waiting next that cost as much or more: fewer
        tokens than that are there. A cheaper one waits for its own answer."""
        line = self._lines.get(key)
        while line and line[0][0] >= cost:
            _, turn = line.popleft()
            if not turn.done():
                details = dict(refused.details)
                turn.set_result(ParleyError(refused.code, refused.message, details=details))

    async def _lease_more(self, key: str, charge: Charge) -> bool:
        rate = self._rates[charge.limit]
        connect = charge.limit in CONNECT_LIMITS
        recent = key in self._leases
        returned = self._leases.surrender(key)  # less than the cost: back with the request
        want = max(lease_size(rate), charge.cost)
        if connect and not recent:
            want = charge.cost
        # The charges already waiting in line are served from this grant too: asked for at
        # once, a burst from one address takes one round trip, not one per lease.
        queued = sum(cost for cost, turn in self._lines.get(key, ()) if not turn.done())
        if queued:
            want = min(max(want, charge.cost + queued), max(rate.count, charge.cost))
        args = [rate.count, rate.per_second, want, charge.cost, returned]
        self.lease_requests += 1
        lane = self._lease_connects if connect else self._lease
        try:
            async with asyncio.timeout(_REDIS_SECONDS):
                reply = _text(await lane(keys=[key], args=args))
        except (RedisError, OSError, TimeoutError) as exc:
            self._fail_open(exc)
            return False
        if reply.startswith("w"):
            raise _refused(charge.limit, float(reply[1:]))
        # Another post of the conversation may have leased meanwhile: the grants add up.
        self._leases.add(key, int(reply), time.monotonic())
        self._sweep_later()
        if not self._leases.take(key, charge.cost, time.monotonic()):
            raise AssertionError("a lease granted less than the cost")
        return True

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_SECONDS
        self._local.sweep(self._rates, now)
        idle = self._leases.idle(now)
        if idle:
            self._hand_back(idle)

    def _sweep_later(self) -> None:
        if self._sweep_timer is None:
            loop = asyncio.get_running_loop()
            self._sweep_timer = loop.call_later(SWEEP_SECONDS, self._timed_sweep)

    def _timed_sweep(self) -> None:
        self._sweep_timer = None
        self._sweep(time.monotonic())
        if self._leases:
            self._sweep_later()

    def _hand_back(self, tokens: dict[str, int]) -> None:
        """Give leased tokens back to their shared buckets, without making anyone wait."""
        task = asyncio.get_running_loop().create_task(self._give_back_keys(tokens))
        self._returns.add(task)
        task.add_done_callback(self._returns.discard)

    async def _give_back_keys(self, tokens: dict[str, int]) -> None:
        try:
            async with asyncio.timeout(_REDIS_SECONDS):
                await self._give_back(keys=list(tokens), args=list(tokens.values()))
        except (RedisError, OSError, TimeoutError):
            return  # the tokens come back with the refill, as they would have anyway

    async def release(self) -> None:
        """Give back every lease this process holds (at a stop: another process may need
        them), and wait for the returns under way."""
        if self._abandoned:  # their grants land in the leases handed back below
            await asyncio.wait(set(self._abandoned))
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
            self._sweep_timer = None
        held = self._leases.all()
        if held:
            await self._give_back_keys(held)
        if self._returns:
            await asyncio.wait(set(self._returns))

    def _fail_open(self, exc: BaseException) -> None:
        # Limits fail open: while Redis is down or stalled a request goes through unthrottled
        # rather than fail or wait (docs/architecture.md, "Restarts and outages"); Redis is
        # asked again after a few seconds.
        self.redis_failed()
        self.skipped += 1
        if self.skipped & (self.skipped - 1) == 0:  # 1, 2, 4...: no flood in an outage
            log.warning("rate limits skipped: Redis unavailable (%s)", type(exc).__name__)

    def _bucket(self, charge: Charge) -> str:
        return self._keys.rate_bucket(charge.limit, charge.subject)

    async def give_back(self, *charges: Charge) -> None:
        """Return what a take of the same charges took, for an attempt found not to count
        after all (refilling never goes past a bucket's burst: a take caps it)."""
        if not charges or time.monotonic() < self._skip_until:
            return
        now = time.monotonic()
        shared = []
        for charge in charges:
            if charge.limit in _LOCAL:
                rate = self._rates[charge.limit]
                self._local.give_back(rate, _local_key(charge), charge.cost, now)
            else:
                # A leased charge too: straight back to the shared bucket (a rare path), so
                # that no process keeps a token nobody spent.
                shared.append(charge)
        if not shared:
            return
        keys = [self._bucket(c) for c in shared]
        try:
            async with asyncio.timeout(_REDIS_SECONDS):
                await self._give_back(keys=keys, args=[c.cost for c in shared])
        except (RedisError, OSError, TimeoutError):
            return  # the tokens come back with the refill, as they would have anyway


def _text(reply: object) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def _local_key(charge: Charge) -> str:
    return f"{charge.limit}|{charge.subject}"


def _refused(limit: str, wait: float) -> ParleyError:
    retry_after = max(1, math.ceil(wait))
    return ParleyError(
        ErrorCode.RATE_LIMITED,
        f"too many requests; try again in {retry_after} seconds",
        details={"retry_after": retry_after, "limit": limit},
    )
