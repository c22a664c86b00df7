"""Transport limits: oversize long-polling bodies, bodies that never come, slow headers and
too many connections from one address all end with an answer instead of a held connection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
import socketio

from server.config import Settings
from tests.e2e.routing_support import waiting_customer
from tests.support import RunningServer, agent_token, customer, start_server

LIMITS = {
    "http_header_timeout_seconds": 1.0,
    "http_body_timeout_seconds": 1.0,
    "socket_max_packet_bytes": 4096,
    "max_connections_per_address": 3,
}


@pytest_asyncio.fixture
async def limited(settings: Settings) -> AsyncIterator[RunningServer]:
    running = await start_server(settings.with_overrides(**LIMITS))
    yield running
    await running.stop()


async def _polling_session(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(f"{url}/socket.io/?EIO=4&transport=polling") as response:
        text = await response.text()
    assert text.startswith("0"), text
    return str(json.loads(text[1:])["sid"])


async def _raw_request(server: RunningServer, head: str) -> bytes:
    """Send a request head by hand (no body) and read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(head.encode())
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


async def test_an_oversize_polling_post_gets_413_and_ends_the_session(
    limited: RunningServer,
) -> None:
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        sid = await _polling_session(http, limited.url)
        url = f"{limited.url}/socket.io/?EIO=4&transport=polling&sid={sid}"
        async with http.post(url, data=b"4" + b"x" * 5000) as response:
            assert response.status == 413
        async with http.get(url) as response:
            assert response.status == 400  # the session is gone
        # A fresh session still works.
        assert await _polling_session(http, limited.url)


async def test_a_content_length_without_a_body_is_answered(limited: RunningServer) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        sid = await _polling_session(http, limited.url)
    answer = await _raw_request(
        limited,
        f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: t\r\n"
        "Content-Type: text/plain\r\nContent-Length: 100\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    answer = await _raw_request(
        limited,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        "Content-Length: 60\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert b'"code":"bad_request"' in answer


async def test_an_upload_that_stalls_is_answered_and_leaves_nothing(limited: RunningServer) -> None:
    _, token = await agent_token(limited)
    cust, conversation_id = await waiting_customer(limited)  # in the agent's team: visible
    boundary = "parleyboundary"
    start = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="conversation_id"\r\n\r\n'
        f"{conversation_id}\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    )
    answer = await _raw_request(
        limited,
        "POST /api/v1/attachments HTTP/1.1\r\nHost: t\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: 100000\r\nConnection: close\r\n\r\n{start}",
    )
    # Nothing more arrives after the first bytes: answered after the body timeout, not held.
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    await cust.close()
    conn = await asyncpg.connect(limited.settings.database_url)
    try:  # and no attachment row was written
        assert await conn.fetchval("SELECT count(*) FROM attachments") == 0
    finally:
        await conn.close()


async def test_headers_that_never_finish_are_cut_off(limited: RunningServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", limited.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
    await writer.drain()
    # The server closes the connection (EOF) after the header timeout, without an answer.
    assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()


async def test_connections_per_address_are_capped(limited: RunningServer) -> None:
    clients = [await customer(limited.url) for _ in range(3)]
    refused = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(
            limited.url, namespaces=["/customer"], transports=["websocket"], wait_timeout=5
        )
    # The open ones keep working; closing one makes room again.
    assert (await clients[0].ok("start_conversation", {}))["created"] is True
    await clients[2].close()
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        try:
            clients[2] = await customer(limited.url)
            break
        except socketio.exceptions.ConnectionError:
            # The server handles the close asynchronously; retry until it has.
            assert asyncio.get_running_loop().time() < deadline
    assert (await clients[2].ok("start_conversation", {}))["created"] is True
    for client in clients:
        await client.close()
