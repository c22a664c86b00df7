"""Handlers both sides share: following a conversation, messages, typing, receipts, history."""

from __future__ import annotations

import logging
import uuid
from typing import Any
from uuid import UUID

import socketio

from ..actions import conversations as conversation_actions
from ..actions import messages as message_actions
from ..actions import posting
from ..actions import receipts as receipt_actions
from ..actions import typing as typing_actions
from ..actions.context import Services
from ..actions.presence_updates import PresenceUpdates
from ..actions.wire import message_wire
from ..core.errors import ErrorCode, ParleyError, not_found
from ..core.events import conversation_room
from ..core.models import AgentPrincipal, Conversation, ReceiptKind
from ..routing.limits import Charge
from . import schemas
from .gate import DeliveryGate
from .handlers import SocketSession, acked, error_ack
from .typing_timers import TypingTimers

log = logging.getLogger(__name__)


class ParleyNamespace(socketio.AsyncNamespace):
    def __init__(
        self,
        namespace: str,
        services: Services,
        gate: DeliveryGate,
        presence_updates: PresenceUpdates | None = None,
    ) -> None:
        super().__init__(namespace)
        self.services = services
        self.gate = gate
        # Presence writes of the whole process, in pipelined batches (shared by namespaces).
        self.presence_updates = presence_updates or PresenceUpdates(services)
        self.sessions: dict[str, SocketSession] = {}
        # Names this process's connections in presence; a restart is a new process.
        self.process_id = uuid.uuid4().hex[:12]
        # Set while the process stops: departures then leave presence to expire by itself.
        self.shutting_down = False
        self.typing = TypingTimers(services.settings.typing_timeout_seconds, self._typing_changed)

    def connection_id(self, sid: str) -> str:
        return f"{self.process_id}:{sid}"

    def local_connections(self) -> list[tuple[UUID, str]]:
        return [(s.principal.id, self.connection_id(sid)) for sid, s in self.sessions.items()]

    # -- plumbing ---------------------------------------------------------------------------
    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event not in {"connect", "disconnect"} and not hasattr(self, f"on_{event}"):
            return error_ack(ParleyError(ErrorCode.BAD_REQUEST, f"unknown event {event!r}"))
        return await super().trigger_event(event, *args)

    def session(self, sid: str) -> SocketSession:
        session = self.sessions.get(sid)
        if session is None:
            raise ParleyError(ErrorCode.UNAUTHORIZED, "not connected")
        return session

    def ensure_following(self, session: SocketSession, conversation_id: UUID) -> str:
        key = str(conversation_id)
        if key not in session.following:
            raise not_found("conversation (join or resume it first)")
        return key

    async def follow(self, sid: str, conversation: Conversation, after_seq: int) -> dict[str, Any]:
        """Subscribe a socket to a conversation and replay everything after after_seq."""
        session = self.session(sid)
        key = str(conversation.id)

        async def subscribe() -> None:
            await self.enter_room(sid, conversation_room(key))

        # A client claiming more than exists must not skip messages written after it asked.
        after_seq = min(after_seq, conversation.last_seq)
        await self.gate.open(self.namespace, sid, key, after_seq, subscribe)
        session.following.add(key)
        return {
            "conversation": await conversation_actions.with_assigned_agent(
                self.services, conversation
            ),
            "delivered_up_to": self.gate.cursor(self.namespace, sid, key),
        }

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        await self.typing.stop_all(sid)
        self.gate.close(self.namespace, sid)
        self.sessions.pop(sid, None)

    async def _typing_changed(self, sid: str, conversation_id: str, typing: bool) -> None:
        session = self.sessions.get(sid)
        if session is None:
            return
        await typing_actions.typing(
            self.services,
            session.principal,
            conversation_id=UUID(conversation_id),
            is_typing=typing,
            internal=False,
            sender_name=session.display_name,
            source_sid=sid,
        )

    # -- events -----------------------------------------------------------------------------
    @acked
    async def on_send_message(self, sid: str, data: Any = None) -> dict[str, Any]:
        session = self.session(sid)
        payload = schemas.decode(schemas.SendMessage, data)
        posted = await posting.post_message(
            self.services,
            session.principal,
            conversation_id=payload.conversation_id,
            client_id=payload.client_id,
            body=payload.body,
            visibility=payload.visibility,
            attachment_ids=payload.attachment_ids,
            charges=(Charge("messages_per_socket", self.connection_id(sid)),),
        )
        await self.typing.update(sid, str(payload.conversation_id), False)
        return posted.ack()

    @acked
    async def on_typing(self, sid: str, data: Any = None) -> None:
        session = self.session(sid)
        payload = schemas.decode(schemas.Typing, data)
        key = self.ensure_following(session, payload.conversation_id)
        if payload.internal and isinstance(session.principal, AgentPrincipal):
            # Private-note typing is staff-only and not tracked by the customer-facing timer.
            await typing_actions.typing(
                self.services,
                session.principal,
                conversation_id=payload.conversation_id,
                is_typing=payload.typing,
                internal=True,
                sender_name=session.display_name,
                source_sid=sid,
            )
            return
        await self.typing.update(sid, key, payload.typing)

    async def _mark(self, sid: str, data: Any, kind: ReceiptKind) -> dict[str, int]:
        session = self.session(sid)
        payload = schemas.decode(schemas.Receipt, data)
        cursor = await receipt_actions.mark(
            self.services,
            session.principal,
            conversation_id=payload.conversation_id,
            kind=kind,
            seq=payload.seq,
        )
        return {"delivered_seq": cursor.delivered_seq, "read_seq": cursor.read_seq}

    @acked
    async def on_mark_read(self, sid: str, data: Any = None) -> dict[str, int]:
        return await self._mark(sid, data, ReceiptKind.READ)

    @acked
    async def on_mark_delivered(self, sid: str, data: Any = None) -> dict[str, int]:
        return await self._mark(sid, data, ReceiptKind.DELIVERED)

    @acked
    async def on_history(self, sid: str, data: Any = None) -> dict[str, Any]:
        session = self.session(sid)
        payload = schemas.decode(schemas.History, data)
        messages = await message_actions.history(
            self.services,
            session.principal,
            payload.conversation_id,
            after_seq=payload.after_seq,
            before_seq=payload.before_seq,
            limit=payload.limit,
        )
        return {
            "messages": [message_wire(self.services, m) for m in messages],
            "has_more": len(messages) == payload.limit,
        }

    @acked
    async def on_leave(self, sid: str, data: Any = None) -> None:
        session = self.session(sid)
        payload = schemas.decode(schemas.ConversationRef, data)
        key = str(payload.conversation_id)
        await self.typing.update(sid, key, False)
        await self.leave_room(sid, conversation_room(key))
        self.gate.close(self.namespace, sid, key)
        session.following.discard(key)

    async def current(self, sid: str, conversation_id: UUID) -> Conversation:
        return await conversation_actions.get_visible(
            self.services, self.session(sid).principal, conversation_id
        )
