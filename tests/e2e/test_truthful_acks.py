"""While Redis stalls, what PostgreSQL committed is acknowledged as committed, and signing in
and connecting still work: the Redis work that follows is bounded, counted and repaired later."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import aiohttp
import asyncpg
import pytest
import redis.asyncio as redis

from server.api.keys import DRAIN, SERVICES
from server.embedded import EmbeddedValkey
from server.routing.keys import RedisKeys
from tests.e2e.routing_support import eventually
from tests.support import RunningServer, agent, agent_token, customer, login


@pytest.fixture
def server_options(valkey: EmbeddedValkey) -> dict[str, object]:
    return {"redis_url": valkey.url}


async def test_committed_messages_are_acked_as_stored_while_redis_stalls(
    server: RunningServer, valkey: EmbeddedValkey
) -> None:
    cust = await customer(server.url)
    conversation_id = (await cust.ok("start_conversation", {"name": "Casey"}))["conversation"]["id"]
    agent_id, token = await agent_token(server, name="Robin")
    staff = await agent(server.url, token)
    await staff.ok("join", {"conversation_id": conversation_id})
    services = server.app[SERVICES]
    assert valkey.pid is not None
    os.kill(valkey.pid, signal.SIGSTOP)
    try:
        began = time.monotonic()
        ack = await staff.call(
            "send_message",
            {"conversation_id": conversation_id, "client_id": "during-stall", "body": "still here"},
        )
        assert ack["ok"] is True and ack["data"]["duplicate"] is False, ack
        assert ack["data"]["seq"] == 1
        assert time.monotonic() - began < 3.5
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            async with http.post(
                f"{server.url}/api/v1/conversations/{conversation_id}/messages",
                json={"client_id": "rest-during-stall", "body": "over REST"},
            ) as r:
                body = await r.json()
                assert r.status in (200, 201), body
                assert body["data"]["seq"] == 2
        assert services.after_commit_failures == {"unanswered_timer": 2}

        # Signing in and connecting go on without Redis (without throttling and presence).
        began = time.monotonic()
        second_token = await login(server.url, await _email_of(server, agent_id))
        second = await agent(server.url, second_token)
        assert time.monotonic() - began < 5
        await second.ok("join", {"conversation_id": conversation_id})
        await second.close()
    finally:
        os.kill(valkey.pid, signal.SIGCONT)

    conn = await asyncpg.connect(server.settings.database_url)
    try:
        stored = await conn.fetch(
            "SELECT seq, client_id FROM messages WHERE conversation_id = $1 ORDER BY seq",
            uuid.UUID(conversation_id),
        )
    finally:
        await conn.close()
    assert [(r["seq"], r["client_id"]) for r in stored] == [
        (1, "during-stall"),
        (2, "rest-during-stall"),
    ]
    # The customer got both, once each, in order.
    got = await cust.log.wait_for("message", count=2)
    assert [m["seq"] for m in got] == [1, 2]
    await staff.close()
    await cust.close()


async def _email_of(server: RunningServer, agent_id: uuid.UUID) -> str:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        return str(await conn.fetchval("SELECT email FROM agents WHERE id = $1", agent_id))
    finally:
        await conn.close()


async def test_a_stopping_server_answers_the_acks_in_flight(
    server: RunningServer, valkey: EmbeddedValkey
) -> None:
    cust = await customer(server.url)
    conversation_id = (await cust.ok("start_conversation", {"name": "Casey"}))["conversation"]["id"]
    _, token = await agent_token(server, name="Robin")
    staff = await agent(server.url, token)
    await staff.ok("join", {"conversation_id": conversation_id})
    assert valkey.pid is not None
    os.kill(valkey.pid, signal.SIGSTOP)  # the reply's follow-up now takes its full 2 s
    try:
        sending = asyncio.ensure_future(
            staff.call(
                "send_message",
                {"conversation_id": conversation_id, "client_id": "in-flight", "body": "bye"},
            )
        )
        drain = server.app[DRAIN]

        async def in_flight() -> bool:
            return drain.in_flight == 1

        await eventually(in_flight)
        stopping = asyncio.ensure_future(server.stop())
        ack = await sending
        assert ack["ok"] is True and ack["data"]["seq"] == 1, ack
        assert drain.draining
    finally:
        os.kill(valkey.pid, signal.SIGCONT)
    await stopping
    await cust.close()


async def test_redis_coming_back_rebuilds_routing_state_at_once(
    server: RunningServer, valkey: EmbeddedValkey
) -> None:
    _, token = await agent_token(server, name="Robin")
    staff = await agent(server.url, token)  # online first: the chat is routed to Robin
    cust = await customer(server.url)
    conversation_id = (await cust.ok("start_conversation", {"name": "Casey"}))["conversation"]["id"]
    keys = RedisKeys(server.settings.redis_prefix)

    async def fanout() -> str:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/readyz") as r:
                return str((await r.json())["checks"]["fanout"])

    async def assigned() -> bool:
        client = redis.Redis.from_url(valkey.url)
        try:
            return bool(await client.hexists(keys.assignments(), conversation_id))
        finally:
            await client.aclose()

    assert await assigned()
    assert valkey.pid is not None
    os.kill(valkey.pid, signal.SIGKILL)
    await eventually(lambda: _is(fanout, "unavailable: resubscribing"))
    await asyncio.to_thread(valkey.restart)  # empty: no persistence
    # Nothing is sent meanwhile: only the fan-out's recovery can start the reconciliation
    # this soon (its interval is 30 s).
    assert server.settings.reconcile_seconds == 30.0
    await eventually(assigned, timeout=3)
    assert await fanout() == "ok"
    await staff.close()
    await cust.close()


async def _is(probe, expected: str) -> bool:  # type: ignore[no-untyped-def]
    return bool(await probe() == expected)
