"""Builds the Socket.IO server: manager, codec, delivery gate and the two namespaces."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import socketio
from socketio import packet

from ..actions.context import Services
from ..actions.messages import replay_page
from ..config import Settings
from ..core.errors import ErrorCode, ParleyError
from ..core.origins import AllowedOrigins
from . import codec
from .agent import AgentNamespace
from .customer import CustomerNamespace
from .gate import DeliveryGate
from .handlers import error_ack
from .manager import GatedRedisManager
from .publisher import AGENT_NAMESPACE, CUSTOMER_NAMESPACE

RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error"})


class ParleySocketServer(socketio.AsyncServer):
    """python-socketio's server, refusing client events named like its lifecycle events (a
    client sending "disconnect" would otherwise run the disconnect handler)."""

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: list[Any], namespace: str, id: Any
    ) -> None:
        if data and data[0] in RESERVED_EVENTS:
            if id is not None:
                refusal = ParleyError(
                    ErrorCode.BAD_REQUEST, f"{data[0]!r} is a reserved event name"
                )
                await server._send_packet(
                    eio_sid,
                    self.packet_class(
                        packet.ACK, namespace=namespace, id=id, data=[error_ack(refusal)]
                    ),
                )
            return
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)


def create_socket_server(
    settings: Settings, origins: AllowedOrigins | None = None
) -> socketio.AsyncServer:
    manager = GatedRedisManager(settings.redis_url, channel=f"{settings.redis_prefix}socketio")
    # Consulted on every handshake, so an admin's change of the list applies at once.
    allowed = origins or AllowedOrigins(settings.allowed_origins)
    return ParleySocketServer(
        async_mode="aiohttp",
        client_manager=manager,
        json=codec,
        # Each client's events run in order, inline; other clients are unaffected.
        async_handlers=False,
        cors_allowed_origins=allowed.allows,
        transports=["websocket"] if settings.websocket_only else ["polling", "websocket"],
        max_http_buffer_size=1_000_000,
        logger=False,
        engineio_logger=False,
    )


def register_namespaces(
    sio: socketio.AsyncServer, services: Services
) -> tuple[CustomerNamespace, AgentNamespace]:
    manager: GatedRedisManager = sio.manager

    async def fetch(namespace: str, conversation_id: str, after_seq: int, limit: int) -> list[Any]:
        return await replay_page(
            services,
            conversation_id=UUID(conversation_id),
            customer_side=namespace == CUSTOMER_NAMESPACE,
            after_seq=after_seq,
            limit=limit,
        )

    async def deliver(namespace: str, sid: str, event: str, data: Any) -> None:
        await manager.send_direct(namespace, sid, event, data)
        if event == "message" and isinstance(data, dict):
            services.metrics.delivered(namespace, data.get("created_at"))

    gate = DeliveryGate(fetch, deliver)
    manager.gate = gate
    customers = CustomerNamespace(CUSTOMER_NAMESPACE, services, gate)
    agents = AgentNamespace(AGENT_NAMESPACE, services, gate)
    sio.register_namespace(customers)
    sio.register_namespace(agents)
    return customers, agents
