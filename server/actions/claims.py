"""An agent taking a conversation: claiming it from the line, or answering one the assistant
had. Above routing and the assistant's ownership, which it uses; nothing below imports it."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from ..core import policies
from ..core.errors import ErrorCode, ParleyError, not_found
from ..core.models import AgentPrincipal, Conversation, Owner
from ..core.participant import HandoffReason
from ..routing.queue import ClaimResult
from ..store import conversations as conversation_store
from . import assignments, assistant_owner, routing
from .context import Services
from .conversations import get_visible

log = logging.getLogger(__name__)


async def claim(
    services: Services, principal: AgentPrincipal, conversation_id: UUID
) -> Conversation:
    """An agent takes a waiting conversation (manual mode, or picking from the queue view)."""
    # One answer for what the agent may not see, as for every other event: not_found.
    await get_visible(services, principal, conversation_id)
    row = await _claimable(services, conversation_id)
    if row is None or not policies.can_see_team(principal, row["team_id"]):
        raise not_found("conversation")
    if not row["waiting"] and row["owner"] == Owner.ASSISTANT and row["status"] == "open":
        # Answered by the assistant, not in line (assistant mode "first"): the agent takes over.
        await assistant_owner.step_back(
            services, conversation_id, HandoffReason.AGENT_TOOK_OVER, drain=False
        )
        row = await _claimable(services, conversation_id)
        assert row is not None
    if not row["waiting"]:
        raise ParleyError(
            ErrorCode.CONFLICT, "this conversation is no longer waiting: someone else took it"
        )
    team = await routing.team_for(services, row["team_id"])
    assert team is not None
    await routing.register_agent(services, principal.agent_id)
    result = await services.routing.claim(team.id, conversation_id, principal.agent_id)
    if result is ClaimResult.GONE:
        raise ParleyError(ErrorCode.CONFLICT, "another agent claimed this conversation first")
    if result is ClaimResult.INELIGIBLE:
        raise ParleyError(ErrorCode.CONFLICT, "set your status to online to take conversations")
    if result is ClaimResult.FULL:
        raise ParleyError(ErrorCode.CONFLICT, "you are at your limit of open conversations")
    conversation = await assignments.record(
        services, team, conversation_id, principal.agent_id, kind="claimed", actor_kind="agent"
    )
    if conversation is None:
        raise ParleyError(ErrorCode.CONFLICT, "this conversation could not be assigned to you")
    services.queue_updates.changed(team.id)
    return conversation


async def agent_took_over(
    services: Services, principal: AgentPrincipal, conversation_id: UUID
) -> None:
    """An agent replied in a conversation the assistant had: it becomes theirs if they can take
    it, otherwise it waits for whoever can."""
    stepped = await assistant_owner.step_back(
        services, conversation_id, HandoffReason.AGENT_TOOK_OVER, drain=False
    )
    if stepped is None:
        return
    try:
        await claim(services, principal, conversation_id)
    except ParleyError as exc:
        log.info("agent %s could not take %s: %s", principal.agent_id, conversation_id, exc)
        if stepped.team_id is not None:
            await routing.drain(services, stepped.team_id)


async def _claimable(services: Services, conversation_id: UUID) -> Any:
    async with services.db.acquire() as conn:
        return await conversation_store.routing_state(conn, conversation_id)
