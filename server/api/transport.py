"""Long-polling requests that would otherwise hang: oversize bodies and bodies that never come."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from .errors import Handler
from .keys import SETTINGS, SOCKETS

SOCKET_PATH = "/socket.io/"


async def _end_session(request: web.Request) -> None:
    """End the engine.io session at once. python-engineio's own close waits for a poll that
    may never come to take the close packet, which is how an oversize POST hung for good."""
    eio = request.app[SOCKETS].eio
    sid = request.query.get("sid")
    socket = eio.sockets.pop(sid, None) if sid else None
    if socket is not None:
        await socket.close(wait=False, abort=True)


@web.middleware
async def polling_limits(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method != "POST" or not request.path.startswith(SOCKET_PATH):
        return await handler(request)
    settings = request.app[SETTINGS]
    length = request.content_length
    if length is not None and length > settings.socket_max_packet_bytes:
        await _end_session(request)
        return web.Response(status=413, text="payload too large; the session has ended")
    # Not a cancellation: python-engineio's POST handler swallows every exception, that too.
    answer = asyncio.ensure_future(handler(request))
    done, _ = await asyncio.wait({answer}, timeout=settings.http_body_timeout_seconds)
    if answer in done:
        return answer.result()
    await _end_session(request)
    request.content.feed_eof()  # the stalled read returns; its answer goes nowhere
    with contextlib.suppress(Exception):
        await answer
    timed_out = web.Response(status=408, text="the request body did not arrive in time")
    timed_out.force_close()
    return timed_out
