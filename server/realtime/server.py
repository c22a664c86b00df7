"""Builds the Socket.IO server: manager, codec, delivery gate and the two namespaces."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import socketio

from ..actions.context import Services
from ..actions.messages import replay_page
from ..config import Settings
from . import codec
from .agent import AgentNamespace
from .customer import CustomerNamespace
from .gate import DeliveryGate
from .manager import GatedRedisManager
from .publisher import AGENT_NAMESPACE, CUSTOMER_NAMESPACE


def create_socket_server(settings: Settings) -> socketio.AsyncServer:
    manager = GatedRedisManager(settings.redis_url, channel=f"{settings.redis_prefix}socketio")
    origins: str | list[str] = (
        "*" if "*" in settings.allowed_origins else list(settings.allowed_origins)
    )
    return socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        json=codec,
        # Each client's events run in order, inline; other clients are unaffected.
        async_handlers=False,
        cors_allowed_origins=origins,
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

    gate = DeliveryGate(fetch, manager.send_direct)
    manager.gate = gate
    customers = CustomerNamespace(CUSTOMER_NAMESPACE, services, gate)
    agents = AgentNamespace(AGENT_NAMESPACE, services, gate)
    sio.register_namespace(customers)
    sio.register_namespace(agents)
    return customers, agents
