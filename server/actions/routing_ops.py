"""What agents do to a conversation's routing: unassign, transfer, resolve, reopen."""

from __future__ import annotations

from uuid import UUID

from ..core import policies
from ..core.errors import ErrorCode, ParleyError, not_found
from ..core.events import Event, agent_room
from ..core.models import AgentPrincipal, Conversation, ConversationStatus
from ..core.routing import Priority, queue_score
from ..core.wire_events import UnassignedEvent
from ..routing.queue import ClaimResult
from ..store import agents as agent_store
from ..store import conversations as conversation_store
from ..store import routing as routing_store
from . import assignments, assistant_owner, routing
from .context import Services, UnitOfWork, unit_of_work
from .conversations import conversation_updated, load_visible
from .notes import add_system_note


async def release(
    services: Services,
    conversation: Conversation,
    *,
    requeue: bool,
    kind: str,
    reason: str | None = None,
    actor: AgentPrincipal | None = None,
) -> Conversation:
    """Take a conversation from its agent: back in line at its original place, or out of routing
    (resolved). The agent's freed capacity is used at once."""
    agent_id = conversation.assigned_agent_id
    if agent_id is not None:
        await services.routing.release(conversation.id, agent_id)
        await services.timers.cancel("unanswered", f"{conversation.id}/{agent_id}")
    result = conversation
    if requeue:
        services.metrics.requeues.labels(kind).inc()
        # The agent hears of it only once the conversation is back in line in PostgreSQL.
        told = (unassigned_event(conversation.id, agent_id, kind),) if agent_id else ()
        requeued = await routing.enqueue(
            services,
            conversation.id,
            kind=kind,
            actor_kind="agent" if actor else "system",
            actor_id=actor.agent_id if actor else None,
            reason=reason,
            also_on_commit=told,
        )
        result = requeued or conversation
    if agent_id is not None:
        await routing.drain_teams_of(services, agent_id)
    return result


def unassigned_event(conversation_id: UUID, agent_id: UUID, reason: str) -> Event:
    """Tells an agent a conversation is no longer theirs (published after the commit)."""
    payload = UnassignedEvent(conversation_id=conversation_id, reason=reason)
    return Event(payload, staff_rooms=(agent_room(agent_id),))


def _ensure_can_route(principal: AgentPrincipal, conversation: Conversation) -> None:
    if not policies.can_route(principal, conversation):
        raise ParleyError(ErrorCode.FORBIDDEN, "only the assigned agent or an admin can do this")


async def _visible(
    services: Services, principal: AgentPrincipal, conversation_id: UUID
) -> Conversation:
    async with unit_of_work(services, transaction=False) as work:
        return (await load_visible(work, principal, conversation_id)).conversation


async def unassign(
    services: Services, principal: AgentPrincipal, conversation_id: UUID
) -> Conversation:
    conversation = await _visible(services, principal, conversation_id)
    _ensure_can_route(principal, conversation)
    if conversation.status is not ConversationStatus.OPEN or conversation.assigned_agent_id is None:
        raise ParleyError(ErrorCode.CONFLICT, "this conversation is not assigned")
    return await release(services, conversation, requeue=True, kind="unassigned", actor=principal)


async def transfer(
    services: Services,
    principal: AgentPrincipal,
    conversation_id: UUID,
    *,
    to_agent: UUID | None,
    to_team: UUID | None,
    note: str | None,
) -> Conversation:
    if (to_agent is None) == (to_team is None):
        raise ParleyError(
            ErrorCode.VALIDATION_FAILED, "transfer to exactly one of: an agent, a team"
        )
    conversation = await _visible(services, principal, conversation_id)
    _ensure_can_route(principal, conversation)
    if conversation.status is not ConversationStatus.OPEN:
        raise ParleyError(ErrorCode.CONFLICT, "only open conversations can be transferred")
    if to_agent is not None:
        return await _transfer_to_agent(services, principal, conversation, to_agent, note)
    assert to_team is not None
    return await _transfer_to_team(services, principal, conversation, to_team, note)


