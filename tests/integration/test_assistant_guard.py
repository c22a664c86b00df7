"""The one-owner rule in PostgreSQL: a guarded post of the assistant and an assignment take the
same row lock, so whichever commits first wins, and the assistant never posts after a person
was assigned, even with the answer already written."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from server.core.errors import NotOwner
from server.core.models import Owner, SenderKind, Visibility
from server.store import customers
from server.store import messages as message_store
from server.store import routing as routing_store
from server.store.db import create_pool
from server.store.messages import PostGuard
from tests.e2e.routing_support import eventually


@pytest_asyncio.fixture
async def pool(clean_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(clean_database, min_size=2, max_size=4)
    yield pool
    await pool.close()


async def _conversation(pool: asyncpg.Pool, run: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    async with pool.acquire() as conn:
        agent = await conn.fetchval(
            "INSERT INTO agents (email, display_name, password_hash) VALUES ($1, 'A', 'h') RETURNING id",
            f"{uuid.uuid4().hex[:8]}@example.test",
        )
        customer_id = uuid.uuid4()
        await customers.upsert(conn, customer_id, name=None, email=None, attributes={})
        conversation = await conn.fetchval(
            """
            INSERT INTO conversations (customer_id, waiting, queued_at, owner, assistant_run, assistant_run_at)
            VALUES ($1, true, now(), 'assistant', $2, now()) RETURNING id
            """,
            customer_id,
            run,
        )
    return conversation, agent


async def _answer(
    conn: asyncpg.Connection, conversation: uuid.UUID, run: uuid.UUID
) -> message_store.PostResult:
    return await message_store.post(
        conn, conversation_id=conversation, sender_kind=SenderKind.ASSISTANT, sender_id=None,
        client_id=None, body="The answer [1].", visibility=Visibility.PUBLIC, metadata={},
        attachment_ids=[], guard=PostGuard((str(Owner.ASSISTANT),), run),
    )  # fmt: skip


async def _count(pool: asyncpg.Pool, conversation: uuid.UUID) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval(
            "SELECT count(*) FROM messages WHERE conversation_id = $1", conversation
        )


async def test_an_answer_finished_after_the_assignment_is_refused(pool: asyncpg.Pool) -> None:
    run = uuid.uuid4()
    conversation, agent = await _conversation(pool, run)
    assigning = await pool.acquire()
    posting = await pool.acquire()
    try:
        transaction = assigning.transaction()
        await transaction.start()
        assignment = await routing_store.record_assignment(
            assigning, conversation, agent, default_capacity=5
        )
        assert assignment is not None
        assert (assignment.previous_owner, assignment.stopped_run) == (Owner.ASSISTANT, run)
        post = asyncio.create_task(_answer(posting, conversation, run))
        # It waits for the row lock the assignment holds.
        await eventually(lambda: _waiting_on_a_lock(pool, posting))
        assert not post.done()
        await transaction.commit()
        with pytest.raises(NotOwner):
            await post
    finally:
        await pool.release(assigning)
        await pool.release(posting)
    assert await _count(pool, conversation) == 0
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT owner, assistant_run, last_seq FROM conversations WHERE id = $1", conversation
        )
    assert (row["owner"], row["assistant_run"], row["last_seq"]) == ("human", None, 0)


async def test_an_answer_committed_first_comes_before_the_assignment(pool: asyncpg.Pool) -> None:
    run = uuid.uuid4()
    conversation, agent = await _conversation(pool, run)
    posting = await pool.acquire()
    assigning = await pool.acquire()
    try:
        transaction = posting.transaction()
        await transaction.start()
        posted = await _answer(posting, conversation, run)

        async def assign() -> routing_store.Assignment | None:
            async with assigning.transaction():
                return await routing_store.record_assignment(
                    assigning, conversation, agent, default_capacity=5
                )

        assignment = asyncio.create_task(assign())
        await eventually(lambda: _waiting_on_a_lock(pool, assigning))
        assert not assignment.done()
        await transaction.commit()
        assert (await assignment) is not None
    finally:
        await pool.release(posting)
        await pool.release(assigning)
    assert posted.seq == 1 and await _count(pool, conversation) == 1


async def test_a_replaced_answer_or_a_closed_conversation_is_refused(pool: asyncpg.Pool) -> None:
    run, newer = uuid.uuid4(), uuid.uuid4()
    conversation, _ = await _conversation(pool, run)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE conversations SET assistant_run = $2 WHERE id = $1", conversation, newer
        )
        with pytest.raises(NotOwner):
            await _answer(conn, conversation, run)
        assert (await _answer(conn, conversation, newer)).seq == 1
        await conn.execute(
            "UPDATE conversations SET status = 'resolved' WHERE id = $1", conversation
        )
        with pytest.raises(NotOwner):
            await _answer(conn, conversation, newer)
        await conn.execute(
            "UPDATE conversations SET status = 'open', owner = 'queue' WHERE id = $1", conversation
        )
        with pytest.raises(NotOwner):
            await _answer(conn, conversation, newer)
    assert await _count(pool, conversation) == 1


async def _waiting_on_a_lock(pool: asyncpg.Pool, conn: asyncpg.Connection) -> bool:
    """PostgreSQL's own word that this connection's statement waits for a lock."""
    async with pool.acquire() as observer:
        waiting = await observer.fetchval(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1",
            conn.get_server_pid(),
        )
    return bool(waiting)
