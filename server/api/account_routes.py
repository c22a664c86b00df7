"""Account REST: an agent's own password, admins' reset links and unlocks, and reset by link."""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web

from ..actions import accounts
from ..core import policies
from ..core.errors import forbidden
from ..core.events import to_wire
from ..core.models import AgentPrincipal
from .errors import json_response
from .keys import SERVICES
from .requests import principal_of, read_body, uuid_param

routes = web.RouteTableDef()

Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class PasswordChangeBody(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class PasswordResetBody(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    new_password: Password


@routes.post("/api/v1/me/password")
async def change_password(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    if not isinstance(principal, AgentPrincipal):
        raise forbidden("only agents have a password")
    body = await read_body(request, PasswordChangeBody)
    session = await accounts.change_own_password(
        request.app[SERVICES], principal, current=body.current_password, new=body.new_password
    )
    return json_response(
        {"ok": True, "data": {"token": session.token, "expires_at": session.expires_at}}
    )


@routes.post("/api/v1/auth/password-reset")
async def reset_password(request: web.Request) -> web.Response:
    body = await read_body(request, PasswordResetBody)
    agent = await accounts.reset_password(
        request.app[SERVICES], token=body.token, new=body.new_password
    )
    return json_response({"ok": True, "data": {"email": agent.email}})


@routes.post("/api/v1/admin/agents/{agent_id}/password-reset")
async def create_reset_link(request: web.Request) -> web.Response:
    admin = policies.ensure_admin(await principal_of(request))
    link = await accounts.create_reset_link(
        request.app[SERVICES], admin, uuid_param(request, "agent_id")
    )
    data = {
        "token": link.token,
        "path": f"/console/#/reset-password?token={link.token}",
        "expires_at": to_wire(link.expires_at),
    }
    return json_response({"ok": True, "data": data}, status=201)


@routes.post("/api/v1/admin/agents/{agent_id}/unlock")
async def unlock(request: web.Request) -> web.Response:
    admin = policies.ensure_admin(await principal_of(request))
    agent = await accounts.unlock(request.app[SERVICES], admin, uuid_param(request, "agent_id"))
    return json_response({"ok": True, "data": {"agent": to_wire(agent)}})
