"""One queue of presence writes per process, sent to Redis in pipelined batches by one task.

Connects, disconnects and heartbeat refreshes of every socket of the process go through here,
in the order they happen. One task takes what has queued up, runs each change's presence
script in one pipelined round trip (per batch), then announces the changes of effective
status, as `presence.connected` and `presence.disconnected` do one at a time.

Before, each socket ran its own script on the shared Redis pool: 10,000 sockets dropping at
once asked for 10,000 connections of a pool of 64, and thousands of departures failed after
waiting for one. Here a storm costs one connection and a round trip per hundred sockets,
and a heartbeat one round trip per batch instead of one per connection.

Order matters and is kept: a heartbeat that read a socket before it left queues its refresh
before that socket's departure, so a refresh never brings a departed socket back.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

from ..core.models import PresenceStatus
from ..routing.presence import PresenceChange, PresenceOp, PresenceStore
from . import presence, routing_timers
from .context import Services

log = logging.getLogger(__name__)

# Script runs per pipelined round trip, at most. Building, encoding and parsing a pipeline is
# pure Python that holds the loop: encoding alone took 10 ms for 500 calls on this (busy)
# machine, 1.9 ms for 100, so 100 keeps each batch of a heartbeat a short pause.
BATCH = 100
# How long a stop waits for queued writes before leaving them to expire by themselves.
_CLOSE_SECONDS = 1.0

Connections = Iterable[tuple[UUID, str]]


@dataclass(slots=True)
class _Write:
    agent: bool  # an agent's connection, else a customer's
    op: PresenceOp | None  # None: a mark that only tells its waiter the writes before it are done
    # Set when a caller waits for the write (connects, heartbeats); departures do not wait.
    done: asyncio.Future[object] | None = field(default=None)


class PresenceUpdates:
    """The process's presence writes, in order, a batch per round trip."""

    def __init__(self, services: Services, batch: int = BATCH) -> None:
        self._services = services
        self._batch = batch
        self._queue: deque[_Write] = deque()
        self._flusher: asyncio.Task[None] | None = None
        # Counted, for tests and metrics: round trips made and writes that failed.
        self.round_trips = 0
        self.failed = 0
        self.failed_batches = 0

    @property
    def backlog(self) -> int:
        return len(self._queue)

    async def agent_connected(self, agent_id: UUID, connection: str) -> None:
        """Returns once written and announced (the agent is online when the connect ends)."""
        await self._waited(_Write(True, PresenceOp("connect", agent_id, connection)))

    async def customer_connected(self, customer_id: UUID, connection: str) -> None:
        await self._waited(_Write(False, PresenceOp("connect", customer_id, connection)))

    def agent_disconnected(self, agent_id: UUID, connection: str) -> None:
        self._add(_Write(True, PresenceOp("disconnect", agent_id, connection)))

    def customer_disconnected(self, customer_id: UUID, connection: str) -> None:
        self._add(_Write(False, PresenceOp("disconnect", customer_id, connection)))

    def refresh(self, agents: Connections, customers: Connections) -> asyncio.Future[object]:
        """The heartbeat: renew every local connection's expiry. Queued when called (so a
        departure noticed after this call is written after it); the result is done once
        every write queued so far went out."""
        for agent_id, connection in agents:
            self._add(_Write(True, PresenceOp("refresh", agent_id, connection)))
        for customer_id, connection in customers:
            self._add(_Write(False, PresenceOp("refresh", customer_id, connection)))
        return self._mark()

    async def _waited(self, write: _Write) -> None:
        write.done = asyncio.get_running_loop().create_future()
        self._add(write)
        await write.done

    def _mark(self) -> asyncio.Future[object]:
        done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._add(_Write(True, None, done))
        return done

    def _add(self, write: _Write) -> None:
        self._queue.append(write)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._queue:
            count = min(len(self._queue), self._batch)
            batch = [self._queue.popleft() for _ in range(count)]
            try:
                await self._write(batch)
            finally:  # a stop cancelled the batch: its waiters must not hang
                for write in batch:
                    _settle(write, None)

    async def _write(self, batch: list[_Write]) -> None:
        """Agents' writes then customers' (separate keys, either may fail alone); each kind's
        changes are announced as soon as they are written."""
        services = self._services
        agents = [w for w in batch if w.agent and w.op is not None]
        customers = [w for w in batch if not w.agent and w.op is not None]
        agent_changes = await self._apply(services.presence, agents)
        for change in agent_changes:
            if change.changed:
                try:
                    await presence.announce(services, change)
                except Exception:
                    log.exception("presence: announcing agent %s failed", change.agent_id)
        customer_changes = await self._apply(services.customer_presence, customers)
        gone = [
            c.agent_id for c in customer_changes if c.changed and c.status is PresenceStatus.OFFLINE
        ]
        try:
            await routing_timers.customers_left(services, gone)
        except Exception:
            log.exception("presence: abandonment clocks of %d customers failed", len(gone))

    async def _apply(self, store: PresenceStore, writes: list[_Write]) -> list[PresenceChange]:
        if not writes:
            return []
        try:
            changes = await store.apply([_op(w) for w in writes])
        except Exception as exc:
            # Redis is down or stalled: connects are re-added by the next heartbeat and
            # departures expire by themselves (the sweeper announces them).
            self.failed += len(writes)
            self._services.reconcile_soon.set()
            for write in writes:
                _settle(write, exc)
            if self.failed_batches & (self.failed_batches - 1) == 0:  # 1, 2, 4...: no flood
                log.warning("presence: %d writes failed (%s)", len(writes), type(exc).__name__)
            self.failed_batches += 1
            return []
        self.round_trips += 1
        return changes

    async def close(self) -> None:
        """Give queued writes a moment to go out, then stop (what is left expires by itself)."""
        flusher = self._flusher
        if flusher is None or flusher.done():
            return
        await asyncio.wait({flusher}, timeout=_CLOSE_SECONDS)
        flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)
        while self._queue:
            _settle(self._queue.popleft(), None)


def _op(write: _Write) -> PresenceOp:
    assert write.op is not None
    return write.op


def _settle(write: _Write, outcome: BaseException | None) -> None:
    done = write.done
    if done is None or done.done():  # nobody waits, or the waiter gave up (timed out)
        return
    if outcome is not None:
        done.set_exception(outcome)
    else:
        done.set_result(None)
