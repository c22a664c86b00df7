"""Visitors' token versions asked for at once (a storm of reconnects) are read in one query
from the real PostgreSQL, each visitor getting their own version."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from server.store import customers as customer_store
from server.store.visitor_versions import VisitorVersions


async def test_visitors_asking_at_once_share_one_query(pool: asyncpg.Pool) -> None:
    known = [uuid.uuid4() for _ in range(30)]
    unknown = [uuid.uuid4() for _ in range(270)]  # visitors with no row yet: version 0
    async with pool.acquire() as conn:
        for customer_id in known:
            await customer_store.upsert(conn, customer_id, name=None, email=None, attributes={})
        for customer_id in known[:10]:
            await customer_store.bump_token_version(conn, customer_id)
    versions = VisitorVersions(pool)
    asked = known + unknown + known  # the same visitor twice (two tabs) waits for one answer

    answers = await asyncio.gather(*(versions.get(c) for c in asked))

    expected = {c: 1 for c in known[:10]} | {c: 0 for c in known[10:] + unknown}
    assert answers == [expected[c] for c in asked]
    assert versions.queries == 1
    # Remembered: asking again is answered without PostgreSQL.
    assert await versions.get(known[0]) == 1
    assert versions.queries == 1
