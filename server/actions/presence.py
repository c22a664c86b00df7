"""Agent presence changes; each effective change is broadcast exactly once."""

from __future__ import annotations

import logging
from uuid import UUID

from ..core.events import presence_event
from ..core.models import AgentPrincipal, PresenceStatus
from ..routing.presence import PresenceChange
from .context import Services, publish_all

log = logging.getLogger(__name__)


async def _announce(services: Services, change: PresenceChange) -> PresenceChange:
    if change.changed:
        await publish_all(services, [presence_event(change.agent_id, change.status, change.since)])
    return change


async def connected(services: Services, agent_id: UUID, connection: str) -> PresenceChange:
    return await _announce(services, await services.presence.connect(agent_id, connection))


async def disconnected(services: Services, agent_id: UUID, connection: str) -> PresenceChange:
    return await _announce(services, await services.presence.disconnect(agent_id, connection))


async def refreshed(services: Services, agent_id: UUID, connection: str) -> PresenceChange:
    return await _announce(services, await services.presence.refresh(agent_id, connection))


async def choose(
    services: Services, principal: AgentPrincipal, status: PresenceStatus
) -> PresenceChange:
    return await _announce(services, await services.presence.choose(principal.agent_id, status))


async def sweep_expired(services: Services) -> int:
    """Turn connections whose process died (no heartbeat) into departures. Any process may run
    this; the presence script makes sure only one of them announces each change."""
    expired = await services.presence.expired_connections()
    for agent_id, connection in expired:
        change = await services.presence.disconnect(agent_id, connection)
        await _announce(services, change)
    if expired:
        log.info("swept %d expired agent connections", len(expired))
    return len(expired)
