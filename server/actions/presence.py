"""Agent presence changes; each effective change is broadcast exactly once."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from ..core.events import presence_event
from ..core.models import AgentPrincipal, PresenceStatus
from ..routing.presence import PresenceChange
from ..store import routing as routing_store
from . import routing_timers
from .context import Services, publish_all

log = logging.getLogger(__name__)


async def _announce(services: Services, change: PresenceChange) -> PresenceChange:
    if change.changed:
        await publish_all(services, [presence_event(change.agent_id, change.status, change.since)])
        await routing_timers.agent_presence_changed(services, change)
    return change


async def customer_connected(services: Services, customer_id: UUID, connection: str) -> None:
    await services.customer_presence.connect(customer_id, connection)


async def customer_refreshed(services: Services, customer_id: UUID, connection: str) -> None:
    await services.customer_presence.refresh(customer_id, connection)


async def customer_disconnected(services: Services, customer_id: UUID, connection: str) -> None:
    change = await services.customer_presence.disconnect(customer_id, connection)
    if change.changed:
        await routing_timers.customer_presence_changed(services, customer_id, change)


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
    gone = await services.customer_presence.expired_connections()
    for customer_id, connection in gone:
        await customer_disconnected(services, customer_id, connection)
    if expired or gone:
        log.info("swept %d agent and %d customer connections", len(expired), len(gone))
    return len(expired) + len(gone)


async def whoami(services: Services, principal: AgentPrincipal) -> dict[str, Any]:
    """The agent, their presence, and their load against capacity (counted in PostgreSQL,
    the same count that guards assignments)."""
    status, since = await services.presence.status(principal.agent_id)
    async with services.db.acquire() as conn:
        found = await routing_store.routable_agents(conn, principal.agent_id)
    load = found[0].open_assigned if found else 0
    max_chats = found[0].max_chats if found else None
    capacity = max_chats if max_chats is not None else services.settings.default_max_chats
    return {
        "agent_id": str(principal.agent_id),
        "display_name": principal.display_name,
        "role": str(principal.role),
        "team_ids": sorted(str(t) for t in principal.team_ids),
        "presence": {"status": str(status), "since": since},
        "load": load,
        "capacity": capacity,
    }
