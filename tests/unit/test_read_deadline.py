"""The reader's deadline of an Engine.IO socket (realtime/eio_socket.py): one timer per
connection, which ends only a reader that has waited a whole ping cycle for a frame."""

from __future__ import annotations

import asyncio
import math
from types import SimpleNamespace

import pytest

from server.realtime.eio_socket import LeanSocket, Outbox


def _socket() -> LeanSocket:
    server = SimpleNamespace(ping_interval=20, ping_timeout=5, create_queue=Outbox)
    return LeanSocket(server, "sid")


async def test_a_reader_handling_a_frame_is_never_cut_off_and_the_deadline_moves_on() -> None:
    socket = _socket()
    loop = asyncio.get_running_loop()
    reader = asyncio.create_task(asyncio.Event().wait())
    socket._waiting_since = math.inf  # a frame is being handled when the timer fires
    socket._read_deadline_due(reader)
    assert not reader.cancelled() and not socket._read_expired
    deadline = socket._read_deadline
    assert deadline is not None
    assert 24 < deadline.when() - loop.time() <= 25  # looks again a cycle later
    # A frame arrived 10 s ago: the next look is when that wait will have lasted a cycle.
    socket._waiting_since = loop.time() - 10
    socket._read_deadline_due(reader)
    assert socket._read_deadline is not None
    assert 14 < socket._read_deadline.when() - loop.time() <= 15
    assert not reader.cancelled()
    socket._read_deadline.cancel()
    reader.cancel()


async def test_a_reader_silent_for_a_ping_cycle_is_ended() -> None:
    socket = _socket()
    loop = asyncio.get_running_loop()
    reader = asyncio.create_task(asyncio.Event().wait())
    socket._waiting_since = loop.time() - 25
    socket._read_deadline_due(reader)
    assert socket._read_expired and socket._read_deadline is None
    with pytest.raises(asyncio.CancelledError):
        await reader
