"""The routing queue in Redis: per-team waiting lines, agent loads, and atomic claims.

Every step that must not race is one Lua script: taking a conversation off a queue for an agent
(never twice, never past capacity, never to someone offline), releasing it (the load drops once),
and transferring it. Choosing *which* agent is core.routing.choose_agent; the scripts only make
that choice stick, or report why it could not.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from redis.asyncio import Redis

from ..core.models import PresenceStatus
from ..core.routing import Candidate
from .keys import RedisKeys

# Claims for several (conversation, agent) pairs, each checked and applied in turn, all in one
# atomic step. One claim is a batch of one.
# KEYS: queue, assignments, recent-assignments list, then per pair: agent hash, agent status
# ARGV: now, default capacity, then per pair: conversation, agent
# Returns one result per pair: ok, gone, ineligible or full.
_CLAIM = """
local results = {}
for i = 0, (#ARGV - 2) / 2 - 1 do
  local conversation, agent = ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  local hash, presence = KEYS[4 + 2 * i], KEYS[5 + 2 * i]
  local result = 'ok'
  if redis.call('ZSCORE', KEYS[1], conversation) == false then
    result = 'gone'
  elseif (redis.call('HGET', presence, 'effective') or 'offline') ~= 'online' then
    result = 'ineligible'
  else
    local load = tonumber(redis.call('HGET', hash, 'load') or '0')
    local capacity = tonumber(redis.call('HGET', hash, 'capacity') or ARGV[2])
    if load >= capacity then result = 'full' end
  end
  if result == 'ok' then
    redis.call('ZREM', KEYS[1], conversation)
    redis.call('HINCRBY', hash, 'load', 1)
    redis.call('HSET', hash, 'last_assigned', ARGV[1])
    redis.call('HSET', KEYS[2], conversation, agent)
    redis.call('LPUSH', KEYS[3], ARGV[1])
  end
  results[i + 1] = result
end
redis.call('LTRIM', KEYS[3], 0, 49)
return results
"""

# KEYS: agent hash, assignments   ARGV: conversation, agent
_RELEASE = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
local load = tonumber(redis.call('HGET', KEYS[1], 'load') or '0')
if load > 0 then redis.call('HINCRBY', KEYS[1], 'load', -1) end
return 1
"""

# KEYS: from hash, to hash, to presence status, assignments
# ARGV: conversation, from agent, to agent, now, default capacity
_TRANSFER = """
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 'gone' end
local status = redis.call('HGET', KEYS[3], 'effective') or 'offline'
if status ~= 'online' then return 'ineligible' end
local load = tonumber(redis.call('HGET', KEYS[2], 'load') or '0')
local capacity = tonumber(redis.call('HGET', KEYS[2], 'capacity') or ARGV[5])
if load >= capacity then return 'full' end
local from_load = tonumber(redis.call('HGET', KEYS[1], 'load') or '0')
if from_load > 0 then redis.call('HINCRBY', KEYS[1], 'load', -1) end
redis.call('HINCRBY', KEYS[2], 'load', 1)
redis.call('HSET', KEYS[2], 'last_assigned', ARGV[4])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
return 'ok'
"""


# What a drain needs to plan a batch, in one round trip: the head of the line, every member
# agent's routing state and presence, and each head conversation's excluded agents. Key names
# are built from templates that keys.py renders (ARGV: before and after the id).
# KEYS: queue, team members   ARGV: count, agent hash, agent status, exclusions (2 each)
_SNAPSHOT = """
local heads = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #heads == 0 then return {{}, {}, {}} end
local agents = {}
for _, agent in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local hash = ARGV[2] .. agent .. ARGV[3]
  local state = redis.call('HMGET', hash, 'capacity', 'load', 'last_assigned')
  local status = redis.call('HGET', ARGV[4] .. agent .. ARGV[5], 'effective')
  agents[#agents + 1] = {agent, state[1] or '', state[2] or '', state[3] or '', status or ''}
end
local excluded = {}
for i, conversation in ipairs(heads) do
  excluded[i] = redis.call('SMEMBERS', ARGV[6] .. conversation .. ARGV[7])
end
return {heads, agents, excluded}
"""


@dataclass(frozen=True, slots=True)
class LineSnapshot:
    heads: list[UUID]
    candidates: list[Candidate]
    exclusions: dict[UUID, set[UUID]]


class ClaimResult(StrEnum):
    OK = "ok"
    GONE = "gone"  # no longer waiting (someone else took it, or it left the queue)
    INELIGIBLE = "ineligible"  # the agent is not online
    FULL = "full"  # the agent is at capacity


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RoutingStore:
    def __init__(self, redis: Redis, keys: RedisKeys, *, default_capacity: int) -> None:
        self._redis = redis
        self._keys = keys
        self._default_capacity = default_capacity
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._transfer = redis.register_script(_TRANSFER)
        self._snapshot = redis.register_script(_SNAPSHOT)
        self._templates: list[str] = []
        for render in (keys.agent_routing, keys.agent_status, keys.exclusions):
            self._templates += render("\0").split("\0")

    # -- queues -----------------------------------------------------------------------------
    async def enqueue(self, team_id: UUID, conversation_id: UUID, score: float) -> None:
        # NX: a conversation already waiting keeps its place.
        await self._redis.zadd(
            self._keys.team_queue(team_id), {str(conversation_id): score}, nx=True
        )

    async def rescore(self, team_id: UUID, conversation_id: UUID, score: float) -> None:
        """A new priority: move a conversation that is still waiting (XX: never re-add one)."""
        await self._redis.zadd(
            self._keys.team_queue(team_id), {str(conversation_id): score}, xx=True
        )

    async def dequeue(self, team_id: UUID, conversation_id: UUID) -> bool:
        """Take a conversation off its queue without assigning it; True if it was there."""
        removed = await self._redis.zrem(self._keys.team_queue(team_id), str(conversation_id))
        return bool(removed)

    async def waiting(self, team_id: UUID, limit: int | None = 1000) -> list[UUID]:
        """The line in order: its first `limit` conversations, or all of it (None)."""
        end = -1 if limit is None else limit - 1
        members = await self._redis.zrange(self._keys.team_queue(team_id), 0, end)
        return [UUID(_text(m)) for m in members]  # type: ignore[arg-type]

    async def rank(self, team_id: UUID, conversation_id: UUID) -> int | None:
        """0-based place in line, or None when not waiting."""
        value = await self._redis.zrank(self._keys.team_queue(team_id), str(conversation_id))
        return value if isinstance(value, int) else None

    async def snapshot(self, team_id: UUID, count: int) -> LineSnapshot:
        """The first `count` of the line with the team's agents and the heads' exclusions."""
        keys = [self._keys.team_queue(team_id), self._keys.team_members(team_id)]
        heads, agents, excluded = await self._snapshot(keys=keys, args=[count, *self._templates])
        return LineSnapshot(
            heads=[UUID(_text(h)) for h in heads],
            candidates=[self._candidate(*(_text(v) for v in agent)) for agent in agents],
            exclusions={
                UUID(_text(h)): {UUID(_text(a)) for a in members}
                for h, members in zip(heads, excluded, strict=True)
                if members
            },
        )

    def _candidate(self, agent: str, capacity: str, load: str, last: str, status: str) -> Candidate:
        return Candidate(
            agent_id=UUID(agent),
            status=PresenceStatus(status) if status else PresenceStatus.OFFLINE,
            load=int(load or 0),
            capacity=int(capacity) if capacity else self._default_capacity,
            last_assigned_at=float(last or 0),
        )

    # -- agents -----------------------------------------------------------------------------
    async def set_agent(
        self, agent_id: UUID, *, capacity: int, team_ids: Iterable[UUID], load: int | None = None
    ) -> None:
        """Register an agent's capacity and teams (and, when rebuilding, their load)."""
        teams = [str(t) for t in team_ids]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.agent_routing(agent_id), "capacity", capacity)
            if load is not None:
                pipe.hset(self._keys.agent_routing(agent_id), "load", load)
            pipe.delete(self._keys.agent_teams(agent_id))
            if teams:
                pipe.sadd(self._keys.agent_teams(agent_id), *teams)
            for team in teams:
                pipe.sadd(self._keys.team_members(team), str(agent_id))
            await pipe.execute()

    async def remove_from_team(self, agent_id: UUID, team_id: UUID) -> None:
        await self._redis.srem(self._keys.team_members(team_id), str(agent_id))
        await self._redis.srem(self._keys.agent_teams(agent_id), str(team_id))

    async def teams_of(self, agent_id: UUID) -> set[UUID]:
        members = await self._redis.smembers(self._keys.agent_teams(agent_id))
        return {UUID(_text(m)) for m in members}

    async def load_of(self, agent_id: UUID) -> tuple[int, int]:
        load, capacity = await self._redis.hmget(
            self._keys.agent_routing(agent_id), ["load", "capacity"]
        )
        return int(load or 0), int(capacity) if capacity is not None else self._default_capacity

    # -- the atomic steps -------------------------------------------------------------------
    async def claim(self, team_id: UUID, conversation_id: UUID, agent_id: UUID) -> ClaimResult:
        (result,) = await self.claim_many(team_id, [(conversation_id, agent_id)])
        return result

    async def claim_many(
        self, team_id: UUID, pairs: Sequence[tuple[UUID, UUID]]
    ) -> list[ClaimResult]:
        """Claim each (conversation, agent) pair in order, atomically as a whole; one result
        per pair. The announced positions stay until publish_queue sees the change."""
        if not pairs:
            return []
        keys = [
            self._keys.team_queue(team_id),
            self._keys.assignments(),
            self._keys.recent_assignments(team_id),
        ]
        args: list[str | float] = [time.time(), self._default_capacity]
        for conversation_id, agent_id in pairs:
            keys += [self._keys.agent_routing(agent_id), self._keys.agent_status(agent_id)]
            args += [str(conversation_id), str(agent_id)]
        replies = await self._claim(keys=keys, args=args)
        return [ClaimResult(_text(reply)) for reply in replies]

    async def release(self, conversation_id: UUID, agent_id: UUID) -> bool:
        keys = [self._keys.agent_routing(agent_id), self._keys.assignments()]
        return bool(await self._release(keys=keys, args=[str(conversation_id), str(agent_id)]))

    async def transfer(
        self, conversation_id: UUID, from_agent: UUID, to_agent: UUID
    ) -> ClaimResult:
        keys = [
            self._keys.agent_routing(from_agent),
            self._keys.agent_routing(to_agent),
            self._keys.agent_status(to_agent),
            self._keys.assignments(),
        ]
        args: list[str | float] = [
            str(conversation_id),
            str(from_agent),
            str(to_agent),
            time.time(),
            self._default_capacity,
        ]
        return ClaimResult(_text(await self._transfer(keys=keys, args=args)))

    async def replace_assignments(self, assignments: dict[UUID, UUID]) -> None:
        """Rebuild the conversation -> agent map from PostgreSQL's open assignments."""
        key = self._keys.assignments()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if assignments:
                pipe.hset(key, mapping={str(c): str(a) for c, a in assignments.items()})
            await pipe.execute()

    async def assignee(self, conversation_id: UUID) -> UUID | None:
        value = await self._redis.hget(self._keys.assignments(), str(conversation_id))
        return UUID(_text(value)) if value else None

    # -- exclusions, positions, estimates ---------------------------------------------------
    async def exclude(self, conversation_id: UUID, agent_id: UUID, seconds: float) -> None:
        key = self._keys.exclusions(conversation_id)
        await self._redis.sadd(key, str(agent_id))
        await self._redis.expire(key, max(1, int(seconds)))

    async def recent_assignment_times(self, team_id: UUID) -> list[float]:
        values = await self._redis.lrange(self._keys.recent_assignments(team_id), 0, -1)
        return [float(_text(v)) for v in values]

    async def line(self, team_id: UUID) -> list[str]:
        """The whole line in order, as conversation id text (what announcements work with)."""
        members = await self._redis.zrange(self._keys.team_queue(team_id), 0, -1)
        return [_text(m) for m in members]  # type: ignore[arg-type]

    async def changed_positions(
        self, team_id: UUID, positions: dict[str, int]
    ) -> tuple[dict[str, int], set[str], set[str]]:
        """Record the positions now (conversation id text -> place); return (changed
        positions, newly in line, gone from line)."""
        key = self._keys.queue_positions(team_id)
        stored = await self._redis.hgetall(key)
        previous = {_text(k): int(v) for k, v in stored.items()}
        changed = {c: p for c, p in positions.items() if previous.get(c) != p}
        stale = [k for k in previous if k not in positions]
        added = {c for c in positions if c not in previous}
        async with self._redis.pipeline(transaction=True) as pipe:
            if stale:
                pipe.hdel(key, *stale)
            if changed:
                pipe.hset(key, mapping={c: p for c, p in changed.items()})
            await pipe.execute()
        return changed, added, set(stale)
