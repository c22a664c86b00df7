"""Publishes domain events to Socket.IO rooms, customer side and staff side."""

from __future__ import annotations

import socketio

from ..core.events import Event

CUSTOMER_NAMESPACE = "/customer"
AGENT_NAMESPACE = "/agent"


class SocketPublisher:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def publish(self, event: Event) -> None:
        # A list of rooms reaches each socket once, even when it sits in several of them; both
        # sides go in one call, so other processes get one publish per room, not per side.
        await self._sio.manager.emit_to_rooms(
            event.name,
            event.wire(),
            ((CUSTOMER_NAMESPACE, event.customer_rooms), (AGENT_NAMESPACE, event.staff_rooms)),
            event.skip_sid,
        )


class RelayPublisher:
    """For processes without sockets (the command line): events go out on the Redis channel
    the servers share, and every server delivers them to its own sockets."""

    def __init__(self, manager: socketio.AsyncRedisManager) -> None:
        self._manager = manager

    async def publish(self, event: Event) -> None:
        data = event.wire()
        for namespace, rooms in (
            (CUSTOMER_NAMESPACE, event.customer_rooms),
            (AGENT_NAMESPACE, event.staff_rooms),
        ):
            for room in rooms:
                await self._manager.emit(
                    event.name, data, namespace=namespace, room=room, skip_sid=event.skip_sid
                )
