"""Many presence changes in one script run decide each change exactly as one script run per
change does (routing/presence.py), on the real Valkey."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
import redis.asyncio as redis_asyncio

from server.config import Settings
from server.core.models import PresenceStatus
from server.routing.keys import RedisKeys
from server.routing.presence import PresenceChange, PresenceOp, PresenceStore


@pytest_asyncio.fixture
async def redis(redis_url: str) -> AsyncIterator[redis_asyncio.Redis]:
    client = redis_asyncio.from_url(redis_url)
    yield client
    await client.aclose()


def _decided(changes: list[PresenceChange]) -> list[tuple[str, bool]]:
    return [(str(change.status), change.changed) for change in changes]


async def test_a_batch_decides_as_one_change_at_a_time(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    store = PresenceStore(
        redis, RedisKeys(f"{settings.redis_prefix}many-{uuid.uuid4()}:"), ttl_seconds=30
    )
    # Two owners, each through the same steps: one in a single batch, one a change at a time.
    steps = [
        ("connect", "a"),
        ("connect", "b"),
        ("refresh", "a"),
        ("disconnect", "a"),
        ("disconnect", "b"),
        ("connect", "c"),
        ("disconnect", "missing"),
    ]
    batched, single = uuid.uuid4(), uuid.uuid4()
    in_one = await store.apply([PresenceOp(op, batched, member) for op, member in steps])
    one_by_one = [(await store.apply([PresenceOp(op, single, member)]))[0] for op, member in steps]
    expected = [
        ("online", True),
        ("online", False),
        ("online", False),
        ("online", False),
        ("offline", True),
        ("online", True),
        ("online", False),
    ]
    assert _decided(in_one) == _decided(one_by_one) == expected
    assert [change.agent_id for change in in_one] == [batched] * len(steps)
    # The single-change script (an agent's chosen status) reads what the batch wrote.
    away = await store.choose(batched, PresenceStatus.AWAY)
    assert (str(away.status), away.changed) == ("away", True)
    gone = await store.disconnect(batched, "c")
    assert (str(gone.status), gone.changed) == ("offline", True)
