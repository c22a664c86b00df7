"""The assistant's voice: fixed texts it posts (no model), and the stop marks that end an
answer being written. Below routing: assignments and hand-overs use it, so it imports no
routing of its own."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ..core.errors import NotOwner
from ..core.models import AssistantPrincipal, Owner
from ..store.messages import PostGuard
from . import messages
from .context import Services, UnitOfWork, unit_of_work


def assistant_principal(services: Services) -> AssistantPrincipal:
    return AssistantPrincipal(name=services.settings.assistant_name)


async def stop_mark(services: Services, run: UUID | None) -> None:
    """Tell whichever process writes answer `run` to stop (before the change commits, so no
    streamed piece follows what the change announces)."""
    if run is not None:
        await services.redis.set(services.keys.assistant_stop(run), "1", ex=3600)


def stop_local(services: Services, run: UUID | None) -> None:
    if run is not None:
        services.participant.stop(run)


def assistant_name(services: Services) -> str:
    return services.settings.assistant_name


async def say_in(
    services: Services,
    work: UnitOfWork,
    conversation_id: UUID,
    body: str,
    *,
    guard: PostGuard | None = None,
    metadata: dict[str, Any] | None = None,
) -> messages.PostedMessage:
    """The assistant posts a fixed text (no model) in the caller's unit of work."""
    return await messages.write_message(
        services,
        work,
        assistant_principal(services),
        conversation_id=conversation_id,
        body=body,
        metadata=metadata,
        sender_name=assistant_name(services),
        guard=guard,
    )


async def say(
    services: Services,
    conversation_id: UUID,
    body: str,
    *,
    owners: tuple[Owner, ...],
    metadata: dict[str, Any] | None = None,
) -> bool:
    """Post a fixed text unless the conversation changed hands meanwhile (then stay silent)."""
    try:
        async with unit_of_work(services, transaction=False) as work:
            await say_in(
                services,
                work,
                conversation_id,
                body,
                guard=PostGuard(tuple(str(o) for o in owners)),
                metadata=metadata,
            )
    except NotOwner:
        return False
    return True
