"""Builds the Socket.IO server: manager, codec, delivery gate and the two namespaces."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

import engineio
import socketio
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from socketio import packet

from .. import ids
from ..actions.context import Services
from ..actions.messages import replay_page
from ..actions.presence_updates import PresenceUpdates
from ..config import Settings
from ..connect_pacing import TurnPacer
from ..core.errors import ErrorCode, ParleyError
from ..core.origins import AllowedOrigins
from . import codec
from .admission import Admission, Ticket
from .agent import AgentNamespace
from .customer import CustomerNamespace
from .drain import Drain
from .eio_socket import LeanSocket, Outbox, handshake_environ, session_cookie
from .eio_websocket import with_closing_websocket
from .gate import DeliveryGate
from .handlers import error_ack, socket_client_address
from .manager import GatedRedisManager
from .publisher import AGENT_NAMESPACE, CUSTOMER_NAMESPACE

RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error"})

_RESTARTING = {
    "status": "503 SERVICE UNAVAILABLE",
    "headers": [("Content-Type", "text/plain"), ("Retry-After", "1")],
    "response": b"server is restarting",
}


class DrainingEngineServer(engineio.AsyncServer):
    """Engine.IO's server, refusing new sessions once the process drains: clients retry the
    handshake (with backoff) and reach another process."""

    drain: Drain | None = None
    admission: Admission | None = None
    # Socket.IO connects and departures starting per loop turn (connect_pacing.py).
    pacer: TurnPacer | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.async_mode == "aiohttp":
            self._async = with_closing_websocket(self._async)

    def create_queue(self, *args: Any, **kwargs: Any) -> Any:
        return Outbox()

    def generate_id(self) -> str:
        # python-engineio's format, from the process's random pool (a system call per id
        # was ~1% of a storm's connects: ids.py).
        sequence = int(getattr(self, "sequence_number", 0))
        self.sequence_number = (sequence + 1) & 0xFFFFFF
        return ids.session_id(sequence)

    async def _handle_connect(self, environ: Any, transport: str, jsonp_index: Any = None) -> Any:
        """Engine.IO's handshake, with a LeanSocket for the session (eio_socket.py)."""
        if self.drain is not None and self.drain.draining:
            return _RESTARTING
        ticket = await self.admission.enter() if self.admission is not None else None
        try:
            return await self._open_session(environ, transport, jsonp_index, ticket)
        finally:
            if ticket is not None:
                ticket.release()  # a websocket's socket gave it back once its upgrade was done

    async def _open_session(
        self, environ: Any, transport: str, jsonp_index: Any, ticket: Ticket | None
    ) -> Any:
        if self.start_service_task:  # the task that closes sockets whose pings went unanswered
            self.start_service_task = False
            self.service_task_handle = self.start_background_task(self._service_task)
        sid = self.generate_id()
        socket = self.sockets[sid] = LeanSocket(self, sid)
        opened = {
            "sid": sid,
            "upgrades": self._upgrades(sid, transport),
            "pingTimeout": int(self.ping_timeout * 1000),
            "pingInterval": int(self.ping_interval + self.ping_interval_grace_period) * 1000,
            "maxPayload": self.max_http_buffer_size,
        }
        await socket.send(eio_packet.Packet(eio_packet.OPEN, opened))
        accepted = await self._trigger_event("connect", sid, environ, run_async=False)
        if accepted is not None and accepted is not True:
            del self.sockets[sid]
            return self._unauthorized(accepted or None)
        socket.schedule_ping()
        if transport == "websocket":
            socket.admission_ticket = ticket
            response = await socket.handle_get_request(environ)
            if socket.closed:
                self.sockets.pop(sid, None)
            return response
        socket.connected = True
        try:
            first = await socket.poll()
        except eio_exceptions.QueueEmpty:
            return self._bad_request()
        return self._ok(first, headers=session_cookie(self, sid), jsonp_index=jsonp_index)