async def _transfer_to_agent(
    services: Services,
    principal: AgentPrincipal,
    conversation: Conversation,
    to_agent: UUID,
    note: str | None,
) -> Conversation:
    async with services.db.acquire() as conn:
        target = await agent_store.get(conn, to_agent)
        max_chats = await routing_store.effective_max_chats(conn, to_agent)
    if target is None or not target.is_active:
        raise not_found("agent")
    if conversation.assigned_agent_id == to_agent:
        raise ParleyError(ErrorCode.CONFLICT, "the conversation is already assigned to this agent")
    await routing.register_agent(services, to_agent)
    capacity = routing.capacity_of(services, max_chats)
    if conversation.assigned_agent_id is None:
        # Waiting: the target takes it from the line, with the same checks as a claim.
        team = await routing.team_for(services, conversation.team_id)
        assert team is not None
        result = await services.routing.claim(team.id, conversation.id, to_agent)
        _explain(result, target.display_name)
        claimed = await assignments.record(
            services, team, conversation.id, to_agent, kind="transferred", actor_kind="agent"
        )
        if claimed is None:
            raise ParleyError(ErrorCode.CONFLICT, f"{target.display_name} cannot take it right now")
        await _note_transfer(services, conversation.id, principal, target.display_name, note)
        services.queue_updates.changed(team.id)
        return claimed
    from_agent = conversation.assigned_agent_id
    result = await services.routing.transfer(conversation.id, from_agent, to_agent)
    _explain(result, target.display_name)
    async with unit_of_work(services) as work:
        moved = await routing_store.reassign(
            work.conn, conversation.id, from_agent, to_agent, capacity=capacity
        )
        if moved is not None:
            await routing_store.add_event(
                work.conn,
                conversation_id=conversation.id,
                kind="transferred",
                agent_id=to_agent,
                from_agent_id=from_agent,
                team_id=moved.team_id,
                actor_kind="agent",
                actor_id=principal.agent_id,
                reason=note,
            )
            work.publish_on_commit(
                *assignments.assignment_events(moved, to_agent, target.display_name, "transferred")
            )
            work.publish_on_commit(unassigned_event(conversation.id, from_agent, "transferred"))
            await _note_transfer_in(
                services, work, conversation.id, principal, target.display_name, note
            )
    if moved is None:
        await services.routing.transfer(conversation.id, to_agent, from_agent)  # undo
        raise ParleyError(ErrorCode.CONFLICT, f"{target.display_name} cannot take it right now")
    await services.timers.cancel("unanswered", f"{conversation.id}/{from_agent}")
    team = await routing.team_for(services, moved.team_id)
    if team is not None:
        await assignments.start_unanswered_timer(services, team, conversation.id, to_agent)
    await routing.drain_teams_of(services, from_agent)
    return moved


def _explain(result: ClaimResult, name: str) -> None:
    if result is ClaimResult.OK:
        return
    messages = {
        ClaimResult.GONE: "the conversation changed meanwhile; reload and try again",
        ClaimResult.INELIGIBLE: f"{name} is not online",
        ClaimResult.FULL: f"{name} is at their limit of open conversations",
    }
    raise ParleyError(ErrorCode.CONFLICT, messages[result])


