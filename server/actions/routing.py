"""The routing queue: putting conversations in line, assigning them, and telling everyone.

Order of every step: PostgreSQL records the decision (the truth), Redis makes the claim atomic,
events go out after the commit. A claim that PostgreSQL then refuses (capacity, or the
conversation stopped waiting) is undone in Redis, so the two never disagree for long; the
periodic reconciliation repairs whatever a crash left in between.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from uuid import UUID

from ..core.events import Event
from ..core.models import AgentPrincipal, Conversation
from ..core.routing import Priority, RoutingMode, plan_assignments, queue_score
from ..core.wire_events import TeamRef
from ..routing.queue import ClaimResult
from ..store import routing as routing_store
from ..store.routing import Team
from . import assignments
from .context import Services, unit_of_work
from .conversations import conversation_updated

log = logging.getLogger(__name__)

# Upper bound on claims per drain call, so one call never monopolises the loop.
_MAX_ASSIGNMENTS_PER_DRAIN = 200
# Conversations planned, claimed and recorded per round.
_BATCH = 100


async def team_for(services: Services, team_id: UUID | None) -> Team | None:
    async with services.db.acquire() as conn:
        if team_id is None:
            return await routing_store.team_by_slug_or_default(conn, None)
        return await routing_store.team(conn, team_id)


def capacity_of(services: Services, max_chats: int | None) -> int:
    return max_chats if max_chats is not None else services.settings.default_max_chats


async def register_agent(services: Services, agent_id: UUID) -> None:
    """Copy an agent's capacity and teams into Redis (on connect, and on changes)."""
    async with services.db.acquire() as conn:
        found = await routing_store.routable_agents(conn, agent_id)
    if not found:
        return
    agent = found[0]
    await services.routing.set_agent(
        agent.id, capacity=capacity_of(services, agent.max_chats), team_ids=agent.team_ids
    )


async def enqueue(
    services: Services,
    conversation_id: UUID,
    *,
    team_id: UUID | None = None,
    priority: int | None = None,
    new_place: bool = False,
    kind: str = "queued",
    actor_kind: str = "system",
    actor_id: UUID | None = None,
    reason: str | None = None,
    drain_now: bool = True,
    also_on_commit: Sequence[Event] = (),
) -> Conversation | None:
    """Put a conversation in its team's line (keeping its original place unless new_place),
    then try to assign it at once (unless not `drain_now`: the caller assigns it).
    `also_on_commit`: events that belong to the same change (the previous agent's
    `unassigned`), published with it after the commit."""
    async with unit_of_work(services, transaction=False) as work:  # one statement
        entered = await routing_store.enter_queue(
            work.conn,
            conversation_id,
            team_id=team_id,
            priority=priority,
            new_place=new_place,
            kind=kind,
            actor_kind=actor_kind,
            actor_id=actor_id,
            reason=reason,
        )
        if entered is None:
            return None
        conversation, team = entered
        # Transferred to a team: the customer is told which one (the snapshot has only its id).
        moved_to = TeamRef(id=team.id, name=team.name) if kind == "transferred" and team else None
        work.publish_on_commit(
            *also_on_commit, conversation_updated(conversation, reason=kind, team=moved_to)
        )
    if team is None or conversation.queued_at is None:
        log.error("conversation %s has no team to wait in (no default team?)", conversation_id)
        return conversation
    score = queue_score(Priority(conversation.priority), conversation.queued_at)
    await services.routing.enqueue(team.id, conversation.id, score)
    if drain_now:
        await drain(services, team.id, team=team)
    return conversation


async def drain(services: Services, team_id: UUID, *, team: Team | None = None) -> int:
    """Assign waiting conversations of a team while eligible agents have room. Returns how many
    were assigned. In manual mode nothing is assigned; agents claim. (`team`: the team as just
    read, when the caller has it.)"""
    if team is None or team.id != team_id:
        team = await team_for(services, team_id)
    if team is None:
        return 0
    assigned = 0
    if team.settings.mode is RoutingMode.AUTO:
        assigned = await _assign_waiting(services, team)
    services.queue_updates.changed(team.id)
    return assigned


async def _assign_waiting(services: Services, team: Team) -> int:
    """Assign the head of the line in batches: read the agents once, plan the batch with the
    pure choice rule, claim it in one atomic script, then record the claims in PostgreSQL in
    one transaction (assignments.record_batch). Claims that went stale in between (another
    process moved first) are simply not made; the next batch reads everything again."""
    assigned = 0
    # Agents PostgreSQL refused during this drain (its count disagreed with Redis): skip them
    # until the next drain rather than claim and undo in a loop.
    refused: set[UUID] = set()
    while assigned < _MAX_ASSIGNMENTS_PER_DRAIN:
        line = await services.routing.snapshot(team.id, _BATCH)
        if not line.heads:
            break
        if not any(c.eligible and c.agent_id not in refused for c in line.candidates):
            break
        plan = plan_assignments(
            line.heads,
            line.candidates,
            now=time.time(),
            exclusions=line.exclusions,
            refused=refused,
        )
        if not plan:
            break
        results = await services.routing.claim_many(team.id, plan)
        claimed = [p for p, result in zip(plan, results, strict=True) if result is ClaimResult.OK]
        recorded = await assignments.record_batch(services, team, claimed)
        made = 0
        for (_, agent_id), conversation in zip(claimed, recorded, strict=True):
            if conversation is None:
                refused.add(agent_id)
            else:
                made += 1
        assigned += made
        if len(line.heads) < _BATCH and made == len(line.heads):
            break  # that was the whole line
        if not claimed and ClaimResult.GONE not in results:
            break  # nothing moved but the agents' state: the next trigger brings fresh state
    return assigned


async def drain_teams_of(services: Services, agent_id: UUID) -> None:
    for team_id in await services.routing.teams_of(agent_id):
        await drain(services, team_id)


async def leave_routing(
    services: Services,
    conversation: Conversation,
    *,
    kind: str,
    actor: AgentPrincipal | None = None,
) -> None:
    """A conversation that stopped being open leaves the line and frees its agent."""
    if conversation.team_id is not None:
        removed = await services.routing.dequeue(conversation.team_id, conversation.id)
        if removed or conversation.waiting:
            async with services.db.acquire() as conn:
                await routing_store.leave_queue(conn, conversation.id)
            team = await team_for(services, conversation.team_id)
            if team is not None:
                services.queue_updates.changed(team.id)
    if conversation.assigned_agent_id is not None:
        await services.routing.release(conversation.id, conversation.assigned_agent_id)
        await services.timers.cancel(
            "unanswered", f"{conversation.id}/{conversation.assigned_agent_id}"
        )
        await drain_teams_of(services, conversation.assigned_agent_id)
