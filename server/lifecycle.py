"""The server's resources, one aiohttp cleanup context each, opened in order and closed in
reverse: PostgreSQL, Redis, the assistant, the services (with the assistant participant), and
the background tasks.

aiohttp runs a context's teardown only if its start-up succeeded, and tears down the contexts
that did start when a later one fails; so each context opens exactly one thing and closes it
in its own `finally`, and nothing leaks when, say, Redis is unreachable after the pool opened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import asyncpg
import redis.asyncio as redis_asyncio
from aiohttp import web

from .actions import widget as widget_actions
from .actions.bootstrap import create_demo_accounts, ensure_default_team
from .actions.context import EventPublisher, Services
from .actions.queue_updates import QueueUpdates
from .actions.queue_view import announce_queue
from .actions.supabase_auth import build_verifier
from .api.keys import (
    ASSISTANT,
    DATABASE,
    DEMO_ACCOUNTS,
    METRICS,
    ORIGINS,
    REDIS,
    SERVICES,
    SETTINGS,
    SOCKETS,
)
from .assistant_runtime.participant import AssistantParticipant
from .assistant_runtime.service import build_assistant
from .assistant_runtime.upkeep import keep_up
from .auth.passwords import HashingSlots
from .auth.tokens import TokenSigner
from .background import cancel_and_wait
from .banner import resolve_secret
from .config import Settings
from .core.origins import AllowedOrigins
from .heap import HeapFreezer
from .observability.live import (
    loop_and_gc,
    observe_assistant,
    observe_pool,
    observe_presence_writes,
)
from .observability.metrics import Metrics
from .realtime.background import start_background
from .realtime.publisher import SocketPublisher
from .realtime.server import register_namespaces
from .routing.keys import RedisKeys
from .routing.limits import RateLimits
from .routing.presence import PresenceStore
from .routing.queue import RoutingStore
from .routing.ratelimit import AttemptLimiter
from .routing.timers import Timers
from .store.blobs import BlobStore, LocalDiskBlobStore
from .store.db import create_pool
from .store.lockdown import apply_admin_read
from .store.migrations import migrate
from .store.post_groups import PostGroups
from .store.supabase_storage import SupabaseStorageBlobStore
from .store.visitor_versions import VisitorVersions

log = logging.getLogger(__name__)

# Short: by now the sockets are closed and the background tasks cancelled, and a stop must
# end within the drain bound plus 2 s.
_POOL_CLOSE_SECONDS = 1.0


async def close_pool(pool: asyncpg.Pool) -> None:
    """Close gracefully, but never hang a shutdown on a connection something still holds."""
    try:
        await asyncio.wait_for(pool.close(), _POOL_CLOSE_SECONDS)
    except TimeoutError:
        log.warning("database connections still in use at shutdown; closing them")
        pool.terminate()


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    """The PostgreSQL pool, migrated and seeded before anything uses it."""
    settings = app[SETTINGS]
    pool = await create_pool(
        settings.database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        pooler=settings.db_pooler,
    )
    try:
        async with pool.acquire() as conn:
            await migrate(conn, settings.sql_dir)
            await apply_admin_read(conn, settings.supabase_admin_claim)
        if settings.create_demo_accounts:
            # Shown once, on the first screen after start-up (banner.py); kept only in memory.
            app[DEMO_ACCOUNTS] = await create_demo_accounts(pool)
        else:
            async with pool.acquire() as conn:
                await ensure_default_team(conn)
        app[DATABASE] = pool
        observe_pool(app[METRICS], pool)
        yield
    finally:
        await close_pool(pool)


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # A blocking pool: under bursts, callers wait briefly for a connection instead of failing
    # with "Too many connections" (measured: the default pool overflows past a few thousand/s).
    redis = redis_asyncio.Redis(
        connection_pool=redis_asyncio.BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_pool_max,
            timeout=10,
            # A stalled Redis fails calls instead of hanging them (and their requests) forever.
            socket_timeout=5,
            socket_connect_timeout=2,
        )
    )
    try:
        app[REDIS] = redis
        yield
    finally:
        await redis.aclose()


async def assistant_ctx(app: web.Application) -> AsyncIterator[None]:
    """The assistant's models and knowledge base (answering starts with the services)."""
    assistant = build_assistant(app[SETTINGS], app[DATABASE])
    try:
        app[ASSISTANT] = assistant
        yield
    finally:
        await assistant.aclose()


