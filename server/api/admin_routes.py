"""Admin REST: agents and teams, routing and widget settings, reports, the audit log.

Every route checks the admin role first (agents get 403), decodes its body strictly and calls
one action; every change writes an audit row in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from aiohttp import web

from ..actions import audit, reports, staff
from ..actions import widget as widget_actions
from ..core import policies
from ..core.errors import invalid
from ..core.models import AgentPrincipal, AgentRole
from ..core.text import clean_name
from ..core.widget_config import WidgetOverrides
from .errors import json_response
from .keys import SERVICES
from .requests import int_query, principal_of, read_body, uuid_param

routes = web.RouteTableDef()
PREFIX = "/api/v1/admin"

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Capacity = Annotated[int, msgspec.Meta(ge=0, le=1000)]


async def _admin(request: web.Request) -> AgentPrincipal:
    return policies.ensure_admin(await principal_of(request))


# -- agents -----------------------------------------------------------------------------------
class NewAgentBody(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    display_name: Name
    role: AgentRole = AgentRole.AGENT
    max_chats: Capacity | None = None
    team_ids: list[UUID] = []
    # Empty: a password is generated and shown once.
    password: Annotated[str, msgspec.Meta(max_length=1024)] | None = None

    def __post_init__(self) -> None:
        self.display_name = clean_name(self.display_name, "display_name")


class AgentPatchBody(msgspec.Struct, forbid_unknown_fields=True):
    display_name: Name | None = None
    role: AgentRole | None = None
    max_chats: Capacity | msgspec.UnsetType | None = msgspec.UNSET
    is_active: bool | None = None
    team_ids: list[UUID] | None = None

    def __post_init__(self) -> None:
        if self.display_name is not None:
            self.display_name = clean_name(self.display_name, "display_name")


@routes.get(f"{PREFIX}/agents")
async def list_agents(request: web.Request) -> web.Response:
    await _admin(request)
    return json_response(
        {"ok": True, "data": {"agents": await staff.list_agents(request.app[SERVICES])}}
    )


@routes.post(f"{PREFIX}/agents")
async def create_agent(request: web.Request) -> web.Response:
    admin = await _admin(request)
    body = await read_body(request, NewAgentBody)
    agent, generated = await staff.create_agent(
        request.app[SERVICES],
        admin,
        staff.NewAgent(
            body.email, body.display_name, body.role, body.max_chats, body.team_ids, body.password
        ),
    )
    data = {"agent": agent, "generated_password": generated}
    return json_response({"ok": True, "data": data}, status=201)


@routes.patch(PREFIX + "/agents/{agent_id}")
async def update_agent(request: web.Request) -> web.Response:
    admin = await _admin(request)
    body = await read_body(request, AgentPatchBody)
    max_chats_set = body.max_chats is not msgspec.UNSET
    changes = staff.AgentChanges(
        display_name=body.display_name,
        role=body.role,
        max_chats=body.max_chats if isinstance(body.max_chats, int) else None,
        max_chats_set=max_chats_set,
        is_active=body.is_active,
        team_ids=body.team_ids,
    )
    agent = await staff.update_agent(
        request.app[SERVICES], admin, uuid_param(request, "agent_id"), changes
    )
    return json_response({"ok": True, "data": {"agent": agent}})


# -- teams and their routing settings ----------------------------------------------------------
class NewTeamBody(msgspec.Struct, forbid_unknown_fields=True):
    slug: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    name: Name
    settings: dict[str, Any] = {}

    def __post_init__(self) -> None:
        self.name = clean_name(self.name, "name")


class TeamPatchBody(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    settings: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.name is not None:
            self.name = clean_name(self.name, "name")


@routes.get(f"{PREFIX}/teams")
async def list_teams(request: web.Request) -> web.Response:
    await _admin(request)
    return json_response(
        {"ok": True, "data": {"teams": await staff.list_teams(request.app[SERVICES])}}
    )


@routes.post(f"{PREFIX}/teams")
async def create_team(request: web.Request) -> web.Response:
    admin = await _admin(request)
    body = await read_body(request, NewTeamBody)
    team = await staff.create_team(
        request.app[SERVICES], admin, body.slug, body.name, body.settings
    )
    return json_response({"ok": True, "data": {"team": team}}, status=201)


@routes.patch(PREFIX + "/teams/{team_id}")
async def update_team(request: web.Request) -> web.Response:
    admin = await _admin(request)
    body = await read_body(request, TeamPatchBody)
    team = await staff.update_team(
        request.app[SERVICES],
        admin,
        uuid_param(request, "team_id"),
        name=body.name,
        settings=body.settings,
    )
    return json_response({"ok": True, "data": {"team": team}})


# -- widget settings ---------------------------------------------------------------------------
@routes.get(f"{PREFIX}/settings/widget")
async def get_widget_settings(request: web.Request) -> web.Response:
    await _admin(request)
    data = await widget_actions.admin_view(request.app[SERVICES])
    return json_response({"ok": True, "data": data})


@routes.put(f"{PREFIX}/settings/widget")
async def put_widget_settings(request: web.Request) -> web.Response:
    admin = await _admin(request)
    body = await read_body(request, WidgetOverrides)
    data = await widget_actions.update_overrides(request.app[SERVICES], admin, body)
    return json_response({"ok": True, "data": data})


# -- reports -----------------------------------------------------------------------------------
def _date_query(request: web.Request, name: str) -> date | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise invalid(f"{name} must be a date like 2026-01-31") from exc


def _team_query(request: web.Request) -> UUID | None:
    raw = request.query.get("team_id")
    if not raw:
        return None
    try:
        return UUID(raw)
    except ValueError as exc:
        raise invalid("team_id must be a team's id") from exc


async def _report(request: web.Request) -> dict[str, Any]:
    await _admin(request)
    start, end = reports.period(
        _date_query(request, "from"), _date_query(request, "to"), datetime.now(UTC).date()
    )
    return await reports.report(request.app[SERVICES], start, end, _team_query(request))


@routes.get(f"{PREFIX}/reports")
async def get_report(request: web.Request) -> web.Response:
    return json_response({"ok": True, "data": await _report(request)})


@routes.get(f"{PREFIX}/reports.csv")
async def get_report_csv(request: web.Request) -> web.Response:
    data = await _report(request)
    filename = f"parley-report-{data['from']}-{data['to']}.csv"
    return web.Response(
        text=reports.as_csv(data),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- the audit log ------------------------------------------------------------------------------
@routes.get(f"{PREFIX}/audit-log")
async def get_audit_log(request: web.Request) -> web.Response:
    await _admin(request)
    limit = int_query(request, "limit", default=50, low=1, high=200)
    before = int_query(request, "before_id", default=None, low=1, high=2**62)
    assert limit is not None
    action = request.query.get("action", "").strip()[:100] or None
    found = await audit.entries(
        request.app[SERVICES], before_id=before, limit=limit + 1, action=action
    )
    page = found[:limit]
    next_before = page[-1]["id"] if len(found) > limit and page else None
    return json_response({"ok": True, "data": {"entries": page, "next_before_id": next_before}})
