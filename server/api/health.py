"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .errors import json_response
from .keys import DRAIN, SERVICES, SOCKETS

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return json_response({"ok": True})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """PostgreSQL and Redis both answer, the cross-process fan-out is listening, and the process
    is not draining; a load balancer should route here only then."""
    checks = await readiness(request.app)
    ready = is_ready(checks)
    return json_response({"ok": ready, "checks": checks}, status=200 if ready else 503)


def is_ready(checks: dict[str, str]) -> bool:
    return all(value in ("ok", "idle") for value in checks.values())


async def readiness(app: web.Application) -> dict[str, str]:
    """Each backing service's answer ("ok" or why not), the fan-out's and the process's."""
    services = app[SERVICES]
    checks: dict[str, str] = {}
    if app[DRAIN].draining:
        checks["process"] = "draining"

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
    # "idle" until the first socket connects (python-socketio starts its listener then).
    fanout = getattr(app[SOCKETS].manager, "fanout_state", "ok")
    checks["fanout"] = "unavailable: resubscribing" if fanout == "down" else fanout
    return checks
