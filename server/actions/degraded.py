"""Redis work a request can do without while Redis is down or stalled: bounded, logged, counted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from .context import Services

log = logging.getLogger(__name__)

# A connect or a sign-in waits at most this long for Redis before going on without it.
OPTIONAL_SECONDS = 1.0

T = TypeVar("T")


async def optional(services: Services, step: str, work: Awaitable[T], fallback: T) -> T:
    """The result of `work`, or `fallback` when Redis fails or stalls (counted in
    `services.degraded_steps`). What is skipped comes back on its own: presence with the next
    heartbeat, routing with the next reconciliation, which this requests."""
    try:
        # A deadline on this task rather than wait_for's task per call (one per connect).
        async with asyncio.timeout(OPTIONAL_SECONDS):
            return await work
    except Exception as exc:
        count = services.degraded_steps[step] = services.degraded_steps.get(step, 0) + 1
        if count & (count - 1) == 0:  # 1, 2, 4, 8...: an outage must not flood the log
            log.warning("degraded: %s skipped (%s; %d so far)", step, type(exc).__name__, count)
        services.reconcile_soon.set()
        return fallback
