"""Routing that follows time and presence: agents who vanish (grace period), chats nobody
answers, customers who leave the line, and rebuilding Redis from PostgreSQL."""

from __future__ import annotations

import logging
from uuid import UUID

from ..core.models import ConversationStatus, PresenceStatus
from ..routing.presence import PresenceChange
from ..store import conversations as conversation_store
from ..store import routing as routing_store
from ..store import unanswered as unanswered_store
from . import assignments, routing
from .context import Services, unit_of_work
from .conversations import conversation_updated
from .routing_ops import release

log = logging.getLogger(__name__)


async def agent_presence_changed(services: Services, change: PresenceChange) -> None:
    """Online: take work now (and keep what the grace period protected). Offline: start the
    grace period. Away keeps its chats and takes no new ones: nothing to do."""
    if change.status is PresenceStatus.ONLINE:
        await services.timers.cancel("grace", change.agent_id)
        await routing.register_agent(services, change.agent_id)
        await routing.drain_teams_of(services, change.agent_id)
    elif change.status is PresenceStatus.OFFLINE:
        grace = await grace_seconds(services, change.agent_id)
        await services.timers.schedule("grace", change.agent_id, grace)


async def grace_seconds(services: Services, agent_id: UUID) -> float:
    """The shortest grace among the agent's teams (their customers should not wait longer)."""
    candidates = [services.settings.agent_grace_seconds]
    for team_id in await services.routing.teams_of(agent_id):
        team = await routing.team_for(services, team_id)
        if team is not None and team.settings.grace_seconds is not None:
            candidates.append(team.settings.grace_seconds)
    return min(candidates)


async def grace_expired(services: Services, agent_id: UUID) -> int:
    """The agent did not come back: their open conversations go back in line, at their places."""
    status, _ = await services.presence.status(agent_id)
    if status is not PresenceStatus.OFFLINE:
        return 0
    async with services.db.acquire() as conn:
        assigned = await routing_store.open_assigned_to(conn, agent_id)
    for conversation in assigned:
        await release(
            services, conversation, requeue=True, kind="requeued", reason="agent went offline"
        )
    if assigned:
        log.info("agent %s vanished; %d conversations back in line", agent_id, len(assigned))
    return len(assigned)


async def unanswered_expired(services: Services, conversation_id: UUID, agent_id: UUID) -> bool:
    """The assigned agent never replied: offer the conversation to someone else."""
    async with services.db.acquire() as conn:
        conversation = await conversation_store.get(conn, conversation_id)
        if (
            conversation is None
            or conversation.status is not ConversationStatus.OPEN
            or conversation.assigned_agent_id != agent_id
            or await unanswered_store.agent_has_replied(conn, conversation_id)
        ):
            # A timer re-armed from PostgreSQL may race the reply it was meant to wait for.
            return False
    team = await routing.team_for(services, conversation.team_id)
    seconds = assignments.unanswered_seconds(services, team)
    await services.routing.exclude(conversation_id, agent_id, max(seconds, 60.0))
    # release() tells the agent (`unassigned`, reason "unanswered") once the requeue commits.
    await release(
        services, conversation, requeue=True, kind="unanswered", reason="no reply in time"
    )
    return True


async def agent_replied(services: Services, conversation_id: UUID, agent_id: UUID) -> None:
    await services.timers.cancel("unanswered", f"{conversation_id}/{agent_id}")


async def customers_left(services: Services, customer_ids: list[UUID]) -> None:
    """Customers with no socket left start the abandonment clock of their waiting chats
    (one query for all of them: a storm of departures is one batch)."""
    if not customer_ids:
        return
    async with services.db.acquire() as conn:
        waiting = await conversation_store.waiting_of_customers(conn, customer_ids)
    seconds = services.settings.abandon_seconds
    for conversation_id in waiting:
        await services.timers.schedule("abandon", conversation_id, seconds)


async def abandon_expired(services: Services, conversation_id: UUID) -> bool:
    async with services.db.acquire() as conn:
        conversation = await conversation_store.get(conn, conversation_id)
    if conversation is None or not conversation.waiting:
        return False
    status, _ = await services.customer_presence.status(conversation.customer_id)
    if status is not PresenceStatus.OFFLINE:
        return False  # they came back in another tab meanwhile
    async with unit_of_work(services) as work:
        updated = await conversation_store.set_status(
            work.conn, conversation_id, ConversationStatus.ABANDONED
        )
        await routing_store.leave_queue(work.conn, conversation_id)
        await routing_store.add_event(
            work.conn,
            conversation_id=conversation_id,
            kind="abandoned",
            team_id=conversation.team_id,
            reason="customer left while waiting",
        )
        if updated is not None:
            work.publish_on_commit(conversation_updated(updated, reason="abandoned"))
    if conversation.team_id is not None:
        await services.routing.dequeue(conversation.team_id, conversation_id)
        await routing.drain(services, conversation.team_id)
    return True


async def customer_returned(services: Services, conversation_id: UUID) -> None:
    """A customer following a conversation again: stop its abandonment clock, and bring an
    abandoned conversation back to its place in line."""
    await services.timers.cancel("abandon", conversation_id)
    async with services.db.acquire() as conn:
        conversation = await conversation_store.get(conn, conversation_id)
        if conversation is None or conversation.status is not ConversationStatus.ABANDONED:
            return
        await conversation_store.set_status(conn, conversation_id, ConversationStatus.OPEN)
    await routing.enqueue(services, conversation_id, kind="returned", actor_kind="customer")


async def run_due_timers(services: Services) -> int:
    fired = 0
    for kind, subject in await services.timers.pop_due():
        try:
            if kind == "grace":
                await grace_expired(services, UUID(subject))
            elif kind == "unanswered":
                conversation, _, agent = subject.partition("/")
                await unanswered_expired(services, UUID(conversation), UUID(agent))
            elif kind == "abandon":
                await abandon_expired(services, UUID(subject))
            fired += 1
        except Exception:
            log.exception("routing timer %s:%s failed", kind, subject)
    return fired
