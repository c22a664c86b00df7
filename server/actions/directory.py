"""What agents may know about each other and about a conversation's customer: the colleagues
and teams they can transfer to, and the customer sidebar."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from ..core import policies
from ..core.events import to_wire
from ..core.models import AgentPrincipal
from ..core.participant import describe_reason
from ..store import agents as agent_store
from ..store import conversations as conversation_store
from ..store import customers as customer_store
from ..store import messages as message_store
from ..store import routing as routing_store
from .context import Services, unit_of_work
from .conversations import load_visible
from .routing import capacity_of


async def directory(services: Services, principal: AgentPrincipal) -> dict[str, Any]:
    """Active colleagues with their presence and load, and every team (transfer targets)."""
    async with services.db.acquire() as conn:
        teams = await routing_store.teams(conn)
        routable = await routing_store.routable_agents(conn)
        names = await agent_store.active_names(conn)
    statuses = await asyncio.gather(*(services.presence.status(a.id) for a in routable))
    agents = []
    for agent, (status, _since) in zip(routable, statuses, strict=True):
        name, role = names.get(agent.id, ("", "agent"))
        agents.append(
            {
                "id": str(agent.id),
                "display_name": name,
                "role": role,
                "status": str(status),
                "load": agent.open_assigned,
                "capacity": capacity_of(services, agent.max_chats),
                "team_ids": sorted(str(t) for t in agent.team_ids),
            }
        )
    agents.sort(key=lambda a: (str(a["display_name"]).lower(), str(a["id"])))
    return {
        "agents": agents,
        "teams": [
            {"id": str(t.id), "slug": t.slug, "name": t.name, "is_default": t.is_default}
            for t in teams
        ],
    }


async def customer_profile(
    services: Services, principal: AgentPrincipal, conversation_id: UUID
) -> dict[str, Any]:
    """The customer of a conversation the agent may see, with their other conversations (only
    those this agent may see as well)."""
    async with unit_of_work(services, transaction=False) as work:
        context = await load_visible(work, principal, conversation_id)
        customer_id = context.conversation.customer_id
        customer = await customer_store.get(work.conn, customer_id)
        external_id = await customer_store.external_id_of(work.conn, customer_id)
        previous = await conversation_store.list_for_customer(work.conn, customer_id, 20)
        joined = await conversation_store.joined_of(
            work.conn, principal.agent_id, [c.id for c in previous]
        )
    visible = [
        c
        for c in previous
        if policies.can_view_conversation(principal, c, is_participant=c.id in joined)
    ]
    data: dict[str, Any] = to_wire(customer) if customer else {"id": str(customer_id)}
    data["external_id"] = external_id
    return {"customer": data, "conversations": [to_wire(c) for c in visible]}


async def handover_brief(
    services: Services, principal: AgentPrincipal, conversation_id: UUID
) -> dict[str, Any] | None:
    """The assistant's latest hand-over brief for a conversation the agent may see (None when
    the assistant never handed it over): why, what the customer asked, the articles cited."""
    async with unit_of_work(services, transaction=False) as work:
        await load_visible(work, principal, conversation_id)
        message = await message_store.latest_handover_brief(work.conn, conversation_id)
    if message is None:
        return None
    brief = message.metadata["handover"]
    reason = brief.get("reason")
    return {
        "seq": message.seq,
        "created_at": to_wire(message.created_at),
        "reason": reason,
        "reason_text": describe_reason(reason),
        "summary": str(brief.get("summary") or ""),
        "citations": [c for c in brief.get("citations") or [] if isinstance(c, dict)],
        "mode": brief.get("mode", "extractive"),
    }
