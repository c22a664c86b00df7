"""Per-process background work for presence: heartbeats for local connections, and sweeping
connections whose process died."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from uuid import UUID

from ..actions import presence as presence_actions
from ..actions import routing_timers
from ..actions.context import Services

log = logging.getLogger(__name__)


async def heartbeat_forever(
    services: Services,
    agent_connections: Callable[[], list[tuple[UUID, str]]],
    customer_connections: Callable[[], list[tuple[UUID, str]]],
) -> None:
    interval = services.settings.presence_heartbeat_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            for agent_id, connection in agent_connections():
                await presence_actions.refreshed(services, agent_id, connection)
            for customer_id, connection in customer_connections():
                await presence_actions.customer_refreshed(services, customer_id, connection)
        except Exception:
            log.exception("presence heartbeat failed; retrying next interval")


async def sweep_forever(services: Services) -> None:
    interval = services.settings.presence_sweep_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            await presence_actions.sweep_expired(services)
        except Exception:
            log.exception("presence sweep failed; retrying next interval")


async def routing_timers_forever(services: Services) -> None:
    """Fire due grace periods, unanswered deadlines and abandonments (any process may)."""
    interval = services.settings.routing_tick_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            await routing_timers.run_due_timers(services)
        except Exception:
            log.exception("routing timers failed; retrying next tick")


async def reconcile_forever(services: Services) -> None:
    """Rebuild routing state from PostgreSQL at start and then periodically, so a Redis that
    lost its data (restart without persistence, failover) strands nothing for long."""
    while True:
        try:
            await routing_timers.reconcile(services)
        except Exception:
            log.exception("routing reconciliation failed; retrying next interval")
        await asyncio.sleep(services.settings.reconcile_seconds)
