"""The audit log: every admin change records who did what, in the change's own transaction
(so a change is never committed without its row, nor a row without its change)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ..core.models import AgentPrincipal, AgentRole
from ..store import audit as audit_store
from .context import Services, UnitOfWork, unit_of_work

# Whoever runs `parley agents …` on the server: trusted like an admin, audited under this name
# with no account of their own (actor_id stays empty).
COMMAND_LINE = AgentPrincipal(
    agent_id=UUID(int=0), role=AgentRole.ADMIN, display_name="command line", team_ids=frozenset()
)


async def record(
    work: UnitOfWork,
    actor: AgentPrincipal,
    action: str,
    target_kind: str,
    target_id: object | None = None,
    **details: Any,
) -> None:
    await audit_store.add(
        work.conn,
        actor_id=None if actor.agent_id == COMMAND_LINE.agent_id else actor.agent_id,
        actor_name=actor.display_name,
        action=action,
        target_kind=target_kind,
        target_id=str(target_id) if target_id is not None else None,
        details=details,
    )


async def record_separately(
    services: Services,
    actor: AgentPrincipal,
    action: str,
    target_kind: str,
    target_id: object | None = None,
    **details: Any,
) -> None:
    """For changes that commit in several steps of their own (knowledge-base imports embed in
    between): the row is written right after the change succeeded."""
    async with unit_of_work(services, transaction=False) as work:
        await record(work, actor, action, target_kind, target_id, **details)


async def entries(
    services: Services, *, before_id: int | None, limit: int, action: str | None
) -> list[dict[str, Any]]:
    async with services.db.acquire() as conn:
        return await audit_store.page(conn, before_id=before_id, limit=limit, action_prefix=action)
