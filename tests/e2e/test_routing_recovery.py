"""Routing survives Redis losing its data: reconciliation rebuilds the lines, the loads and the
assignments from PostgreSQL, and re-arms the deadlines that lived only in Redis (grace periods,
unanswered chats, abandonment), so no conversation is stranded."""

from __future__ import annotations

import time
import uuid

import asyncpg
import pytest

from server.api.keys import SERVICES
from server.config import Settings
from tests.e2e.routing_support import assignee, eventually, online_agent, waiting_customer
from tests.support import RunningServer, start_server


@pytest.fixture
def server_options() -> dict[str, object]:
    return {
        "reconcile_seconds": 0.5,
        "routing_tick_seconds": 0.1,
        "agent_grace_seconds": 1.5,
        "unanswered_seconds": 0,
        "abandon_seconds": 1.0,
        "presence_heartbeat_seconds": 0.5,
        "presence_ttl_seconds": 3.0,
    }


async def wipe_redis(server: RunningServer) -> None:
    """Redis loses everything this server had in it (a restart without persistence)."""
    redis = server.app[SERVICES].redis
    keys = [k async for k in redis.scan_iter(match=f"{server.settings.redis_prefix}*")]
    if keys:
        await redis.delete(*keys)


async def timer_pending(server: RunningServer, kind: str, subject: object) -> bool:
    return await server.app[SERVICES].timers.pending(kind, subject)


async def conversation_row(server: RunningServer, conversation_id: str) -> asyncpg.Record:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        return await conn.fetchrow(
            "SELECT status, waiting, assigned_agent_id FROM conversations WHERE id = $1",
            uuid.UUID(conversation_id),
        )
    finally:
        await conn.close()


async def open_assigned_to(server: RunningServer, agent_id: uuid.UUID) -> list[str]:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT id FROM conversations WHERE assigned_agent_id = $1 AND status = 'open' ORDER BY queued_at",
            agent_id,
        )
    finally:
        await conn.close()
    return [str(r["id"]) for r in rows]


async def test_lines_and_loads_are_rebuilt_and_routing_continues(server: RunningServer) -> None:
    agent_id, _, staff = await online_agent(server, "A", max_chats=2)
    customers = [await waiting_customer(server) for _ in range(4)]
    assert await eventually(lambda: _has(open_assigned_to(server, agent_id), 2))
    await wipe_redis(server)
    redis = server.app[SERVICES].redis
    prefix = server.settings.redis_prefix

    async def rebuilt() -> bool:
        lines = [
            k
            async for k in redis.scan_iter(match=f"{prefix}routing:queue:*")
            if not k.endswith(b":positions")
        ]
        if not lines:
            return False
        load = await redis.hget(f"{prefix}routing:agent:{agent_id}", "load")
        return await redis.zcard(lines[0]) == 2 and load is not None and int(load) == 2

    assert await eventually(rebuilt, timeout=5)
    first = (await open_assigned_to(server, agent_id))[0]
    await staff.ok("resolve", {"conversation_id": first})
    # The freed seat goes to the next in line, from the rebuilt line.
    assert await eventually(lambda: _has(open_assigned_to(server, agent_id), 2, without=first))
    await staff.close()
    for cust, _ in customers:
        await cust.close()


async def _has(found, count: int, without: str | None = None) -> bool:
    ids = await found
    return len(ids) == count and without not in ids


async def test_a_grace_period_lost_with_redis_still_ends(server: RunningServer) -> None:
    agent_id, _, staff = await online_agent(server, "Gone", max_chats=1)
    cust, conversation_id = await waiting_customer(server)
    assert await eventually(lambda: assignee(server, conversation_id)) == agent_id
    await staff.close()  # the agent vanishes: the grace period starts
    assert await eventually(lambda: timer_pending(server, "grace", agent_id))
    await wipe_redis(server)  # ... and Redis forgets it
    # Re-armed from PostgreSQL (an offline agent holding a chat), it ends: back in line.
    row = await eventually(lambda: _requeued(server, conversation_id), timeout=8)
    assert row["status"] == "open" and row["assigned_agent_id"] is None
    await cust.log.wait_for("conversation_updated", lambda e: e["reason"] == "requeued", timeout=5)
    await cust.close()


async def _requeued(server: RunningServer, conversation_id: str) -> asyncpg.Record | None:
    row = await conversation_row(server, conversation_id)
    return row if row["waiting"] else None


async def test_an_unanswered_deadline_lost_with_redis_still_fires(settings: Settings) -> None:
    running = await start_server(
        settings.with_overrides(
            reconcile_seconds=0.5, routing_tick_seconds=0.1, unanswered_seconds=2.0,
            presence_heartbeat_seconds=0.5, presence_ttl_seconds=3.0,
        )
    )  # fmt: skip
    try:
        silent_id, _, silent = await online_agent(running, "Silent", max_chats=1)
        cust, conversation_id = await waiting_customer(running)
        assert await eventually(lambda: assignee(running, conversation_id)) == silent_id
        await wipe_redis(running)
        # Re-armed from the assignment's time; it still fires, and the chat goes elsewhere.
        helpful_id, _, helpful = await online_agent(running, "Helpful", max_chats=1)
        told = await silent.log.wait_for(
            "unassigned", lambda e: e["reason"] == "unanswered", timeout=8
        )
        assert told[0]["conversation_id"] == conversation_id
        assert await eventually(lambda: assignee(running, conversation_id)) == helpful_id
        for client in (silent, helpful, cust):
            await client.close()
    finally:
        await running.stop()


async def test_a_re_armed_deadline_never_moves_a_chat_that_was_answered(settings: Settings) -> None:
    running = await start_server(
        settings.with_overrides(
            routing_tick_seconds=0.1, unanswered_seconds=60.0, reconcile_seconds=3600
        )
    )
    try:
        agent_id, _, staff = await online_agent(running, "Quick", max_chats=1)
        cust, conversation_id = await waiting_customer(running)
        assert await eventually(lambda: assignee(running, conversation_id)) == agent_id
        await staff.ok(
            "send_message", {"conversation_id": conversation_id, "client_id": "a1", "body": "Hi!"}
        )
        # A deadline re-armed a moment before the reply landed comes due now.
        subject = f"{conversation_id}/{agent_id}"
        await running.app[SERVICES].timers.ensure("unanswered", subject, time.time())
        assert await eventually(lambda: _not(timer_pending(running, "unanswered", subject)))
        assert await assignee(running, conversation_id) == agent_id
        assert staff.log.of("unassigned") == []
        await staff.close()
        await cust.close()
    finally:
        await running.stop()


async def _not(check) -> bool:
    return not await check


async def test_an_abandonment_lost_with_redis_still_happens(server: RunningServer) -> None:
    cust, conversation_id = await waiting_customer(server)
    await cust.close()  # the customer leaves while waiting
    assert await eventually(lambda: timer_pending(server, "abandon", conversation_id))
    await wipe_redis(server)
    row = await eventually(lambda: _abandoned(server, conversation_id), timeout=8)
    assert row["waiting"] is False and row["assigned_agent_id"] is None


async def _abandoned(server: RunningServer, conversation_id: str) -> asyncpg.Record | None:
    row = await conversation_row(server, conversation_id)
    return row if row["status"] == "abandoned" else None
