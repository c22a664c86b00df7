"""The bounded listener (server/bounded_accept.py): a burst larger than the bound waits in the
kernel's listen queue and every connection of it is answered; a silent connection holds the
listener only for the grace."""

from __future__ import annotations

import asyncio
import socket

from server.bounded_accept import BoundedListener
from server.connection_budget import CappedSite
from tests.support import RunningServer, Servers, read_to_close, request_burst


def _listener(server: RunningServer) -> BoundedListener:
    (site,) = server.runner.sites
    assert isinstance(site, CappedSite) and site.listener is not None
    return site.listener


async def test_a_burst_past_the_bound_is_answered_in_full(servers: Servers) -> None:
    server = await servers.start(accept_ahead=4, connect_pace=2)
    listener = _listener(server)
    answers = await asyncio.wait_for(
        asyncio.gather(*(read_to_close(sock) for sock in request_burst(server.port, 60))), 10
    )
    assert [answer.split(b"\r\n", 1)[0] for answer in answers] == [b"HTTP/1.1 200 OK"] * 60
    assert listener.most_waiting == 4  # never more than four accepted ahead of their turns
    assert listener.pauses >= 10  # the rest waited in the kernel's queue, in many rounds
    assert listener.waiting == 0


async def test_a_silent_connection_holds_the_listener_only_for_the_grace(
    servers: Servers,
) -> None:
    server = await servers.start(accept_ahead=1, http_header_timeout_seconds=30.0)
    listener = _listener(server)
    silent = socket.create_connection(("127.0.0.1", server.port))
    try:
        # The silent one takes the only place; the next is accepted once the grace is over,
        # and answered while the silent one is still open.
        (answer,) = await asyncio.wait_for(
            asyncio.gather(read_to_close(request_burst(server.port, 1)[0])), 10
        )
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert silent.fileno() >= 0 and listener.most_waiting == 1
    finally:
        silent.close()


async def test_without_a_bound_the_event_loop_accepts(servers: Servers) -> None:
    server = await servers.start(accept_ahead=0)
    (site,) = server.runner.sites
    assert isinstance(site, CappedSite) and site.listener is None
    (answer,) = await asyncio.gather(read_to_close(request_burst(server.port, 1)[0]))
    assert answer.startswith(b"HTTP/1.1 200 OK")
