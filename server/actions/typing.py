"""Typing indicators: ephemeral, never stored."""

from __future__ import annotations

from uuid import UUID

from ..core.events import Event, conversation_room
from ..core.models import AgentPrincipal, Principal
from ..core.wire_events import TypingEvent
from .context import Services, publish_all


async def typing(
    services: Services,
    principal: Principal,
    *,
    conversation_id: UUID,
    is_typing: bool,
    internal: bool,
    sender_name: str | None,
    source_sid: str | None,
) -> None:
    """Tell the other side someone started or stopped typing. A customer's typing goes to staff;
    an agent's goes to the customer too, unless they are writing a private note."""
    room = conversation_room(conversation_id)
    is_agent = isinstance(principal, AgentPrincipal)
    payload = TypingEvent(
        conversation_id=conversation_id,
        sender_kind="agent" if is_agent else "customer",
        sender_id=principal.id,
        sender_name=sender_name,
        typing=is_typing,
        internal=internal and is_agent,
        expires_in=services.settings.typing_timeout_seconds,
    )
    event = Event(
        payload,
        customer_rooms=(room,) if (is_agent and not internal) else (),
        staff_rooms=(room,),
        skip_sid=source_sid,
    )
    await publish_all(services, [event])
