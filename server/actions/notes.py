"""System notes: messages Parley itself writes into a conversation (transfers, hand-overs)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ..core.models import Message, SystemPrincipal, Visibility
from . import messages
from .context import Services, UnitOfWork

SYSTEM = SystemPrincipal()


async def add_system_note(
    services: Services,
    work: UnitOfWork,
    conversation_id: UUID,
    body: str,
    *,
    internal: bool,
    metadata: dict[str, Any] | None = None,
) -> Message:
    """Post a system message in the caller's unit of work; it is published after the commit."""
    posted = await messages.write_message(
        services,
        work,
        SYSTEM,
        conversation_id=conversation_id,
        body=body,
        visibility=Visibility.INTERNAL if internal else Visibility.PUBLIC,
        metadata=metadata,
    )
    return posted.message