class ParleySocketServer(socketio.AsyncServer):
    """python-socketio's server, refusing client events named like its lifecycle events (a
    client sending "disconnect" would otherwise run the disconnect handler), answering packets
    it cannot decode, capping connections per client address, counting the events in flight
    so that a drain can wait for their acks, and pacing connects (admission.py,
    connect_pacing.py)."""

    def __init__(
        self,
        *,
        max_per_address: int,
        proxy_hops: int,
        drain: Drain | None = None,
        connect_concurrency: int = 0,
        connect_pace: int = 0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.drain = drain or Drain()
        self.eio.drain = self.drain
        self.admission = self.eio.admission = Admission(connect_concurrency)
        self.pacer = self.eio.pacer = TurnPacer(connect_pace)
        self.max_per_address = max_per_address
        self.proxy_hops = proxy_hops
        self.address_of: dict[str, str] = {}
        self.open_per_address: Counter[str] = Counter()

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return DrainingEngineServer

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        request = environ.get("aiohttp.request")
        address = "unknown"
        if request is not None:
            address = socket_client_address(environ, self.proxy_hops)
        if self.max_per_address and self.open_per_address[address] >= self.max_per_address:
            return False  # engine.io answers 401; the client may retry later
        self.address_of[eio_sid] = address
        self.open_per_address[address] += 1
        # Kept for the connection's life (namespaces connect later): without the header copies.
        return await super()._handle_eio_connect(eio_sid, handshake_environ(environ))

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        # A storm's namespace connects arrive in one read pass; started a few per loop turn,
        # live sockets' frames are handled between the slices.
        await self.pacer.turn()
        await super()._handle_connect(eio_sid, namespace, data)  # type: ignore[misc]

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        address = self.address_of.pop(eio_sid, None)
        if address is not None:
            self.open_per_address[address] -= 1
            if self.open_per_address[address] <= 0:
                del self.open_per_address[address]
        await super()._handle_eio_disconnect(eio_sid, reason)

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: list[Any], namespace: str, id: Any
    ) -> None:
        refusal = None
        if data and data[0] in RESERVED_EVENTS:
            refusal = ParleyError(ErrorCode.BAD_REQUEST, f"{data[0]!r} is a reserved event name")
        elif self.drain.draining:
            # Not started, so safe to send again (same client_id) once reconnected elsewhere.
            refusal = ParleyError(ErrorCode.UNAVAILABLE, "server is restarting; retry")
        if refusal is not None:
            if id is not None:
                await server._send_packet(
                    eio_sid,
                    self.packet_class(
                        packet.ACK, namespace=namespace, id=id, data=[error_ack(refusal)]
                    ),
                )
            return
        self.drain.started()
        try:
            await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
        finally:
            self.drain.finished()

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except codec.UndecodablePayload as exc:
            await self._answer_undecodable(eio_sid, data, exc)

    async def _answer_undecodable(self, eio_sid: str, data: Any, exc: Exception) -> None:
        """An event whose JSON cannot be read is answered when its ack id is known; any
        other unreadable packet closes that client (a client that sends one is broken)."""
        kind, namespace, ack_id = (
            codec.packet_header(data) if isinstance(data, str) else (None, "/", None)
        )
        if (
            kind == packet.EVENT
            and ack_id is not None
            and self.manager.sid_from_eio_sid(eio_sid, namespace) is not None
        ):
            refusal = ParleyError(ErrorCode.BAD_REQUEST, f"the event is not valid JSON: {exc}")
            await self._send_packet(
                eio_sid,
                self.packet_class(
                    packet.ACK, namespace=namespace, id=ack_id, data=[error_ack(refusal)]
                ),
            )
            return
        await self.eio.disconnect(eio_sid)


def create_socket_server(
    settings: Settings, origins: AllowedOrigins | None = None, drain: Drain | None = None
) -> ParleySocketServer:
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
        max_http_buffer_size=settings.socket_max_packet_bytes,
        max_per_address=settings.max_connections_per_address,
        proxy_hops=settings.proxy_hops,
        connect_concurrency=settings.connect_concurrency,
        connect_pace=settings.connect_pace,
        logger=False,
        engineio_logger=False,
        drain=drain,
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
    updates = PresenceUpdates(services)
    customers = CustomerNamespace(CUSTOMER_NAMESPACE, services, gate, updates)
    agents = AgentNamespace(AGENT_NAMESPACE, services, gate, updates)
    sio.register_namespace(customers)
    sio.register_namespace(agents)
    return customers, agents
