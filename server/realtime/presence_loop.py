"""Per-process background work for presence: heartbeats for local connections, and sweeping
connections whose process died."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from uuid import UUID

from ..actions import presence as presence_actions
from ..actions.context import Services

log = logging.getLogger(__name__)


async def heartbeat_forever(
    services: Services, local_connections: Callable[[], list[tuple[UUID, str]]]
) -> None:
    interval = services.settings.presence_heartbeat_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            for agent_id, connection in local_connections():
                await presence_actions.refreshed(services, agent_id, connection)
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
