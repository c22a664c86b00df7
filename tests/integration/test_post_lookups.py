"""A post's retry lookup is one probe of messages_client_id, in parley_post and in the group
statement alike, read from the plans PostgreSQL ran (auto_explain), and a retry without a
sender id still finds its original."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio

from server.core import policies
from server.core.models import CustomerPrincipal, SenderKind, Visibility
from server.store import conversations, customers
from server.store import messages as message_store
from server.store.db import create_pool
from server.store.post_groups import PostGroups, PostRequest


@pytest_asyncio.fixture
async def pool(clean_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(clean_database, min_size=1, max_size=1)
    yield pool
    await pool.close()


async def _plans_of(conn: asyncpg.Connection, statement: str, *args: object) -> list[str]:
    """The plans of every statement `statement` ran, nested ones included."""
    plans: list[str] = []

    def collect(_: object, message: asyncpg.PostgresLogMessage) -> None:
        plans.append(message.message)

    conn.add_log_listener(collect)
    try:
        await conn.execute(
            """LOAD 'auto_explain';
               SET auto_explain.log_min_duration = 0;
               SET auto_explain.log_nested_statements = on;
               SET client_min_messages = log"""
        )
        await conn.fetch(statement, *args)
    finally:
        await conn.execute("RESET client_min_messages; SET auto_explain.log_min_duration = -1")
        conn.remove_log_listener(collect)
    return plans


def _client_id_probes(plans: list[str]) -> list[str]:
    """The index condition of every scan of messages_client_id."""
    probes = []
    for plan in plans:
        lines = [line.strip() for line in plan.splitlines()]
        for line, condition in itertools.pairwise(lines):
            if "using messages_client_id" in line:
                probes.append(condition)
    return probes


async def test_the_retry_lookup_probes_its_index_on_all_three_columns(pool: asyncpg.Pool) -> None:
    customer = CustomerPrincipal(uuid.uuid4())
    async with pool.acquire() as conn:
        await customers.upsert(conn, customer.customer_id, name="Ann", email=None, attributes={})
        conversation = await conversations.create(
            conn, customer_id=customer.customer_id, team_id=None, metadata={}
        )
        one = await _plans_of(
            conn,
            "SELECT * FROM parley_post($1, 'customer', $2, 'one', 'hi', 'public', '{}'::jsonb,"
            " '{}'::uuid[], NULL, NULL, $2, NULL, NULL)",
            conversation.id,
            customer.customer_id,
        )
        group = await _plans_of(
            conn,
            "SELECT * FROM parley_post_group($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            [conversation.id] * 4,
            ["customer"] * 4,
            [customer.customer_id] * 4,
            [f"g{i}" for i in range(4)],
            ["hi"] * 4,
            ["public"] * 4,
            [{}] * 4,
            [customer.customer_id] * 4,
            [None] * 4,
            [None] * 4,
        )
        assert await conn.fetchval("SELECT last_seq FROM conversations") == 5
    for plans in (one, group):
        probes = _client_id_probes(plans)
        assert probes, plans
        for probe in probes:  # all three columns bound the scan: one entry at most
            assert probe.startswith("Index Cond: ((sender_kind = "), probe
            assert "AND (sender_id = " in probe and "AND (client_id = " in probe, probe


async def test_a_retry_without_a_sender_id_finds_its_original(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        customer_id = uuid.uuid4()
        await customers.upsert(conn, customer_id, name=None, email=None, attributes={})
        conversation = await conversations.create(
            conn, customer_id=customer_id, team_id=None, metadata={}
        )

        async def notice() -> message_store.PostResult:
            return await message_store.post(
                conn,
                conversation_id=conversation.id,
                sender_kind=SenderKind.SYSTEM,
                sender_id=None,
                client_id="notice-1",
                body="the conversation was transferred",
                visibility=Visibility.INTERNAL,
                metadata={},
                attachment_ids=[],
            )

        first, again = await notice(), await notice()
    assert (first.created, again.created) == (True, False)
    assert (again.id, again.seq) == (first.id, first.seq)


async def test_a_group_with_a_sender_less_client_id_goes_through_parley_post(
    pool: asyncpg.Pool,
) -> None:
    """The set statement leaves a client id without a sender to parley_post (its index treats
    two such NULLs as equal); the group's answers are the same."""
    customer = CustomerPrincipal(uuid.uuid4())
    async with pool.acquire() as conn:
        await customers.upsert(conn, customer.customer_id, name=None, email=None, attributes={})
        conversation = await conversations.create(
            conn, customer_id=customer.customer_id, team_id=None, metadata={}
        )
    groups = PostGroups(pool)
    requests = [
        PostRequest(
            conversation_id=conversation.id,
            sender_kind=SenderKind.SYSTEM if i == 0 else SenderKind.CUSTOMER,
            sender_id=None if i == 0 else customer.customer_id,
            client_id=f"c{i}",
            body="hello",
            visibility=Visibility.PUBLIC,
            metadata={},
            scope=None if i == 0 else policies.view_scope(customer),
        )
        for i in range(4)
    ]
    answers = await asyncio.gather(*(groups.post(r) for r in requests))
    assert [(a.created, a.seq) for a in answers] == [(True, 1), (True, 2), (True, 3), (True, 4)]
    assert groups.stored_together == 0
