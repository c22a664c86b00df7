"""GET /metrics: this process's Prometheus metrics, behind a bearer token (off without one)."""

from __future__ import annotations

import hmac

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from ..core.errors import ErrorCode, ParleyError, not_found
from .keys import METRICS, SETTINGS


async def metrics(request: web.Request) -> web.Response:
    token = request.app[SETTINGS].metrics_token
    if not token:
        raise not_found("metrics endpoint (set PARLEY_METRICS_TOKEN)")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise ParleyError(ErrorCode.UNAUTHORIZED, "metrics need Authorization: Bearer <token>")
    body = request.app[METRICS].render()
    response = web.Response(body=body)
    # prometheus-client's type carries its own charset parameter.
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
