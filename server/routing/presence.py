"""Agent presence in Redis: connections with expiry, a chosen status, and one effective status.

An agent is online (or away) while at least one of their connections is alive, in any process.
Each process refreshes its connections' expiry by heartbeat; a crashed process stops refreshing,
so its connections expire by themselves and a sweeper (any process) turns them into departures.
Every change of effective status is decided inside one Lua script, so exactly one caller sees it
and it is broadcast once, however many tabs or processes are involved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from redis.asyncio import Redis

from ..core.models import PresenceStatus
from .keys import RedisKeys

# One connection's change and the owner's effective status after it; `now` is the time as
# the caller sent it (a string: it is stored as given).
_STEP = """
local function step(conns, status_key, index, online, op, member, expires_at, now, agent, chosen)
    if op == 'connect' or op == 'refresh' then
        redis.call('ZADD', conns, expires_at, member)
        redis.call('ZADD', index, expires_at, agent .. '|' .. member)
    elseif op == 'disconnect' then
        redis.call('ZREM', conns, member)
        redis.call('ZREM', index, agent .. '|' .. member)
    elseif op == 'choose' then
        redis.call('HSET', status_key, 'chosen', chosen)
    end
    redis.call('ZREMRANGEBYSCORE', conns, '-inf', tonumber(now))
    local current_choice = redis.call('HGET', status_key, 'chosen') or 'online'
    local effective = 'offline'
    if redis.call('ZCARD', conns) > 0 then effective = current_choice end
    local previous = redis.call('HGET', status_key, 'effective') or 'offline'
    if previous == effective then
        return {effective, 0, redis.call('HGET', status_key, 'since') or '0'}
    end
    redis.call('HSET', status_key, 'effective', effective, 'since', now)
    if effective == 'offline' then
        redis.call('SREM', online, agent)
    else
        redis.call('SADD', online, agent)
    end
    return {effective, 1, now}
end
"""

# KEYS: conns, status, expiry index, online set
# ARGV: op (connect|disconnect|choose|refresh), member, expires_at, now, agent_id, chosen
_PRESENCE_SCRIPT = (
    _STEP
    + """
return step(KEYS[1], KEYS[2], KEYS[3], KEYS[4],
    ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6])
"""
)

# Many connections' changes, in order, in one script run (one command instead of one per
# connection: building and parsing a pipeline of them was most of a connect's presence cost).
# KEYS: expiry index, online set, then conns and status per change
# ARGV: now, then op, member, expires_at, owner id per change; returns each change's result
_PRESENCE_MANY_SCRIPT = (
    _STEP
    + """
local results = {}
for i = 1, (#KEYS - 2) / 2 do
    local a = 2 + 4 * (i - 1)
    results[i] = step(KEYS[1 + 2 * i], KEYS[2 + 2 * i], KEYS[1], KEYS[2],
        ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[1], ARGV[a + 3], '')
end
return results
"""
)


@dataclass(frozen=True, slots=True)
class PresenceOp:
    """One connection's change for `PresenceStore.apply`: connect, disconnect or refresh."""

    op: str
    owner_id: UUID
    connection: str


@dataclass(frozen=True, slots=True)
class PresenceChange:
    agent_id: UUID
    status: PresenceStatus
    changed: bool
    since: float


class PresenceStore:
    """Reads and writes agent presence; every write reports whether the effective status moved."""

    def __init__(
        self, redis: Redis, keys: RedisKeys, *, ttl_seconds: float, kind: str = "agent"
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds
        self._kind = kind
        self._script = redis.register_script(_PRESENCE_SCRIPT)
        self._many = redis.register_script(_PRESENCE_MANY_SCRIPT)
        self._connections: Callable[[UUID | str], str]
        self._status: Callable[[UUID | str], str]
        if kind == "agent":
            self._connections, self._status = keys.agent_connections, keys.agent_status
            self._online = keys.online_agents()
        else:
            self._connections, self._status = keys.customer_connections, keys.customer_status
            self._online = keys.online_customers()
        self._index = keys.presence_expiry_index(kind)

    def _script_call(
        self, op: str, agent_id: UUID, member: str, chosen: str, now: float
    ) -> tuple[list[str], list[str | float]]:
        keys = [self._connections(agent_id), self._status(agent_id), self._index, self._online]
        return keys, [op, member, now + self._ttl, now, str(agent_id), chosen]

    async def _run(
        self, op: str, agent_id: UUID, member: str = "", chosen: str = ""
    ) -> PresenceChange:
        keys, args = self._script_call(op, agent_id, member, chosen, time.time())
        return _change(agent_id, await self._script(keys=keys, args=args))

    async def apply(self, ops: Sequence[PresenceOp]) -> list[PresenceChange]:
        """Connects, disconnects and refreshes, in order, in one script run (each change
        decided as the single-change script decides it): a heartbeat or a storm of departures
        costs one command and one round trip per batch instead of one per connection."""
        if not ops:
            return []
        now = time.time()
        keys: list[str] = [self._index, self._online]
        args: list[str | float] = [repr(now)]
        expires_at = now + self._ttl
        for op in ops:
            keys += (self._connections(op.owner_id), self._status(op.owner_id))
            args += (op.op, op.connection, expires_at, str(op.owner_id))
        results = await self._many(keys=keys, args=args)
        return [_change(op.owner_id, result) for op, result in zip(ops, results, strict=True)]

    async def connect(self, agent_id: UUID, connection: str) -> PresenceChange:
        return await self._run("connect", agent_id, connection)

    async def disconnect(self, agent_id: UUID, connection: str) -> PresenceChange:
        return await self._run("disconnect", agent_id, connection)

    async def refresh(self, agent_id: UUID, connection: str) -> PresenceChange:
        return await self._run("refresh", agent_id, connection)

    async def choose(self, agent_id: UUID, status: PresenceStatus) -> PresenceChange:
        return await self._run("choose", agent_id, chosen=str(status))

    async def expired_connections(self, limit: int = 500) -> list[tuple[UUID, str]]:
        """Connections whose process stopped refreshing them: (agent id, connection)."""
        members = await self._redis.zrangebyscore(
            self._index, "-inf", time.time(), start=0, num=limit
        )
        found = []
        for raw in members:
            member = _text(raw)  # type: ignore[arg-type]
            agent, _, connection = member.partition("|")
            try:
                found.append((UUID(agent), connection))
            except ValueError:
                await self._redis.zrem(self._index, member)
        return found

    async def status(self, agent_id: UUID) -> tuple[PresenceStatus, float]:
        effective, since = await self._redis.hmget(self._status(agent_id), ["effective", "since"])
        return (
            PresenceStatus(_text(effective) if effective else "offline"),
            float(_text(since)) if since else 0.0,
        )

    async def online_agent_ids(self) -> set[UUID]:
        members = await self._redis.smembers(self._online)
        return {UUID(_text(m)) for m in members}


def _change(owner_id: UUID, result: Any) -> PresenceChange:
    effective, changed, since = result
    return PresenceChange(
        agent_id=owner_id,
        status=PresenceStatus(_text(effective)),
        changed=bool(int(changed)),
        since=float(_text(since)),
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
