"""Delivered and read receipts."""

from __future__ import annotations

from uuid import UUID

from ..core.events import Event, conversation_room
from ..core.models import AgentPrincipal, Principal, ReceiptKind
from ..core.wire_events import ReceiptEvent
from ..store import receipts as receipt_store
from ..store.receipts import Cursor
from .context import Services, unit_of_work
from .conversations import load_visible


async def mark(
    services: Services,
    principal: Principal,
    *,
    conversation_id: UUID,
    kind: ReceiptKind,
    seq: int,
) -> Cursor:
    """Move the principal's cursor forward; both sides hear about it when it moved."""
    async with unit_of_work(services, transaction=False) as work:
        await load_visible(work, principal, conversation_id)
        cursor = await receipt_store.advance(
            work.conn,
            conversation_id=conversation_id,
            reader_kind=principal.kind,
            reader_id=principal.id,
            kind=kind,
            seq=seq,
        )
        assert cursor is not None  # load_visible proved the conversation exists
        if cursor.moved:
            room = conversation_room(conversation_id)
            receipt = ReceiptEvent(
                conversation_id=conversation_id,
                reader_kind="agent" if isinstance(principal, AgentPrincipal) else "customer",
                reader_id=principal.id,
                delivered_seq=cursor.delivered_seq,
                read_seq=cursor.read_seq,
            )
            work.publish_on_commit(Event(receipt, customer_rooms=(room,), staff_rooms=(room,)))
    return cursor
