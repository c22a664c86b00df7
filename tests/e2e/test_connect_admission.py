"""Connect admission (realtime/admission.py): a storm of connects is paced, never refused; a
client that goes quiet after its handshake, or whose handshake is refused, gives its slot
back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
import socketio

from server.api.keys import SOCKETS
from server.realtime.admission import Admission
from tests.support import Servers, customer, eventually


def _idle(admission: Admission) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return admission.running == 0 and admission.waiting == 0

    return check


async def test_connects_past_the_bound_wait_their_turn_and_all_succeed(servers: Servers) -> None:
    server = await servers.start(connect_concurrency=2)
    admission: Admission = server.app[SOCKETS].admission
    # Both slots taken: every connect from now on has to wait for one.
    held = [await admission.enter(), await admission.enter()]

    storm = [asyncio.create_task(customer(server.url)) for _ in range(12)]

    async def all_waiting() -> bool:
        return admission.waiting == 12

    await eventually(all_waiting)
    assert not any(task.done() for task in storm)
    for ticket in held:
        ticket.release()

    clients = await asyncio.gather(*storm)
    sessions = [await client.ok("session") for client in clients]
    assert len({session["customer_id"] for session in sessions}) == 12
    assert len(server.app[SOCKETS].eio.sockets) == 12
    await eventually(_idle(admission))
    assert admission.peak == 2  # never more than the bound in their handshake at once
    assert admission.waited >= 12
    for client in clients:
        await client.close()


async def test_a_client_silent_after_its_handshake_holds_no_slot(servers: Servers) -> None:
    server = await servers.start(connect_concurrency=1)
    admission: Admission = server.app[SOCKETS].admission
    async with aiohttp.ClientSession() as http:
        silent = await http.ws_connect(f"{server.url}/socket.io/?EIO=4&transport=websocket")
        assert (await silent.receive_str(timeout=5)).startswith("0{")
        # It never connects a namespace; the next client is not kept waiting for it.
        assert admission.running == 0
        client = await customer(server.url)
        assert "customer_id" in await client.ok("session")
        await client.close()
        await silent.close()


async def test_a_refused_handshake_gives_its_slot_back(servers: Servers) -> None:
    server = await servers.start(connect_concurrency=1, max_connections_per_address=1)
    admission: Admission = server.app[SOCKETS].admission
    first = await customer(server.url)
    refused = socketio.AsyncClient(reconnection=False)
    try:
        await refused.connect(
            server.url, namespaces=["/customer"], transports=["websocket"], wait_timeout=5
        )
        raise AssertionError("a second connection from one address got past the cap of one")
    except socketio.exceptions.ConnectionError:
        pass
    finally:
        await refused.disconnect()
    await eventually(_idle(admission))
    await first.close()
    again = await customer(server.url)  # the slot came back: it is not kept waiting
    assert "customer_id" in await again.ok("session")
    await again.close()
