"""Engine.IO's aiohttp websocket: a closed connection ends without an exception, and the
frames of one writer pass leave in one write.

The stock driver raises a bare `OSError` when the client closes. Engine.IO's websocket handler
keeps the task that raised it in a local, and the exception's traceback holds that handler's
frame: a reference cycle per departed client, so its request, websocket and buffers (about 60
objects) waited for a full garbage collection, which with thousands of connections is the
long pause itself (and with a frozen heap never comes). Returning None, which the handler
already reads as "closed by the client", lets reference counting free it all at once.

Engine.IO's writer task sends what queued up for a socket one frame at a time, and each frame
was its own `send` system call: a message cost its sender two (the echo and the ack, queued
together) and each recipient one, about an eighth of the server's time at 600 msg/s
(docs/performance.md, "CPU per message: round 1"). The frames written while the writer runs
are now held and handed to the transport together once it yields, in the same order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from engineio.async_drivers.aiohttp import WebSocket


class _HeldFrames:
    """Stands in for a websocket writer's transport while a writer pass runs: keeps what is
    written, in order, and answers everything else from the transport itself."""

    __slots__ = ("chunks", "transport")

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.chunks.append(data)

    def writelines(self, data: Any) -> None:
        self.chunks.extend(data)

    def is_closing(self) -> bool:
        return bool(self.transport.is_closing())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def _release(writer: Any, held: _HeldFrames) -> None:
    if writer.transport is held:
        writer.transport = held.transport
    if held.chunks and not held.transport.is_closing():
        held.transport.writelines(held.chunks)  # one system call for the whole pass


class ClosingWebSocket(WebSocket):
    async def wait(self) -> Any:
        message = await self._sock.receive()
        if not isinstance(message.data, bytes | str):
            return None  # closed, closing or failed: the handler ends the connection
        return message.data

    async def send(self, message: Any) -> None:
        writer = getattr(self._sock, "_writer", None)
        transport = getattr(writer, "transport", None)
        if transport is not None and not isinstance(transport, _HeldFrames):
            held = _HeldFrames(transport)
            writer.transport = held  # type: ignore[union-attr]
            # Runs once this task yields: after the last frame of the pass (or before the
            # first await inside one, so a frame compressed in a thread still follows those
            # written before it).
            asyncio.get_running_loop().call_soon(_release, writer, held)
        await super().send(message)  # type: ignore[misc]


def with_closing_websocket(drivers: dict[str, Any]) -> dict[str, Any]:
    """Engine.IO's driver table for this server, with the websocket above (a copy: the
    library's own table is shared by every server in the process)."""
    return {**drivers, "websocket": ClosingWebSocket}
