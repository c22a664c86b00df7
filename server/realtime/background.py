"""Per-process background work: presence heartbeats and sweeps, routing timers, the
periodic rebuild of routing state from PostgreSQL, and the sweep of unsent uploads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from uuid import UUID

from ..actions import attachments as attachment_actions
from ..actions import presence as presence_actions
from ..actions import reconcile as reconciliation
from ..actions import routing_timers
from ..actions import widget as widget_actions
from ..actions.context import Services
from ..actions.presence_updates import PresenceUpdates

log = logging.getLogger(__name__)

# How soon a process follows an admin's settings change made on another process.
_OVERRIDES_SECONDS = 10.0

Connections = Callable[[], list[tuple[UUID, str]]]


async def repeat(
    name: str,
    interval: float,
    step: Callable[[], Awaitable[object]],
    *,
    first: bool = False,
    wake: asyncio.Event | None = None,
) -> None:
    """Run `step` every `interval` seconds until cancelled; a failing step is logged and retried.
    Setting `wake` runs it at once (after Redis came back, or when its state may have drifted).

    Some libraries swallow a cancellation while cleaning up a connection; checking for a pending
    cancellation after each step keeps such a swallow from turning a shutdown into a long wait.
    """
    if not first:
        await _pause(interval, wake)
    while True:
        try:
            await step()
        except Exception:
            log.exception("%s failed; retrying in %.1f s", name, interval)
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        await _pause(interval, wake)


# Between two runs of a woken step, at least: a wake per failed request during an outage must
# not turn into a storm of runs that fail the same way.
_WAKE_GAP_SECONDS = 1.0


async def _pause(interval: float, wake: asyncio.Event | None) -> None:
    if wake is None:
        await asyncio.sleep(interval)
        return
    gap = min(interval, _WAKE_GAP_SECONDS)
    await asyncio.sleep(gap)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), interval - gap)
    wake.clear()


def start_background(
    services: Services,
    agent_connections: Connections,
    customer_connections: Connections,
    heartbeat_soon: asyncio.Event | None = None,
    presence_updates: PresenceUpdates | None = None,
) -> list[asyncio.Task[None]]:
    settings = services.settings
    updates = presence_updates or PresenceUpdates(services)

    async def heartbeat() -> None:
        # Every local connection, a pipelined batch per round trip (not one call each).
        await updates.refresh(agent_connections(), customer_connections())

    async def sweep() -> None:
        await presence_actions.sweep_expired(services)

    async def timers() -> None:
        # Due grace periods, unanswered deadlines and abandonments (any process may run them).
        await routing_timers.run_due_timers(services)

    async def reconcile() -> None:
        # Rebuild routing state from PostgreSQL, so a Redis that lost its data strands nothing.
        await reconciliation.reconcile(services)

    async def overrides() -> None:
        # Admin changes made on another process (the origin list lives in memory).
        await widget_actions.apply_overrides(services)

    async def unsent_uploads() -> None:
        # Uploads never sent in a message would otherwise stay on disk for good.
        removed = await attachment_actions.sweep_unsent(services)
        if removed:
            log.info("deleted %d uploads never sent in a message", removed)

    loops = [
        repeat("settings overrides", _OVERRIDES_SECONDS, overrides),
        repeat(
            "presence heartbeat",
            settings.presence_heartbeat_seconds,
            heartbeat,
            wake=heartbeat_soon,
        ),
        repeat("presence sweep", settings.presence_sweep_seconds, sweep),
        repeat("routing timers", settings.routing_tick_seconds, timers),
        repeat(
            "routing reconciliation",
            settings.reconcile_seconds,
            reconcile,
            first=True,
            wake=services.reconcile_soon,
        ),
        repeat("unsent uploads", settings.attachment_sweep_seconds, unsent_uploads, first=True),
    ]
    return [asyncio.create_task(loop) for loop in loops]
