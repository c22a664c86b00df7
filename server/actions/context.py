"""What actions run with: the pools, stores and the event publisher, plus the unit of work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from redis.asyncio import Redis

from ..auth.passwords import HashingSlots
from ..auth.supabase_tokens import SupabaseVerifier
from ..auth.tokens import TokenSigner
from ..config import Settings
from ..core.errors import ErrorCode, ParleyError
from ..core.events import Event
from ..core.models import AgentPrincipal, Message
from ..core.origins import AllowedOrigins
from ..observability.metrics import Metrics
from ..routing.keys import RedisKeys
from ..routing.limits import RateLimits
from ..routing.presence import PresenceStore
from ..routing.queue import RoutingStore
from ..routing.ratelimit import AttemptLimiter
from ..routing.timers import Timers
from ..store.blobs import BlobStore
from ..store.post_groups import PostGroups
from ..store.visitor_versions import VisitorVersions
from .queue_updates import QueueUpdates

log = logging.getLogger(__name__)


class EventPublisher(Protocol):
    async def publish(self, event: Event) -> None: ...


class Participant(Protocol):
    """The assistant's background work, as actions see it. Every method returns at once: the
    work runs in tasks the participant owns, never in the caller's await path."""

    def customer_posted(self, message: Message) -> None:
        """A customer message was stored by this process: answer it if the assistant owns the
        conversation (exactly one process sees each new message, so exactly one answers)."""

    def stop(self, run: UUID) -> None:
        """Cancel an answer in flight in this process (other processes see the stop mark)."""

    def handed_over(self, conversation_id: UUID, agent_id: UUID, handover: dict[str, Any]) -> None:
        """A person took over: write them a summary (when a model is configured)."""

    def suggest(self, principal: AgentPrincipal, conversation_id: UUID, reply_to: str) -> UUID:
        """Draft a reply for an agent; the draft goes to the socket `reply_to`."""

    async def settled(self) -> None:
        """Return once the work started so far is done (tests wait on this fact)."""


class NoParticipant:
    """Until the assistant is built (and in tools that never answer customers)."""

    def customer_posted(self, message: Message) -> None:
        return None

    def stop(self, run: UUID) -> None:
        return None

    def handed_over(self, conversation_id: UUID, agent_id: UUID, handover: dict[str, Any]) -> None:
        return None

    def suggest(self, principal: AgentPrincipal, conversation_id: UUID, reply_to: str) -> UUID:
        raise ParleyError(ErrorCode.UNAVAILABLE, "the assistant is not running")

    async def settled(self) -> None:
        return None


@dataclass(slots=True)
class Services:
    settings: Settings
    db: asyncpg.Pool
    redis: Redis
    keys: RedisKeys
    signer: TokenSigner
    presence: PresenceStore
    login_limiter: AttemptLimiter
    blobs: BlobStore
    publisher: EventPublisher
    routing: RoutingStore
    timers: Timers
    customer_presence: PresenceStore
    queue_updates: QueueUpdates
    hashing: HashingSlots
    visitor_versions: VisitorVersions
    limits: RateLimits
    participant: Participant = field(default_factory=NoParticipant)
    origins: AllowedOrigins = field(default_factory=lambda: AllowedOrigins(("*",)))
    # Verifies Supabase access tokens when agents may sign in with Supabase.
    supabase_auth: SupabaseVerifier | None = None
    metrics: Metrics = field(default_factory=Metrics)
    # Follow-ups of committed changes that failed, by step (see actions/after_commit.py).
    after_commit_failures: dict[str, int] = field(default_factory=dict)
    # Redis steps a connect or sign-in went on without (see actions/degraded.py), by step.
    degraded_steps: dict[str, int] = field(default_factory=dict)
    # Set when Redis state may have drifted from PostgreSQL: reconciliation runs at once.
    reconcile_soon: asyncio.Event = field(default_factory=asyncio.Event)
    # Group commit for clients' posts (store/post_groups.py); without it each post is its own
    # statement.
    posts: PostGroups | None = None


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
