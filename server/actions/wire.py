"""Wire shapes that need server secrets (signed attachment links) on top of core.events."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ..core.events import Event, message_data, message_events, to_wire
from ..core.models import Attachment, Message, SenderKind
from .context import Services


def attachment_url(services: Services, attachment_id: UUID) -> str:
    token = services.signer.issue(
        "file", attachment_id, ttl_seconds=services.settings.attachment_url_ttl_seconds
    )
    return f"/api/v1/attachments/{attachment_id}/content?token={token}"


def attachment_data(services: Services, attachment: Attachment) -> dict[str, Any]:
    data: dict[str, Any] = to_wire(attachment)
    data["url"] = attachment_url(services, attachment.id)
    return data


def message_wire(services: Services, message: Message) -> dict[str, Any]:
    data = message_data(message)
    if message.sender_kind is SenderKind.ASSISTANT and data.get("sender_name") is None:
        # Read back from the database: the assistant's name is a setting, not a row.
        data["sender_name"] = services.settings.assistant_name
    if message.attachments:
        data["attachments"] = [attachment_data(services, a) for a in message.attachments]
    return data


def message_wire_events(services: Services, message: Message) -> list[Event]:
    events = message_events(message)
    if not message.attachments:
        return events
    wired = message_wire(services, message)
    return [
        Event(e.name, wired, e.customer_rooms, e.staff_rooms) if e.name == "message" else e
        for e in events
    ]
