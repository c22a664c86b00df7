"""Who answers a conversation: the assistant joining, stepping back, and the customer asking
for a person or saying the answer solved it.

The owner lives in conversations.owner (assistant, queue, human). Every change here locks the
conversation row, the row parley_post locks, so a guarded assistant post and an owner
change never both succeed out of order. The answers themselves are written by the participant
(server/assistant_runtime/participant.py) through actions.assistant_runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

from ..core import participant as texts
from ..core.errors import ErrorCode, ParleyError, not_found
from ..core.models import (
    Conversation,
    CustomerPrincipal,
    Owner,
)
from ..core.participant import HandoffReason
from ..core.routing import AssistantMode, assistant_mode_of
from ..store import assistant as assistant_store
from ..store import conversations as conversation_store
from . import assistant_voice, queue_view, routing
from .context import Services, unit_of_work
from .conversations import conversation_updated, load_visible

log = logging.getLogger(__name__)

SayText = Callable[[dict[str, Any] | None], str]


async def mode_for(services: Services, team_id: UUID | None) -> AssistantMode:
    team = await routing.team_for(services, team_id)
    if team is None:
        return AssistantMode.OFF
    return assistant_mode_of(team.settings, services.settings.assistant_mode)


async def route_new_wait(
    services: Services,
    conversation_id: UUID,
    *,
    team_id: UUID | None = None,
    kind: str = "queued",
    actor_kind: str = "system",
    actor_id: UUID | None = None,
    new_place: bool = False,
    greet: bool = False,
    assistant: bool = True,
    priority: int | None = None,
) -> Conversation | None:
    """A conversation starts waiting (it was created, or reopened). As its team's assistant
    mode says, the assistant answers first (`first`: it waits for a hand-over, not in line),
    helps while it waits when no person can take it at once (`when_no_agent`), or stays out."""
    if priority is not None:
        # Stored first, so it holds whichever way the conversation waits.
        async with services.db.acquire() as conn:
            await conversation_store.set_priority(conn, conversation_id, priority, touch=False)
    if team_id is None:
        async with services.db.acquire() as conn:
            current = await conversation_store.get(conn, conversation_id)
        team_id = current.team_id if current else None
    mode = await mode_for(services, team_id) if assistant else AssistantMode.OFF
    if mode is AssistantMode.FIRST:
        joined = await _join(
            services, conversation_id, team_id, mode, leave_queue=True, greet=greet
        )
        if joined is not None:
            return joined
    conversation = await routing.enqueue(
        services,
        conversation_id,
        team_id=team_id,
        new_place=new_place,
        kind=kind,
        actor_kind=actor_kind,
        actor_id=actor_id,
    )
    if (
        mode is AssistantMode.WHEN_NO_AGENT
        and conversation is not None
        and conversation.assigned_agent_id is None
    ):
        joined = await _join(
            services, conversation_id, conversation.team_id, mode, leave_queue=False, greet=greet
        )
        return joined or conversation
    return conversation


async def _join(
    services: Services,
    conversation_id: UUID,
    team_id: UUID | None,
    mode: AssistantMode,
    *,
    leave_queue: bool,
    greet: bool,
) -> Conversation | None:
    if team_id is None:
        default = await routing.team_for(services, None)
        team_id = default.id if default else None
    async with unit_of_work(services) as work:
        joined = await assistant_store.take(
            work.conn,
            conversation_id,
            team_id=team_id,
            max_turns=services.settings.assistant_max_turns,
            leave_queue=leave_queue,
        )
        if joined is None:
            return None
        await assistant_store.add_event(work.conn, conversation_id, "joined", reason=str(mode))
        if greet:
            await assistant_voice.say_in(
                services,
                work,
                conversation_id,
                texts.greeting(assistant_voice.assistant_name(services), mode),
            )
        work.publish_on_commit(conversation_updated(joined, reason="assistant_joined"))
    if leave_queue and joined.team_id is not None:
        # A reopened conversation may still sit in its old line.
        await services.routing.dequeue(joined.team_id, conversation_id)
    return joined


async def step_back(
    services: Services,
    conversation_id: UUID,
    reason: HandoffReason,
    *,
    say_text: SayText | None = None,
    run: UUID | None = None,
    drain: bool = True,
) -> Conversation | None:
    """The assistant stops answering and the conversation waits for a person (in line, at its
    place). With `run`, only while that answer is still the one in flight."""
    async with unit_of_work(services) as work:
        state = await assistant_store.lock_state(work.conn, conversation_id)
        if state is None or not state.open or state.owner is not Owner.ASSISTANT:
            return None
        if run is not None and state.run != run:
            return None
        conversation = await assistant_store.step_back(work.conn, conversation_id, str(reason))
        assert conversation is not None
        await assistant_store.add_event(work.conn, conversation_id, "stepped_back", reason=reason)
        await assistant_voice.stop_mark(services, state.run)
        work.publish_on_commit(conversation_updated(conversation, reason="assistant_left"))
    if state.run != run:
        assistant_voice.stop_local(services, state.run)
    return await _wait_for_person(services, conversation, say_text, drain=drain)


async def _wait_for_person(
    services: Services, conversation: Conversation, say_text: SayText | None, *, drain: bool
) -> Conversation:
    if not conversation.waiting:
        conversation = (
            await routing.enqueue(services, conversation.id, kind="queued", drain_now=drain)
            or conversation
        )
    if say_text is not None and conversation.assigned_agent_id is None:
        queue = await queue_view.queue_position(services, conversation)
        body = say_text(queue)
        metadata = {"queue": queue}
        if await assistant_voice.say(
            services, conversation.id, body, owners=(Owner.QUEUE,), metadata=metadata
        ):
            await queue_view.announce_position(services, conversation)
    return conversation


async def request_human(
    services: Services, principal: CustomerPrincipal, conversation_id: UUID
) -> tuple[Conversation, dict[str, Any] | None]:
    """The customer asks for a person (the `request_human` event, or a plain "human please").
    They keep their place in line, or take one; a resolved conversation is open again."""
    async with unit_of_work(services) as work:
        await load_visible(work, principal, conversation_id)
        state = await assistant_store.lock_state(work.conn, conversation_id)
        assert state is not None
        if state.open and state.assigned_agent_id is not None:
            assigned = await conversation_store.get(work.conn, conversation_id)
            assert assigned is not None
            return assigned, None  # a person has it already
        conversation = await assistant_store.ask_for_person(
            work.conn, conversation_id, HandoffReason.CUSTOMER_REQUEST
        )
        assert conversation is not None
        if state.open and state.owner is Owner.ASSISTANT:
            await assistant_store.add_event(
                work.conn, conversation_id, "stepped_back", reason=HandoffReason.CUSTOMER_REQUEST
            )
            await assistant_voice.stop_mark(services, state.run)
            work.publish_on_commit(conversation_updated(conversation, reason="assistant_left"))
    assistant_voice.stop_local(services, state.run)
    if not state.open:
        reopened = await routing.enqueue(
            services,
            conversation_id,
            new_place=True,
            kind="reopened",
            actor_kind="customer",
            actor_id=principal.customer_id,
        )
        conversation = reopened or conversation
    say_text = texts.person_requested if state.assistant_took_part else None
    await _wait_for_person(services, conversation, say_text, drain=True)
    async with services.db.acquire() as conn:
        # Re-read: the line may have assigned it to someone at once.
        current = await conversation_store.get(conn, conversation_id)
    assert current is not None
    return current, await queue_view.queue_position(services, current)


async def resolve_by_customer(
    services: Services, principal: CustomerPrincipal, conversation_id: UUID, *, via: str
) -> Conversation:
    """The customer says the answer solved it: the assistant closes the conversation, which
    leaves the line. Recorded as an assistant resolution."""
    async with unit_of_work(services) as work:
        context = await load_visible(work, principal, conversation_id)
        state = await assistant_store.lock_state(work.conn, conversation_id)
        assert state is not None
        if not state.open:
            return context.conversation
        if state.assigned_agent_id is not None:
            raise ParleyError(
                ErrorCode.CONFLICT, "a person is handling this conversation; tell them instead"
            )
        if state.assistant_took_part:
            await assistant_voice.say_in(services, work, conversation_id, texts.CLOSING)
        resolved = await assistant_store.resolve(work.conn, conversation_id)
        if resolved is None:
            raise not_found("conversation")
        await assistant_store.add_event(work.conn, conversation_id, "resolved", reason=via)
        await assistant_voice.stop_mark(services, state.run)
        work.publish_on_commit(conversation_updated(resolved, reason="resolved"))
    assistant_voice.stop_local(services, state.run)
    await routing.leave_routing(services, context.conversation, kind="resolved")
    return resolved


async def recover_abandoned_runs(services: Services) -> int:
    """Answers whose process died never finish: after the deadline, their conversations go to
    a person, and the customer is told. Any process may run this; each run is recovered once."""
    older_than = services.settings.assistant_deadline_seconds + 30
    async with unit_of_work(services) as work:
        ids = await assistant_store.abandoned_runs(work.conn, older_than)
        for conversation_id in ids:
            await assistant_store.add_event(
                work.conn, conversation_id, "stepped_back", reason=HandoffReason.ASSISTANT_ERROR
            )
    for conversation_id in ids:
        async with services.db.acquire() as conn:
            conversation = await conversation_store.get(conn, conversation_id)
        if conversation is not None:
            log.warning("an answer in %s never finished; handing it to a person", conversation_id)
            await _wait_for_person(services, conversation, texts.answer_failed, drain=True)
    return len(ids)
