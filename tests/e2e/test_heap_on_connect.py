"""The heap freezer is told of every connect (server/heap.py), so a burst is frozen as it
arrives rather than when the freezer's timer next gets the event loop."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from server.api.keys import SOCKETS
from server.heap import HeapFreezer
from tests.support import RunningServer, Servers, customer


@pytest.fixture
def unfrozen() -> Iterator[None]:
    # Freezing is process-wide: give the test process its heap back whatever happens.
    yield
    gc.unfreeze()


async def test_the_freezer_checks_on_every_namespace_connect(
    servers: Servers, unfrozen: None
) -> None:
    server = await servers.start(gc_freeze_step=2)
    sio = server.app[SOCKETS]
    check = sio.on_connected
    freezer = check.__self__
    assert isinstance(freezer, HeapFreezer) and check == freezer.check
    told: list[str] = []

    def counted() -> bool:
        told.append("connected")
        return bool(check())

    sio.on_connected = counted
    clients = [await customer(server.url) for _ in range(3)]
    for client in clients:
        await client.ok("session")  # after its connect, on the same socket: the check ran
    assert told == ["connected"] * 3
    assert freezer.freezes >= 2  # start-up, and the burst of two
    for client in clients:
        await client.close()


async def test_no_check_without_a_freeze_step(server: RunningServer) -> None:
    assert server.app[SOCKETS].on_connected is None
