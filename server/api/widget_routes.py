"""What the customer widget reads over HTTP: its settings, and CORS for its cross-site calls.

The widget runs on the customer's site, another origin than Parley's, so the few REST routes it
uses answer browsers from the origins in PARLEY_ALLOWED_ORIGINS (the same list the sockets
enforce). It authenticates with a Bearer visitor token, never with cookies, so no credentials
mode is needed.
"""

from __future__ import annotations

import hashlib

from aiohttp import web

from ..actions.widget import widget_settings
from .errors import json_response
from .keys import ORIGINS, SERVICES

routes = web.RouteTableDef()

# The REST routes the widget calls from the customer's site.
WIDGET_PATHS = frozenset({"/api/v1/widget/settings", "/api/v1/attachments", "/api/v1/visitors"})


@routes.get("/api/v1/widget/settings")
async def settings(request: web.Request) -> web.Response:
    """Public, no auth: the looks, texts and availability the widget starts with."""
    data = await widget_settings(request.app[SERVICES])
    response = json_response({"ok": True, "data": data})
    # Open widgets ask again every 10 seconds to pick up an admin's changes; an unchanged answer
    # is a bodiless 304.
    assert isinstance(response.body, bytes)
    etag = f'"{hashlib.sha256(response.body).hexdigest()[:20]}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = web.Response(status=304)
    response.headers["ETag"] = etag
    # Availability changes as agents come and go; a short cache still absorbs page-view bursts.
    response.headers["Cache-Control"] = "public, max-age=15"
    return response


def allowed_origin(request: web.Request) -> str | None:
    """The value for Access-Control-Allow-Origin, or None when this origin is not allowed."""
    origin = request.headers.get("Origin")
    if not origin or request.path not in WIDGET_PATHS:
        return None
    return request.app[ORIGINS].header_value(origin)


async def preflight(request: web.Request) -> web.Response:
    if allowed_origin(request) is None:
        return web.Response(status=403)
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )


async def _cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    origin = allowed_origin(request)
    if origin is None:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    if origin != "*":
        response.headers.add("Vary", "Origin")


def setup(app: web.Application) -> None:
    """Register the widget's routes and CORS answers on the app."""
    app.router.add_routes(routes)
    for path in sorted(WIDGET_PATHS):
        app.router.add_route("OPTIONS", path, preflight)
    app.on_response_prepare.append(_cors_headers)
