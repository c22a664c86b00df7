"""Frames sent in one pass of a socket's writer leave in one write to the transport, in order;
a later pass is a write of its own."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from server.realtime.eio_websocket import ClosingWebSocket


class _CountingTransport:
    """The real transport, with a record of how it was written to."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self.calls: list[tuple[str, int]] = []

    def write(self, data: bytes) -> None:
        self.calls.append(("write", 1))
        self._transport.write(data)

    def writelines(self, data: Any) -> None:
        chunks = list(data)
        self.calls.append(("writelines", len(chunks)))
        self._transport.writelines(chunks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


async def test_one_write_per_writer_pass_in_order() -> None:
    counted: list[_CountingTransport] = []
    second_pass = asyncio.Event()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        assert sock._writer is not None
        counting = _CountingTransport(sock._writer.transport)
        sock._writer.transport = counting  # type: ignore[assignment]
        counted.append(counting)
        eio = ClosingWebSocket(None, None)
        eio._sock = sock
        for text in ("echo", "ack", "delivery"):  # one pass: no yield between them
            await eio.send(text)
        await second_pass.wait()
        await eio.send(b"\x01binary")
        await sock.receive()  # until the client closes
        return sock

    app = web.Application()
    app.router.add_get("/ws", handler)
    async with (
        TestClient(TestServer(app, host="127.0.0.1")) as client,
        client.ws_connect("/ws") as ws,
    ):
        received = [(await ws.receive()).data for _ in range(3)]
        assert received == ["echo", "ack", "delivery"]
        assert counted[0].calls == [("writelines", 3)]
        second_pass.set()
        assert (await ws.receive()).data == b"\x01binary"
        assert counted[0].calls == [("writelines", 3), ("writelines", 1)]
        await ws.close()
