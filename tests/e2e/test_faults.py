"""Faults under live conversations: whatever fails and comes back, every message sent is stored
once and delivered once, in order, to both sides, and acks never lie about a commit."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
import redis.asyncio as redis

from server.config import Settings
from server.embedded import EmbeddedPostgres, EmbeddedValkey
from server.routing.keys import RedisKeys
from tests.e2e.resilience_support import LiveChat, hold, live_chat
from tests.support import ServerProcess, spawn_server


@pytest.fixture
def fault_settings(settings: Settings, valkey: EmbeddedValkey) -> Settings:
    return settings.with_overrides(redis_url=valkey.url)


@pytest_asyncio.fixture
async def pair(fault_settings: Settings) -> AsyncIterator[list[ServerProcess]]:
    settings = fault_settings
    processes = list(await asyncio.gather(spawn_server(settings), spawn_server(settings)))
    yield processes
    for process in processes:
        process.stop()


@pytest_asyncio.fixture
async def chat(settings: Settings, pair: list[ServerProcess]) -> AsyncIterator[LiveChat]:
    one, two = pair
    live = await live_chat(settings.database_url, customer_url=one.url, agent_url=two.url)
    yield live
    await live.close()


async def _fanout_back(chat: LiveChat, pair: list[ServerProcess], back_at: float) -> float:
    """Seconds from the service's return until a message crosses processes live again."""
    async with aiohttp.ClientSession() as http:
        for process in pair:
            while True:
                async with http.get(f"{process.url}/readyz") as r:
                    if (await r.json())["checks"]["fanout"] == "ok":
                        break
                await hold(0.05)
    # Nothing else is moving now: only the fan-out can bring this to the other process.
    await chat.customer.send("c-probe", "c-probe")
    chat.sent.append("c-probe")
    await chat.agent.wait_count(len(chat.sent), timeout=5)
    return asyncio.get_running_loop().time() - back_at


def _restart_valkey(valkey: EmbeddedValkey, outage: float) -> object:
    async def fault() -> float:
        assert valkey.pid is not None
        os.kill(valkey.pid, signal.SIGKILL)
        await hold(outage)
        await asyncio.to_thread(valkey.restart)
        return asyncio.get_running_loop().time()

    return fault


@pytest.mark.parametrize("outage", [0.5, 30.0], ids=["short", "30s"])
async def test_redis_killed_and_restarted(
    chat: LiveChat,
    pair: list[ServerProcess],
    valkey: EmbeddedValkey,
    fault_settings: Settings,
    outage: float,
) -> None:
    back_at = await chat.talk_through(_restart_valkey(valkey, outage))  # type: ignore[arg-type]
    recovered = await _fanout_back(chat, pair, back_at)
    assert recovered < 2.0, f"fan-out came back {recovered:.2f} s after Redis"
    # The restarted Redis is empty: the reconciliation, woken by the fan-out's recovery and by
    # the follow-ups that failed meanwhile, put the chat's assignment back at once (its
    # interval, 30 s, is far longer than this wait).
    keys = RedisKeys(fault_settings.redis_prefix)
    client = redis.Redis.from_url(valkey.url)
    try:
        deadline = asyncio.get_running_loop().time() + 3
        while not await client.hexists(keys.assignments(), chat.conversation_id):
            assert asyncio.get_running_loop().time() < deadline, "routing state not rebuilt"
            await hold(0.05)
    finally:
        await client.aclose()
    assert fault_settings.reconcile_seconds == 30.0
    await chat.assert_exactly_once()
    # Every message was committed and answered as such, while Redis was gone too.
    assert chat.customer.send_errors == [] and chat.agent.send_errors == []
    print(f"\nRedis outage {outage:.1f} s: fan-out back {recovered:.2f} s after Redis")


async def test_redis_paused_for_ten_seconds(
    chat: LiveChat, pair: list[ServerProcess], valkey: EmbeddedValkey
) -> None:
    acked_during_stall: list[float] = []

    async def fault() -> float:
        assert valkey.pid is not None
        os.kill(valkey.pid, signal.SIGSTOP)
        paused = time.monotonic()
        before = len(chat.sent)
        await hold(10)
        acked_during_stall.append(len(chat.sent) - before)
        os.kill(valkey.pid, signal.SIGCONT)
        assert time.monotonic() - paused >= 10
        return asyncio.get_running_loop().time()

    back_at = await chat.talk_through(fault)
    recovered = await _fanout_back(chat, pair, back_at)
    assert recovered < 2.0
    await chat.assert_exactly_once()
    # Both sides kept posting through the stall, and no committed message was answered with
    # an error (agents' replies wait at most 2 s for Redis work that follows the commit).
    assert acked_during_stall[0] >= 6
    assert chat.customer.send_errors == [] and chat.agent.send_errors == []
    print(f"\nRedis paused 10 s: {acked_during_stall[0]} messages acked during the stall")


async def test_a_process_killed_mid_stream(
    fault_settings: Settings, chat: LiveChat, pair: list[ServerProcess]
) -> None:
    one = pair[0]  # the customer's

    async def fault() -> float:
        one.kill()
        restarted = await spawn_server(fault_settings, port=one.port)
        pair[0] = restarted
        return asyncio.get_running_loop().time()

    back_at = await chat.talk_through(fault)
    await chat.customer.wait_ready(timeout=5)
    resumed = asyncio.get_running_loop().time() - back_at
    print(f"\nkill -9: the customer resumed {resumed:.2f} s after the restart")
    await chat.assert_exactly_once()


async def test_postgres_restarted(chat: LiveChat, embedded_postgres: EmbeddedPostgres) -> None:
    async def fault() -> float:
        await asyncio.to_thread(embedded_postgres.restart)
        return asyncio.get_running_loop().time()

    back_at = await chat.talk_through(fault)
    await chat.assert_exactly_once()
    delivered = asyncio.get_running_loop().time() - back_at
    print(f"\nPostgreSQL restart: everything delivered {delivered:.2f} s after it was back")
