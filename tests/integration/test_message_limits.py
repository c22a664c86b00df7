"""The message limits served in the process: a conversation's tokens leased from the real
Valkey, exact across processes; a socket's bucket in its process; both fail open with Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as redis_asyncio

from server.config import Settings
from server.core.errors import ErrorCode, ParleyError
from server.realtime.manager import GatedRedisManager
from server.routing.keys import RedisKeys
from server.routing.limits import Charge, RateLimits
from server.routing.local_limits import lease_size
from tests.support import free_port


@pytest_asyncio.fixture
async def redis(redis_url: str) -> AsyncIterator[redis_asyncio.Redis]:
    client = redis_asyncio.from_url(redis_url)
    yield client
    await client.aclose()


def _limits(redis: redis_asyncio.Redis, settings: Settings, **rates: str) -> RateLimits:
    return RateLimits(redis, RedisKeys(settings.redis_prefix), settings.with_overrides(**rates))


async def _post(limits: RateLimits, conversation: uuid.UUID, socket: str) -> str:
    """What a socket's post meets: ok, or the limit that refused it."""
    try:
        await limits.take(
            Charge("messages_per_conversation", conversation), Charge("messages_per_socket", socket)
        )
    except ParleyError as refused:
        assert refused.code is ErrorCode.RATE_LIMITED
        return str(refused.details["limit"])
    return "ok"


async def test_a_conversation_limit_is_exact_across_two_processes(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    rates = {"rate_messages_per_conversation": "40/3600", "rate_messages_per_socket": "1000/60"}
    one, two = _limits(redis, settings, **rates), _limits(redis, settings, **rates)
    assert lease_size(one.rate("messages_per_conversation")) == 4
    conversation = uuid.uuid4()
    answers: list[str] = []
    while answers[-2:] != ["messages_per_conversation"] * 2:
        answers.append(await _post(one, conversation, "one:a"))
        answers.append(await _post(two, conversation, "two:b"))
    # Both refused only once neither holds a leased token: every token was spent, none twice.
    assert answers.count("ok") == 40
    # Leased four at a time: about one round trip per four messages, not one per message.
    assert one.lease_requests + two.lease_requests <= 40 // 4 + 4
    # Another conversation has its own allowance.
    assert await _post(one, uuid.uuid4(), "one:a") == "ok"


async def test_unused_leased_tokens_go_back_for_other_processes(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    rates = {"rate_messages_per_conversation": "40/3600"}
    one, two = _limits(redis, settings, **rates), _limits(redis, settings, **rates)
    conversation = uuid.uuid4()
    assert await _post(one, conversation, "one:a") == "ok"  # leases 4, holds 3
    await one.release()  # a stop hands them back
    answers = [await _post(two, conversation, f"two:{n}") for n in range(40)]
    assert answers == ["ok"] * 39 + ["messages_per_conversation"]


async def test_refusals_name_the_limit_with_a_plausible_retry_after(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    # One token per 6 s for the conversation, per 20 s for the socket.
    limits = _limits(
        redis,
        settings,
        rate_messages_per_conversation="10/60",
        rate_messages_per_socket="3/60",
    )
    conversation = uuid.uuid4()
    assert [await _post(limits, conversation, "s1") for _ in range(4)] == ["ok"] * 3 + [
        "messages_per_socket"
    ]
    with pytest.raises(ParleyError) as socket_refusal:
        await limits.take(Charge("messages_per_socket", "s1"))
    assert 19 <= socket_refusal.value.details["retry_after"] <= 20
    # The socket's refusal took nothing from the conversation: seven more from other sockets.
    answers = [await _post(limits, conversation, f"s{n}") for n in range(2, 10)]
    assert answers == ["ok"] * 7 + ["messages_per_conversation"]
    with pytest.raises(ParleyError) as conversation_refusal:
        await limits.take(Charge("messages_per_conversation", conversation))
    assert 5 <= conversation_refusal.value.details["retry_after"] <= 6


async def test_message_limits_fail_open_while_redis_is_down(settings: Settings) -> None:
    unreachable = redis_asyncio.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        limits = _limits(
            unreachable,
            settings,
            rate_messages_per_conversation="2/3600",
            rate_messages_per_socket="2/3600",
        )
        conversation = uuid.uuid4()
        assert [await _post(limits, conversation, "s1") for _ in range(6)] == ["ok"] * 6
        assert limits.skipped == 6
    finally:
        await unreachable.aclose()


async def test_any_redis_failure_the_process_sees_opens_the_socket_limit(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    limits = _limits(
        redis,
        settings,
        rate_messages_per_conversation="1000/60",
        rate_messages_per_socket="2/3600",
    )
    conversation = uuid.uuid4()
    assert [await _post(limits, conversation, "s1") for _ in range(3)] == [
        "ok",
        "ok",
        "messages_per_socket",
    ]
    # The socket's bucket and the conversation's lease need no Redis: only news of a failure
    # elsewhere (here the fan-out's publish to a Redis that is gone) lets the post through.
    manager = GatedRedisManager(f"redis://127.0.0.1:{free_port()}/0", write_only=True)
    manager.redis_failed = limits.redis_failed
    await manager._publish_batch([(None, "{}")])
    assert await _post(limits, conversation, "s1") == "ok"
    assert limits.skipped == 1
