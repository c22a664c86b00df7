"""New visitors' limit per address served from leases on the real Valkey: exact across
processes, one token leased for a lone visitor, bigger leases only for a burst."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
import redis.asyncio as redis_asyncio

from server.config import Settings
from server.core.errors import ErrorCode, ParleyError
from server.routing.keys import RedisKeys
from server.routing.limits import Charge, RateLimits
from server.routing.local_limits import lease_size
from tests.support import free_port


@pytest_asyncio.fixture
async def redis(redis_url: str) -> AsyncIterator[redis_asyncio.Redis]:
    client = redis_asyncio.from_url(redis_url)
    yield client
    await client.aclose()


async def _next_turn() -> None:
    """Returns once the callbacks scheduled before it have run (new tasks' first steps)."""
    done = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(done.set_result, None)
    await done


def _limits(redis: redis_asyncio.Redis, settings: Settings, rate: str) -> RateLimits:
    return RateLimits(
        redis,
        RedisKeys(settings.redis_prefix),
        settings.with_overrides(rate_visitors_per_address=rate),
    )


async def _visit(limits: RateLimits, address: str) -> str:
    try:
        await limits.take(Charge("visitors_per_address", address))
    except ParleyError as refused:
        assert refused.code is ErrorCode.RATE_LIMITED
        assert refused.details["retry_after"] >= 1
        return str(refused.details["limit"])
    return "ok"


async def test_an_address_limit_is_exact_across_two_processes(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    one, two = _limits(redis, settings, "200/3600"), _limits(redis, settings, "200/3600")
    assert lease_size(one.rate("visitors_per_address")) == 16
    address = f"burst-{uuid.uuid4()}"
    answers: list[str] = []
    while answers[-2:] != ["visitors_per_address"] * 2:
        answers.append(await _visit(one, address))
        answers.append(await _visit(two, address))
    # Refused on both only once neither holds a token: every token spent once, none twice.
    assert answers.count("ok") == 200
    # A burst from one address leases up to sixteen at a time (fewer as the bucket runs
    # low, and the refusals ask too), not a round trip per connect.
    assert one.lease_requests + two.lease_requests <= 200 // 8


async def test_a_lone_visitor_leases_only_its_own_token(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    limits = _limits(redis, settings, "1000/600")
    keys = RedisKeys(settings.redis_prefix)
    address = f"lone-{uuid.uuid4()}"
    key = keys.rate_bucket("visitors_per_address", address)

    async def level() -> float:
        return float(await redis.hget(key, "tokens"))  # type: ignore[arg-type]

    assert await _visit(limits, address) == "ok"
    assert await level() == 999.0  # nothing held back for later
    # The same address again at once: now a burst, so it leases ahead.
    assert await _visit(limits, address) == "ok"
    assert 999.0 - 16 <= await level() < 999.0 - 15
    await limits.release()  # a stop hands back the fifteen it did not use
    assert 998.0 <= await level() < 998.1


async def test_a_storm_from_many_addresses_is_checked_in_batches(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    limits = _limits(redis, settings, "3/600")
    storm = [f"storm-{uuid.uuid4()}-{n}" for n in range(300)]
    answers = await asyncio.gather(*(_visit(limits, address) for address in storm * 4))
    # Three visitors per address, the fourth refused, whatever the order they were answered in.
    assert answers.count("ok") == 900 and answers.count("visitors_per_address") == 300
    assert limits.skipped == 0


async def test_connects_from_one_address_at_once_share_a_lease_request(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    one, two = _limits(redis, settings, "200/3600"), _limits(redis, settings, "200/3600")
    address = f"together-{uuid.uuid4()}"
    assert await _visit(one, address) == "ok"  # the address is busy now: leases ahead
    answers = await asyncio.gather(*(_visit(one, address) for _ in range(40)))
    assert answers == ["ok"] * 40
    # Forty connects found the lease empty at once, but each request waited for the one
    # under way: sixteen tokens a request, not sixteen for each of the forty.
    assert one.lease_requests <= 1 + 40 // 16 + 1
    # So the other process still gets everything this one has not taken or leased.
    others = [await _visit(two, address) for _ in range(200)]
    assert others.count("ok") >= 200 - 41 - 16


async def test_a_storm_past_the_limit_is_answered_in_line(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    limits = _limits(redis, settings, "200/3600")
    address = f"storm-{uuid.uuid4()}"
    assert await _visit(limits, address) == "ok"
    answers = await asyncio.gather(*(_visit(limits, address) for _ in range(600)))
    assert answers.count("ok") == 199 and answers.count("visitors_per_address") == 401
    # Served from leases in order, the refusals passed down the line: a few requests, not
    # one per connect.
    assert limits.lease_requests <= 1 + 199 // 16 + 4


async def test_a_waiter_that_gives_up_does_not_stall_the_line(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    limits = _limits(redis, settings, "1000/600")
    address = f"patience-{uuid.uuid4()}"
    assert await _visit(limits, address) == "ok"
    waiting = [asyncio.create_task(_visit(limits, address)) for _ in range(50)]
    await _next_turn()  # each has run to its first wait: in line, or asking Redis
    for task in waiting[1:40:3]:
        task.cancel()
    done = await asyncio.gather(*waiting, return_exceptions=True)
    served = [answer for answer in done if answer == "ok"]
    cancelled = [answer for answer in done if isinstance(answer, asyncio.CancelledError)]
    assert len(served) + len(cancelled) == 50 and len(cancelled) == len(waiting[1:40:3])
    # The line is empty again: the next connect is served at once.
    assert await _visit(limits, address) == "ok"


async def test_a_line_keeps_the_grant_its_asker_stopped_waiting_for(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    """The connect that asked Redis for the whole line gives up while the request is under
    way: the tokens Redis spent for it still serve the line, and its own stays leased."""
    limits = _limits(redis, settings, "40/3600")
    address = f"asker-{uuid.uuid4()}"
    assert await _visit(limits, address) == "ok"  # the address is busy now: leases ahead
    waiting = [asyncio.create_task(_visit(limits, address)) for _ in range(20)]
    await _next_turn()  # the first asks Redis for all twenty, the others wait in line
    waiting[0].cancel()
    done = await asyncio.gather(*waiting, return_exceptions=True)
    assert isinstance(done[0], asyncio.CancelledError) and done[1:] == ["ok"] * 19
    assert limits.lease_requests == 2  # the first connect's token, then the line's twenty
    # Forty tokens: one for the first connect, nineteen for the line, and twenty left (the
    # cancelled connect's among them), none lost with the request it stopped waiting for.
    later = [await _visit(limits, address) for _ in range(25)]
    assert later.count("ok") == 20 and later[20:] == ["visitors_per_address"] * 5


async def test_a_stop_hands_back_the_grant_its_asker_stopped_waiting_for(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    """A process stops while a lease request whose connect gave up is still under way: the
    stop waits for its grant and hands it back, so that another process can use every token."""
    one, two = _limits(redis, settings, "200/3600"), _limits(redis, settings, "200/3600")
    address = f"stopping-{uuid.uuid4()}"
    assert await _visit(one, address) == "ok"  # the address is busy now: sixteen leased next
    gave_up = asyncio.create_task(_visit(one, address))
    await _next_turn()  # its lease request is under way
    gave_up.cancel()
    done = await asyncio.gather(gave_up, return_exceptions=True)
    assert isinstance(done[0], asyncio.CancelledError)
    await one.release()
    answers: list[str] = []
    while answers[-1:] != ["visitors_per_address"]:
        answers.append(await _visit(two, address))
    # Every token but the first connect's: none kept by the stopped process.
    assert answers.count("ok") == 199
    assert one.lease_requests == 2


async def test_a_line_is_served_from_one_request_for_all_of_it(
    redis: redis_asyncio.Redis, settings: Settings
) -> None:
    """Hundreds of connects from one address (an office behind one NAT after a deploy) are not
    answered sixteen per round trip: the next request asks for everyone already in line."""
    limits = _limits(redis, settings, "5000/3600")
    address = f"office-{uuid.uuid4()}"
    answers = await asyncio.gather(*(_visit(limits, address) for _ in range(300)))
    assert answers == ["ok"] * 300
    # One request for all of them: the first connect's request leaves when the other 299
    # have lined up behind it (they are all started in the same turn of the loop).
    assert limits.lease_requests == 1


async def test_a_line_fails_open_while_redis_is_down(settings: Settings) -> None:
    """Connects lined up for one address's lease all go through when Redis cannot be asked:
    none waits for ever behind a request that failed, none is refused."""
    unreachable = redis_asyncio.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        limits = _limits(unreachable, settings, "2/3600")
        address = f"outage-{uuid.uuid4()}"
        answers = await asyncio.gather(*(_visit(limits, address) for _ in range(50)))
        assert answers == ["ok"] * 50
        assert limits.skipped >= 1
        # Redis back or not, the line is empty: the next connect is answered too.
        assert await _visit(limits, address) == "ok"
    finally:
        await unreachable.aclose()
