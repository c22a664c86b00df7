"""The atomic steps of routing against real Redis and PostgreSQL, raced on purpose."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest
import redis.asyncio as redis_asyncio

from server.core.routing import Priority, queue_score
from server.routing.keys import RedisKeys
from server.routing.queue import ClaimResult, RoutingStore
from server.store import customers
from server.store import routing as routing_store
from server.store.db import create_pool


@pytest.fixture
async def store(redis_url: str):
    # A blocking pool, as the server uses: racing callers wait for a connection instead of failing.
    client = redis_asyncio.Redis(
        connection_pool=redis_asyncio.BlockingConnectionPool.from_url(redis_url, max_connections=32)
    )
    keys = RedisKeys(f"atom{uuid.uuid4().hex[:8]}:")
    yield RoutingStore(client, keys, default_capacity=5), client, keys
    await client.aclose()


async def _online(client, keys: RedisKeys, agent: uuid.UUID) -> None:
    await client.hset(keys.agent_status(agent), mapping={"effective": "online"})


async def test_racing_claims_never_exceed_capacity_or_double_assign(store) -> None:
    routing, client, keys = store
    team, agents = uuid.uuid4(), [uuid.uuid4() for _ in range(4)]
    for agent in agents:
        await routing.set_agent(agent, capacity=3, team_ids=[team])
        await _online(client, keys, agent)
    conversations = [uuid.uuid4() for _ in range(40)]
    now = datetime.now(UTC)
    for conversation in conversations:
        await routing.enqueue(team, conversation, queue_score(Priority.NORMAL, now))
    # Every agent tries to take every conversation at the same moment.
    attempts = [routing.claim(team, c, a) for c in conversations for a in agents]
    results = await asyncio.gather(*attempts)
    won: dict[uuid.UUID, list[uuid.UUID]] = {}
    for (conversation, agent), result in zip(
        [(c, a) for c in conversations for a in agents], results, strict=True
    ):
        if result is ClaimResult.OK:
            won.setdefault(conversation, []).append(agent)
    assert all(len(winners) == 1 for winners in won.values()), "no conversation assigned twice"
    per_agent = {a: sum(1 for w in won.values() if w[0] == a) for a in agents}
    assert per_agent == {a: 3 for a in agents}, "each agent filled to capacity, never beyond"
    for agent in agents:
        assert await routing.load_of(agent) == (3, 3)
    assert len(await routing.waiting(team)) == 40 - 12


async def test_claims_refuse_offline_and_away_agents(store) -> None:
    routing, client, keys = store
    team, agent = uuid.uuid4(), uuid.uuid4()
    await routing.set_agent(agent, capacity=3, team_ids=[team])
    conversation = uuid.uuid4()
    await routing.enqueue(team, conversation, time.time())
    assert await routing.claim(team, conversation, agent) is ClaimResult.INELIGIBLE
    await client.hset(keys.agent_status(agent), mapping={"effective": "away"})
    assert await routing.claim(team, conversation, agent) is ClaimResult.INELIGIBLE
    await _online(client, keys, agent)
    assert await routing.claim(team, conversation, agent) is ClaimResult.OK
    assert await routing.claim(team, conversation, agent) is ClaimResult.GONE


async def test_a_release_counts_once(store) -> None:
    routing, client, keys = store
    team, agent = uuid.uuid4(), uuid.uuid4()
    await routing.set_agent(agent, capacity=2, team_ids=[team])
    await _online(client, keys, agent)
    conversation = uuid.uuid4()
    await routing.enqueue(team, conversation, time.time())
    assert await routing.claim(team, conversation, agent) is ClaimResult.OK
    results = await asyncio.gather(*(routing.release(conversation, agent) for _ in range(5)))
    assert sum(results) == 1
    assert await routing.load_of(agent) == (0, 2)


async def test_postgres_refuses_assignments_beyond_capacity_even_when_raced(
    clean_database: str,
) -> None:
    pool = await create_pool(clean_database, min_size=1, max_size=10)
    try:
        async with pool.acquire() as conn:
            agent = await conn.fetchval(
                "INSERT INTO agents (email, display_name, password_hash) VALUES ('x@y.z', 'X', 'h') RETURNING id"
            )
            conversation_ids = []
            for _ in range(10):
                customer_id = uuid.uuid4()
                await customers.upsert(conn, customer_id, name=None, email=None, attributes={})
                conversation_ids.append(
                    await conn.fetchval(
                        "INSERT INTO conversations (customer_id, waiting, queued_at) VALUES ($1, true, now()) RETURNING id",
                        customer_id,
                    )
                )

        async def assign(conversation_id: uuid.UUID):
            async with pool.acquire() as conn, conn.transaction():
                return await routing_store.record_assignment(
                    conn, conversation_id, agent, default_capacity=3
                )

        results = await asyncio.gather(*(assign(c) for c in conversation_ids))
        assert sum(1 for r in results if r is not None) == 3
        again = await asyncio.gather(*(assign(c) for c in conversation_ids))
        assert all(r is None for r in again)
    finally:
        await pool.close()


async def test_the_same_conversation_cannot_be_recorded_for_two_agents(clean_database: str) -> None:
    pool = await create_pool(clean_database, min_size=1, max_size=2)
    conn = await pool.acquire()
    try:
        one = await conn.fetchval(
            "INSERT INTO agents (email, display_name, password_hash) VALUES ('a@b.c','A','h') RETURNING id"
        )
        two = await conn.fetchval(
            "INSERT INTO agents (email, display_name, password_hash) VALUES ('d@e.f','D','h') RETURNING id"
        )
        customer_id = uuid.uuid4()
        await customers.upsert(conn, customer_id, name=None, email=None, attributes={})
        conversation = await conn.fetchval(
            "INSERT INTO conversations (customer_id, waiting, queued_at) VALUES ($1, true, now()) RETURNING id",
            customer_id,
        )
        async with conn.transaction():
            first = await routing_store.record_assignment(
                conn, conversation, one, default_capacity=3
            )
        assert first is not None and first.agent_name == "A" and first.customer.id == customer_id
        assert (first.conversation.assigned_agent_id, first.conversation.waiting) == (one, False)
        async with conn.transaction():
            assert (
                await routing_store.record_assignment(conn, conversation, two, default_capacity=3)
                is None
            )
        # One history row, for the assignment that happened, with how long it waited.
        rows = await conn.fetch(
            "SELECT kind, agent_id, wait_seconds FROM assignment_events WHERE conversation_id = $1",
            conversation,
        )
        assert [(r["kind"], r["agent_id"]) for r in rows] == [("assigned", one)] and rows[0][
            "wait_seconds"
        ] >= 0
    finally:
        await pool.release(conn)
        await pool.close()


async def test_a_batch_of_assignments_respects_capacity_within_itself(clean_database: str) -> None:
    pool = await create_pool(clean_database, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            one = await conn.fetchval(
                "INSERT INTO agents (email, display_name, password_hash, max_chats) VALUES ('a@b.c','A','h',2) RETURNING id"
            )
            two = await conn.fetchval(
                "INSERT INTO agents (email, display_name, password_hash) VALUES ('d@e.f','D','h') RETURNING id"
            )
            conversations = []
            for _ in range(4):
                customer_id = uuid.uuid4()
                await customers.upsert(conn, customer_id, name=None, email=None, attributes={})
                conversations.append(
                    await conn.fetchval(
                        "INSERT INTO conversations (customer_id, waiting, queued_at) VALUES ($1, true, now()) RETURNING id",
                        customer_id,
                    )
                )
            pairs = [
                (conversations[0], one),
                (conversations[1], one),
                (conversations[2], one),
                (conversations[3], two),
            ]
            async with conn.transaction():
                made = await routing_store.record_assignments(
                    conn, pairs, default_capacity=5, team_id=None
                )
            # A's third is refused (capacity 2, counting the two made in the same batch).
            assert set(made) == {conversations[0], conversations[1], conversations[3]}
            assert made[conversations[3]].agent_name == "D"
            assert made[conversations[0]].conversation.assigned_agent_id == one
            waiting = await conn.fetchval(
                "SELECT waiting FROM conversations WHERE id = $1", conversations[2]
            )
            events = await conn.fetchval(
                "SELECT count(*) FROM assignment_events WHERE kind = 'assigned'"
            )
            assert waiting is True and events == 3
    finally:
        await pool.close()


async def test_one_snapshot_has_the_line_head_the_agents_and_exclusions(store) -> None:
    routing, client, keys = store
    team = uuid.uuid4()
    online, away, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await routing.set_agent(online, capacity=3, team_ids=[team], load=1)
    await _online(client, keys, online)
    await routing.set_agent(away, capacity=2, team_ids=[team])
    await client.hset(keys.agent_status(away), mapping={"effective": "away"})
    await client.sadd(keys.team_members(team), str(unknown))  # a member Redis knows nothing else of
    now = datetime.now(UTC)
    line = [uuid.uuid4() for _ in range(4)]
    for index, conversation in enumerate(line):
        await routing.enqueue(team, conversation, queue_score(Priority.NORMAL, now) + index)
    await routing.exclude(line[1], online, 60)

    snapshot = await routing.snapshot(team, 3)
    assert snapshot.heads == line[:3]
    by_agent = {c.agent_id: c for c in snapshot.candidates}
    assert set(by_agent) == {online, away, unknown}
    assert (by_agent[online].status.value, by_agent[online].load, by_agent[online].capacity) == (
        "online",
        1,
        3,
    )
    assert (by_agent[away].status.value, by_agent[away].capacity) == ("away", 2)
    assert (by_agent[unknown].status.value, by_agent[unknown].load, by_agent[unknown].capacity) == (
        "offline",
        0,
        5,
    )
    assert snapshot.exclusions == {line[1]: {online}}

    empty = await routing.snapshot(uuid.uuid4(), 3)
    assert (empty.heads, empty.candidates, empty.exclusions) == ([], [], {})
