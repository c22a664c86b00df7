"""A client that leaves is freed at once: nothing of its connection waits for the garbage
collector (a frozen heap would keep it for good, and a full collection over thousands of
connections is the long pause the server avoids)."""

from __future__ import annotations

import gc
from typing import Any

from aiohttp import web_ws

from server.api.keys import SOCKETS
from tests.support import RunningServer, customer, eventually


async def test_departed_connections_leave_no_reference_cycles(server: RunningServer) -> None:
    sio = server.app[SOCKETS]
    gc.collect()  # garbage made before this test is not its business
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep, for inspection, whatever only a collection finds
    try:
        clients = [await customer(server.url) for _ in range(12)]
        assert len(sio.eio.sockets) == 12
        for client in clients:
            await client.sio.disconnect()

        async def all_gone() -> bool:
            return not sio.eio.sockets and not sio.manager.rooms.get("/customer", {}).get(None)

        await eventually(all_gone)
        gc.collect()
        left: list[Any] = [o for o in gc.garbage if isinstance(o, web_ws.WebSocketResponse)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []
