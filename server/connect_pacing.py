"""Connect pacing: at most a few connects start per event-loop turn, so that a storm of them
is served in slices between which the live conversations' frames are handled.

An event loop turn runs every callback that was ready when it began. A storm puts thousands of
connects' steps into the same turns: the accept pass takes a whole listen queue at once, one
I/O pass reads every new connection's request and the next turn runs all their handshakes; the
same again for their Socket.IO connects, and for their close frames when they drop. Measured
with a 25 ms loop-lag probe (docs/performance.md, "Connection storms: round 4"): turns of
0.2-0.85 s, during which every live socket waits. With at most `per_turn` connects starting in
a turn, a turn holds a bounded slice of connect work whatever the storm's size, and the
connect rate follows the loop's speed instead of a fixed bound: when turns are short, the next
slice starts sooner. A paced connect is only delayed, never refused or dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import cast

log = logging.getLogger(__name__)


class TurnPacer:
    """Lets at most `per_turn` starts happen per event-loop turn; the rest wait, in order, for
    later turns. `per_turn` 0 lets every start through at once."""

    def __init__(self, per_turn: int) -> None:
        self.per_turn = per_turn
        self._started = 0  # starts in the current turn
        self._waiting: deque[Callable[[], bool]] = deque()
        self._next_turn_due = False
        self.most_in_a_turn = 0
        self.waited = 0  # starts that had to wait for a later turn, ever

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def start(self, go: Callable[[], bool]) -> None:
        """Run `go` now if this turn has room, else in a later turn. `go` returns whether it
        started anything (one that is no longer wanted returns False and takes no room)."""
        if self.per_turn <= 0:
            go()
        elif self._waiting or self._started >= self.per_turn:
            self.waited += 1
            self._waiting.append(go)
            self._await_next_turn()
        elif go():
            self._count_start()

    async def turn(self) -> None:
        """Return in the first turn with room for one more start."""
        if self.per_turn <= 0:
            return
        if not self._waiting and self._started < self.per_turn:
            self._count_start()
            return
        ready = asyncio.get_running_loop().create_future()

        def go() -> bool:
            if ready.done():  # the waiter was cancelled
                return False
            ready.set_result(None)
            return True

        self.start(go)
        await ready

    def _count_start(self) -> None:
        self._started += 1
        self.most_in_a_turn = max(self.most_in_a_turn, self._started)
        self._await_next_turn()

    def _await_next_turn(self) -> None:
        # A callback scheduled now runs at the start of the next turn: the turn boundary.
        if not self._next_turn_due:
            self._next_turn_due = True
            asyncio.get_running_loop().call_soon(self._new_turn)

    def _new_turn(self) -> None:
        self._next_turn_due = False
        self._started = 0
        while self._waiting and self._started < self.per_turn:
            if _started(self._waiting.popleft()):
                self._count_start()
        if self._waiting:
            self._await_next_turn()


def _started(go: Callable[[], bool]) -> bool:
    # One start that fails must not stop the turn: the others behind it would wait forever.
    try:
        return go()
    except Exception:
        log.exception("a paced connect or departure failed to start")
        return False


class PacedConnection(asyncio.Protocol):
    """A new connection waiting for its turn. Its turn is asked for when its first bytes
    arrive, not when it is accepted: a handler started on a connection whose request has
    not come yet costs little, but every such connection's request is then read in the same
    I/O pass and handled in the next turn (measured: about 5,000 handshakes in one turn of
    0.8 s). So the first bytes are held, reading paused, until the pacer gives the turn; then
    the real protocol takes the transport over, with those bytes. A connection that sends
    nothing within `silent_seconds` is closed, as the HTTP server closes one that does not
    send its request in time."""

    __slots__ = (
        "_first",
        "_lost",
        "_make",
        "_pacer",
        "_silence",
        "_transport",
        "heard",
        "started",
    )

    def __init__(
        self,
        pacer: TurnPacer,
        make: Callable[[], asyncio.Protocol],
        lost: Callable[[], None],
        silent_seconds: float,
    ) -> None:
        self._pacer = pacer
        self._make: Callable[[], asyncio.Protocol] | None = make
        self._lost: Callable[[], None] | None = lost
        self._first: list[bytes] | None = None  # held until the turn: its presence asked for it
        self._transport: asyncio.Transport | None = None
        self._silence: asyncio.TimerHandle | None = None
        # Told once when the connection's turn starts or it is lost, and once when its first
        # bytes come (bounded_accept.py).
        self.started: Callable[[], None] | None = None
        self.heard: Callable[[], None] | None = None
        if silent_seconds > 0:
            self._silence = asyncio.get_running_loop().call_later(silent_seconds, self._silent)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._transport is None:
            return
        self._transport.pause_reading()
        if self._first is None:
            self._first = [data]
            heard, self.heard = self.heard, None
            if heard is not None:
                heard()
            self._pacer.start(self._begin)
        else:  # read in the same pass as the first
            self._first.append(data)

    def eof_received(self) -> bool | None:
        return None  # closes the transport: a client that left before its turn

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None  # its turn, when it comes, starts nothing
        self._make = None
        self._tell_started()
        self._stop_silence()
        lost, self._lost = self._lost, None
        if lost is not None:
            lost()

    def _silent(self) -> None:
        self._silence = None
        if self._transport is not None and self._first is None:
            self._transport.close()

    def _tell_started(self) -> None:
        started, self.started = self.started, None
        if started is not None:
            started()

    def _stop_silence(self) -> None:
        if self._silence is not None:
            self._silence.cancel()
            self._silence = None

    def _begin(self) -> bool:
        transport, make = self._transport, self._make
        if transport is None or make is None or transport.is_closing():
            return False
        self._stop_silence()
        self._tell_started()
        self._make = self._lost = None  # the real protocol counts its own loss now
        protocol = make()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        first, self._first = self._first or [], None
        for data in first:
            protocol.data_received(data)
        if not transport.is_closing():
            transport.resume_reading()
        return True
