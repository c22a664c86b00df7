"""The listen queue's depth follows the free descriptors (server/listen_queue.py), checked on a
real listening socket through the kernel's own record of its depth."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from server.listen_queue import MIN_DEPTH, ListenQueue, depth_for


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    yield sock
    sock.close()


def _kernel_depth(sock: socket.socket) -> int:
    # For a listening socket Linux reports its queue's depth in tcpi_sacked (what `ss -l`
    # prints as Send-Q): struct tcp_info is 8 one-byte fields, then u32s: rto, ato, snd_mss,
    # rcv_mss, unacked, sacked.
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return int(struct.unpack_from("I", info, 28)[0])


def test_the_depth_is_half_the_free_descriptors_within_bounds() -> None:
    assert depth_for(20_000, 4096) == 4096
    assert depth_for(5_000, 4096) == 2_500
    assert depth_for(10, 4096) == MIN_DEPTH
    assert depth_for(-5, 4096) == MIN_DEPTH


def test_the_queue_shrinks_as_connections_come_and_deepens_as_they_go(
    listening: socket.socket,
) -> None:
    room = 10_000
    queue = ListenQueue(listening.fileno(), room, deepest=4096, depth=4096)
    try:
        assert _kernel_depth(listening) == 4096
        # Far from the cap: the whole depth, no listen() call.
        for count in range(1, 1_800):
            queue.follow(count)
        assert queue.depth == 4096 and queue.resized == 0
        # Past room - 2 x depth, the queue is at most half of what is free, at every step.
        for count in range(1_800, 9_950):
            queue.follow(count)
            assert queue.depth <= max(MIN_DEPTH, (room - count) // 2)
        assert queue.depth == MIN_DEPTH
        assert _kernel_depth(listening) == MIN_DEPTH
        # Shrunk with slack: far fewer listen() calls than connections.
        assert queue.resized < 200
        # Departures deepen it again, in steps, up to the full depth.
        resized = queue.resized
        for count in range(9_949, -1, -1):
            queue.follow(count)
        assert queue.depth == 4096
        assert _kernel_depth(listening) == 4096
        assert queue.resized - resized < 40
    finally:
        queue.close()
    # Closing the queue's own descriptor leaves the socket listening for its owner.
    assert _kernel_depth(listening) == 4096


def test_a_closed_listener_is_not_resized(listening: socket.socket) -> None:
    queue = ListenQueue(listening.fileno(), 1_000, deepest=400, depth=400)
    queue.close()
    queue.follow(900)  # its socket is closed: nothing to size, no error
    assert queue.depth == 400
