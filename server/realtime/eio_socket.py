"""Engine.IO's per-connection socket, holding fewer objects while its connection is idle.

Most connections are idle most of the time (a widget open in a tab), so what an idle one
holds is what 10,000 of them cost. The stock socket holds an `asyncio.Queue` (four deques of
~760 bytes each, empty or not), a writer task parked on it through `wait_for` (a second task),
a task sleeping until the next ping, and a task per websocket read (`wait_for` again). Here:

- the outbox is a queue whose storage exists only while it holds packets;
- a writer task runs only while there is something to write, and ends when the outbox is
  empty (one writer at a time, so packets still leave in the order they were queued);
- the next ping is a timer handle, not a sleeping task;
- the reader awaits the websocket directly, under a deadline: one timer per connection,
  moved only when it fires.

The wire is Engine.IO's unchanged: the same packets in the same order, the same ping cadence,
the same timeouts, the same upgrade from long-polling. See docs/performance.md ("Memory per
connection") for what each part saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any

from engineio import exceptions, packet
from engineio.async_socket import AsyncSocket

from .admission import Ticket


class Outbox:
    """What Engine.IO's socket uses of an unbounded `asyncio.Queue`, with no storage while it
    is empty and no waiters' deque until something waits."""

    __slots__ = ("_items", "_joiners", "_unfinished", "_waiting")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._waiting: list[asyncio.Future[None]] | None = None
        self._unfinished = 0
        self._joiners: list[asyncio.Future[None]] | None = None

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._unfinished += 1
        waiting, self._waiting = self._waiting, None
        for waiter in waiting or ():
            if not waiter.done():
                waiter.set_result(None)

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        items = self._items
        if not items:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None  # an empty deque keeps a 64-slot block
        return item

    async def get(self) -> Any:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiting is None:
                self._waiting = []
            self._waiting.append(waiter)
            try:
                await waiter
            finally:
                if self._waiting is not None and waiter in self._waiting:
                    self._waiting.remove(waiter)
                    if not self._waiting:
                        self._waiting = None
        return self.get_nowait()

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0:
            joiners, self._joiners = self._joiners, None
            for joiner in joiners or ():
                if not joiner.done():
                    joiner.set_result(None)

    async def join(self) -> None:
        if self._unfinished == 0:
            return
        joiner = asyncio.get_running_loop().create_future()
        if self._joiners is None:
            self._joiners = []
        self._joiners.append(joiner)
        await joiner


