"""create_app(settings): the socket server, the routes, and the resources (see lifecycle.py)."""

from __future__ import annotations

import logging

from aiohttp import web

from . import lifecycle
from .api import (
    account_routes,
    admin_routes,
    attachment_routes,
    auth_routes,
    conversation_routes,
    directory_routes,
    health,
    knowledge_routes,
    metrics_routes,
    openapi,
    quick_response_routes,
    security,
    transport,
    widget_routes,
)
from .api.errors import error_middleware
from .api.keys import DRAIN, METRICS, ORIGINS, SETTINGS, SOCKETS
from .api.rate_limits import rest_rate_limits
from .api.request_context import request_context
from .api.static import add_static_routes
from .config import Settings
from .core.origins import AllowedOrigins
from .observability.live import observe_sockets
from .observability.metrics import Metrics
from .realtime.drain import Drain, drain_sockets
from .realtime.server import create_socket_server

log = logging.getLogger(__name__)


async def _close_sockets(app: web.Application) -> None:
    """Drain the sockets before the pools they use go away: in-flight acks are answered, then
    every transport closes without a Socket.IO DISCONNECT, so clients reconnect to another
    process and resume. Presence is left to expire by itself, so an agent who reconnects
    within the TTL never appears to go offline during a deploy."""
    sio = app[SOCKETS]
    await drain_sockets(sio, app[DRAIN], app[SETTINGS].drain_seconds)
    drain_outbox = getattr(sio.manager, "drain_outbox", None)
    if drain_outbox is not None:  # what was emitted last still reaches the other processes
        await drain_outbox()
    await sio.shutdown()


def create_app(settings: Settings) -> web.Application:
    if not settings.database_url or not settings.redis_url:
        raise ValueError(
            "create_app needs database_url and redis_url (start embedded services first)"
        )
    app = web.Application(
        middlewares=[
            request_context,
            error_middleware,
            security.query_middleware,
            transport.polling_limits,
            rest_rate_limits,
        ],
        client_max_size=settings.attachment_max_bytes + 1024 * 1024,
    )
    app[SETTINGS] = settings
    security.install(app)
    origins = AllowedOrigins(settings.allowed_origins)
    app[ORIGINS] = origins
    drain = Drain()
    app[DRAIN] = drain
    sio = create_socket_server(settings, origins, drain)
    sio.attach(app)
    app[SOCKETS] = sio
    metrics = Metrics(settings.instance or None)
    app[METRICS] = metrics
    observe_sockets(metrics, sio)
    app.cleanup_ctx.extend(lifecycle.CONTEXTS)
    app.on_shutdown.append(_close_sockets)
    for table in (
        health.routes,
        account_routes.routes,
        auth_routes.routes,
        conversation_routes.routes,
        attachment_routes.routes,
        directory_routes.routes,
        quick_response_routes.routes,
        admin_routes.routes,
    ):
        app.router.add_routes(table)
    app.router.add_routes(knowledge_routes.routes)
    openapi.setup(app)
    metrics_routes.setup(app)
    widget_routes.setup(app)
    add_static_routes(app)
    return app
