"""A Socket.IO connection spoken by hand over a websocket, to send what no client library would."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


class RawSocket:
    def __init__(
        self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse, namespace: str
    ):
        self.http = http
        self.ws = ws
        self.namespace = namespace

    @classmethod
    async def open(cls, base_url: str, namespace: str, token: str | None = None) -> RawSocket:
        http = aiohttp.ClientSession()
        ws = await http.ws_connect(f"{base_url}/socket.io/?EIO=4&transport=websocket")
        raw = cls(http, ws, namespace)
        assert (await raw._next()).startswith("0")  # engine.io open
        await ws.send_str(f"40{namespace},{json.dumps({'token': token} if token else {})}")
        reply = await raw._next()
        while reply.startswith(f"42{namespace},"):  # events emitted while connecting
            reply = await raw._next()
        assert reply.startswith(f"40{namespace},"), reply
        return raw

    async def _next(self, timeout: float = 5.0) -> str:
        """The next engine.io packet that is not a ping (pings are answered)."""
        while True:
            message = await asyncio.wait_for(self.ws.receive(), timeout)
            if message.type != aiohttp.WSMsgType.TEXT or message.data == "1":
                raise ConnectionError(f"socket ended: {message.type} {message.data}")
            if message.data == "2":
                await self.ws.send_str("3")
                continue
            return str(message.data)

    async def send(self, packet: str) -> None:
        """A Socket.IO packet as text, e.g. '2/customer,7["history",{}]' (7 is the ack id)."""
        await self.ws.send_str("4" + packet)

    async def emit(self, ack_id: int, body: str) -> Any:
        """Send an event whose JSON array is written by hand, and return its ack."""
        await self.send(f"2{self.namespace},{ack_id}{body}")
        prefix = f"43{self.namespace},{ack_id}"
        while True:
            packet = await self._next()
            if packet.startswith(prefix):
                return json.loads(packet[len(prefix) :])[0]

    async def ended(self, timeout: float = 5.0) -> bool:
        """Wait for the server to end this connection; False if it is still open."""
        try:
            while True:
                await self._next(timeout)
        except ConnectionError:
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        await self.ws.close()
        await self.http.close()
