"""Serving one process: listen until SIGTERM or SIGINT, then stop within a bounded drain."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable

from aiohttp import web

from .connect_pacing import TurnPacer
from .connection_budget import (
    CappedSite,
    connection_budget,
    listen_queue_size,
    raise_open_files_limit,
)

log = logging.getLogger(__name__)

# What a stop may take beyond the drain itself: closing pools and background tasks.
STOP_MARGIN_SECONDS = 2.0
# Connections the kernel holds for us before we accept them, at least (more where the kernel's
# net.core.somaxconn was raised; at most half the free descriptors: listen_queue.py).
# aiohttp's default of 128 overflowed in a storm of reconnects: the kernel drops the extra SYNs
# and each client retries after 1, 3, 7, 15… s, so 3,000 sockets took minutes to connect.
LISTEN_BACKLOG = 4096


async def serve(
    app: web.Application,
    host: str,
    port: int,
    drain_seconds: float,
    *,
    header_timeout_seconds: float = 15.0,
    max_connections: int = 0,
    connect_pace: int = 0,
    accept_ahead: int = 0,
    on_listening: Callable[[], object] | None = None,
) -> None:
    """Serve until a stop signal; then stop listening, drain, and clean up.

    aiohttp's runner does the order (close the listener, `on_shutdown`, which drains the
    sockets, then the cleanup contexts); a watchdog makes sure the whole stop takes at most
    the drain plus two seconds, even when something refuses to finish.
    """
    # shutdown_timeout: REST requests still running once the sockets are drained (they ran
    # during the drain too) get one more second.
    # keepalive_timeout: aiohttp closes a connection that has not sent a whole request by then
    # (slowloris), new connections included.
    runner = web.AppRunner(
        app, handle_signals=False, shutdown_timeout=1.0, keepalive_timeout=header_timeout_seconds
    )
    await runner.setup()
    open_files = raise_open_files_limit()
    budget = connection_budget(open_files, listen_queue_size(LISTEN_BACKLOG), max_connections)
    log.info(
        "open files limit %d: at most %d connections (then 503), listen queue %d while few",
        open_files,
        budget.cap,
        budget.backlog,
    )
    # New connections start at most `connect_pace` per loop turn (connect_pacing.py).
    pacer = TurnPacer(connect_pace)
    # And accepted at most `accept_ahead` ahead of their turns (bounded_accept.py).
    site = CappedSite(
        runner,
        host,
        port,
        cap=budget.cap,
        backlog=budget.backlog,
        pacer=pacer,
        room=budget.room,
        accept_ahead=accept_ahead,
    )
    await site.start()
    if on_listening is not None:
        on_listening()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    bound = drain_seconds + STOP_MARGIN_SECONDS
    log.warning("stopping: no new connections; draining for at most %.1f s", drain_seconds)
    watchdog = threading.Timer(bound, _overran, args=(bound,))
    watchdog.daemon = True
    watchdog.start()
    try:
        await runner.cleanup()
        # What is left (python-socketio's Redis listener) ends with the process.
        leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.wait(leftovers, timeout=0.5)
    finally:
        watchdog.cancel()
    log.warning("stopped")


def _overran(bound: float) -> None:
    # A thread, not the loop: the loop may be what is stuck.
    log.error("stop took longer than %.1f s; exiting now", bound)
    logging.shutdown()
    os._exit(1)
