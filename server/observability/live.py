"""Feeds the metrics from running parts: sockets, pools, the publish backlog, the loop, the GC."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Iterable

import asyncpg
import socketio

from ..assistant.breaker import BreakerState
from ..assistant_runtime.service import Assistant
from .loop_lag import LoopLagProbe
from .metrics import GcPauses, Metrics


def observe_sockets(metrics: Metrics, sio: socketio.AsyncServer) -> None:
    def connections() -> Iterable[tuple[tuple[str, ...], float]]:
        rooms = sio.manager.rooms
        return [
            ((ns,), float(len(rooms.get(ns, {}).get(None, {})))) for ns in sio.namespace_handlers
        ]

    def backlog() -> Iterable[tuple[tuple[str, ...], float]]:
        # Only the Redis-backed manager queues publishes; a local one has none.
        return [((), float(getattr(sio.manager, "backlog", 0)))]

    metrics.live.add(
        "parley_connections",
        "Open Socket.IO connections, per namespace",
        ("namespace",),
        connections,
    )
    metrics.live.add(
        "parley_redis_publish_backlog", "Emits waiting to be published to Redis", (), backlog
    )

    def room_messages() -> Iterable[tuple[tuple[str, ...], float]]:
        handled = getattr(sio.manager, "room_messages_handled", {})
        return [((kind,), float(count)) for kind, count in handled.items()]

    metrics.live.add(
        "parley_fanout_room_messages",
        "Other processes' room publishes received and decoded here since start, by kind of room",
        ("room",),
        room_messages,
    )


def observe_presence_writes(metrics: Metrics, backlog: Callable[[], int]) -> None:
    metrics.live.add(
        "parley_presence_backlog",
        "Presence writes queued for Redis, not yet written",
        (),
        lambda: [((), float(backlog()))],
    )


def observe_pool(metrics: Metrics, pool: asyncpg.Pool) -> None:
    def in_use() -> Iterable[tuple[tuple[str, ...], float]]:
        return [((), float(pool.get_size() - pool.get_idle_size()))]

    def size() -> Iterable[tuple[tuple[str, ...], float]]:
        return [((), float(pool.get_size()))]

    metrics.live.add("parley_db_pool_in_use", "PostgreSQL connections checked out", (), in_use)
    metrics.live.add("parley_db_pool_size", "PostgreSQL connections open", (), size)


def observe_assistant(metrics: Metrics, assistant: Assistant) -> None:
    llm = assistant.llm
    if llm is None:
        return
    llm.on_call = metrics.model_call

    def breaker() -> Iterable[tuple[tuple[str, ...], float]]:
        state = llm.breaker.state
        return [((str(s),), 1.0 if s is state else 0.0) for s in BreakerState]

    metrics.live.add(
        "parley_model_breaker_state",
        "The model's circuit breaker (1: current)",
        ("state",),
        breaker,
    )


async def loop_and_gc(metrics: Metrics) -> AsyncIterator[None]:
    """For as long as the app runs: probe event-loop lag and time garbage collections."""
    pauses = GcPauses(metrics)
    gc.callbacks.append(pauses)
    probe = LoopLagProbe(metrics.loop_lag.observe)
    probe.start()
    try:
        yield
    finally:
        probe.stop()
        gc.callbacks.remove(pauses)
