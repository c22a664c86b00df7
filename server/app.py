"""create_app(settings): wires pools, stores, the socket server and the routes."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as redis_asyncio
from aiohttp import web

from .actions import widget as widget_actions
from .actions.bootstrap import DemoAccount, create_demo_accounts, ensure_default_team
from .actions.context import Services
from .actions.queue_updates import QueueUpdates
from .actions.queue_view import announce_queue
from .api import (
    admin_routes,
    attachment_routes,
    auth_routes,
    conversation_routes,
    directory_routes,
    health,
    knowledge_routes,
    openapi,
    quick_response_routes,
    security,
    transport,
    widget_routes,
)
from .api.errors import error_middleware
from .api.keys import ORIGINS, SERVICES, SETTINGS, SOCKETS
from .api.static import add_static_routes
from .auth.tokens import TokenSigner
from .background import cancel_and_wait
from .config import Settings
from .core.origins import AllowedOrigins
from .realtime.background import start_background
from .realtime.publisher import SocketPublisher
from .realtime.server import create_socket_server, register_namespaces
from .routing.keys import RedisKeys
from .routing.presence import PresenceStore
from .routing.queue import RoutingStore
from .routing.ratelimit import FailureLimiter
from .routing.timers import Timers
from .store.blobs import LocalDiskBlobStore
from .store.db import create_pool
from .store.migrations import migrate

log = logging.getLogger(__name__)


def resolve_secret(settings: Settings) -> str:
    """The token secret: configured, or generated once and kept in the data directory."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    if not settings.embedded:
        log.warning(
            "PARLEY_SECRET_KEY is not set; generated one in %s. Every process of a deployment "
            "must share the same key.",
            path,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret)
    return secret


def print_demo_accounts(accounts: list[DemoAccount], settings: Settings) -> None:
    if not accounts:
        return
    lines = ["", "Demo accounts created (shown once; change the passwords):"]
    lines += [f"  {a.role.value:<6} {a.email}  password: {a.password}" for a in accounts]
    lines.append(f"  Console: http://{settings.host}:{settings.port}/console/")
    print("\n".join(lines) + "\n", flush=True)


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    pool = await create_pool(
        settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
    )
    async with pool.acquire() as conn:
        await migrate(conn)
    if settings.create_demo_accounts:
        print_demo_accounts(await create_demo_accounts(pool), settings)
    else:
        async with pool.acquire() as conn:
            await ensure_default_team(conn)
    # A blocking pool: under bursts, callers wait briefly for a connection instead of failing
    # with "Too many connections" (measured: the default pool overflows past a few thousand/s).
    redis = redis_asyncio.Redis(
        connection_pool=redis_asyncio.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=settings.redis_pool_max, timeout=10
        )
    )
    keys = RedisKeys(settings.redis_prefix)
    sio = app[SOCKETS]
    services = Services(
        settings=settings,
        db=pool,
        redis=redis,
        keys=keys,
        signer=TokenSigner(resolve_secret(settings)),
        presence=PresenceStore(redis, keys, ttl_seconds=settings.presence_ttl_seconds),
        login_limiter=FailureLimiter(redis, window_seconds=settings.login_failure_window_seconds),
        blobs=LocalDiskBlobStore(settings.attachments_path),
        publisher=SocketPublisher(sio),
        routing=RoutingStore(redis, keys, default_capacity=settings.default_max_chats),
        timers=Timers(redis, keys),
        customer_presence=PresenceStore(
            redis, keys, ttl_seconds=settings.presence_ttl_seconds, kind="customer"
        ),
        queue_updates=QueueUpdates(),
        origins=app[ORIGINS],
    )
    services.queue_updates.bind(lambda team_id: announce_queue(services, team_id))
    app[SERVICES] = services
    await widget_actions.apply_overrides(services)
    customers, agents = register_namespaces(sio, services)
    background = start_background(services, agents.local_connections, customers.local_connections)
    try:
        yield
    finally:
        await cancel_and_wait(background)
        await services.queue_updates.close()
        await redis.aclose()
        await close_pool(pool)


_POOL_CLOSE_SECONDS = 10.0


async def close_pool(pool: asyncpg.Pool) -> None:
    """Close gracefully, but never hang a shutdown on a connection something still holds."""
    try:
        await asyncio.wait_for(pool.close(), _POOL_CLOSE_SECONDS)
    except TimeoutError:
        log.warning("database connections still in use at shutdown; closing them")
        pool.terminate()


async def _close_sockets(app: web.Application) -> None:
    """Close client connections before the pools they use go away.

    Clients reconnect to another process at once. Presence is left to expire by itself, so an
    agent who reconnects within the TTL never appears to go offline during a deploy.
    """
    sio = app[SOCKETS]
    goodbyes = []
    for namespace in list(sio.namespace_handlers):
        sio.namespace_handlers[namespace].shutting_down = True
        goodbyes += [
            sio.disconnect(sid, namespace=namespace, ignore_queue=True)
            for sid, _ in list(sio.manager.get_participants(namespace, None))
        ]
    # All at once, and bounded: thousands of sockets must not turn a deploy into minutes.
    await _bounded(goodbyes, seconds=5)
    # Then drop the transports themselves, so no request handler waits out a ping timeout.
    await _bounded(
        [socket.close(wait=False, abort=True) for socket in list(sio.eio.sockets.values())],
        seconds=2,
    )
    drain_outbox = getattr(sio.manager, "drain_outbox", None)
    if drain_outbox is not None:  # what was emitted last still reaches the other processes
        await drain_outbox()
    await sio.shutdown()


async def _bounded(steps: list[Coroutine[Any, Any, Any]], *, seconds: float) -> None:
    if not steps:
        return
    tasks = [asyncio.ensure_future(step) for step in steps]
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()


def create_app(settings: Settings) -> web.Application:
    if not settings.database_url or not settings.redis_url:
        raise ValueError(
            "create_app needs database_url and redis_url (start embedded services first)"
        )
    app = web.Application(
        middlewares=[error_middleware, security.query_middleware, transport.polling_limits],
        client_max_size=settings.attachment_max_bytes + 1024 * 1024,
    )
    app[SETTINGS] = settings
    security.install(app)
    origins = AllowedOrigins(settings.allowed_origins)
    app[ORIGINS] = origins
    sio = create_socket_server(settings, origins)
    sio.attach(app)
    app[SOCKETS] = sio
    app.cleanup_ctx.append(_services_ctx)
    app.on_shutdown.append(_close_sockets)
    for table in (
        health.routes,
        auth_routes.routes,
        conversation_routes.routes,
        attachment_routes.routes,
        directory_routes.routes,
        quick_response_routes.routes,
        admin_routes.routes,
    ):
        app.router.add_routes(table)
    knowledge_routes.setup(app)
    openapi.setup(app)
    widget_routes.setup(app)
    add_static_routes(app)
    return app
