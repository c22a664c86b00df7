"""Stopping background tasks for sure.

A cancellation can be lost: when it lands just as a library call completes, some client code
(seen with redis-py under load) returns normally instead of raising CancelledError. The task
then keeps looping with `cancelling() > 0`, and a shutdown that waits for it waits forever. So
shutdowns cancel, wait a little, and cancel again whatever is still running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], *, attempts: int = 5, wait_seconds: float = 1.0
) -> None:
    pending = {task for task in tasks if not task.done()}
    for _ in range(attempts):
        if not pending:
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=wait_seconds)
    for task in pending:
        log.warning("background task %s did not stop; leaving it behind", task.get_name())
