"""The open-files budget (server/connection_budget.py): at its descriptor limit a process
answers new connections 503 instead of closing them unanswered, and Socket.IO handshakes past
the connection cap get that documented refusal."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
import socketio

from bench.idle_socket import IdleSocket
from bench.wire import ConnectRefused
from server.api.keys import SOCKETS
from tests.support import Servers, customer, eventually, free_port

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400  # descriptors the listener's process may hold
CLIENTS = 600  # connections opened at once: more than it can hold


@contextmanager
def _listener(how: str) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.fd_limited_listener", str(LIMIT), str(port), how],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"listening\n"
        yield port
    finally:
        process.kill()
        process.wait()


async def _answers(port: int) -> Counter[str]:
    """What each of CLIENTS connections opened at once got for its request: the status line,
    or "closed unanswered"."""
    opened: list[asyncio.StreamWriter] = []

    async def one() -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        opened.append(writer)  # kept open, as a connected client would be
        writer.write(b"GET / HTTP/1.1\r\nHost: parley\r\n\r\n")
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionResetError):
            return "closed unanswered"
        if head.startswith(b"HTTP/1.1 503"):
            assert b"Retry-After: 1\r\n" in head
            assert await reader.readexactly(14) == b"server is full"
        return head.split(b"\r\n")[0].decode()

    try:
        return Counter(await asyncio.gather(*(one() for _ in range(CLIENTS))))
    finally:
        for writer in opened:
            writer.close()


async def test_a_stock_listener_out_of_descriptors_closes_connections_unanswered() -> None:
    # The condition itself: uvloop accepts what it cannot keep and closes it at once.
    with _listener("stock") as port:
        answers = await _answers(port)
    assert answers["closed unanswered"] > 0
    assert answers["HTTP/1.1 200 OK"] + answers["closed unanswered"] == CLIENTS


async def test_past_the_budget_every_connection_is_answered_503() -> None:
    with _listener("serve") as port:
        answers = await _answers(port)
    # cap = LIMIT - listen queue (64) - fixed reserve (256)
    assert answers == Counter({"HTTP/1.1 200 OK": 80, "HTTP/1.1 503 Service Unavailable": 520})


async def test_past_the_budget_the_bounded_listener_answers_503_too() -> None:
    # Paced and accepted at most 256 ahead of their turns, as `parley serve` runs by default.
    with _listener("paced") as port:
        answers = await _answers(port)
    assert answers == Counter({"HTTP/1.1 200 OK": 80, "HTTP/1.1 503 Service Unavailable": 520})


async def test_a_socket_io_handshake_past_the_cap_gets_503_then_connects_once_one_leaves(
    servers: Servers,
) -> None:
    server = await servers.start(max_connections=2)
    async with aiohttp.ClientSession() as http:
        held = [
            await http.ws_connect(f"{server.url}/socket.io/?EIO=4&transport=websocket")
            for _ in range(2)
        ]
        for ws in held:
            assert (await ws.receive_str(timeout=5)).startswith("0{")
        async with aiohttp.ClientSession() as other:
            async with other.get(f"{server.url}/socket.io/?EIO=4&transport=polling") as refused:
                assert refused.status == 503
                assert refused.headers["Retry-After"] == "1"
                assert await refused.text() == "server is full"
        # The storm bench's socket reports it as the refusal it is.
        with pytest.raises(ConnectRefused, match=r"^refused: 503 Service Unavailable$"):
            await IdleSocket.open(server.url, "/customer")
        client = socketio.AsyncClient(reconnection=False)
        try:
            await client.connect(server.url, namespaces=["/customer"], transports=["websocket"])
        except socketio.exceptions.ConnectionError:
            pass
        else:
            raise AssertionError("a handshake past the cap connected")
        await held[0].close()

        async def one_left() -> bool:
            return len(server.app[SOCKETS].eio.sockets) == 1

        await eventually(one_left)
        joined = await customer(server.url)
        assert (await joined.ok("session"))["customer_id"]
        await joined.close()
        await held[1].close()
