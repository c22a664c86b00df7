"""Wire shapes that need server secrets (signed attachment links) on top of core.events."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from ..core.events import Event, message_events, message_payload
from ..core.models import Attachment, Message, SenderKind
from ..core.wire_events import WireAttachment, WireMessage
from .context import Services


def attachment_url(services: Services, attachment_id: UUID) -> str:
    token = services.signer.issue(
        "file", attachment_id, ttl_seconds=services.settings.attachment_url_ttl_seconds
    )
    return f"/api/v1/attachments/{attachment_id}/content?token={token}"


def signed_attachment(services: Services, attachment: Attachment) -> WireAttachment:
    return WireAttachment(
        **msgspec.structs.asdict(attachment), url=attachment_url(services, attachment.id)
    )


def attachment_data(services: Services, attachment: Attachment) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(signed_attachment(services, attachment))
    return data


def signed_message(services: Services, message: Message) -> WireMessage:
    """A message as every client gets it: attachment links signed now, the assistant named."""
    payload = message_payload(
        message, tuple(signed_attachment(services, a) for a in message.attachments)
    )
    if message.sender_kind is SenderKind.ASSISTANT and message.sender_name is None:
        # Read back from the database: the assistant's name is a setting, not a row.
        payload = msgspec.structs.replace(payload, sender_name=services.settings.assistant_name)
    return payload


def message_wire(services: Services, message: Message) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(signed_message(services, message))
    return data


def message_wire_events(services: Services, message: Message) -> list[Event]:
    return message_events(message, signed_message(services, message))
