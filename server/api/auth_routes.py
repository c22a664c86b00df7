"""Agent login, the current principal, and anonymous visitor tokens."""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web

from ..actions import auth as auth_actions
from ..core.events import to_wire
from ..core.models import AgentPrincipal
from ..store import agents as agent_store
from .errors import json_response
from .keys import SERVICES
from .requests import principal_of, read_body

routes = web.RouteTableDef()


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


def client_address(request: web.Request) -> str:
    # Behind a proxy, set it to overwrite X-Forwarded-For; aiohttp's remote is the direct peer.
    return request.remote or "unknown"


@routes.post("/api/v1/auth/login")
async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LoginBody)
    result = await auth_actions.login(
        request.app[SERVICES],
        email=body.email.strip(),
        password=body.password,
        client_address=client_address(request),
    )
    return json_response(
        {
            "ok": True,
            "data": {
                "token": result.token,
                "expires_at": result.expires_at,
                "agent": to_wire(result.agent),
            },
        }
    )


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    if isinstance(principal, AgentPrincipal):
        async with request.app[SERVICES].db.acquire() as conn:
            agent = await agent_store.get(conn, principal.agent_id)
        return json_response({"ok": True, "data": {"kind": "agent", "agent": to_wire(agent)}})
    return json_response(
        {"ok": True, "data": {"kind": "customer", "customer_id": str(principal.customer_id)}}
    )


@routes.post("/api/v1/visitors")
async def new_visitor(request: web.Request) -> web.Response:
    token, principal = auth_actions.new_visitor(request.app[SERVICES])
    return json_response(
        {"ok": True, "data": {"visitor_token": token, "customer_id": str(principal.customer_id)}},
        status=201,
    )