class LeanSocket(AsyncSocket):
    """Engine.IO's socket with an on-demand writer, a timer for pings and direct reads."""

    # Class defaults: an idle socket adds no instance entries for these until they are used.
    _ws: Any = None  # the websocket, once the connection is on it
    _writer: asyncio.Task[None] | None = None  # writing the outbox while it holds packets
    _writing_over = False  # the websocket was closed by the writer: nothing more leaves
    _ping_timer: asyncio.TimerHandle | None = None
    # The read deadline: a frame is due by _read_by (monotonic), checked by one timer.
    _read_by = 0.0
    _read_timer: asyncio.TimerHandle | None = None
    _reader: asyncio.Task[Any] | None = None  # the task reading the websocket
    _awaiting_read = False
    _read_expired = False
    # The handshake's slot (admission.py), given back once the websocket is up.
    admission_ticket: Ticket | None = None

    async def send(self, pkt: packet.Packet) -> None:
        if not await self.check_ping_timeout() or self._writing_over:
            return
        self.queue.put_nowait(pkt)
        self._start_writer()

    def schedule_ping(self) -> None:
        # Only after the previous ping was answered (last_ping cleared), like Engine.IO's.
        if self.last_ping:
            self.last_ping = None
            self._ping_timer = asyncio.get_running_loop().call_later(
                self.server.ping_interval, self._ping
            )

    def _ping(self) -> None:
        self._ping_timer = None
        if not self.closing and not self.closed and not self._writing_over:
            self.last_ping = time.time()
            self.queue.put_nowait(packet.Packet(packet.PING))
            self._start_writer()

    def _admitted(self) -> None:
        ticket, self.admission_ticket = self.admission_ticket, None
        if ticket is not None:
            ticket.release()

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        self._admitted()
        await super().close(wait=wait, abort=abort, reason=reason)
        if self.closed and self._ping_timer is not None:
            # A pending ping would keep the socket (and what it references) alive until due.
            self._ping_timer.cancel()
            self._ping_timer = None

    def end_writing(self) -> None:
        """After what is queued, the writer closes the websocket (the reader's end, a stop's
        drain). Nothing is queued once writing is over: nobody would take it."""
        if not self._writing_over:
            self.queue.put_nowait(None)
            self._start_writer()

    def _start_writer(self) -> None:
        if self._ws is None or self._writer is not None or self._writing_over:
            return  # still long-polling or upgrading, already writing, or the end was written
        if self.queue.empty():
            return
        self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        ws = self._ws
        queue = self.queue
        try:
            while True:
                try:
                    pkt = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return  # idle again: the task ends, the next send starts another
                try:
                    if pkt is None:  # the reader ended: nothing more will be written
                        self._writing_over = True
                        break
                    await ws.send(pkt.encode())
                except Exception:
                    self._writing_over = True
                    break
                finally:
                    queue.task_done()
            while not queue.empty():  # unsent after the end; nobody will read them now
                queue.get_nowait()
                queue.task_done()
            with contextlib.suppress(Exception):  # the disconnect must still run
                await ws.close()
        finally:
            self._writer = None

    async def _websocket_handler(self, ws: Any) -> None:
        if self.connected:
            # An upgrade from long-polling: Engine.IO's probe, then the UPGRADE packet.
            self.upgrading = True  # polls get no more packets meanwhile
            upgraded = await self._probe_upgrade(ws)
            self.upgrading = False
            if not upgraded:
                self._stop_read_timer()
                return
        else:
            self.connected = True
        self.upgraded = True
        self._ws = ws
        # The websocket request's environ is not read again; its frames keep it until the end.
        environ = ws.environ
        kept = handshake_environ(environ)
        environ.clear()  # frees the table, where deleting keys would keep its size
        environ.update(kept)
        self._admitted()
        try:
            self._start_writer()  # what was queued before (the OPEN packet, first messages)
            await self._read(ws)
            await self._departure_turn()
            self.end_writing()
            writer = self._writer
            if writer is not None:
                await writer  # what was queued before the end still leaves, then the close
        finally:
            # The websocket refers back to this socket (its handler): a cycle that only a
            # collection would free, so the reference goes as the connection ends; the read
            # timer would keep the socket until it is due.
            self._ws = None
            self._stop_read_timer()
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)

    async def _departure_turn(self) -> None:
        """Wait for a loop turn with room (connect_pacing.py): thousands of clients dropping
        at once are read in one pass, and their departures would all run in the next turn."""
        pacer = self.server.pacer
        if pacer is None:
            return
        # A stop (cancelled): the connection still ends through close(), now.
        with contextlib.suppress(asyncio.CancelledError):
            await pacer.turn()

    async def _probe_upgrade(self, ws: Any) -> bool:
        probe = await self._receive_one(ws)
        if probe is None:
            return False
        pkt = packet.Packet(encoded_packet=probe)
        if pkt.packet_type != packet.PING or pkt.data != "probe":
            return False
        await ws.send(packet.Packet(packet.PONG, data="probe").encode())
        self.queue.put_nowait(packet.Packet(packet.NOOP))  # ends the pending poll
        confirm = await self._receive_one(ws)
        if confirm is None:
            return False
        return bool(packet.Packet(encoded_packet=confirm).packet_type == packet.UPGRADE)

    async def _receive_one(self, ws: Any) -> Any:
        """The next frame's data, or None when the client closed, went quiet for longer than
        a ping cycle, or sent more than the largest packet allowed."""
        server = self.server
        loop = asyncio.get_running_loop()
        # One timer per connection, moved on lazily (_read_overdue), where an asyncio.timeout
        # per frame cost a timer and a context manager for every ping, message and connect:
        # about 5% of the server's time at 20,000 connections.
        self._read_by = loop.time() + server.ping_interval + server.ping_timeout
        if self._read_timer is None:
            self._reader = asyncio.current_task()
            self._read_timer = loop.call_at(self._read_by, self._read_overdue)
        self._awaiting_read = True
        try:
            data = await ws.wait()
        except asyncio.CancelledError:
            if self._read_expired and self._reader is not None:
                self._reader.uncancel()  # our own deadline, not a stop of the task
            # A stop too: the connection still ends through close(), so that its disconnect
            # handler runs, as Engine.IO's own loop does.
            return None
        except Exception:
            return None
        finally:
            self._awaiting_read = False
        if data and len(data) > server.max_http_buffer_size:
            return None
        return data

    def _read_overdue(self) -> None:
        self._read_timer = None
        if not self._awaiting_read or self._reader is None:
            return  # handling a packet: the next read arms the timer again
        loop = asyncio.get_running_loop()
        if loop.time() < self._read_by:  # a frame came since the timer was set
            self._read_timer = loop.call_at(self._read_by, self._read_overdue)
            return
        self._read_expired = True
        self._reader.cancel()

    def _stop_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        self._reader = None

    async def _read(self, ws: Any) -> None:
        while (data := await self._receive_one(ws)) is not None:
            try:
                await self.receive(packet.Packet(encoded_packet=data))
            except exceptions.UnknownPacketError:
                pass
            except exceptions.SocketIsClosedError:
                return
            except Exception:
                self.server.logger.exception("Unknown receive error")


# What Parley's connect handlers read of a handshake's environ: the request (its headers, the
# peer's address) and what a WSGI environ always has. The `HTTP_*` copies of every header stay
# out: they duplicated the request's own headers for the connection's whole life.
_HANDSHAKE_KEYS = ("aiohttp.request", "REMOTE_ADDR", "REQUEST_METHOD", "QUERY_STRING", "PATH_INFO")


def handshake_environ(environ: dict[str, Any]) -> dict[str, Any]:
    """The part of a handshake's environ worth keeping while the connection lasts."""
    return {key: environ[key] for key in _HANDSHAKE_KEYS if key in environ}


def session_cookie(server: Any, sid: str) -> list[tuple[str, str]] | None:
    """Engine.IO's `Set-Cookie` for a new long-polling session, when the server sets one."""
    if not server.cookie:
        return None
    attributes = (
        server.cookie
        if isinstance(server.cookie, dict)
        else {"name": server.cookie, "path": "/", "SameSite": "Lax"}
    )
    return [("Set-Cookie", server._generate_sid_cookie(sid, attributes))]
