"""REST rate limits: every /api/ request is counted per client address and per Bearer token."""

from __future__ import annotations

import hashlib

from aiohttp import web

from ..routing.limits import Charge
from .auth_routes import client_address
from .errors import Handler
from .keys import SERVICES


def token_digest(token: str) -> str:
    # Buckets are named after a digest: a Redis key never holds a usable token.
    return hashlib.sha256(token.encode()).hexdigest()[:32]


@web.middleware
async def rest_rate_limits(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Over a limit: 429 with Retry-After and the usual JSON error (the error middleware
    around this one writes it). Tokens are counted whether or not they are valid."""
    if request.path.startswith("/api/") and request.method != "OPTIONS":
        charges = [Charge("rest_per_address", client_address(request))]
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            charges.append(Charge("rest_per_token", token_digest(token.strip())))
        await request.app[SERVICES].limits.take(*charges)
    return await handler(request)
