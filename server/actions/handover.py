"""A person takes over from the assistant: the customer is told, the agent is briefed.

Runs inside the assignment's transaction (assignments.py), whatever made the assignment: the
router, a claim or a transfer. That transaction made the person the owner, so the assistant
can post nothing after it; what it was writing is told to stop before the commit.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ..core import participant as texts
from ..core.events import assistant_typing_event
from ..core.models import Visibility
from ..core.participant import BRIEF_ARTICLES, HandoffReason, brief_summary, cited_articles
from ..store import assistant as assistant_store
from ..store import messages as message_store
from ..store.routing import Assignment
from . import assistant_voice
from .context import Services, UnitOfWork
from .notes import add_system_note

# The summary covers at most this many of the latest messages.
SUMMARY_MESSAGES = 200


async def hand_over(
    services: Services, work: UnitOfWork, assignment: Assignment, agent_id: UUID
) -> dict[str, Any] | None:
    """The hand-over payload for the `assigned` event, or None when the assistant took no part
    since a person last had the conversation."""
    if not assignment.assistant_took_part:
        return None
    conversation_id = assignment.conversation.id
    await assistant_voice.stop_mark(services, assignment.stopped_run)
    reason = assignment.handoff_reason or HandoffReason.AGENT_AVAILABLE
    history = await message_store.before(
        work.conn,
        conversation_id,
        before_seq=None,
        limit=SUMMARY_MESSAGES,
        visibilities=(Visibility.PUBLIC, Visibility.INTERNAL),
    )
    # Read in five seconds: at most 5 lines with the reason, and the top articles only.
    summary = brief_summary(history)
    citations = cited_articles(history)[:BRIEF_ARTICLES]
    handover = {"summary": summary, "citations": citations, "reason": str(reason)}
    await assistant_voice.say_in(
        services,
        work,
        conversation_id,
        texts.handover_note(assignment.agent_name),
        metadata={"handover": True},
    )
    if not services.settings.openai_api_key:
        # No model: the extractive summary is the brief. With one, the participant writes a
        # generated brief after the commit (routing never waits for a model).
        await add_system_note(
            services,
            work,
            conversation_id,
            texts.handover_brief(str(reason), summary, citations),
            internal=True,
            metadata={"handover": handover},
        )
    await assistant_store.add_event(
        work.conn, conversation_id, "handed_over", reason=str(reason), agent_id=agent_id
    )
    work.publish_on_commit(
        assistant_typing_event(
            conversation_id,
            services.settings.assistant_name,
            False,
            services.settings.typing_timeout_seconds,
        )
    )
    return handover


def after_commit(
    services: Services, assignment: Assignment, agent_id: UUID, handover: dict[str, Any]
) -> None:
    if assignment.stopped_run is not None:
        services.participant.stop(assignment.stopped_run)
    if services.settings.openai_api_key:
        services.participant.handed_over(assignment.conversation.id, agent_id, handover)
