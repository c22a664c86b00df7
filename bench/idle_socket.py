"""An idle Socket.IO client in a few hundred bytes of protocol code, for connection storms.

A storm's sockets only connect, answer pings and drop. aiohttp's websocket client spent about
1.6 ms of the generator's CPU per connect (its HTTP client, the handshake's checks, a reader
task), twice the server's cost, and the generators share the server's two cores: the bench
measured itself. This one is an `asyncio.Protocol` writing fixed bytes: the upgrade request,
then masked frames (a zero mask: legal, and the payload goes as it is), and reading the
server's frames from the buffer as they come.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from typing import cast
from urllib.parse import urlsplit

from bench.wire import TIMEOUT, ConnectRefused

_TEXT, _CLOSE = 0x1, 0x8


def _frame(opcode: int, payload: bytes) -> bytes:
    """A final, masked client frame with the zero masking key (payload < 64 KiB)."""
    if len(payload) < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload))
    else:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, len(payload))
    return header + b"\0\0\0\0" + payload


_PONG = _frame(_TEXT, b"3")
_CLOSE_FRAME = _frame(_CLOSE, struct.pack("!H", 1000))


class IdleSocket(asyncio.Protocol):
    """One socket on one namespace that connects and then only answers the server's pings."""

    def __init__(self, namespace: str) -> None:
        self._prefix = f"/{namespace.strip('/')},".encode()
        self._buffer = bytearray()
        self._upgraded = False
        self._transport: asyncio.Transport | None = None
        self.connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = asyncio.Event()

    @classmethod
    async def open(cls, base_url: str, namespace: str) -> IdleSocket:
        parts = urlsplit(base_url)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(TIMEOUT):
            _, socket = await loop.create_connection(
                lambda: cls(namespace), parts.hostname, parts.port
            )
            socket._request(parts.netloc)
            await socket.connected
        return socket

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(_CLOSE_FRAME)
            self._transport.close()

    def _request(self, host: str) -> None:
        assert self._transport is not None
        key = base64.b64encode(os.urandom(16)).decode()
        self._transport.write(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        if not self.connected.done():
            self.connected.set_exception(
                ConnectionError("socket closed before connect, with no answer")
            )

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._upgraded:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self._buffer[: self._buffer.find(b"\r\n")])
            del self._buffer[: end + 4]
            if b" 101 " not in status:
                # "refused: 503 Service Unavailable": the server's documented answer at its cap.
                self._refused("refused: " + status.decode(errors="replace").partition(" ")[2])
                return
            self._upgraded = True
        while (message := self._next_frame()) is not None:
            self._message(*message)

    def _next_frame(self) -> tuple[int, bytes] | None:
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
        if length == 126:
            if len(buffer) < 4:
                return None
            (length,), start = struct.unpack_from("!H", buffer, 2), 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            (length,), start = struct.unpack_from("!Q", buffer, 2), 10
        if len(buffer) < start + length:
            return None
        payload = bytes(buffer[start : start + length])
        del buffer[: start + length]
        return opcode, payload

    def _message(self, opcode: int, payload: bytes) -> None:
        assert self._transport is not None
        if opcode == _CLOSE:
            self._transport.close()
        elif opcode != _TEXT:
            return
        elif payload == b"2":  # Engine.IO ping; unanswered, the server closes the socket
            self._transport.write(_PONG)
        elif payload.startswith(b"0"):  # Engine.IO open: connect the namespace
            self._transport.write(_frame(_TEXT, b"40" + self._prefix))
        elif payload.startswith(b"40" + self._prefix):
            if not self.connected.done():
                self.connected.set_result(None)
        elif payload.startswith(b"44" + self._prefix):
            self._refused(payload[2 + len(self._prefix) :].decode())
        elif payload.startswith(b"41") or payload == b"1":
            self._transport.close()  # disconnected by the server, or its transport closed

    def _refused(self, why: str) -> None:
        if not self.connected.done():
            self.connected.set_exception(ConnectRefused(why))
        assert self._transport is not None
        self._transport.close()
