"""Rebuilding Redis from PostgreSQL: queues, agent loads and teams, assignments, and the
deadlines of grace periods, unanswered chats and abandonment.

Redis may lose its data (a restart without persistence, a failover). PostgreSQL is the truth
for everything routing decides, so one process at a time, at start and periodically, makes
Redis agree with it again and routing continues. Timers are re-armed only where none is
pending, and each one re-checks the truth when it fires, so a re-armed timer that races a
reply or a reconnection does nothing.
"""

from __future__ import annotations

import time
from uuid import UUID

import asyncpg

from ..core.models import Conversation, PresenceStatus
from ..core.routing import Priority, queue_score
from ..store import conversations as conversation_store
from ..store import routing as routing_store
from ..store import unanswered as unanswered_store
from . import assignments, routing
from .context import Services
from .routing_timers import grace_seconds


async def reconcile(services: Services) -> None:
    """Make Redis agree with PostgreSQL. Run at start and periodically; one process at a time."""
    lock = services.keys.reconcile_lock()
    if not await services.redis.set(lock, "1", nx=True, ex=60):
        return
    try:
        await _reconcile(services)
    finally:
        await services.redis.delete(lock)


async def _reconcile(services: Services) -> None:
    async with services.db.acquire() as conn:
        agents = await routing_store.routable_agents(conn)
        waiting = await routing_store.waiting_conversations(conn)
        assigned = await routing_store.open_assignments(conn)
        unanswered = await unanswered_store.unanswered_assignments(conn)
        teams = await routing_store.teams(conn)
    for agent in agents:
        await services.routing.set_agent(
            agent.id,
            capacity=routing.capacity_of(services, agent.max_chats),
            team_ids=agent.team_ids,
            load=agent.open_assigned,
        )
    await services.routing.replace_assignments(assigned)
    await _rebuild_lines(services, [team.id for team in teams], waiting)
    await _rearm_grace(services, set(assigned.values()))
    await _rearm_unanswered(services, unanswered)
    await _rearm_abandonment(services, waiting)
    for team in teams:
        await routing.drain(services, team.id)


async def _rebuild_lines(
    services: Services, team_ids: list[UUID], waiting: list[Conversation]
) -> None:
    by_team: dict[UUID, dict[UUID, float]] = {}
    for conversation in waiting:
        if conversation.team_id is None or conversation.queued_at is None:
            continue
        score = queue_score(Priority(conversation.priority), conversation.queued_at)
        by_team.setdefault(conversation.team_id, {})[conversation.id] = score
    for team_id in team_ids:
        desired = by_team.get(team_id, {})
        present = set(await services.routing.waiting(team_id, limit=100_000))
        for conversation_id, score in desired.items():
            if conversation_id not in present:
                await services.routing.enqueue(team_id, conversation_id, score)
        extras = present - set(desired)
        if extras:
            await _drop_if_not_waiting(services, team_id, extras)


async def _drop_if_not_waiting(services: Services, team_id: UUID, candidates: set[UUID]) -> None:
    # Re-read: a conversation may have started waiting after the snapshot above.
    async with services.db.acquire() as conn:
        still_waiting = await conversation_store.still_waiting(conn, list(candidates), team_id)
    for conversation_id in candidates - still_waiting:
        await services.routing.dequeue(team_id, conversation_id)


async def _rearm_grace(services: Services, agents_with_chats: set[UUID]) -> None:
    """An agent who holds chats but has no connection gets a grace period if none runs."""
    for agent_id in agents_with_chats:
        status, _ = await services.presence.status(agent_id)
        if status is PresenceStatus.OFFLINE:
            deadline = time.time() + await grace_seconds(services, agent_id)
            await services.timers.ensure("grace", agent_id, deadline)


async def _rearm_unanswered(services: Services, unanswered: list[asyncpg.Record]) -> None:
    """Every assignment not yet answered keeps its deadline, counted from the assignment."""
    teams: dict[UUID | None, float] = {}
    for row in unanswered:
        team_id = row["team_id"]
        if team_id not in teams:
            teams[team_id] = assignments.unanswered_seconds(
                services, await routing.team_for(services, team_id)
            )
        if teams[team_id] > 0:
            deadline = row["assigned_at"].timestamp() + teams[team_id]
            subject = f"{row['id']}/{row['assigned_agent_id']}"
            await services.timers.ensure("unanswered", subject, deadline)


async def _rearm_abandonment(services: Services, waiting: list[Conversation]) -> None:
    """A waiting customer with no connection left starts (or keeps) their abandonment clock."""
    deadline = time.time() + services.settings.abandon_seconds
    for conversation in waiting:
        status, _ = await services.customer_presence.status(conversation.customer_id)
        if status is PresenceStatus.OFFLINE:
            await services.timers.ensure("abandon", conversation.id, deadline)
