"""The bounded listener (server/bounded_accept.py): its setting, its sockets, its bound."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from server.bounded_accept import BoundedListener, listening_sockets
from server.config import ConfigError, load_settings
from tests.support import eventually


def test_the_setting_defaults_to_256_and_zero_turns_it_off() -> None:
    assert load_settings(environ={}).accept_ahead == 256
    assert load_settings(environ={"PARLEY_ACCEPT_AHEAD": "0"}).accept_ahead == 0
    with pytest.raises(ConfigError, match="PARLEY_ACCEPT_AHEAD"):
        load_settings(environ={"PARLEY_ACCEPT_AHEAD": "-1"})


def test_listening_sockets_are_bound_listening_and_non_blocking() -> None:
    (sock,) = listening_sockets("127.0.0.1", 0, 16)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        assert sock.getblocking() is False
        client = socket.create_connection(sock.getsockname())
        client.close()
    finally:
        sock.close()


def test_a_port_in_use_closes_what_was_opened() -> None:
    (taken,) = listening_sockets("127.0.0.1", 0, 16)
    try:
        with pytest.raises(OSError):
            listening_sockets("127.0.0.1", taken.getsockname()[1], 16)
    finally:
        taken.close()


class _Held(asyncio.Protocol):
    """Waits for its first turn until the connection is lost (then tells the listener)."""

    def __init__(self, started: Callable[[], None], made: list[_Held]) -> None:
        self.started = started
        self.transport: asyncio.Transport | None = None
        made.append(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.started()


async def test_the_bound_pauses_accepting_and_a_lost_connection_frees_its_place() -> None:
    made: list[_Held] = []
    sockets = listening_sockets("127.0.0.1", 0, 16)
    # A grace far beyond the test: only losses free places here.
    listener = BoundedListener(sockets, lambda started: _Held(started, made), 2, grace=600)
    address = sockets[0].getsockname()
    clients = [socket.create_connection(address) for _ in range(3)]
    try:

        async def accepted(count: int) -> bool:
            return len(made) == count

        await eventually(lambda: accepted(2))
        assert listener.waiting == 2 and listener.pauses >= 1  # the third waits in the kernel
        clients[0].close()  # lost before its turn: its place frees, and the third comes in
        await eventually(lambda: accepted(3))
        assert listener.waiting == 2 and listener.most_waiting == 2
    finally:
        listener.close()
        for client in clients:
            client.close()
        for held in made:
            if held.transport is not None:
                held.transport.close()


async def test_a_connection_that_cannot_be_set_up_frees_its_place() -> None:
    sockets = listening_sockets("127.0.0.1", 0, 16)
    failures = 0

    def broken(started: Callable[[], None]) -> asyncio.BaseProtocol:
        nonlocal failures
        failures += 1
        raise RuntimeError("no protocol")

    listener = BoundedListener(sockets, broken, 1, grace=600)
    client = socket.create_connection(sockets[0].getsockname())
    client.setblocking(False)
    try:

        async def freed() -> bool:
            return failures == 1 and listener.waiting == 0

        await eventually(freed)
        # The process closed its end: the client reads the end of the stream.
        assert await asyncio.get_running_loop().sock_recv(client, 16) == b""
    finally:
        listener.close()
        client.close()
