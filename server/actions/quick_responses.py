"""Quick responses: listing the ones an agent may use, and changing them (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ..core import quick_responses as rules
from ..core.errors import invalid, not_found
from ..core.events import to_wire
from ..core.models import AgentPrincipal, QuickResponse, QuickResponseScope
from ..store import quick_responses as store
from ..store import routing as routing_store
from . import audit
from .context import Services, unit_of_work


@dataclass(frozen=True, slots=True)
class Draft:
    scope: QuickResponseScope
    team_id: UUID | None
    shortcut: str
    title: str
    body: str


async def usable(
    services: Services, principal: AgentPrincipal, query: str | None
) -> list[QuickResponse]:
    """What the agent may insert: global ones, their teams' and their own."""
    async with services.db.acquire() as conn:
        return await store.search(
            conn,
            agent_id=principal.agent_id,
            team_ids=sorted(principal.team_ids),
            query=query,
        )


async def manageable(
    services: Services,
    principal: AgentPrincipal,
    query: str | None,
    scope: QuickResponseScope | None,
) -> list[QuickResponse]:
    """What the admin pages list: every global and team one, and the caller's personal ones."""
    async with services.db.acquire() as conn:
        return await store.search(
            conn,
            agent_id=principal.agent_id,
            team_ids=None if principal.is_admin else sorted(principal.team_ids),
            query=query,
            scope=scope,
        )


async def _checked(services: Services, principal: AgentPrincipal, draft: Draft) -> Draft:
    clean = Draft(
        scope=draft.scope,
        team_id=draft.team_id,
        shortcut=rules.normalize_shortcut(draft.shortcut),
        title=draft.title.strip(),
        body=draft.body.strip(),
    )
    rules.check_target(clean.scope, clean.team_id)
    owner = principal.agent_id if clean.scope is QuickResponseScope.PERSONAL else None
    rules.ensure_can_manage(principal, clean.scope, owner)
    if not clean.title or not clean.body:
        raise invalid("title and body must not be blank")
    if clean.team_id is not None:
        async with services.db.acquire() as conn:
            if await routing_store.team(conn, clean.team_id) is None:
                raise invalid("no such team", field="team_id")
    return clean


def _fields(principal: AgentPrincipal, clean: Draft) -> store.Fields:
    # A personal quick response belongs to whoever saves it.
    personal = clean.scope is QuickResponseScope.PERSONAL
    return store.Fields(
        scope=clean.scope,
        team_id=clean.team_id,
        owner_agent_id=principal.agent_id if personal else None,
        shortcut=clean.shortcut,
        title=clean.title,
        body=clean.body,
    )


async def create(services: Services, principal: AgentPrincipal, draft: Draft) -> QuickResponse:
    clean = await _checked(services, principal, draft)
    async with unit_of_work(services) as work:
        created = await store.create(
            work.conn, _fields(principal, clean), created_by=principal.agent_id
        )
        await audit.record(
            work,
            principal,
            "quick_response.create",
            "quick_response",
            created.id,
            after=to_wire(created),
        )
    return created


async def _existing(
    services: Services, principal: AgentPrincipal, response_id: UUID
) -> QuickResponse:
    async with services.db.acquire() as conn:
        found = await store.get(conn, response_id)
    # Someone else's personal quick response does not exist, as far as the caller knows.
    if found is None or (
        found.scope is QuickResponseScope.PERSONAL and found.owner_agent_id != principal.agent_id
    ):
        raise not_found("quick response")
    rules.ensure_can_manage(principal, found.scope, found.owner_agent_id)
    return found


async def update(
    services: Services, principal: AgentPrincipal, response_id: UUID, draft: Draft
) -> QuickResponse:
    before = await _existing(services, principal, response_id)
    clean = await _checked(services, principal, draft)
    async with unit_of_work(services) as work:
        updated = await store.update(work.conn, response_id, _fields(principal, clean))
        if updated is None:
            raise not_found("quick response")
        await audit.record(
            work,
            principal,
            "quick_response.update",
            "quick_response",
            response_id,
            before=to_wire(before),
            after=to_wire(updated),
        )
    return updated


async def delete(services: Services, principal: AgentPrincipal, response_id: UUID) -> None:
    before = await _existing(services, principal, response_id)
    async with unit_of_work(services) as work:
        if not await store.delete(work.conn, response_id):
            raise not_found("quick response")
        await audit.record(
            work,
            principal,
            "quick_response.delete",
            "quick_response",
            response_id,
            before=to_wire(before),
        )
