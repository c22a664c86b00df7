"""What the agent console reads besides conversations: colleagues and teams, the customer
sidebar."""

from __future__ import annotations

from aiohttp import web

from ..actions import directory
from ..core import policies
from .errors import json_response
from .keys import SERVICES
from .requests import principal_of, uuid_param

routes = web.RouteTableDef()


@routes.get("/api/v1/directory")
async def get_directory(request: web.Request) -> web.Response:
    agent = policies.ensure_agent(await principal_of(request))
    data = await directory.directory(request.app[SERVICES], agent)
    return json_response({"ok": True, "data": data})


@routes.get("/api/v1/conversations/{conversation_id}/customer")
async def get_customer(request: web.Request) -> web.Response:
    agent = policies.ensure_agent(await principal_of(request))
    data = await directory.customer_profile(
        request.app[SERVICES], agent, uuid_param(request, "conversation_id")
    )
    return json_response({"ok": True, "data": data})


@routes.get("/api/v1/conversations/{conversation_id}/handover")
async def get_handover(request: web.Request) -> web.Response:
    agent = policies.ensure_agent(await principal_of(request))
    brief = await directory.handover_brief(
        request.app[SERVICES], agent, uuid_param(request, "conversation_id")
    )
    return json_response({"ok": True, "data": {"handover": brief}})
