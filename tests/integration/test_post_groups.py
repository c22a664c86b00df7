"""Group commit (store/post_groups.py) against real PostgreSQL: posts that share a statement
keep their order and gap-free sequences, a repeated client id is a duplicate, and a refused
post fails alone while the others are stored."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from server.core import policies
from server.core.errors import ErrorCode, ParleyError
from server.core.models import CustomerPrincipal, SenderKind, Visibility
from server.store import conversations, customers
from server.store.db import create_pool
from server.store.messages import PostResult
from server.store.post_groups import PostGroups, PostRequest


async def _visitor(pool: asyncpg.Pool) -> tuple[CustomerPrincipal, uuid.UUID]:
    customer = CustomerPrincipal(uuid.uuid4())
    async with pool.acquire() as conn:
        await customers.upsert(conn, customer.customer_id, name="Ann", email=None, attributes={})
        conversation = await conversations.create(
            conn, customer_id=customer.customer_id, team_id=None, metadata={}
        )
    return customer, conversation.id


def _request(customer: CustomerPrincipal, conversation_id: uuid.UUID, client_id: str):
    return PostRequest(
        conversation_id=conversation_id,
        sender_kind=SenderKind.CUSTOMER,
        sender_id=customer.customer_id,
        client_id=client_id,
        body=f"message {client_id}",
        visibility=Visibility.PUBLIC,
        metadata={},
        scope=policies.view_scope(customer),
    )


async def _stored(pool: asyncpg.Pool, conversation_id: uuid.UUID) -> list[tuple[int, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT seq, client_id FROM messages WHERE conversation_id = $1 ORDER BY seq",
            conversation_id,
        )
    return [(r["seq"], r["client_id"]) for r in rows]


async def test_posts_sharing_statements_keep_their_order_in_every_conversation(
    pool: asyncpg.Pool,
) -> None:
    groups = PostGroups(pool)
    visitors = [await _visitor(pool) for _ in range(3)]
    requests = [
        _request(customer, conversation_id, f"{n}-{i}")
        for i in range(40)
        for n, (customer, conversation_id) in enumerate(visitors)
    ]
    results = await asyncio.gather(*(groups.post(r) for r in requests))
    assert all(r.created for r in results)
    assert groups.posts == len(requests) and groups.statements < len(requests) // 10
    for n, (_, conversation_id) in enumerate(visitors):
        # Each conversation's posts got 1, 2, 3... in the order they were sent.
        assert await _stored(pool, conversation_id) == [(i + 1, f"{n}-{i}") for i in range(40)]
        mine = [
            r
            for r, q in zip(results, requests, strict=True)
            if q.conversation_id == conversation_id
        ]
        assert [r.seq for r in mine] == list(range(1, 41))


async def test_a_client_id_twice_in_one_statement_is_one_message(pool: asyncpg.Pool) -> None:
    groups = PostGroups(pool)
    customer, conversation_id = await _visitor(pool)
    first, again, other = await asyncio.gather(
        groups.post(_request(customer, conversation_id, "same")),
        groups.post(_request(customer, conversation_id, "same")),
        groups.post(_request(customer, conversation_id, "other")),
    )
    assert groups.statements == 1
    assert (first.created, again.created, other.created) == (True, False, True)
    assert (again.id, again.seq) == (first.id, first.seq)
    assert await _stored(pool, conversation_id) == [(1, "same"), (2, "other")]


async def test_a_refused_post_fails_alone(pool: asyncpg.Pool) -> None:
    groups = PostGroups(pool)
    customer, conversation_id = await _visitor(pool)
    stranger, _ = await _visitor(pool)
    answers: list[PostResult | BaseException] = await asyncio.gather(
        groups.post(_request(customer, conversation_id, "a")),
        groups.post(_request(stranger, conversation_id, "intruder")),
        groups.post(_request(customer, conversation_id, "b")),
        return_exceptions=True,
    )
    refused = answers[1]
    assert isinstance(refused, ParleyError) and refused.code is ErrorCode.NOT_FOUND
    stored = [a for a in answers if isinstance(a, PostResult)]
    assert [(a.seq, a.created) for a in stored] == [(1, True), (2, True)]
    assert await _stored(pool, conversation_id) == [(1, "a"), (2, "b")]


async def test_a_closed_pool_answers_everyone_waiting(
    pool: asyncpg.Pool, clean_database: str
) -> None:
    customer, conversation_id = await _visitor(pool)
    closed = await create_pool(clean_database, min_size=1, max_size=1)
    await closed.close()
    groups = PostGroups(closed)
    answers = await asyncio.gather(
        groups.post(_request(customer, conversation_id, "x")),
        groups.post(_request(customer, conversation_id, "y")),
        return_exceptions=True,
    )
    assert [type(a) for a in answers] == [asyncpg.InterfaceError, asyncpg.InterfaceError]
    with pytest.raises(asyncpg.InterfaceError):  # and the next one is not left hanging
        await groups.post(_request(customer, conversation_id, "z"))
    assert await _stored(pool, conversation_id) == []
