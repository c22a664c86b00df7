"""Draining a stopping process: answer what is in flight, then let every client move elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import socketio

log = logging.getLogger(__name__)

# How often a drain that is still waiting says what it waits for.
_REPORT_SECONDS = 1.0
# How long closing the transports may take, after the acks in flight were answered.
_CLOSE_SECONDS = 0.5


class Drain:
    """Whether this process is stopping, and how many socket events it is still answering.

    Once draining, a process accepts no new Engine.IO sessions (503, which every client retries
    elsewhere), answers events that arrive with a retryable `unavailable` ack, and waits for the
    events already being handled to send their acks before it closes the transports.
    """

    def __init__(self) -> None:
        self.draining = False
        self.in_flight = 0
        self._idle: asyncio.Event | None = None

    def begin(self) -> None:
        self.draining = True

    def started(self) -> None:
        self.in_flight += 1

    def finished(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0 and self._idle is not None:
            self._idle.set()

    async def settle(self, seconds: float) -> bool:
        """Wait until no event is being handled, at most `seconds`; True when none is left."""
        deadline = time.monotonic() + seconds
        while self.in_flight > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("drain: gave up on %d socket events still running", self.in_flight)
                return False
            log.info("drain: waiting for %d socket events to be answered", self.in_flight)
            self._idle = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), min(left, _REPORT_SECONDS))
        return True


async def drain_sockets(sio: socketio.AsyncServer, drain: Drain, seconds: float) -> None:
    """Stop taking work, finish in-flight acks, then close every transport without a Socket.IO
    DISCONNECT packet.

    socket.io-client treats a server DISCONNECT (`io server disconnect`) as final and never
    reconnects, while a transport that simply closes is reconnected with backoff by every
    client. Disconnect handlers still run here; the namespaces' `shutting_down` flag makes them
    leave presence alone, so agents are *moving* (their connections expire by TTL after they
    reconnected elsewhere), never *gone*.
    """
    drain.begin()
    for namespace in list(sio.namespace_handlers):
        handler: Any = sio.namespace_handlers[namespace]
        handler.shutting_down = True
    sockets = list(sio.eio.sockets.values())
    log.info(
        "drain: stopping; %d connections, %d socket events in flight (at most %.1f s)",
        len(sockets),
        drain.in_flight,
        seconds,
    )
    await drain.settle(seconds)
    if not sockets:
        return
    # All at once, and bounded: python-socketio's per-disconnect cleanup scans rooms, and
    # thousands of sockets must not push the stop past its bound. Any left over close with
    # the process a moment later, which clients also reconnect from.
    closing = [asyncio.ensure_future(_close_transport(socket)) for socket in sockets]
    _, late = await asyncio.wait(closing, timeout=_CLOSE_SECONDS)
    for task in late:
        task.cancel()
    log.info("drain: closed %d connections (%d left to the exit)", len(sockets), len(late))


async def _close_transport(socket: Any) -> None:
    try:
        # abort: no Engine.IO CLOSE either; the disconnect handlers run now, inline.
        await socket.close(wait=False, abort=True)
        # The websocket writer ends after what is queued and closes the connection itself.
        socket.end_writing()
    except Exception:
        log.exception("drain: closing connection %s failed", getattr(socket, "sid", "?"))
