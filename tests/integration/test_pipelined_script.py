"""A script called by many at once runs in pipelined round trips on the real Valkey, each
caller getting its own reply or its own error."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as redis_asyncio

from server.routing.pipelined import PipelinedScript

# Adds ARGV[1] to a counter; a negative amount is refused with a script error.
_ADD = """
local amount = tonumber(ARGV[1])
if amount < 0 then return redis.error_reply('negative') end
return redis.call('INCRBY', KEYS[1], amount)
"""


async def test_many_callers_share_round_trips_and_keep_their_own_answers(redis_url: str) -> None:
    client = redis_asyncio.from_url(redis_url)
    key = f"pipelined-{uuid.uuid4().hex}"
    try:
        await client.script_load(_ADD)  # known to Redis: each batch is one round trip
        add = PipelinedScript(client, client.register_script(_ADD), batch=100)
        amounts = [1] * 249 + [-1]

        async def call(amount: int) -> object:
            try:
                return await add(keys=[key], args=[amount])
            except Exception as exc:
                return type(exc).__name__

        answers = await asyncio.gather(*(call(a) for a in amounts))
        assert sorted(a for a in answers if isinstance(a, int)) == list(range(1, 250))
        assert [a for a in answers if not isinstance(a, int)] == ["ResponseError"]
        assert int(await client.get(key)) == 249
        assert add.round_trips == 3  # 250 calls, 100 per round trip
    finally:
        await client.delete(key)
        await client.aclose()


async def test_a_batch_is_one_round_trip_and_survives_a_flushed_script_cache(
    redis_url: str,
) -> None:
    client = redis_asyncio.from_url(redis_url)
    key = f"pipelined-{uuid.uuid4().hex}"
    try:
        await client.script_flush()
        add = PipelinedScript(client, client.register_script(_ADD), batch=100)
        assert await add(keys=[key], args=[1]) == 1  # Redis is given the script: 3 trips
        before = await _script_commands(client)
        assert await asyncio.gather(*(add(keys=[key], args=[1]) for _ in range(10))) == list(
            range(2, 12)
        )
        # Ten EVALSHAs and nothing else: no SCRIPT EXISTS before the batch.
        assert await _script_commands(client) == {
            **before,
            "evalsha": before.get("evalsha", 0) + 10,
        }
        assert add.round_trips == 3 + 1
        await client.script_flush()  # a restarted Redis knows no scripts
        answers = await asyncio.gather(*(add(keys=[key], args=[1]) for _ in range(5)))
        assert answers == list(range(12, 17))
        assert int(await client.get(key)) == 16  # each call ran exactly once
        assert add.round_trips == 3 + 1 + 3
    finally:
        await client.delete(key)
        await client.aclose()


async def _script_commands(client: redis_asyncio.Redis) -> dict[str, int]:
    stats = await client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(value["calls"])
        for name, value in stats.items()
        if name.startswith(("cmdstat_evalsha", "cmdstat_script"))
    }
