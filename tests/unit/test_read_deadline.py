"""The reader's deadline of an Engine.IO socket (realtime/eio_socket.py): one timer per
connection, which ends only a reader that has waited a whole ping cycle for a frame."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from server.realtime.eio_socket import LeanSocket, Outbox


def _socket() -> LeanSocket:
    server = SimpleNamespace(ping_interval=20, ping_timeout=5, create_queue=Outbox)
    return LeanSocket(server, "sid")


def _waiting_socket() -> tuple[LeanSocket, asyncio.Task[bool]]:
    """A socket whose reader task is waiting for a frame."""
    socket = _socket()
    reader = asyncio.create_task(asyncio.Event().wait())
    socket._reader = reader
    socket._awaiting_read = True
    return socket, reader


async def test_a_reader_handling_a_frame_is_never_cut_off() -> None:
    socket = _socket()
    loop = asyncio.get_running_loop()
    reader = asyncio.create_task(asyncio.Event().wait())
    socket._reader = reader
    socket._read_by = loop.time() - 1  # overdue, but a frame is being handled
    socket._awaiting_read = False
    socket._read_overdue()
    assert socket._read_timer is None  # the next read arms it again
    assert not socket._read_expired
    assert reader.cancelling() == 0  # no cancel was asked of the reader
    reader.cancel()


async def test_a_frame_since_the_timer_was_set_moves_the_deadline_on() -> None:
    socket, reader = _waiting_socket()
    loop = asyncio.get_running_loop()
    socket._read_by = loop.time() + 15  # a frame came 10 s into the cycle
    socket._read_overdue()
    timer = socket._read_timer
    assert timer is not None
    assert timer.when() == pytest.approx(socket._read_by)
    assert not socket._read_expired and not reader.done()
    timer.cancel()
    reader.cancel()


async def test_a_reader_silent_for_a_ping_cycle_is_ended() -> None:
    socket, reader = _waiting_socket()
    loop = asyncio.get_running_loop()
    socket._read_by = loop.time() - 0.001
    socket._read_overdue()
    assert socket._read_expired and socket._read_timer is None
    with pytest.raises(asyncio.CancelledError):
        await reader
