"""Engine.IO's aiohttp websocket, ending a closed connection without an exception.

The stock driver raises a bare `OSError` when the client closes. Engine.IO's websocket handler
keeps the task that raised it in a local, and the exception's traceback holds that handler's
frame: a reference cycle per departed client, so its request, websocket and buffers (about 60
objects) waited for a full garbage collection, which with thousands of connections is the
long pause itself (and with a frozen heap never comes). Returning None, which the handler
already reads as "closed by the client", lets reference counting free it all at once.
"""

from __future__ import annotations

from typing import Any

from engineio.async_drivers.aiohttp import WebSocket


class ClosingWebSocket(WebSocket):
    async def wait(self) -> Any:
        message = await self._sock.receive()
        if not isinstance(message.data, bytes | str):
            return None  # closed, closing or failed: the handler ends the connection
        return message.data


def with_closing_websocket(drivers: dict[str, Any]) -> dict[str, Any]:
    """Engine.IO's driver table for this server, with the websocket above (a copy: the
    library's own table is shared by every server in the process)."""
    return {**drivers, "websocket": ClosingWebSocket}
