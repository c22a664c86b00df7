"""Connect pacing (server/connect_pacing.py): a burst of new connections is read a few per
event-loop turn, every one is served, and a live socket is answered while the burst waits."""

from __future__ import annotations

import asyncio

from bench.idle_socket import IdleSocket
from server.api.keys import SOCKETS
from server.connect_pacing import TurnPacer
from server.connection_budget import CappedSite
from tests.support import RunningServer, Servers, customer, eventually, read_to_close, request_burst


def _pacer(server: RunningServer) -> TurnPacer:
    (site,) = server.runner.sites
    assert isinstance(site, CappedSite) and site.pacer is not None
    return site.pacer


async def test_a_burst_is_read_a_few_per_turn_and_every_connection_is_served(
    servers: Servers,
) -> None:
    server = await servers.start(connect_pace=2)
    pacer = _pacer(server)
    answers = await asyncio.wait_for(
        asyncio.gather(*(read_to_close(sock) for sock in request_burst(server.port, 20))), 10
    )
    assert [answer.split(b"\r\n", 1)[0] for answer in answers] == [b"HTTP/1.1 200 OK"] * 20
    assert pacer.most_in_a_turn == 2  # never more than two started in one turn
    assert pacer.waited >= 10  # most of the burst waited for a later turn
    await eventually(lambda: _drained(pacer))  # the connections' losses are paced too
    assert pacer.most_in_a_turn == 2


async def _drained(pacer: TurnPacer) -> bool:
    return pacer.waiting == 0


async def test_clients_leaving_at_once_depart_a_few_per_turn(servers: Servers) -> None:
    server = await servers.start(connect_pace=1)
    pacer = _pacer(server)
    eio = server.app[SOCKETS].eio
    leaving = [await IdleSocket.open(server.url, "/customer") for _ in range(30)]
    assert len(eio.sockets) == 30
    waited = pacer.waited
    for socket_ in leaving:  # close frames and connection ends, all in one turn
        socket_.close()

    async def all_gone() -> bool:
        return not eio.sockets and pacer.waiting == 0

    await eventually(all_gone)
    assert pacer.most_in_a_turn == 1
    assert pacer.waited - waited >= 29  # all but the first waited for a later turn


async def test_a_live_socket_is_answered_while_a_burst_waits(servers: Servers) -> None:
    server = await servers.start(connect_pace=1)
    pacer = _pacer(server)
    live = await customer(server.url)
    burst = request_burst(server.port, 300)
    waiting_when_answered: list[int] = []

    async def ask() -> None:
        await live.ok("session")
        waiting_when_answered.append(pacer.waiting)

    answers, _ = await asyncio.wait_for(
        asyncio.gather(asyncio.gather(*(read_to_close(sock) for sock in burst)), ask()), 20
    )
    # The live socket's answer came while most of the burst still waited for its turn.
    assert len(waiting_when_answered) == 1
    assert waiting_when_answered[0] > 0
    assert [answer.split(b"\r\n", 1)[0] for answer in answers] == [b"HTTP/1.1 200 OK"] * 300
    assert pacer.most_in_a_turn == 1
    await live.close()


async def test_a_connection_that_never_sends_is_closed_after_the_header_timeout(
    servers: Servers,
) -> None:
    # Waiting for its first bytes, a connection has no HTTP handler yet: the pacer's
    # connection closes it after the same time as the handler would.
    server = await servers.start(http_header_timeout_seconds=1.0)
    (site,) = server.runner.sites
    assert isinstance(site, CappedSite) and site.gatekeeper is not None
    gatekeeper = site.gatekeeper
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed, no answer
    finally:
        writer.close()

    async def released() -> bool:
        return gatekeeper.open == 0

    await eventually(released)
