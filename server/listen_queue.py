"""The listen queue's depth follows the free descriptors: deep while the process is far from its
connection cap, so a burst of connects is queued by the kernel instead of dropped, and shallow
near it, so a whole queue accepted in one pass still has descriptors (connection_budget.py).

A SYN that finds the queue full is dropped by the kernel and the client retries after 1, 3, 7,
15 s; measured, a burst of 10,000 connects took 15 s with a queue of 2,500 and 8 s with 4,096
(docs/performance.md, "Connection storms: round 4"). A fixed queue has to be sized for the
worst case, next to the cap, where every queued connection needs a descriptor for its 503. A
listening socket's queue can be resized at any time by calling listen() again (Linux applies
the new depth to the next connection), so the depth is recomputed as connections come and go.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)

# The shallowest queue, next to the cap.
MIN_DEPTH = 32
# Deepened again only by at least this much: not a listen() call for every departure.
_DEEPEN_STEP = 256
# Made shallower with this much to spare, so the next few connections need no listen() call.
_SHALLOW_SLACK = 32


def depth_for(free: int, deepest: int) -> int:
    """The queue for `free` descriptors left (not counting the queue's own): half of them, so
    that a pass that accepts a whole queue before any protocol runs (uvloop accepts a burst
    before it tells the factory of any) leaves as much again; within [MIN_DEPTH, deepest]."""
    return max(MIN_DEPTH, min(deepest, free // 2))


class ListenQueue:
    """Resizes a listening socket's queue as its process's connections change."""

    def __init__(self, listening_fd: int, room: int, deepest: int, depth: int) -> None:
        # A socket object of our own on a duplicate descriptor: the event loop owns the
        # original, and the queue belongs to the socket both descriptors name.
        self._socket = socket.socket(fileno=os.dup(listening_fd))
        self._room = room  # descriptors for connections and the queue together
        self._deepest = deepest
        self.depth = depth
        self.resized = 0

    def follow(self, open_connections: int) -> None:
        """Called with the count after every connection made or lost."""
        target = depth_for(self._room - open_connections, self._deepest)
        if target < self.depth:  # must shrink before the next connection is accepted
            self._resize(max(MIN_DEPTH, target - _SHALLOW_SLACK))
        elif target >= self.depth + _DEEPEN_STEP or (target == self._deepest > self.depth):
            self._resize(target)

    def _resize(self, depth: int) -> None:
        try:
            self._socket.listen(depth)
        except OSError as error:  # the listener closed (shutting down): nothing to size
            log.debug("listen queue not resized: %s", error)
            return
        self.depth = depth
        self.resized += 1

    def close(self) -> None:
        self._socket.close()
