"""Admins manage the people and teams: accounts, roles, capacity, membership, routing settings.
Every change is audited and copied into routing at once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from ..auth.password_policy import check_password
from ..core import routing as routing_rules
from ..core.errors import ErrorCode, ParleyError, invalid, not_found
from ..core.events import session_ended_event, to_wire
from ..core.models import Agent, AgentPrincipal, AgentRole
from ..store import agents as agent_store
from ..store import routing as routing_store
from ..store import teams as team_store
from . import audit, routing
from .context import Services, unit_of_work


def _agent_data(
    agent: Agent, team_ids: list[UUID], load: int, capacity: int, status: str
) -> dict[str, Any]:
    data: dict[str, Any] = to_wire(agent)
    data["team_ids"] = sorted(str(t) for t in team_ids)
    data["load"] = load
    data["capacity"] = capacity  # effective: own, else the teams' default, else the server's
    data["status"] = status
    return data


async def list_agents(services: Services) -> list[dict[str, Any]]:
    async with services.db.acquire() as conn:
        found = await agent_store.list_with_teams(conn)
        effective = {a.id: a.max_chats for a in await routing_store.routable_agents(conn)}
    result = []
    for agent, team_ids, load in found:
        status, _ = await services.presence.status(agent.id)
        capacity = routing.capacity_of(services, effective.get(agent.id, agent.max_chats))
        result.append(_agent_data(agent, team_ids, load, capacity, str(status)))
    return result


@dataclass(frozen=True, slots=True)
class NewAgent:
    email: str
    display_name: str
    role: AgentRole
    max_chats: int | None
    team_ids: list[UUID]
    password: str | None


async def _check_teams(conn: asyncpg.Connection, team_ids: list[UUID]) -> None:
    known = await team_store.ids(conn)
    unknown = [str(t) for t in team_ids if t not in known]
    if unknown:
        raise invalid("no such team", field="team_ids", unknown=unknown)


async def create_agent(
    services: Services, admin: AgentPrincipal, new: NewAgent
) -> tuple[dict[str, Any], str | None]:
    """Create an account. Without a password, one is generated and returned once: the admin
    hands it to the new agent (an invitation without e-mail)."""
    email = new.email.strip()
    if "@" not in email[1:]:
        raise invalid("give a valid email address", field="email")
    generated = None if new.password else secrets.token_urlsafe(12)
    password = new.password or generated
    assert password is not None
    if new.password:
        check_password(new.password, min_length=services.settings.password_min_length, email=email)
    password_hash = await services.hashing.hash(password)
    async with unit_of_work(services) as work:
        await _check_teams(work.conn, new.team_ids)
        try:
            agent = await agent_store.create(
                work.conn,
                email=email,
                display_name=new.display_name.strip(),
                role=new.role,
                password_hash=password_hash,
                max_chats=new.max_chats,
            )
        except asyncpg.UniqueViolationError as exc:
            raise ParleyError(
                ErrorCode.CONFLICT, f"an account with the email {email} already exists"
            ) from exc
        await agent_store.set_teams(work.conn, agent.id, new.team_ids)
        await audit.record(
            work,
            admin,
            "agent.create",
            "agent",
            agent.id,
            after={**to_wire(agent), "team_ids": [str(t) for t in new.team_ids]},
        )
    await routing.register_agent(services, agent.id)
    async with services.db.acquire() as conn:
        max_chats = await routing_store.effective_max_chats(conn, agent.id)
    capacity = routing.capacity_of(services, max_chats)
    return _agent_data(agent, new.team_ids, 0, capacity, "offline"), generated


@dataclass(frozen=True, slots=True)
class AgentChanges:
    """Only the fields given change; max_chats_set says max_chats was given (null clears it)."""

    display_name: str | None = None
    role: AgentRole | None = None
    max_chats: int | None = None
    max_chats_set: bool = False
    is_active: bool | None = None
    team_ids: list[UUID] | None = None


async def update_agent(
    services: Services, admin: AgentPrincipal, agent_id: UUID, changes: AgentChanges
) -> dict[str, Any]:
    if agent_id == admin.agent_id and (
        changes.is_active is False or changes.role is AgentRole.AGENT
    ):
        raise ParleyError(
            ErrorCode.CONFLICT,
            "you cannot deactivate yourself or remove your own admin role; ask another admin",
        )
    async with unit_of_work(services) as work:
        before = await agent_store.get(work.conn, agent_id)
        if before is None:
            raise not_found("agent")
        teams_before = await agent_store.team_ids(work.conn, agent_id)
        updated = await agent_store.update(
            work.conn,
            agent_id,
            display_name=(changes.display_name or before.display_name).strip(),
            role=changes.role or before.role,
            max_chats=changes.max_chats if changes.max_chats_set else before.max_chats,
            is_active=before.is_active if changes.is_active is None else changes.is_active,
        )
        assert updated is not None
        if before.is_active and not updated.is_active:
            # Deactivated: every token stops working and open sockets are closed, now.
            await agent_store.bump_token_version(work.conn, agent_id)
            work.publish_on_commit(session_ended_event(agent_id, "deactivated"))
        team_ids = teams_before
        if changes.team_ids is not None:
            await _check_teams(work.conn, changes.team_ids)
            await agent_store.set_teams(work.conn, agent_id, changes.team_ids)
            team_ids = sorted(set(changes.team_ids))
        await audit.record(
            work,
            admin,
            "agent.update",
            "agent",
            agent_id,
            before={**to_wire(before), "team_ids": [str(t) for t in teams_before]},
            after={**to_wire(updated), "team_ids": [str(t) for t in team_ids]},
        )
    for old_team in set(teams_before) - set(team_ids):
        await services.routing.remove_from_team(agent_id, old_team)
    await routing.register_agent(services, agent_id)
    # More room, new teams, or a changed role can let waiting conversations through.
    for team_id in set(team_ids) | set(teams_before):
        await routing.drain(services, team_id)
    async with services.db.acquire() as conn:
        routable = await routing_store.routable_agents(conn, agent_id)
        max_chats = await routing_store.effective_max_chats(conn, agent_id)
    load = routable[0].open_assigned if routable else 0
    status, _ = await services.presence.status(agent_id)
    capacity = routing.capacity_of(services, max_chats)
    return _agent_data(updated, team_ids, load, capacity, str(status))


def _team_data(row: dict[str, Any]) -> dict[str, Any]:
    data = dict(row)
    data["member_ids"] = [str(m) for m in data.get("member_ids", [])]
    return data


async def list_teams(services: Services) -> list[dict[str, Any]]:
    async with services.db.acquire() as conn:
        return [_team_data(t) for t in await team_store.list_all(conn)]


async def create_team(
    services: Services, admin: AgentPrincipal, slug: str, name: str, settings: dict[str, Any]
) -> dict[str, Any]:
    clean = routing_rules.checked_team_settings(settings)
    async with unit_of_work(services) as work:
        team = await team_store.create(work.conn, slug=slug, name=name.strip(), settings=clean)
        await audit.record(work, admin, "team.create", "team", team["id"], after=to_wire(team))
    return _team_data(team)


async def update_team(
    services: Services,
    admin: AgentPrincipal,
    team_id: UUID,
    *,
    name: str | None,
    settings: dict[str, Any] | None,
) -> dict[str, Any]:
    async with unit_of_work(services) as work:
        before = await team_store.get(work.conn, team_id)
        if before is None:
            raise not_found("team")
        clean = (
            routing_rules.checked_team_settings(settings)
            if settings is not None
            else before["settings"]
        )
        team = await team_store.update(
            work.conn, team_id, name=(name or before["name"]).strip(), settings=clean
        )
        assert team is not None
        await audit.record(
            work, admin, "team.update", "team", team_id, before=to_wire(before), after=to_wire(team)
        )
    # Members' capacity may follow the team's default; a switch to automatic assignment
    # applies to who is waiting now.
    async with services.db.acquire() as conn:
        members = await team_store.member_ids(conn, team_id)
    for member in members:
        await routing.register_agent(services, member)
    await routing.drain(services, team_id)
    return _team_data(team)
