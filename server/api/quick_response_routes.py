"""Quick responses over REST: agents list the ones they may use and keep personal ones; admins
manage the global and team ones (every change is in the audit log)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from aiohttp import web

from ..actions import quick_responses as actions
from ..core import policies
from ..core.errors import invalid
from ..core.events import to_wire
from ..core.models import QuickResponseScope
from .errors import json_response
from .keys import SERVICES
from .requests import principal_of, read_body, uuid_param

routes = web.RouteTableDef()


class QuickResponseBody(msgspec.Struct, forbid_unknown_fields=True):
    shortcut: Annotated[str, msgspec.Meta(min_length=1, max_length=41)]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
    scope: QuickResponseScope = QuickResponseScope.PERSONAL
    team_id: UUID | None = None

    def draft(self) -> actions.Draft:
        return actions.Draft(self.scope, self.team_id, self.shortcut, self.title, self.body)


def _query(request: web.Request) -> str | None:
    return request.query.get("q", "").strip()[:100] or None


@routes.get("/api/v1/quick-responses")
async def list_usable(request: web.Request) -> web.Response:
    """The quick responses the caller may insert; ?q= searches shortcut, title and body."""
    agent = policies.ensure_agent(await principal_of(request))
    found = await actions.usable(request.app[SERVICES], agent, _query(request))
    return json_response({"ok": True, "data": {"quick_responses": to_wire(found)}})


@routes.get("/api/v1/admin/quick-responses")
async def list_manageable(request: web.Request) -> web.Response:
    """Admins: every global and team quick response (and their own personal ones)."""
    admin = policies.ensure_admin(await principal_of(request))
    raw_scope = request.query.get("scope") or None
    try:
        scope = QuickResponseScope(raw_scope) if raw_scope else None
    except ValueError as exc:
        raise invalid("scope must be global, team or personal") from exc
    found = await actions.manageable(request.app[SERVICES], admin, _query(request), scope)
    return json_response({"ok": True, "data": {"quick_responses": to_wire(found)}})


@routes.post("/api/v1/quick-responses")
async def create(request: web.Request) -> web.Response:
    agent = policies.ensure_agent(await principal_of(request))
    body = await read_body(request, QuickResponseBody)
    created = await actions.create(request.app[SERVICES], agent, body.draft())
    return json_response({"ok": True, "data": {"quick_response": to_wire(created)}}, status=201)


@routes.put("/api/v1/quick-responses/{response_id}")
async def update(request: web.Request) -> web.Response:
    agent = policies.ensure_agent(await principal_of(request))
    body = await read_body(request, QuickResponseBody)
    updated = await actions.update(
        request.app[SERVICES], agent, uuid_param(request, "response_id"), body.draft()
    )
    return json_response({"ok": True, "data": {"quick_response": to_wire(updated)}})


@routes.delete("/api/v1/quick-responses/{response_id}")
async def delete(request: web.Request) -> web.Response:
    agent = policies.ensure_agent(await principal_of(request))
    response_id = uuid_param(request, "response_id")
    await actions.delete(request.app[SERVICES], agent, response_id)
    return json_response({"ok": True, "data": {"deleted": str(response_id)}})
