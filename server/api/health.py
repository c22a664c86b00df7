"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..actions.context import Services
from .errors import json_response
from .keys import SERVICES

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return json_response({"ok": True})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """PostgreSQL and Redis both answer; a load balancer should route here only then."""
    checks = await readiness(request.app[SERVICES])
    ready = all(value == "ok" for value in checks.values())
    return json_response({"ok": ready, "checks": checks}, status=200 if ready else 503)


async def readiness(services: Services) -> dict[str, str]:
    """Each backing service's answer: "ok" or why not."""
    checks: dict[str, str] = {}

    async def postgres() -> None:
        async with services.db.acquire() as conn:
            await conn.fetchval("SELECT 1")

    async def redis() -> None:
        await services.redis.ping()

    for name, probe in (("postgres", postgres), ("redis", redis)):
        try:
            await asyncio.wait_for(probe(), timeout=2)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    return checks
