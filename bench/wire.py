"""A minimal Socket.IO v5 / Engine.IO v4 client over one aiohttp websocket, for load generation.

python-socketio's own client costs more CPU per message than the servers it would measure, so
the load generator speaks the frames itself: one websocket per namespace connection, events
with acknowledgement ids, answers to the server's pings, nothing else (no polling, no binary
packets, no reconnection).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import aiohttp
import msgspec

_encode = msgspec.json.encode
_decode = msgspec.json.decode

EventHandler = Callable[[str, Any], None]

# Connects and acks that take longer than this are failures of the run, not slow answers.
TIMEOUT = 30.0


class ConnectRefused(Exception):
    """The server answered the namespace connect with an error packet (`44`)."""


class Connection:
    """One client socket on one namespace. Events go to `on_event(name, payload)`."""

    def __init__(self, namespace: str, on_event: EventHandler | None = None) -> None:
        self.namespace = namespace
        self.on_event = on_event
        self.closed = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._prefix = f"/{namespace.strip('/')},"
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next_ack = 0
        self._connected: asyncio.Future[None] | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(
        self, http: aiohttp.ClientSession, base_url: str, auth: dict[str, Any] | None = None
    ) -> None:
        url = base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self._ws = await http.ws_connect(url, autoping=False, max_msg_size=0)
        handshake = await self._ws.receive(timeout=TIMEOUT)
        if handshake.type != aiohttp.WSMsgType.TEXT or not handshake.data.startswith("0"):
            raise ConnectRefused(f"no Engine.IO handshake: {handshake.data!r}")
        self._connected = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())
        await self._ws.send_str("40" + self._prefix + (_encode(auth).decode() if auth else ""))
        async with asyncio.timeout(TIMEOUT):
            await self._connected

    async def emit(self, event: str, payload: Any) -> asyncio.Future[Any]:
        """Send an event asking for an acknowledgement; the future resolves to the ack payload.

        Returns once the frame is written, so a caller can keep sending without waiting for acks.
        """
        assert self._ws is not None
        self._next_ack += 1
        ack_id = self._next_ack
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        try:
            frame = _encode([event, payload]).decode()
            await self._ws.send_str(f"42{self._prefix}{ack_id}{frame}")
        except (aiohttp.ClientError, ConnectionError) as exc:
            self._acks.pop(ack_id, None)
            future.set_exception(ConnectionError(str(exc)))
        return future

    async def call(self, event: str, payload: Any) -> Any:
        async with asyncio.timeout(TIMEOUT):
            return await (await self.emit(event, payload))

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(aiohttp.ClientError, ConnectionError):
                await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    @property
    def pending_acks(self) -> int:
        return len(self._acks)

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    await self._frame(message.data)
                elif message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                    break
        except (aiohttp.ClientError, ConnectionError):
            pass
        finally:
            self._lost()

    async def _frame(self, data: str) -> None:
        if data == "2":  # Engine.IO ping; the server closes sockets that stop answering
            assert self._ws is not None
            await self._ws.send_str("3")
            return
        if data.startswith("40"):
            if self._connected is not None and not self._connected.done():
                self._connected.set_result(None)
        elif data.startswith("44"):
            if self._connected is not None and not self._connected.done():
                self._connected.set_exception(ConnectRefused(data[2 + len(self._prefix) :]))
        elif data.startswith("42"):
            if self.on_event is not None:  # a socket nobody listens to skips the decoding
                name, payload = _decode(data[2 + len(self._prefix) :])
                self.on_event(name, payload)
        elif data.startswith("43"):
            body = data[2 + len(self._prefix) :]
            split = body.index("[")
            future = self._acks.pop(int(body[:split]), None)
            if future is not None and not future.done():
                answer = _decode(body[split:])
                future.set_result(answer[0] if answer else None)
        elif (data.startswith("41") or data == "1") and self._ws is not None:
            await self._ws.close()  # the server disconnected this socket or closed the transport

    def _lost(self) -> None:
        self.closed.set()
        for future in self._acks.values():
            if not future.done():
                future.set_exception(ConnectionError("socket closed"))
        self._acks.clear()
        if self._connected is not None and not self._connected.done():
            self._connected.set_exception(ConnectionError("socket closed before connect"))
