"""The listener's own accept loop: at most a bounded number of new connections ahead of the
connect pacer, so that a storm waits in the kernel's listen queue instead of in the process.

The event loop's listener accepts its whole listen queue in one pass (4,096 at once here):
in a storm, thousands of connections were then alive in the process, each waiting seconds for
its turn in the pacer (connect_pacing.py), and every connect cost ~50% more CPU than with a
few hundred (docs/performance.md, "Connection storms: round 5": 600 against 400 µs). Here the
listening sockets are read only while fewer than `ahead` accepted connections wait for their
first turn; the rest wait, already connected, in the kernel's queue, which the process drains
as fast as it serves them. A connection stops counting when its turn starts, when it is lost,
or `grace` seconds after it was accepted (a client that connects and sends nothing must not
hold the listener: after the grace it waits like any other connection, within the header
timeout).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

# How long an accepted connection counts against the bound at most.
GRACE_SECONDS = 1.0
# After the process ran out of descriptors (EMFILE), when to try accepting again (as asyncio).
_RETRY_SECONDS = 1.0
# Accept errors that concern only the connection being accepted: go on with the next one.
_CONNECTION_ERRORS = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM})

# Makes the protocol for an accepted connection; its argument, called once, says the
# connection no longer waits for its first turn.
ProtocolFor = Callable[[Callable[[], None]], asyncio.BaseProtocol]


def listening_sockets(
    host: str | None, port: int, backlog: int, *, reuse_port: bool = False
) -> list[socket.socket]:
    """Bound, listening, non-blocking sockets for every address of `host` (all interfaces when
    empty), as the event loop's `create_server` makes them."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    made: list[socket.socket] = []
    seen: set[tuple[object, ...]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            try:
                sock = socket.socket(family, kind, proto)
            except OSError:  # a family the kernel lacks (IPv6 off): skipped, as asyncio does
                continue
            made.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        for sock in made:
            sock.close()
        raise
    if not made:
        raise OSError(f"no address to listen on for {host!r} port {port}")
    return made


class _Waiting:
    """One accepted connection counted against the bound until `release`."""

    __slots__ = ("_grace", "_listener")

    def __init__(self, listener: BoundedListener, grace: float) -> None:
        self._listener: BoundedListener | None = listener
        self._grace = asyncio.get_running_loop().call_later(grace, self.release)

    def release(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            self._grace.cancel()
            listener.released()


class BoundedListener:
    """Accepts from `sockets` while fewer than `ahead` accepted connections wait for their
    first turn, handing each to the event loop with the protocol `protocol_for` makes."""

    def __init__(
        self,
        sockets: Sequence[socket.socket],
        protocol_for: ProtocolFor,
        ahead: int,
        *,
        grace: float = GRACE_SECONDS,
    ) -> None:
        self.sockets = list(sockets)
        self._protocol_for = protocol_for
        self.ahead = ahead
        self._grace = grace
        self._loop = asyncio.get_running_loop()
        self.waiting = 0  # accepted connections counted against the bound now
        self.most_waiting = 0
        self.pauses = 0  # times the bound stopped accepting (for tests and measurements)
        self._reading = False
        self._closed = False
        self._handovers: set[asyncio.Task[object]] = set()
        self._resume()

    def _resume(self) -> None:
        if not self._reading and not self._closed:
            self._reading = True
            for sock in self.sockets:
                self._loop.add_reader(sock.fileno(), self._accept, sock)

    def _pause(self) -> None:
        if self._reading:
            self._reading = False
            for sock in self.sockets:
                self._loop.remove_reader(sock.fileno())

    def _accept(self, listening: socket.socket) -> None:
        while self.waiting < self.ahead:
            try:
                conn, _ = listening.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _CONNECTION_ERRORS:
                    continue
                # Out of descriptors (or worse): stop reading for a moment rather than spin
                # on a listener that stays readable.
                log.warning("accepting connections failed (%s); retrying in a second", exc)
                self._pause()
                self._loop.call_later(_RETRY_SECONDS, self._resume)
                return
            self._hand_over(conn)
        self.pauses += 1
        self._pause()

    def _hand_over(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            # uvloop sets it on the connections it accepts itself, not on these; aiohttp
            # relies on it being set (connection_budget.py).
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.waiting += 1
        self.most_waiting = max(self.most_waiting, self.waiting)
        waiting = _Waiting(self, self._grace)
        task = self._loop.create_task(
            self._loop.connect_accepted_socket(lambda: self._protocol_for(waiting.release), conn)
        )
        self._handovers.add(task)
        task.add_done_callback(lambda done: self._handed_over(done, conn, waiting))

    def _handed_over(
        self, task: asyncio.Task[object], conn: socket.socket, waiting: _Waiting
    ) -> None:
        self._handovers.discard(task)
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.warning("a new connection could not be set up: %r", task.exception())
            waiting.release()
            conn.close()  # no transport took it over

    def released(self) -> None:
        self.waiting -= 1
        # Resumed only once a quarter of the bound is free: not a pause and a resume (two
        # epoll changes) per connection while a storm lasts.
        if not self._reading and self.waiting <= self.ahead - max(1, self.ahead // 4):
            self._resume()

    def close(self) -> None:
        """Stop accepting and close the listening sockets (connections already accepted go on)."""
        self._pause()
        self._closed = True
        for sock in self.sockets:
            sock.close()

    async def wait_closed(self) -> None:
        return None
