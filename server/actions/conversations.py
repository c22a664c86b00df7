"""Starting, finding, joining and closing conversations."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ..core import policies
from ..core.errors import ErrorCode, ParleyError, not_found
from ..core.events import (
    ADMINS_ROOM,
    ALL_AGENTS_ROOM,
    Event,
    agent_room,
    conversation_room,
    customer_room,
    team_room,
    to_wire,
)
from ..core.models import (
    AgentPrincipal,
    Conversation,
    ConversationStatus,
    CustomerPrincipal,
    Principal,
)
from ..core.wire_events import AgentRef, ConversationUpdated, TeamRef, WireConversation
from ..routing.limits import Charge
from ..store import agents as agent_store
from ..store import conversations as conversation_store
from ..store import customers as customer_store
from ..store import locks
from ..store import summaries as summary_store
from ..store.conversations import ConversationContext
from .context import Services, UnitOfWork, unit_of_work


def conversation_updated(
    conversation: Conversation,
    *,
    reason: str,
    agent: AgentRef | None = None,
    team: TeamRef | None = None,
) -> Event:
    """Tell the customer's tabs and the staff who may see it that a conversation changed
    (`agent`: who is helping now, after an assignment)."""
    staff_rooms = [conversation_room(conversation.id), ADMINS_ROOM]
    if conversation.assigned_agent_id is not None:
        staff_rooms.append(agent_room(conversation.assigned_agent_id))
    elif conversation.team_id is not None:
        staff_rooms.append(team_room(conversation.team_id))
    else:
        staff_rooms.append(ALL_AGENTS_ROOM)
    snapshot = WireConversation.of(conversation, agent=agent)
    return Event(
        ConversationUpdated(conversation=snapshot, reason=reason, agent=agent, team=team),
        customer_rooms=(customer_room(conversation.customer_id),),
        staff_rooms=tuple(staff_rooms),
    )


async def start_conversation(
    services: Services,
    principal: CustomerPrincipal,
    *,
    name: str | None,
    email: str | None,
    attributes: dict[str, Any],
    metadata: dict[str, Any],
    force_new: bool,
    client_address: str | None = None,
) -> tuple[Conversation, bool]:
    """Return the visitor's open conversation, or start one. (conversation, created)."""
    async with unit_of_work(services) as work:
        # Two tabs starting at the same instant must end up in the same conversation.
        await locks.customer_start(work.conn, principal.customer_id)
        await customer_store.upsert(
            work.conn, principal.customer_id, name=name, email=email, attributes=attributes
        )
        if not force_new:
            existing = await conversation_store.latest_for_customer(
                work.conn, principal.customer_id, open_only=True
            )
            if existing is not None:
                return existing, False
        await _charge_new_conversation(services, work, principal, client_address)
        conversation = await conversation_store.create(
            work.conn, customer_id=principal.customer_id, team_id=None, metadata=metadata
        )
        work.publish_on_commit(conversation_updated(conversation, reason="created"))
    return conversation, True


async def _charge_new_conversation(
    services: Services, work: UnitOfWork, principal: CustomerPrincipal, address: str | None
) -> None:
    """New conversations are rate limited per visitor, and per address unless the visitor's
    identity is verified: a flood of anonymous conversations from one place is refused before
    it can push real customers down the line."""
    charges = [Charge("conversations_per_visitor", principal.customer_id)]
    if address is not None:
        customer = await customer_store.get(work.conn, principal.customer_id)
        if customer is None or not customer.identity_verified:
            charges.append(Charge("conversations_per_address", address))
    await services.limits.take(*charges)


async def load_visible(
    work: UnitOfWork, principal: Principal, conversation_id: UUID
) -> ConversationContext:
    """The conversation if the principal may see it (else not_found), with its context."""
    agent_id = principal.agent_id if isinstance(principal, AgentPrincipal) else None
    context = await conversation_store.get_context(work.conn, conversation_id, agent_id)
    policies.ensure_can_view(
        principal,
        context.conversation if context else None,
        is_participant=bool(context and context.is_participant),
    )
    assert context is not None
    return context


async def open_for(services: Services, principal: Principal, conversation_id: UUID) -> Conversation:
    """Authorize a principal to follow a conversation live; agents become participants."""
    async with unit_of_work(services, transaction=False) as work:
        context = await load_visible(work, principal, conversation_id)
        if isinstance(principal, AgentPrincipal) and not context.is_participant:
            await conversation_store.add_participant(work.conn, conversation_id, principal.agent_id)
    return context.conversation


async def get_visible(
    services: Services, principal: Principal, conversation_id: UUID
) -> Conversation:
    async with unit_of_work(services, transaction=False) as work:
        context = await load_visible(work, principal, conversation_id)
    return context.conversation


async def set_status(
    services: Services,
    principal: Principal,
    conversation_id: UUID,
    status: ConversationStatus,
) -> Conversation:
    """Resolve or reopen. Doing what is already done is fine (an idempotent no-op)."""
    async with unit_of_work(services) as work:
        context = await load_visible(work, principal, conversation_id)
        conversation = context.conversation
        if not policies.can_change_status(
            principal, conversation, is_participant=context.is_participant
        ):
            raise ParleyError(ErrorCode.FORBIDDEN, "only staff can change a conversation's status")
        if conversation.status == status:
            return conversation
        updated = await conversation_store.set_status(work.conn, conversation_id, status)
        if updated is None:
            raise not_found("conversation")
        reason = "resolved" if status is ConversationStatus.RESOLVED else "reopened"
        work.publish_on_commit(conversation_updated(updated, reason=reason))
    return updated


async def list_for_agent(
    services: Services,
    principal: AgentPrincipal,
    *,
    status: ConversationStatus | None,
    assignee: UUID | None,
    unassigned: bool,
    before: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Conversation]:
    async with services.db.acquire() as conn:
        return await conversation_store.list_page(
            conn,
            status=status,
            assignee=assignee,
            unassigned=unassigned,
            scope=policies.listing_scope(principal),
            before=before,
            limit=limit,
        )


async def list_for_customer(
    services: Services,
    principal: CustomerPrincipal,
    *,
    limit: int,
    status: ConversationStatus | None = None,
) -> list[Conversation]:
    async with services.db.acquire() as conn:
        return await conversation_store.list_for_customer(
            conn, principal.customer_id, limit, status
        )


async def with_assigned_agent(services: Services, conversation: Conversation) -> dict[str, Any]:
    """The conversation's wire form, naming its agent for the customer ("Robin is helping you")."""
    data: dict[str, Any] = to_wire(conversation)
    data["assigned_agent"] = None
    if conversation.assigned_agent_id is not None:
        async with services.db.acquire() as conn:
            agent = await agent_store.get(conn, conversation.assigned_agent_id)
        if agent is not None:
            data["assigned_agent"] = {
                "id": str(agent.id),
                "display_name": agent.display_name,
                "avatar_url": agent.avatar_url,
            }
    return data


async def with_summaries(
    services: Services, principal: AgentPrincipal, conversations: list[Conversation]
) -> list[dict[str, Any]]:
    """Conversations in wire form, each with the `summary` an agent's list shows."""
    async with services.db.acquire() as conn:
        found = await summary_store.for_agent(
            conn, [c.id for c in conversations], principal.agent_id
        )
    result = []
    for conversation in conversations:
        data: dict[str, Any] = to_wire(conversation)
        data["summary"] = to_wire(found.get(conversation.id))
        result.append(data)
    return result
