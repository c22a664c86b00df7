"""Agent presence changes; each effective change is broadcast exactly once."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from ..core.events import presence_event
from ..core.models import AgentPrincipal, PresenceStatus
from ..routing.presence import PresenceChange, PresenceOp
from ..store import routing as routing_store
from . import routing_timers
from .context import Services, publish_all

log = logging.getLogger(__name__)


async def announce(services: Services, change: PresenceChange) -> PresenceChange:
    """Broadcast a change of effective status (once) and let routing follow it."""
    if change.changed:
        await publish_all(services, [presence_event(change.agent_id, change.status, change.since)])
        await routing_timers.agent_presence_changed(services, change)
    return change


async def connected(services: Services, agent_id: UUID, connection: str) -> PresenceChange:
    return await announce(services, await services.presence.connect(agent_id, connection))


async def disconnected(services: Services, agent_id: UUID, connection: str) -> PresenceChange:
    return await announce(services, await services.presence.disconnect(agent_id, connection))


async def choose(
    services: Services, principal: AgentPrincipal, status: PresenceStatus
) -> PresenceChange:
    return await announce(services, await services.presence.choose(principal.agent_id, status))


async def sweep_expired(services: Services) -> int:
    """Turn connections whose process died (no heartbeat) into departures. Any process may run
    this; the presence script makes sure only one of them announces each change."""
    expired = await services.presence.expired_connections()
    changes = await services.presence.apply(
        [PresenceOp("disconnect", agent_id, connection) for agent_id, connection in expired]
    )
    for change in changes:
        await announce(services, change)
    gone = await services.customer_presence.expired_connections()
    left = await services.customer_presence.apply(
        [PresenceOp("disconnect", customer_id, connection) for customer_id, connection in gone]
    )
    await routing_timers.customers_left(
        services, [c.agent_id for c in left if c.changed and c.status is PresenceStatus.OFFLINE]
    )
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
