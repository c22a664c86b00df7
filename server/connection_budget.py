"""The process's open-files budget: a connection past it is answered 503, never closed unanswered.

Every connection holds a file descriptor. When a process has none left, uvloop (libuv) does not
leave new connections queued in the kernel: it closes a spare descriptor, accepts each waiting
connection and closes it at once, so a client sees its connection closed with no answer at all
(measured: 40-46 of a storm of 10,000 connects on a process allowed 20,000 descriptors while
20,000 sockets were open). So the listener counts the connections it has open and, past a cap
below the limit, answers `503 Service Unavailable` with `Retry-After` and closes: a clear,
documented refusal that every Socket.IO client retries with its backoff. The gap between the
cap and the limit keeps descriptors for the pools, log files and the refusals themselves
(`connection_budget`).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from aiohttp.base_protocol import BaseProtocol
from aiohttp.web_protocol import RequestHandler

from .bounded_accept import BoundedListener, Place, listening_sockets
from .connect_pacing import PacedConnection, TurnPacer
from .listen_queue import ListenQueue, depth_for

log = logging.getLogger(__name__)

# What the process keeps besides connections and the listen queue: database and Redis pools,
# files, Redis's pub/sub connection.
FIXED_RESERVE = 256
FULL_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"Content-Length: 14\r\n"
    b"\r\n"
    b"server is full"
)


# The first byte of a client's websocket close frame: FIN and opcode 8.
_CLOSE_FRAME_START = b"\x88"


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files to the hard one (an operator's hard limit is the
    real bound); returns the soft limit in effect."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == hard:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):  # a sandbox may refuse; the soft limit stays
        return soft
    return hard


def listen_queue_size(default: int, somaxconn_path: str = "/proc/sys/net/core/somaxconn") -> int:
    """The listen queue to ask for: the kernel's ceiling (`net.core.somaxconn`) when an operator
    raised it above `default`, else `default` (the kernel silently caps a larger request, so
    asking for more than a lower ceiling costs nothing). A burst of connects larger than the
    queue waits for the clients' SYN retransmissions (1, 3, 7 s...), so a raised ceiling is
    used rather than left idle."""
    try:
        with open(somaxconn_path, encoding="ascii") as file:
            ceiling = int(file.read().strip())
    except (OSError, ValueError):  # not Linux, or not readable: the default stands
        return default
    return max(default, ceiling)


@dataclass(frozen=True)
class Budget:
    cap: int  # connections kept open; the next one is answered 503
    backlog: int  # the listen queue's depth with no connection (the most one pass can accept)
    room: int = 0  # descriptors for connections and the queue; 0: no limit, a fixed queue


def connection_budget(open_files: int, max_backlog: int, configured: int = 0) -> Budget:
    """Connections and listen queue within `open_files` descriptors.

    An event loop accepts everything queued in one pass, before any protocol runs, so a
    refusal holds a descriptor too: past the cap, up to a whole listen queue of them at once.
    The cap leaves an eighth of the limit (64 to `max_backlog`) for that and for refusals still
    closing, and `FIXED_RESERVE` for what the process holds besides connections (measured: a
    margin of only a few dozen descriptors at the cap let a storm's refusals in flight run the
    process out, and connections were closed unanswered again). The queue itself is deeper
    while connections are few, at most half of the descriptors left free, and shrinks as they
    come (listen_queue.py): `backlog` is its starting depth.
    """
    if open_files == resource.RLIM_INFINITY or open_files <= 0:  # no limit to budget
        return Budget(cap=configured if configured > 0 else 1 << 62, backlog=max_backlog)
    room = open_files - FIXED_RESERVE
    margin = min(max_backlog, max(64, open_files // 8))
    ceiling = max(1, room - margin)
    return Budget(
        cap=min(configured, ceiling) if configured > 0 else ceiling,
        backlog=depth_for(room, max_backlog),
        room=room,
    )


class Gatekeeper:
    """The listener's protocol factory: aiohttp's request handler while under the cap (started
    when the pacer gives the connection its turn), a 503 answer past it."""

    def __init__(
        self,
        server: web.Server,
        cap: int,
        pacer: TurnPacer | None = None,
        silent_seconds: float = 0.0,
    ) -> None:
        self._server = server
        self.cap = cap
        self.pacer = pacer
        self.silent_seconds = silent_seconds  # a paced connection's wait for its first bytes
        self.open = 0  # connections made by this factory and not yet lost, refusals included
        self.refused = 0  # connections answered 503, ever
        self.queue: ListenQueue | None = None  # the listen queue to resize as `open` changes
        # aiohttp's handler settings for every connection (the server's, until the listening
        # sockets have SO_KEEPALIVE: see `keepalive_inherited`).
        self._handler_kwargs: dict[str, Any] = server._kwargs

    def __call__(self) -> asyncio.BaseProtocol:
        # Counted from the factory's call, not from connection_made: an event loop accepts a
        # burst of connections before it tells any of them (uvloop schedules connection_made).
        if self.open >= self.cap:
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                log.warning(
                    "connections at the cap (%d); refused %d so far with 503",
                    self.cap,
                    self.refused,
                )
            self._opened()
            return _FullRefusal(self)
        self._opened()
        if self.pacer is not None and self.pacer.per_turn > 0:
            return PacedConnection(self.pacer, self._handler, self.closed, self.silent_seconds)
        return self._handler()

    def protocol_for(self, place: Place) -> asyncio.BaseProtocol:
        """The protocol for a connection from the bounded listener (bounded_accept.py): its
        place is given back once the connection no longer waits for its first turn (at once
        for a refusal, or when connections are not paced)."""
        protocol = self()
        if isinstance(protocol, PacedConnection):
            protocol.started = place
            protocol.heard = place.heard
        else:
            place()
        return protocol

    def keepalive_inherited(self) -> None:
        """The listening sockets have SO_KEEPALIVE, which accepted connections inherit (Linux):
        aiohttp need not set it on each (a socket object and a system call)."""
        self._handler_kwargs = {**self._server._kwargs, "tcp_keepalive": False}

    def _handler(self) -> RequestHandler:
        return _CountedHandler(
            self, self._server, loop=asyncio.get_running_loop(), **self._handler_kwargs
        )

    def _opened(self) -> None:
        self.open += 1
        if self.queue is not None:
            self.queue.follow(self.open)

    def closed(self) -> None:
        self.open -= 1
        if self.queue is not None:
            self.queue.follow(self.open)


class _NoDelayAgain(BaseProtocol):
    """aiohttp's base protocol without its `TCP_NODELAY` call: both event loops set it on every
    TCP transport already (uvloop and asyncio alike), and aiohttp's second setting costs a
    socket object and a system call per connection (~2.5% of a storm's connect)."""

    __slots__ = ()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)


