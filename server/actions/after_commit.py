"""Work that follows a committed change: it may fail, but never turns the change into an error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from .context import Services

log = logging.getLogger(__name__)

# Long enough for a healthy Redis under load, short enough that a stalled one cannot hold an
# acknowledgement: the change is already stored, and the client is waiting to hear so.
AFTER_COMMIT_SECONDS = 2.0


async def follow_up(services: Services, step: str, work: Awaitable[object]) -> bool:
    """Run one follow-up of a committed change, bounded in time; True when it succeeded.

    A failure is logged, counted in `services.after_commit_failures` (by step) and repaired by
    an early reconciliation, which rebuilds routing state and timers from PostgreSQL; what it
    does not cover re-checks the truth when it next acts (an unanswered timer that should have
    been cancelled sees the reply in PostgreSQL and does nothing).
    """
    try:
        await asyncio.wait_for(work, AFTER_COMMIT_SECONDS)
        return True
    except Exception as exc:
        failures = services.after_commit_failures
        count = failures[step] = failures.get(step, 0) + 1
        if count & (count - 1) == 0:  # 1, 2, 4, 8...: an outage must not flood the log
            log.warning(
                "after commit: %s failed (%s; %d so far); the change stands, "
                "reconciliation repairs the rest",
                step,
                type(exc).__name__ if isinstance(exc, TimeoutError) else exc,
                count,
            )
        services.reconcile_soon.set()
        return False