def build_services(
    settings: Settings,
    pool: asyncpg.Pool,
    redis: redis_asyncio.Redis,
    publisher: EventPublisher,
    origins: AllowedOrigins,
    metrics: Metrics | None = None,
) -> Services:
    """What actions run with; the server and the command-line tools build it the same way."""
    keys = RedisKeys(settings.redis_prefix)
    return Services(
        settings=settings,
        db=pool,
        redis=redis,
        keys=keys,
        signer=TokenSigner(resolve_secret(settings)),
        presence=PresenceStore(redis, keys, ttl_seconds=settings.presence_ttl_seconds),
        login_limiter=AttemptLimiter(redis, window_seconds=settings.login_failure_window_seconds),
        blobs=blob_store_for(settings),
        publisher=publisher,
        routing=RoutingStore(redis, keys, default_capacity=settings.default_max_chats),
        timers=Timers(redis, keys),
        customer_presence=PresenceStore(
            redis, keys, ttl_seconds=settings.presence_ttl_seconds, kind="customer"
        ),
        queue_updates=QueueUpdates(),
        hashing=HashingSlots(settings.password_hash_concurrency),
        visitor_versions=VisitorVersions(pool),
        limits=RateLimits(redis, keys, settings),
        origins=origins,
        supabase_auth=build_verifier(settings),
        metrics=metrics or Metrics(),
        posts=PostGroups(pool),
    )


def blob_store_for(settings: Settings) -> BlobStore:
    """Local disk unless a Supabase project and its service key are configured."""
    if not settings.supabase_storage:
        return LocalDiskBlobStore(settings.attachments_path)
    return SupabaseStorageBlobStore(
        settings.supabase_url,
        settings.supabase_service_key,
        settings.supabase_bucket,
        max_bytes=settings.attachment_max_bytes,
        content_types=settings.attachment_content_types,
    )


async def services_ctx(app: web.Application) -> AsyncIterator[None]:
    """What actions run with, the assistant participant among them (set once, here, before
    any handler can run), and the socket namespaces that call them."""
    services = build_services(
        app[SETTINGS],
        app[DATABASE],
        app[REDIS],
        SocketPublisher(app[SOCKETS]),
        app[ORIGINS],
        app[METRICS],
    )
    observe_assistant(services.metrics, app[ASSISTANT])
    participant = AssistantParticipant(services, app[ASSISTANT])
    services.participant = participant
    services.queue_updates.bind(lambda team_id: announce_queue(services, team_id))
    try:
        app[SERVICES] = services
        await widget_actions.apply_overrides(services)
        yield
    finally:
        await participant.aclose()
        await services.queue_updates.close()
        if services.supabase_auth is not None:
            await services.supabase_auth.aclose()
        if isinstance(services.blobs, SupabaseStorageBlobStore):
            await services.blobs.aclose()


async def background_ctx(app: web.Application) -> AsyncIterator[None]:
    """Presence loops, routing timers, the assistant's answering and knowledge-base upkeep."""
    services = app[SERVICES]
    settings = app[SETTINGS]
    assistant = app[ASSISTANT]
    sio = app[SOCKETS]
    customers, agents = register_namespaces(sio, services)
    heartbeat_soon = asyncio.Event()

    def redis_recovered() -> None:
        # Redis may have lost everything (a restart without persistence): rebuild now.
        services.reconcile_soon.set()
        heartbeat_soon.set()

    sio.manager.recovered = redis_recovered
    updates = customers.presence_updates
    observe_presence_writes(services.metrics, lambda: updates.backlog)
    tasks = start_background(
        services,
        agents.local_connections,
        customers.local_connections,
        heartbeat_soon,
        customers.presence_updates,
    )
    if settings.gc_freeze_step:

        def connections() -> int:
            return sum(len(rooms.get(None, ())) for rooms in sio.manager.rooms.values())

        tasks.append(asyncio.create_task(HeapFreezer(connections, settings.gc_freeze_step).run()))
    participant = services.participant
    if isinstance(participant, AssistantParticipant):
        participant.start()
    tasks.append(
        asyncio.create_task(
            keep_up(assistant.knowledge, seed_demo=settings.kb_seed_demo, state=assistant.upkeep)
        )
    )
    try:
        yield
    finally:
        await cancel_and_wait(tasks)
        await customers.presence_updates.close()


async def metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """Event-loop lag and garbage-collection pauses, measured for the metrics endpoint."""
    async for _ in loop_and_gc(app[METRICS]):
        yield


# In start-up order; aiohttp tears them down in reverse.
CONTEXTS = (metrics_ctx, database_ctx, redis_ctx, assistant_ctx, services_ctx, background_ctx)
