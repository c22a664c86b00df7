"""A customer arriving: starting or resuming a conversation, and entering the queue."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ..core.errors import ErrorCode, ParleyError, invalid
from ..core.models import Conversation, CustomerPrincipal
from ..core.routing import Priority
from ..store import customers as customer_store
from ..store import routing as routing_store
from . import assistant_owner, conversations, routing_timers
from .context import Services
from .degraded import optional


async def start(
    services: Services,
    principal: CustomerPrincipal,
    *,
    name: str | None,
    email: str | None,
    attributes: dict[str, Any],
    metadata: dict[str, Any],
    team_slug: str | None,
    force_new: bool,
    priority: Priority | None = None,
    client_address: str | None = None,
) -> tuple[Conversation, bool]:
    """The visitor's open conversation, or a new one: waiting in its team's line, answered by
    the assistant, or both, as the team's assistant mode says."""
    if priority is not None:
        await _ensure_verified(services, principal)
    team_id: UUID | None = None
    if team_slug is not None:
        async with services.db.acquire() as conn:
            team = await routing_store.team_by_slug_or_default(conn, team_slug)
        if team is None:
            raise invalid(f"no team {team_slug!r}")
        team_id = team.id
    conversation, created = await conversations.start_conversation(
        services,
        principal,
        name=name,
        email=email,
        attributes=attributes,
        metadata=metadata,
        force_new=force_new,
        client_address=client_address,
    )
    if created:
        placed = await assistant_owner.route_new_wait(
            services,
            conversation.id,
            team_id=team_id,
            priority=int(priority) if priority is not None else None,
            actor_kind="customer",
            actor_id=principal.customer_id,
            greet=True,
        )
        return placed or conversation, True
    await routing_timers.customer_returned(services, conversation.id)
    return await conversations.get_visible(services, principal, conversation.id), False


async def resume(
    services: Services, principal: CustomerPrincipal, conversation_id: UUID
) -> Conversation:
    await conversations.open_for(services, principal, conversation_id)
    # Coming back must work while Redis is down; reconciliation re-arms or re-queues later.
    await optional(
        services,
        "customer_returned",
        routing_timers.customer_returned(services, conversation_id),
        None,
    )
    # Re-read: coming back may have put an abandoned conversation back in line.
    return await conversations.get_visible(services, principal, conversation_id)


async def _ensure_verified(services: Services, principal: CustomerPrincipal) -> None:
    async with services.db.acquire() as conn:
        customer = await customer_store.get(conn, principal.customer_id)
    if customer is None or not customer.identity_verified:
        raise ParleyError(ErrorCode.FORBIDDEN, "only identified customers can ask for a priority")
