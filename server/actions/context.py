"""What actions run with: the pools, stores and the event publisher, plus the unit of work."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg
from redis.asyncio import Redis

from ..auth.tokens import TokenSigner
from ..config import Settings
from ..core.events import Event
from ..routing.keys import RedisKeys
from ..routing.presence import PresenceStore
from ..routing.queue import RoutingStore
from ..routing.ratelimit import FailureLimiter
from ..routing.timers import Timers
from ..store.blobs import BlobStore

log = logging.getLogger(__name__)


class EventPublisher(Protocol):
    async def publish(self, event: Event) -> None: ...


@dataclass(slots=True)
class Services:
    settings: Settings
    db: asyncpg.Pool
    redis: Redis
    keys: RedisKeys
    signer: TokenSigner
    presence: PresenceStore
    login_limiter: FailureLimiter
    blobs: BlobStore
    publisher: EventPublisher
    routing: RoutingStore
    timers: Timers
    customer_presence: PresenceStore


@dataclass(slots=True)
class UnitOfWork:
    """A connection (in a transaction, when asked) and the events to publish once it commits."""

    conn: asyncpg.Connection
    events: list[Event] = field(default_factory=list)

    def publish_on_commit(self, *events: Event) -> None:
        self.events.extend(events)


@asynccontextmanager
async def unit_of_work(
    services: Services, *, transaction: bool = True
) -> AsyncIterator[UnitOfWork]:
    """Run a change; publish its events after the commit, never before and never on rollback.

    Use transaction=False for a change that is a single statement (atomic by itself): it saves
    the BEGIN and COMMIT round trips on the hot path.
    """
    async with services.db.acquire() as conn:
        work = UnitOfWork(conn)
        if transaction:
            async with conn.transaction():
                yield work
        else:
            yield work
    await publish_all(services, work.events)


async def publish_all(services: Services, events: list[Event]) -> None:
    for event in events:
        try:
            await services.publisher.publish(event)
        except Exception:
            # The change is committed; clients recover what they missed by resuming from their
            # last sequence, so a failed fan-out must not turn into a failed action.
            log.exception("publishing %s failed", event.name)