async def _transfer_to_team(
    services: Services,
    principal: AgentPrincipal,
    conversation: Conversation,
    to_team: UUID,
    note: str | None,
) -> Conversation:
    team = await routing.team_for(services, to_team)
    if team is None:
        raise not_found("team")
    if conversation.team_id is not None and conversation.waiting:
        await services.routing.dequeue(conversation.team_id, conversation.id)
    previous_team = conversation.team_id
    agent_id = conversation.assigned_agent_id
    if agent_id is not None:
        await services.routing.release(conversation.id, agent_id)
        await services.timers.cancel("unanswered", f"{conversation.id}/{agent_id}")
    async with unit_of_work(services) as work:
        await _note_transfer_in(
            services, work, conversation.id, principal, f"team {team.name}", note
        )
    told = (unassigned_event(conversation.id, agent_id, "transferred"),) if agent_id else ()
    moved = await routing.enqueue(
        services,
        conversation.id,
        team_id=team.id,
        kind="transferred",
        actor_kind="agent",
        actor_id=principal.agent_id,
        reason=note,
        also_on_commit=told,
    )
    if previous_team is not None and previous_team != team.id:
        previous = await routing.team_for(services, previous_team)
        if previous is not None:
            services.queue_updates.changed(previous.id)
    if agent_id is not None:
        await routing.drain_teams_of(services, agent_id)
    return moved or conversation


async def _note_transfer(
    services: Services,
    conversation_id: UUID,
    principal: AgentPrincipal,
    target: str,
    note: str | None,
) -> None:
    async with unit_of_work(services) as work:
        await _note_transfer_in(services, work, conversation_id, principal, target, note)


async def _note_transfer_in(
    services: Services,
    work: UnitOfWork,
    conversation_id: UUID,
    principal: AgentPrincipal,
    target: str,
    note: str | None,
) -> None:
    text = f"{principal.display_name} transferred this conversation to {target}."
    if note:
        text += f" Note: {note.strip()[:500]}"
    await add_system_note(services, work, conversation_id, text, internal=True)


async def resolve(
    services: Services, principal: AgentPrincipal, conversation_id: UUID
) -> Conversation:
    from .conversations import set_status

    conversation = await set_status(
        services, principal, conversation_id, ConversationStatus.RESOLVED
    )
    await routing.leave_routing(services, conversation, kind="resolved", actor=principal)
    async with services.db.acquire() as conn:
        return await conversation_store.get(conn, conversation_id) or conversation


async def reopen(
    services: Services, principal: AgentPrincipal, conversation_id: UUID
) -> Conversation:
    from .conversations import set_status

    current = await _visible(services, principal, conversation_id)
    if current.status is ConversationStatus.OPEN:
        return current  # already open: it stays where it is, with whoever has it
    await set_status(services, principal, conversation_id, ConversationStatus.OPEN)
    return await route_reopened(services, conversation_id, actor=principal)


async def route_reopened(
    services: Services, conversation_id: UUID, *, actor: AgentPrincipal | None = None
) -> Conversation:
    """A reopened conversation is routed again from a new place in line; its previous agent gets
    no special claim (they may be offline), so it goes to whoever is eligible now. The
    assistant may answer a customer's reopen again, within its turn limit for the
    conversation (an agent who reopens wants a person on it)."""
    conversation = await assistant_owner.route_new_wait(
        services,
        conversation_id,
        new_place=True,
        kind="reopened",
        actor_kind="agent" if actor else "customer",
        actor_id=actor.agent_id if actor else None,
        assistant=actor is None,
    )
    if conversation is None:
        raise not_found("conversation")
    return conversation


async def set_priority(
    services: Services, principal: AgentPrincipal, conversation_id: UUID, priority: Priority
) -> Conversation:
    """Admins (or the assigned agent) may move a conversation up or down the line."""
    conversation = await _visible(services, principal, conversation_id)
    _ensure_can_route(principal, conversation)
    async with unit_of_work(services) as work:
        await conversation_store.set_priority(work.conn, conversation_id, int(priority))
        updated = await conversation_store.get(work.conn, conversation_id)
        assert updated is not None
        # Everyone who sees it (the customer's tabs too) has its new priority at once.
        work.publish_on_commit(conversation_updated(updated, reason="priority"))
    if updated.waiting and updated.team_id is not None and updated.queued_at is not None:
        await services.routing.rescore(
            updated.team_id, conversation_id, queue_score(priority, updated.queued_at)
        )
        await routing.drain(services, updated.team_id)
    return updated
