"""Gives each HTTP request an id (X-Request-Id) and the ids its log lines carry."""

from __future__ import annotations

import re

from aiohttp import web

from .. import ids
from ..observability import logs
from .errors import Handler

# A caller's own id is kept (a proxy's, to follow one request through both logs) when it is sane.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_CONVERSATION_PATH = re.compile(r"/api/v1/conversations/([0-9a-fA-F-]{36})(/|$)")


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get("X-Request-Id", "")
    request_id = given if _SANE_ID.fullmatch(given) else ids.random_hex()
    conversation = _CONVERSATION_PATH.match(request.path)
    # Every id is set (None where unknown) and reset afterwards: requests on one keep-alive
    # connection run in one task, and must not inherit each other's ids.
    tokens = [
        (logs.request_id, logs.request_id.set(request_id)),
        (logs.conversation_id, logs.conversation_id.set(conversation[1] if conversation else None)),
        (logs.agent_id, logs.agent_id.set(None)),
        (logs.connection_id, logs.connection_id.set(None)),
    ]
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["X-Request-Id"] = request_id
        raise
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)
    if not response.prepared:  # a websocket or a stream has sent its headers already
        response.headers["X-Request-Id"] = request_id
    return response
