"""The bounded listener (server/bounded_accept.py): its setting, its sockets, its bound."""

from __future__ import annotations

import asyncio
import errno
import os
import socket

import pytest

from server.bounded_accept import BoundedListener, Place, listening_sockets
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

    def __init__(self, place: Place, made: list[_Held]) -> None:
        self.place = place
        self.transport: asyncio.Transport | None = None
        made.append(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.place()


def _close_all(listener: BoundedListener, clients: list[socket.socket], made: list[_Held]) -> None:
    listener.close()
    for client in clients:
        client.close()
    for held in made:
        if held.transport is not None:
            held.transport.close()


async def test_the_bound_pauses_accepting_and_a_lost_connection_frees_its_place() -> None:
    made: list[_Held] = []
    sockets = listening_sockets("127.0.0.1", 0, 16)
    # A grace far beyond the test: only losses free places here.
    listener = BoundedListener(sockets, lambda place: _Held(place, made), 2, grace=600)
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
        _close_all(listener, clients, made)


async def test_a_connection_that_cannot_be_set_up_frees_its_place() -> None:
    sockets = listening_sockets("127.0.0.1", 0, 16)
    failures = 0

    def broken(place: Place) -> asyncio.BaseProtocol:
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


class _FailingAccept:
    """A listening socket whose accept() raises `error` while `failures` last (counted)."""

    def __init__(self, sock: socket.socket, error: int) -> None:
        self._sock = sock
        self.error = error
        self.failures = 0
        self.calls = 0

    def fileno(self) -> int:
        return self._sock.fileno()

    def accept(self) -> tuple[socket.socket, object]:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise OSError(self.error, os.strerror(self.error))
        return self._sock.accept()

    def close(self) -> None:
        self._sock.close()


def _failing_listener(
    error: int, made: list[_Held]
) -> tuple[socket.socket, _FailingAccept, BoundedListener]:
    """A bound of eight over a listening socket whose accept() can be made to fail with `error`;
    no grace and a back-off of ten minutes, so that only what the test does frees a place or
    restarts accepting."""
    (real,) = listening_sockets("127.0.0.1", 0, 16)
    failing = _FailingAccept(real, error)
    listener = BoundedListener(
        [failing],  # type: ignore[list-item]
        lambda place: _Held(place, made),
        8,
        grace=600,
        retry_seconds=600,
    )
    return real, failing, listener


async def test_out_of_descriptors_the_listener_waits_out_its_back_off() -> None:
    """A place given back while the process is out of descriptors does not restart accepting
    (another failing accept and warning per connection): only the back-off's end does."""
    made: list[_Held] = []
    real, failing, listener = _failing_listener(errno.EMFILE, made)
    clients = [socket.create_connection(real.getsockname())]
    try:

        async def accepted() -> bool:
            return len(made) == 1 and listener.waiting == 1

        await eventually(accepted)
        failing.failures = 1_000_000  # out of descriptors from now on
        clients.append(socket.create_connection(real.getsockname()))
        calls = failing.calls

        async def backing_off() -> bool:
            return failing.calls == calls + 1 and not listener.reading

        await eventually(backing_off)
        clients[0].close()  # the first connection is lost: its place comes back

        async def released() -> bool:
            return listener.waiting == 0

        await eventually(released)
        assert not listener.reading and failing.calls == calls + 1
    finally:
        _close_all(listener, clients, made)


async def test_a_connection_s_own_network_error_does_not_stop_the_listener() -> None:
    """Linux hands a new connection's pending network error to accept(); that connection is
    gone, the next one is accepted at once (no back-off: here it would last ten minutes)."""
    made: list[_Held] = []
    real, failing, listener = _failing_listener(errno.ENETUNREACH, made)
    failing.failures = 1
    clients = [socket.create_connection(real.getsockname())]
    try:

        async def accepted() -> bool:
            return len(made) == 1

        await eventually(accepted)
        assert failing.failures == 0 and listener.reading
    finally:
        _close_all(listener, clients, made)


async def test_closing_accepts_what_waits_in_the_kernel_queue() -> None:
    """At a stop the connections queued past the bound are accepted (and answered as the
    others are) rather than reset with the listening socket."""
    sockets = listening_sockets("127.0.0.1", 0, 16)
    made: list[_Held] = []
    listener = BoundedListener(sockets, lambda place: _Held(place, made), 1, grace=600)
    clients = [socket.create_connection(sockets[0].getsockname()) for _ in range(4)]
    try:

        async def accepted(count: int) -> bool:
            return len(made) == count

        await eventually(lambda: accepted(1))
        assert listener.waiting == 1  # the other three wait in the kernel's queue
        listener.close()
        await eventually(lambda: accepted(4))
        assert listener.sockets == []
    finally:
        _close_all(listener, clients, made)


async def test_a_connection_that_spoke_keeps_its_place_until_its_turn() -> None:
    """The grace frees only the places of connections that sent nothing: one whose first
    bytes came waits for its turn (or its loss) in place, however long that takes."""
    sockets = listening_sockets("127.0.0.1", 0, 16)
    made: list[_Held] = []

    def first_one_speaks(place: Place) -> _Held:
        if not made:
            place.heard()  # its request came with the connection
        return _Held(place, made)

    listener = BoundedListener(sockets, first_one_speaks, 2, grace=0.5)
    clients = [socket.create_connection(sockets[0].getsockname()) for _ in range(2)]
    try:

        async def accepted_and_silent_one_freed() -> bool:
            return len(made) == 2 and listener.waiting == 1

        await eventually(accepted_and_silent_one_freed)
        made[0].transport.close()  # type: ignore[union-attr]  # lost before its turn

        async def spoken_one_freed() -> bool:
            return listener.waiting == 0

        await eventually(spoken_one_freed)
    finally:
        _close_all(listener, clients, made)