# Listed after RequestHandler, _NoDelayAgain comes between it and BaseProtocol in the order
# methods are looked up: RequestHandler's `super().connection_made` lands on it.
class _CountedHandler(RequestHandler, _NoDelayAgain):
    __slots__ = ("gatekeeper",)  # no instance dict: one of these per connection

    def __init__(self, gatekeeper: Gatekeeper, server: web.Server, **kwargs: Any) -> None:
        super().__init__(server, **kwargs)
        self.gatekeeper: Gatekeeper | None = gatekeeper

    def data_received(self, data: bytes) -> None:
        gatekeeper = self.gatekeeper
        pacer = gatekeeper.pacer if gatekeeper is not None else None
        if (
            pacer is not None
            and pacer.per_turn > 0
            and data[:1] == _CLOSE_FRAME_START
            and self._upgraded
            and self.transport is not None
        ):
            # A websocket client leaving: its close frame waits for a turn with room, as its
            # connection's loss does below (a departure's work starts when it is read).
            self.transport.pause_reading()
            pacer.start(lambda: self._received(data))
            return
        super().data_received(data)

    def _received(self, data: bytes) -> bool:
        super().data_received(data)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
        return True

    def connection_lost(self, exc: BaseException | None) -> None:
        gatekeeper, self.gatekeeper = self.gatekeeper, None
        if gatekeeper is None:
            return
        gatekeeper.closed()  # its descriptor is free now
        pacer = gatekeeper.pacer
        if pacer is None or pacer.per_turn <= 0:
            super().connection_lost(exc)
            return
        # What the loss sets off (a websocket's reader wakes, its departure runs) waits for a
        # turn with room: thousands of clients leaving at once are read in one I/O pass.
        pacer.start(lambda: self._lost(exc))

    def _lost(self, exc: BaseException | None) -> bool:
        super().connection_lost(exc)
        return True


