"""Agent login, the current principal, and anonymous visitor tokens."""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web

from ..actions import auth as auth_actions
from ..actions import supabase_auth
from ..core.addresses import forwarded_client
from ..core.events import to_wire
from ..core.models import AgentPrincipal
from .errors import json_response
from .keys import SERVICES
from .requests import principal_of, read_body

routes = web.RouteTableDef()


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


def client_address(request: web.Request) -> str:
    hops = request.app[SERVICES].settings.proxy_hops
    return forwarded_client(request.remote, request.headers.getall("X-Forwarded-For", []), hops)


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


@routes.get("/api/v1/auth/methods")
async def sign_in_methods(request: web.Request) -> web.Response:
    """How agents may sign in, for the console's sign-in page; the anon key is public."""
    settings = request.app[SERVICES].settings
    supabase = None
    offered = settings.agent_sign_in != "password"
    if offered and settings.supabase_url and settings.supabase_anon_key:
        supabase = {"url": settings.supabase_url, "anon_key": settings.supabase_anon_key}
    data = {"password": settings.agent_sign_in != "supabase", "supabase": supabase}
    return json_response({"ok": True, "data": data})


class SupabaseSessionBody(msgspec.Struct, forbid_unknown_fields=True):
    access_token: Annotated[str, msgspec.Meta(min_length=1, max_length=16384)]


@routes.post("/api/v1/auth/supabase")
async def sign_in_with_supabase(request: web.Request) -> web.Response:
    """Exchange a Supabase access token for a Parley agent token (same answer as login)."""
    body = await read_body(request, SupabaseSessionBody)
    result = await supabase_auth.sign_in(request.app[SERVICES], body.access_token)
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
        agent = await auth_actions.signed_in_agent(request.app[SERVICES], principal)
        return json_response({"ok": True, "data": {"kind": "agent", "agent": to_wire(agent)}})
    return json_response(
        {"ok": True, "data": {"kind": "customer", "customer_id": str(principal.customer_id)}}
    )


@routes.post("/api/v1/visitors")
async def new_visitor(request: web.Request) -> web.Response:
    token, principal = await auth_actions.new_visitor(
        request.app[SERVICES], client_address(request)
    )
    return json_response(
        {"ok": True, "data": {"visitor_token": token, "customer_id": str(principal.customer_id)}},
        status=201,
    )
