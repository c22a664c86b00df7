"""The Socket.IO client manager: python-socketio's Redis manager with gated local delivery.

python-socketio fans every emit out through Redis pub/sub and then delivers it to the local
members of the room. `_GatedLocalDelivery` sits right above the plain in-process manager in the
method resolution order, so that every local delivery of a sequenced event to a conversation
room goes through the DeliveryGate, socket by socket; everything else is delivered as usual.
"""

from __future__ import annotations

from typing import Any

import socketio

from ..core.events import conversation_room
from .gate import SEQUENCED_EVENTS, DeliveryGate

_CONVERSATION_PREFIX = conversation_room("")


class _GatedLocalDelivery(socketio.AsyncManager):
    gate: DeliveryGate | None = None

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        gate = self.gate
        if (
            gate is None
            or event not in SEQUENCED_EVENTS
            or not isinstance(room, str)
            or not room.startswith(_CONVERSATION_PREFIX)
            or namespace not in self.rooms
        ):
            await socketio.AsyncManager.emit(
                self, event, data, namespace, room=room, skip_sid=skip_sid, callback=callback
            )
            return
        skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        for sid, _eio_sid in list(self.get_participants(namespace, room)):
            if sid not in skipped:
                await gate.offer(namespace, sid, event, data)

    async def send_direct(self, namespace: str, sid: str, event: str, data: Any) -> None:
        """Deliver to one local socket, bypassing the gate (the gate's own output)."""
        await socketio.AsyncManager.emit(self, event, data, namespace, room=sid)


class GatedRedisManager(socketio.AsyncRedisManager, _GatedLocalDelivery):
    """Cross-process fan-out through Redis, exactly-once ordered delivery per socket."""


class GatedLocalManager(_GatedLocalDelivery):
    """Single-process variant (no Redis fan-out), for tools and tests that want one process."""
