"""Making Redis claims durable: each assignment recorded in PostgreSQL (parley_assign), its
events published after the commit, and a claim PostgreSQL refused undone in Redis.

One claim (an agent's claim, the router's single pick) is one transaction. A drain's batch is
one transaction for the whole batch, in agent order so that concurrent batches lock agents in
the same order; should it fail anyway, each claim is recorded on its own instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec

from ..core.events import Event, agent_room
from ..core.models import Conversation, Customer
from ..core.routing import Priority, queue_score
from ..core.wire_events import AgentRef, AssignedEvent, Handover, WireConversation
from ..store import conversations as conversation_store
from ..store import routing as routing_store
from ..store.routing import Assignment, Team
from . import handover
from .context import Services, UnitOfWork, unit_of_work
from .conversations import conversation_updated

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Made:
    assignment: Assignment
    agent_id: UUID
    handed: dict[str, Any] | None
    kind: str


async def record(
    services: Services,
    team: Team,
    conversation_id: UUID,
    agent_id: UUID,
    *,
    kind: str = "assigned",
    actor_kind: str = "system",
) -> Conversation | None:
    """Make one Redis claim durable; undo it when PostgreSQL refuses. A person who takes over
    from the assistant gets its hand-over (handover.py) in the same transaction."""
    made = None
    async with unit_of_work(services) as work:
        assignment = await routing_store.record_assignment(
            work.conn,
            conversation_id,
            agent_id,
            default_capacity=services.settings.default_max_chats,
            kind=kind,
            team_id=team.id,
            actor_kind=actor_kind,
            actor_id=agent_id if actor_kind == "agent" else None,
        )
        if assignment is not None:
            made = await _made_in(services, work, assignment, agent_id, kind)
    if made is None:
        await _undo(services, conversation_id, agent_id)
        return None
    await _after_commit(services, team, made)
    return made.assignment.conversation


async def record_batch(
    services: Services, team: Team, claimed: list[tuple[UUID, UUID]]
) -> list[Conversation | None]:
    """Make a drain's claims durable in one transaction; the result lines up with `claimed`
    (None where PostgreSQL refused and the claim was undone)."""
    if not claimed:
        return []
    ordered = sorted(claimed, key=lambda pair: (str(pair[1]), str(pair[0])))
    try:
        made: dict[UUID, _Made] = {}
        async with unit_of_work(services) as work:
            found = await routing_store.record_assignments(
                work.conn,
                ordered,
                default_capacity=services.settings.default_max_chats,
                team_id=team.id,
            )
            for conversation_id, agent_id in ordered:
                assignment = found.get(conversation_id)
                if assignment is not None:
                    made[conversation_id] = await _made_in(
                        services, work, assignment, agent_id, "assigned"
                    )
    except Exception:
        # A deadlock with another process, a failed hand-over: nothing of the batch committed.
        log.exception("recording %d assignments at once failed; one at a time", len(claimed))
        return [await record(services, team, c, a) for c, a in claimed]
    results: list[Conversation | None] = []
    for conversation_id, agent_id in claimed:
        one = made.get(conversation_id)
        if one is None:
            await _undo(services, conversation_id, agent_id)
            results.append(None)
        else:
            await _after_commit(services, team, one)
            results.append(one.assignment.conversation)
    return results


async def _made_in(
    services: Services, work: UnitOfWork, assignment: Assignment, agent_id: UUID, kind: str
) -> _Made:
    handed = await handover.hand_over(services, work, assignment, agent_id)
    work.publish_on_commit(
        *assignment_events(
            assignment.conversation,
            agent_id,
            assignment.agent_name,
            kind,
            handover=handed,
            customer=assignment.customer,
        )
    )
    return _Made(assignment, agent_id, handed, kind)


async def _after_commit(services: Services, team: Team, made: _Made) -> None:
    services.metrics.assignments.labels(made.kind).inc()
    conversation = made.assignment.conversation
    services.metrics.wait_in_line(team.slug, conversation.queued_at, conversation.assigned_at)
    if made.handed is not None:
        services.metrics.assistant.labels("handed_over").inc()
        handover.after_commit(services, made.assignment, made.agent_id, made.handed)
    await start_unanswered_timer(services, team, made.assignment.conversation.id, made.agent_id)


async def _undo(services: Services, conversation_id: UUID, agent_id: UUID) -> None:
    await services.routing.release(conversation_id, agent_id)
    async with services.db.acquire() as conn:
        row = await conversation_store.place_in_line(conn, conversation_id)
    if row and row["team_id"] and row["queued_at"]:
        await services.routing.enqueue(
            row["team_id"],
            conversation_id,
            queue_score(Priority(row["priority"]), row["queued_at"]),
        )


def unanswered_seconds(services: Services, team: Team | None) -> float:
    """How long an assigned agent has to write first before the chat goes elsewhere (0: never)."""
    if team is not None and team.settings.unanswered_seconds is not None:
        return team.settings.unanswered_seconds
    return services.settings.unanswered_seconds


async def start_unanswered_timer(
    services: Services, team: Team, conversation_id: UUID, agent_id: UUID
) -> None:
    seconds = unanswered_seconds(services, team)
    if seconds > 0:
        await services.timers.schedule("unanswered", f"{conversation_id}/{agent_id}", seconds)


def assignment_events(
    conversation: Conversation,
    agent_id: UUID,
    display_name: str,
    kind: str,
    *,
    customer: Customer | None = None,
    handover: dict[str, Any] | None = None,
) -> list[Event]:
    """The customer learns who is helping; the agent gets the conversation (and, taking over
    from the assistant, its hand-over: summary, cited articles, reason)."""
    agent = AgentRef(id=agent_id, display_name=display_name)
    to_agent = AssignedEvent(
        conversation=WireConversation.of(conversation),
        reason=kind,
        agent=agent,
        customer=customer,
        handover=msgspec.convert(handover, Handover) if handover is not None else None,
    )
    return [
        conversation_updated(conversation, reason=kind, agent=agent),
        Event(to_agent, staff_rooms=(agent_room(agent_id),)),
    ]
