"""Local delivery of a sequenced event to a conversation room, socket by socket."""

from __future__ import annotations

from typing import Any

from server.core.events import MESSAGE, conversation_room
from server.realtime.gate import DeliveryGate
from server.realtime.manager import GatedLocalManager

NAMESPACE = "/agent"
ROOM = conversation_room("c1")


async def test_a_socket_that_leaves_during_the_delivery_loop_is_not_given_the_event() -> None:
    manager = GatedLocalManager()
    sent: list[str] = []

    async def fetch(namespace: str, conversation: str, after: int, limit: int) -> list[Any]:
        return []

    async def send(namespace: str, sid: str, event: str, data: Any) -> None:
        sent.append(sid)
        if sid == "first":  # while the first socket is served, the second one's `leave` runs
            manager.basic_leave_room("second", NAMESPACE, ROOM)

    manager.gate = DeliveryGate(fetch, send)
    for sid in ("first", "second", "third"):
        manager.basic_enter_room(sid, NAMESPACE, ROOM, eio_sid=f"eio-{sid}")

    await manager.emit(MESSAGE, {"conversation_id": "c1", "seq": 1}, NAMESPACE, room=ROOM)

    assert sent == ["first", "third"]
