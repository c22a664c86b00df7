"""The assistant's answers as state changes: starting an answer, posting it (guarded), and
recording what it cost. The participant (server/assistant_runtime/participant.py) drives these from
its background tasks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from ..core import participant as texts
from ..core.models import AgentPrincipal, Message, Owner, SenderKind, Visibility
from ..store import assistant as assistant_store
from ..store import messages as message_store
from ..store.assistant import OwnerState, TokenUsage
from ..store.messages import PostGuard
from . import assistant_voice
from .context import Services, unit_of_work
from .conversations import load_visible
from .notes import add_system_note


class Outcome(StrEnum):
    STARTED = "started"
    NOT_OWNER = "not_owner"  # the assistant does not answer this conversation (any more)
    TURN_LIMIT = "turn_limit"  # it answered as often as it may here


@dataclass(frozen=True, slots=True)
class Begin:
    outcome: Outcome
    replaced: UUID | None = None  # an answer still in flight that this one replaces


async def owner_state(services: Services, conversation_id: UUID) -> OwnerState | None:
    async with services.db.acquire() as conn:
        return await assistant_store.state(conn, conversation_id)


async def begin(services: Services, conversation_id: UUID, run: UUID) -> Begin:
    """Make `run` the conversation's answer in flight. An earlier answer still being written is
    told to stop: the newest customer message is answered, once, with what came before it."""
    async with unit_of_work(services) as work:
        state = await assistant_store.lock_state(work.conn, conversation_id)
        if state is None or not state.assistant_answers:
            return Begin(Outcome.NOT_OWNER)
        if state.turns >= services.settings.assistant_max_turns:
            return Begin(Outcome.TURN_LIMIT)
        await assistant_voice.stop_mark(services, state.run)
        await assistant_store.begin_run(work.conn, conversation_id, run)
    return Begin(Outcome.STARTED, replaced=state.run)


async def post_answer(
    services: Services,
    conversation_id: UUID,
    run: UUID,
    *,
    body: str,
    citations: Sequence[Any],
    handoff: bool,
    mode: str,
    usage: TokenUsage,
) -> Message:
    """Post the answer, unless a person took over or a newer answer replaced it meanwhile
    (NotOwner: then nothing is written). Counts as one of the conversation's turns."""
    metadata = {
        "citations": [{"slug": c.slug, "title": c.title, "url": c.url} for c in citations],
        "handoff": handoff,
        "mode": mode,
        "stream_id": str(run),
    }
    async with unit_of_work(services) as work:
        posted = await assistant_voice.say_in(
            services,
            work,
            conversation_id,
            body[: services.settings.max_message_length],
            guard=PostGuard((str(Owner.ASSISTANT),), run),
            metadata=metadata,
        )
        await assistant_store.finish_run(work.conn, conversation_id, run, answered=True)
        await assistant_store.add_event(
            work.conn,
            conversation_id,
            "answered",
            mode=mode,
            message_id=posted.message.id,
            usage=usage,
        )
    services.metrics.messages_posted.labels("assistant").inc()
    services.metrics.assistant.labels("declined" if handoff else "answered").inc()
    return posted.message


async def reply_in_passing(services: Services, message: Message, body: str) -> bool:
    """A fixed reply to a customer message with nothing to look up (a greeting, thanks, a
    plain yes or no), not counted as an answer. Posted only while the assistant owns the
    conversation with no answer in flight (that answer comes next) and while `message` is the
    customer's latest (a newer one is answered instead); False when it stayed silent."""
    conversation_id = message.conversation_id
    async with unit_of_work(services) as work:
        state = await assistant_store.lock_state(work.conn, conversation_id)
        if state is None or not state.assistant_answers or state.run is not None:
            return False
        since = await message_store.after(
            work.conn,
            conversation_id,
            after_seq=message.seq,
            limit=20,
            visibilities=(Visibility.PUBLIC,),
        )
        if any(later.sender_kind is SenderKind.CUSTOMER for later in since):
            return False
        await assistant_voice.say_in(
            services, work, conversation_id, body, guard=PostGuard((str(Owner.ASSISTANT),))
        )
    services.metrics.messages_posted.labels("assistant").inc()
    return True


async def release(services: Services, conversation_id: UUID, run: UUID) -> None:
    """The run ends without an answer (stopped, or nothing left to answer)."""
    async with services.db.acquire() as conn:
        await assistant_store.finish_run(conn, conversation_id, run, answered=False)


async def stopped(services: Services, run: UUID) -> bool:
    """Was this answer told to stop (by any process)?"""
    return bool(await services.redis.exists(services.keys.assistant_stop(run)))


async def recent_messages(
    services: Services, conversation_id: UUID, *, with_notes: bool, limit: int = 60
) -> list[Message]:
    visibilities = (Visibility.PUBLIC, Visibility.INTERNAL) if with_notes else (Visibility.PUBLIC,)
    async with services.db.acquire() as conn:
        return await message_store.before(
            conn, conversation_id, before_seq=None, limit=limit, visibilities=visibilities
        )


async def write_brief(
    services: Services,
    conversation_id: UUID,
    agent_id: UUID,
    handover: dict[str, Any],
    *,
    summary: str,
    mode: str,
    usage: TokenUsage,
) -> None:
    """The generated hand-over brief, as a private note for the agent who took over."""
    brief = {**handover, "summary": summary, "mode": mode}
    async with unit_of_work(services) as work:
        await add_system_note(
            services,
            work,
            conversation_id,
            texts.handover_brief(handover.get("reason"), summary, handover.get("citations", [])),
            internal=True,
            metadata={"handover": brief},
        )
        await assistant_store.add_event(
            work.conn, conversation_id, "summarized", mode=mode, agent_id=agent_id, usage=usage
        )


async def record_suggestion(
    services: Services, conversation_id: UUID, agent_id: UUID, *, mode: str, usage: TokenUsage
) -> None:
    async with services.db.acquire() as conn:
        await assistant_store.add_event(
            conn, conversation_id, "suggested", mode=mode, agent_id=agent_id, usage=usage
        )


async def request_suggestion(
    services: Services, principal: AgentPrincipal, conversation_id: UUID, *, reply_to: str
) -> UUID:
    """Authorize, then hand the drafting to the participant (a model call is too slow for an
    acknowledgement)."""
    async with unit_of_work(services, transaction=False) as work:
        await load_visible(work, principal, conversation_id)
    return services.participant.suggest(principal, conversation_id, reply_to)
