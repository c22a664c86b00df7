"""The message write path against real PostgreSQL: gap-free sequences under concurrency,
idempotent retries, and rollback leaving no trace."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from server.core.errors import ParleyError
from server.core.models import SenderKind, Visibility
from server.store import conversations, customers
from server.store import messages as message_store
from server.store.db import create_pool


@pytest.fixture
async def pool(clean_database: str):
    pool = await create_pool(clean_database, min_size=1, max_size=10)
    yield pool
    await pool.close()


async def _conversation(pool: asyncpg.Pool) -> tuple[uuid.UUID, uuid.UUID]:
    customer_id = uuid.uuid4()
    async with pool.acquire() as conn:
        await customers.upsert(conn, customer_id, name=None, email=None, attributes={})
        conversation = await conversations.create(
            conn, customer_id=customer_id, team_id=None, metadata={}
        )
    return conversation.id, customer_id


async def _post(pool: asyncpg.Pool, conversation_id, customer_id, client_id, body="hi"):
    async with pool.acquire() as conn:
        return await message_store.post(
            conn,
            conversation_id=conversation_id,
            sender_kind=SenderKind.CUSTOMER,
            sender_id=customer_id,
            client_id=client_id,
            body=body,
            visibility=Visibility.PUBLIC,
            metadata={},
            attachment_ids=[],
        )


async def test_concurrent_posts_get_gap_free_sequences(pool: asyncpg.Pool) -> None:
    conversation_id, customer_id = await _conversation(pool)
    results = await asyncio.gather(
        *(_post(pool, conversation_id, customer_id, f"c{i}") for i in range(60))
    )
    assert sorted(r.seq for r in results) == list(range(1, 61))
    async with pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT last_seq FROM conversations WHERE id = $1", conversation_id)
            == 60
        )


async def test_racing_retries_of_one_client_id_make_one_message(pool: asyncpg.Pool) -> None:
    conversation_id, customer_id = await _conversation(pool)
    results = await asyncio.gather(
        *(_post(pool, conversation_id, customer_id, "same") for _ in range(10))
    )
    assert len({r.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    follow_up = await _post(pool, conversation_id, customer_id, "next")
    assert follow_up.seq == 2  # no sequence number was burnt by the losers


async def test_a_failed_post_rolls_back_its_sequence(pool: asyncpg.Pool) -> None:
    conversation_id, customer_id = await _conversation(pool)
    async with pool.acquire() as conn:
        with pytest.raises(ParleyError):
            await message_store.post(
                conn,
                conversation_id=conversation_id,
                sender_kind=SenderKind.CUSTOMER,
                sender_id=customer_id,
                client_id="bad",
                body="x",
                visibility=Visibility.PUBLIC,
                metadata={},
                attachment_ids=[uuid.uuid4()],
            )
        assert await conn.fetchval("SELECT count(*) FROM messages") == 0
    assert (await _post(pool, conversation_id, customer_id, "good")).seq == 1


async def test_a_customer_message_reopens_a_resolved_conversation(pool: asyncpg.Pool) -> None:
    conversation_id, customer_id = await _conversation(pool)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE conversations SET status = 'resolved', resolved_at = now() WHERE id = $1",
            conversation_id,
        )
    result = await _post(pool, conversation_id, customer_id, "back")
    assert result.reopened and result.status == "open"
