"""The listener's own accept loop: at most a bounded number of new connections ahead of the
connect pacer, so that a storm waits in the kernel's listen queue instead of in the process.

The event loop's listener accepts its whole listen queue in one pass (4,096 at once here):
in a storm, thousands of connections were then alive in the process, each waiting seconds for
its turn in the pacer (connect_pacing.py), and every connect cost ~50% more CPU than with a
few hundred (docs/performance.md, "Connection storms: round 5": 600 against 400 µs). Here the
listening sockets are read only while fewer than `ahead` accepted connections wait for their
first turn; the rest wait, already connected, in the kernel's queue, which the process drains
as fast as it serves them. A connection stops counting when its turn starts, when it is lost,
or, while it has sent nothing, `grace` seconds after it was accepted (clients that connect and
send nothing must not hold the listener: after the grace such a connection waits like any
other, within the header timeout). At a stop the queue is accepted in full, bound or not, so
that the connections in it are answered as the rest are rather than reset.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

# How long an accepted connection that has sent nothing counts against the bound. A client's
# request follows its connect at once (a proxy connects only with a request in hand), so this
# only bounds what silent connections can hold: `ahead` places for this long each.
GRACE_SECONDS = 0.1
# After the process ran out of descriptors or memory, when to try accepting again (as asyncio).
_RETRY_SECONDS = 1.0
# Accept errors that concern the whole process. Every other one concerns only the connection
# being accepted (Linux hands a new connection's pending network error to accept(): treat it
# as "try again"), so the listener goes on with the next one.
_PROCESS_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Place:
    """One accepted connection's place under the bound. Calling it gives the place back (once:
    its turn started, or it was lost); `heard` says its first bytes came, after which it keeps
    the place until then, with no grace."""

    __slots__ = ("_grace", "_listener")

    def __init__(self, listener: BoundedListener, grace: float) -> None:
        self._listener: BoundedListener | None = listener
        self._grace: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(grace, self)

    def heard(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    def __call__(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            self.heard()
            listener.released()


# Makes the protocol for an accepted connection, given its place.
ProtocolFor = Callable[[Place], asyncio.BaseProtocol]


class ListenError(OSError):
    """The server's address cannot be listened on (most often: another program has the port)."""


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
    except OSError as exc:
        for sock in made:
            sock.close()
        raise ListenError(
            exc.errno, f"cannot listen on {host or 'every interface'} port {port}: {exc.strerror}"
        ) from exc
    if not made:
        raise OSError(f"no address to listen on for {host!r} port {port}")
    return made


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
        retry_seconds: float = _RETRY_SECONDS,
    ) -> None:
        self.sockets = list(sockets)
        self._protocol_for = protocol_for
        self.ahead = ahead
        self._grace = grace
        self._retry_seconds = retry_seconds
        self._loop = asyncio.get_running_loop()
        self.waiting = 0  # accepted connections counted against the bound now
        self.most_waiting = 0
        self.pauses = 0  # times the bound stopped accepting (for tests and measurements)
        self._reading = False
        self._closed = False
        self._backing_off = False  # out of descriptors a moment ago: only the timer resumes
        self._handovers: set[asyncio.Task[object]] = set()
        self._resume()

    @property
    def reading(self) -> bool:
        """Whether the listening sockets are read now (False while the bound or a back-off
        holds)."""
        return self._reading

    def _resume(self) -> None:
        if not self._reading and not self._closed and not self._backing_off:
            self._reading = True
            for sock in self.sockets:
                self._loop.add_reader(sock.fileno(), self._accept, sock)

    def _pause(self) -> None:
        if self._reading:
            self._reading = False
            for sock in self.sockets:
                self._loop.remove_reader(sock.fileno())

    def _accept(self, listening: socket.socket) -> None:
        if self._accept_until_full(listening, self.ahead):
            self.pauses += 1
            self._pause()

    def _accept_until_full(self, listening: socket.socket, bound: int) -> bool:
        """Accept while fewer than `bound` wait; True when the bound stopped it."""
        while self.waiting < bound:
            try:
                conn, _ = listening.accept()
            except (BlockingIOError, InterruptedError):
                return False
            except OSError as exc:
                if exc.errno not in _PROCESS_ERRORS:
                    continue
                # Out of descriptors (or worse): stop reading for a moment rather than spin
                # on a listener that stays readable.
                log.warning("accepting connections failed (%s); retrying in a second", exc)
                self._back_off()
                return False
            self._hand_over(conn)
        return True

    def _back_off(self) -> None:
        self._pause()
        self._backing_off = True
        self._loop.call_later(self._retry_seconds, self._end_back_off)

    def _end_back_off(self) -> None:
        self._backing_off = False
        self._resume()

    def _hand_over(self, conn: socket.socket) -> None:
        # Both event loops set TCP_NODELAY on a socket handed to connect_accepted_socket.
        conn.setblocking(False)
        self.waiting += 1
        self.most_waiting = max(self.most_waiting, self.waiting)
        place = Place(self, self._grace)
        task = self._loop.create_task(
            self._loop.connect_accepted_socket(lambda: self._protocol_for(place), conn)
        )
        self._handovers.add(task)
        task.add_done_callback(lambda done: self._handed_over(done, conn, place))

    def _handed_over(self, task: asyncio.Task[object], conn: socket.socket, place: Place) -> None:
        self._handovers.discard(task)
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.warning("a new connection could not be set up: %r", task.exception())
            place()
            conn.close()  # no transport took it over

    def released(self) -> None:
        self.waiting -= 1
        # Resumed only once a quarter of the bound is free: not a pause and a resume (two
        # epoll changes) per connection while a storm lasts.
        if not self._reading and self.waiting <= self.ahead - max(1, self.ahead // 4):
            self._resume()

    def close(self) -> None:
        """Stop accepting and close the listening sockets (connections already accepted go on).

        What waits in the kernel's queue is accepted first, bound or not: closing a listening
        socket resets the connections still queued, and a request sent on one of them would
        be lost (a proxy does not resend a POST), where the event loop's own listener would
        have accepted it, as every connection already accepted is, for its answer."""
        self._pause()
        self._closed = True
        for sock in self.sockets:
            self._accept_until_full(sock, sys.maxsize)
            sock.close()
        self.sockets = []

    async def wait_closed(self) -> None:
        return None
