"""Engine.IO's transport as Parley runs it (realtime/eio_socket.py): an idle connection holds
no writer task, pings keep their cadence and timeout, long-polling and its upgrade to a
websocket still carry events both ways, and a departure leaves nothing in any index."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import socketio

from server.api.keys import SOCKETS
from server.realtime.eio_socket import LeanSocket
from tests.support import Client, RunningServer, agent, agent_token, customer, eventually


def _writers() -> list[asyncio.Task[Any]]:
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "LeanSocket._write"
    ]


async def test_an_idle_connection_holds_no_writer_task(server: RunningServer) -> None:
    clients = [await customer(server.url) for _ in range(3)]
    for client in clients:
        await client.ok("session")  # an ack was written: a writer ran and ended
    # What the server wrote has been read by every client, so every writer is done.
    assert _writers() == []
    sockets = server.app[SOCKETS].eio.sockets
    assert len(sockets) == 3
    assert all(
        isinstance(socket, LeanSocket) and socket.queue.empty() for socket in sockets.values()
    )
    for client in clients:
        await client.close()


async def _customer_websocket(
    http: aiohttp.ClientSession, url: str
) -> aiohttp.ClientWebSocketResponse:
    """A raw websocket through the Engine.IO open and the /customer namespace connect."""
    ws = await http.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket")
    assert (await ws.receive_str(timeout=5)).startswith("0{")
    await ws.send_str("40/customer,{}")
    assert (await ws.receive_str(timeout=5)).startswith("40/customer,")
    return ws


async def test_pings_keep_their_cadence_and_an_unanswered_one_ends_the_connection(
    server: RunningServer,
) -> None:
    eio = server.app[SOCKETS].eio
    eio.ping_interval, eio.ping_timeout = 0.2, 0.3
    async with aiohttp.ClientSession() as http:
        ws = await _customer_websocket(http, server.url)
        for _ in range(3):  # answered pings: the next one comes, the connection stays
            assert await ws.receive_str(timeout=5) == "2"
            await ws.send_str("3")
        assert await ws.receive_str(timeout=5) == "2"  # left unanswered
        ended = await ws.receive(timeout=5)
        assert (
            ended.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED) or ended.data == "1"
        )

    async def gone() -> bool:
        return not eio.sockets

    await eventually(gone)


async def test_a_connection_that_keeps_answering_outlives_many_read_deadlines(
    server: RunningServer,
) -> None:
    # The read deadline (ping interval + ping timeout, 0.5 s here) is one timer per
    # connection, moved on as frames arrive: eight answered pings span three deadlines.
    eio = server.app[SOCKETS].eio
    eio.ping_interval, eio.ping_timeout = 0.2, 0.3
    async with aiohttp.ClientSession() as http:
        ws = await _customer_websocket(http, server.url)
        for _ in range(8):
            assert await ws.receive_str(timeout=5) == "2"
            await ws.send_str("3")
        await ws.send_str('42/customer,1["session",{}]')
        while (answer := await ws.receive_str(timeout=5)) == "2":
            await ws.send_str("3")
        assert answer.startswith('43/customer,1[{"ok":true')  # still connected, and answered
        assert len(eio.sockets) == 1
        await ws.close()


async def _polling_customer(base_url: str, transports: list[str]) -> Client:
    sio = socketio.AsyncClient(reconnection=False)
    client = Client(sio, "/customer")

    async def on_message(data: Any) -> None:
        await client.log.record("message", data)

    sio.on("message", on_message, namespace="/customer")
    await sio.connect(base_url, namespaces=["/customer"], transports=transports, wait_timeout=5)
    return client


async def _exchange(server: RunningServer, cust: Client) -> None:
    """A conversation both ways: the customer's message reaches the agent, the agent's the
    customer, each exactly once."""
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    _, token = await agent_token(server)
    staff = await agent(server.url, token)
    await staff.ok("join", {"conversation_id": conversation_id})
    await cust.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "c1", "body": "hi"}
    )
    await staff.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "a1", "body": "yo"}
    )
    await staff.log.wait_for("message", lambda m: m["client_id"] == "c1")
    await cust.log.wait_for("message", lambda m: m["client_id"] == "a1")
    # A last message orders after any duplicate of the first two.
    await cust.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "c2", "body": "?"}
    )
    for side in (cust, staff):
        await side.log.wait_for("message", lambda m: m["client_id"] == "c2")
        assert [m["client_id"] for m in side.log.of("message")] == ["c1", "a1", "c2"]
    await staff.close()


async def test_long_polling_upgraded_to_a_websocket_carries_events(server: RunningServer) -> None:
    cust = await _polling_customer(server.url, ["polling", "websocket"])
    await eventually(_upgraded(cust))
    await _exchange(server, cust)
    await cust.close()


def _upgraded(client: Client) -> Any:
    async def check() -> bool:
        return bool(client.sio.eio.current_transport == "websocket")

    return check


async def test_long_polling_alone_carries_events(server: RunningServer) -> None:
    # The Python client's disconnect waits for its pending poll: a ping cycle ends it.
    eio = server.app[SOCKETS].eio
    eio.ping_interval, eio.ping_timeout = 1, 1
    cust = await _polling_customer(server.url, ["polling"])
    await _exchange(server, cust)
    await cust.close()


async def test_a_departure_leaves_nothing_in_any_index(server: RunningServer) -> None:
    sio = server.app[SOCKETS]
    customers = sio.namespace_handlers["/customer"]
    cust = await customer(server.url)
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    assert len(sio.eio.sockets) == len(sio.environ) == len(customers.sessions) == 1
    assert set(next(iter(sio.environ.values()))) <= {
        "aiohttp.request",
        "REMOTE_ADDR",
        "REQUEST_METHOD",
        "QUERY_STRING",
        "PATH_INFO",
    }
    assert any(room == f"conv:{conversation_id}" for room in sio.manager.rooms["/customer"])
    await cust.close()

    async def all_gone() -> bool:
        return not sio.eio.sockets and not sio.manager.rooms.get("/customer", {}).get(None)

    await eventually(all_gone)
    assert sio.environ == {}
    assert sio.address_of == {} and sio.open_per_address == {}
    assert customers.sessions == {} and customers._tokens == {}
    assert sio.manager._rooms_of.get("/customer", {}) == {}
    assert list(sio.manager.rooms.get("/customer", {})) in ([], [None])


async def test_a_stop_closes_every_websocket_without_a_socketio_disconnect(
    server: RunningServer,
) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await _customer_websocket(http, server.url)
        stopping = asyncio.ensure_future(server.stop())
        told: list[str] = []
        while (frame := await ws.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT:
            told.append(frame.data)
        # Closed by the server, with no "41" (a Socket.IO disconnect: clients would not
        # reconnect after one) and no Engine.IO CLOSE.
        assert frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert [data for data in told if data != "2"] == []
        await stopping