class _FullRefusal(asyncio.Protocol):
    """Answers 503 at once and closes: waiting for the request would let slow clients hold
    descriptors, which is what is short."""

    def __init__(self, gatekeeper: Gatekeeper) -> None:
        self._gatekeeper: Gatekeeper | None = gatekeeper

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The client reads the answer whether its request was sent before the close or not.
        writer = cast(asyncio.WriteTransport, transport)  # uvloop's is not a subclass
        writer.write(FULL_RESPONSE)
        writer.close()

    def connection_lost(self, exc: Exception | None) -> None:
        gatekeeper, self._gatekeeper = self._gatekeeper, None
        if gatekeeper is not None:
            gatekeeper.closed()


def _keepalive_on(listening: Sequence[socket.socket]) -> bool:
    """SO_KEEPALIVE on every listening socket, for the connections they accept to inherit;
    False where the platform does not pass it on (then aiohttp sets it on each)."""
    if sys.platform != "linux":
        return False
    try:
        for sock in listening:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    except OSError:
        return False
    return True


class CappedSite(web.TCPSite):
    """aiohttp's TCP site with the gatekeeper above as its protocol factory."""

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        *,
        cap: int,
        pacer: TurnPacer | None = None,
        room: int = 0,
        accept_ahead: int = 0,
        **kw: Any,
    ):
        super().__init__(runner, host, port, **kw)
        self.cap = cap
        self.pacer = pacer
        self.room = room  # Budget.room: 0 keeps the listen queue at its starting depth
        # Connections accepted ahead of their first paced turn, at most (bounded_accept.py);
        # 0: the event loop accepts the whole listen queue at once.
        self.accept_ahead = accept_ahead
        self.gatekeeper: Gatekeeper | None = None
        self.listener: BoundedListener | None = None

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        # A connection waiting for its turn has no handler yet: the same bound on its silence.
        silent = float(server._kwargs.get("keepalive_timeout") or 0.0)
        self.gatekeeper = Gatekeeper(server, self.cap, self.pacer, silent)
        paced = self.pacer is not None and self.pacer.per_turn > 0
        if self.accept_ahead > 0 and paced and self._ssl_context is None:
            listening = listening_sockets(
                self._host, self._port, self._backlog, reuse_port=bool(self._reuse_port)
            )
            self.listener = BoundedListener(
                listening, self.gatekeeper.protocol_for, self.accept_ahead
            )
            self._server = self.listener  # type: ignore[assignment]  # close() stops it
            sockets: Sequence[socket.socket] = listening
        else:
            self._server = await asyncio.get_running_loop().create_server(
                self.gatekeeper,
                self._host,
                self._port,
                ssl=self._ssl_context,
                backlog=self._backlog,
                reuse_address=self._reuse_address,
                reuse_port=self._reuse_port,
            )
            sockets = self._server.sockets
        if sockets:
            self._bound_port = sockets[0].getsockname()[1]
            if _keepalive_on(sockets):
                self.gatekeeper.keepalive_inherited()
            if self.room > 0:
                self.gatekeeper.queue = ListenQueue(
                    sockets[0].fileno(), self.room, self._backlog, self._backlog
                )

    async def stop(self) -> None:
        # The queue's own descriptor would keep the socket listening after the server closed.
        if self.gatekeeper is not None and self.gatekeeper.queue is not None:
            self.gatekeeper.queue.close()
            self.gatekeeper.queue = None
        await super().stop()
