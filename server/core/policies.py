"""Who may see and do what. Every authorization decision in Parley is made here."""

from __future__ import annotations

from typing import NamedTuple
from uuid import UUID

from .errors import forbidden, not_found
from .models import (
    AgentPrincipal,
    Conversation,
    CustomerPrincipal,
    Principal,
    SenderKind,
    Visibility,
)


def can_view_conversation(
    principal: Principal, conversation: Conversation, *, is_participant: bool = False
) -> bool:
    """Customers see their own conversations; admins see all; agents see the ones they work on.

    An agent works on a conversation when it is assigned to them, when they joined it, or when it
    is unassigned and belongs to one of their teams (so they can see the queue and claim it).
    """
    if isinstance(principal, CustomerPrincipal):
        return conversation.customer_id == principal.customer_id
    if principal.is_admin:
        return True
    if is_participant or conversation.assigned_agent_id == principal.agent_id:
        return True
    # Unassigned: visible to the team it waits for, so its agents can see and claim it.
    return conversation.assigned_agent_id is None and (
        conversation.team_id is None or conversation.team_id in principal.team_ids
    )


def ensure_can_view(
    principal: Principal, conversation: Conversation | None, *, is_participant: bool = False
) -> Conversation:
    """Return the conversation or raise not_found: a stranger learns nothing about existence."""
    if conversation is None or not can_view_conversation(
        principal, conversation, is_participant=is_participant
    ):
        raise not_found("conversation")
    return conversation


def ensure_can_post(principal: Principal, visibility: Visibility) -> None:
    """Private notes are for staff only."""
    if visibility is Visibility.INTERNAL and not isinstance(principal, AgentPrincipal):
        raise forbidden("customers cannot write private notes")


def can_read_visibility(principal: Principal, visibility: Visibility) -> bool:
    return visibility in visibilities_for(principal)


def visibilities_for(principal: Principal) -> tuple[Visibility, ...]:
    """Message visibilities a principal may read."""
    if isinstance(principal, CustomerPrincipal):
        return (Visibility.PUBLIC,)
    return (Visibility.PUBLIC, Visibility.INTERNAL)


def visibilities_of_side(*, customer_side: bool) -> tuple[Visibility, ...]:
    """What a socket of one side may be delivered: customers never get private notes."""
    return (Visibility.PUBLIC,) if customer_side else (Visibility.PUBLIC, Visibility.INTERNAL)


def can_see_team(principal: AgentPrincipal, team_id: UUID | None) -> bool:
    """An agent sees their teams' lines and may claim from them; admins see every team."""
    return principal.is_admin or (team_id is not None and team_id in principal.team_ids)


def can_route(principal: AgentPrincipal, conversation: Conversation) -> bool:
    """Its assignee or an admin may hand a conversation on (transfer, unassign, priority); an
    unassigned one, whoever may see it (its team)."""
    if principal.is_admin or conversation.assigned_agent_id == principal.agent_id:
        return True
    return conversation.assigned_agent_id is None and can_view_conversation(principal, conversation)


class ListingScope(NamedTuple):
    """What an agent's conversation list may hold, as the store filters it: assigned to
    `agent_id`, joined by them, or unassigned and waiting for one of `team_ids` (or no team).
    The same inputs as can_view_conversation, so the list and the checks never disagree."""

    agent_id: UUID
    team_ids: frozenset[UUID]


def listing_scope(principal: AgentPrincipal) -> ListingScope | None:
    """None: no limit (admins)."""
    return None if principal.is_admin else ListingScope(principal.agent_id, principal.team_ids)


class ViewScope(NamedTuple):
    """Whom a conversation is visible to, as the store checks it inside the statement that
    acts on it (a post is one round trip): the customer's own (`customer_id`), or an agent's
    (`agent_id`, `team_ids`). The same inputs and rules as can_view_conversation, and
    tests/integration/test_post_statement.py holds the two to the same answers."""

    customer_id: UUID | None
    agent_id: UUID | None
    team_ids: frozenset[UUID]


def view_scope(principal: Principal) -> ViewScope | None:
    """None: no limit (admins)."""
    if isinstance(principal, CustomerPrincipal):
        return ViewScope(principal.customer_id, None, frozenset())
    if principal.is_admin:
        return None
    return ViewScope(None, principal.agent_id, principal.team_ids)


def can_change_status(
    principal: Principal, conversation: Conversation, *, is_participant: bool = False
) -> bool:
    """Staff who may view a conversation may resolve or reopen it; customers may not."""
    return isinstance(principal, AgentPrincipal) and can_view_conversation(
        principal, conversation, is_participant=is_participant
    )


def ensure_admin(principal: Principal) -> AgentPrincipal:
    if not isinstance(principal, AgentPrincipal) or not principal.is_admin:
        raise forbidden("admin role required")
    return principal


def ensure_can_manage_knowledge(principal: Principal) -> AgentPrincipal:
    """The knowledge base shapes what the assistant tells every customer: admins only."""
    if not isinstance(principal, AgentPrincipal) or not principal.is_admin:
        raise forbidden("only admins may manage the knowledge base")
    return principal


def ensure_agent(principal: Principal) -> AgentPrincipal:
    if not isinstance(principal, AgentPrincipal):
        raise forbidden("agent credentials required")
    return principal


def sender_kind_of(principal: Principal) -> SenderKind:
    return principal.kind
