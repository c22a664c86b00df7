"""System notes: messages Parley itself writes into a conversation (transfers, hand-overs)."""

from __future__ import annotations

from uuid import UUID

from ..core.models import Message, SenderKind, Visibility
from ..store import messages as message_store
from .context import Services, UnitOfWork
from .wire import message_wire_events


async def add_system_note(
    services: Services, work: UnitOfWork, conversation_id: UUID, body: str, *, internal: bool
) -> Message:
    """Post a system message in the caller's unit of work; it is published after the commit."""
    visibility = Visibility.INTERNAL if internal else Visibility.PUBLIC
    result = await message_store.post(
        work.conn,
        conversation_id=conversation_id,
        sender_kind=SenderKind.SYSTEM,
        sender_id=None,
        client_id=None,
        body=body,
        visibility=visibility,
        metadata={},
        attachment_ids=[],
    )
    message = Message(
        id=result.id,
        conversation_id=conversation_id,
        seq=result.seq,
        sender_kind=SenderKind.SYSTEM,
        sender_id=None,
        sender_name=None,
        client_id=None,
        body=body,
        visibility=visibility,
        attachments=(),
        metadata={},
        created_at=result.created_at,
    )
    work.publish_on_commit(*message_wire_events(services, message))
    return message
