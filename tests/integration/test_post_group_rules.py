"""The set-based group statement (parley_post_group) against real PostgreSQL, continued: it
lets post exactly whom the policy lets see, a client id another transaction stores meanwhile
sends the group to parley_post, and its conversation updates stay HOT."""

from __future__ import annotations

import asyncio
import itertools

import asyncpg

from server.core import policies
from server.core.errors import ErrorCode, ParleyError
from server.core.models import AgentPrincipal, AgentRole, Principal, Visibility
from server.store import messages as message_store
from server.store.db import create_pool
from server.store.messages import PostResult
from server.store.post_groups import PostGroups
from tests.integration.test_post_group_statement import (
    _customer,
    _post_in_one_group,
    _request,
    _stored,
)
from tests.integration.test_post_statement import _agent, _conversation, _table_updates, _team
from tests.support import eventually


async def test_the_group_lets_post_exactly_whom_the_policy_lets_see(pool: asyncpg.Pool) -> None:
    """Each principal posts into every kind of conversation in one group: the set-based
    statement stores the allowed ones itself, parley_post refuses the others."""
    groups = PostGroups(pool)
    async with pool.acquire() as conn:
        mine, theirs = await _team(conn, "mine"), await _team(conn, "theirs")
        me, colleague = await _agent(conn, "me"), await _agent(conn, "colleague")
        boss = await _agent(conn, "boss", "admin")
        owner, stranger = await _customer(conn), await _customer(conn)
        o = owner.customer_id
        cases = [
            await _conversation(conn, o),
            await _conversation(conn, o, team_id=mine),
            await _conversation(conn, o, team_id=theirs),
            await _conversation(conn, o, team_id=theirs, assignee=me),
            await _conversation(conn, o, team_id=mine, assignee=colleague),
            await _conversation(conn, o, team_id=theirs, assignee=colleague, joined=me),
        ]
    joined = cases[-1].id
    principals: list[Principal] = [
        owner,
        stranger,
        AgentPrincipal(me, AgentRole.AGENT, "me", frozenset({mine, theirs})),
        AgentPrincipal(me, AgentRole.AGENT, "me", frozenset({mine})),
        AgentPrincipal(me, AgentRole.AGENT, "me", frozenset()),
        AgentPrincipal(colleague, AgentRole.AGENT, "colleague", frozenset()),
        AgentPrincipal(boss, AgentRole.ADMIN, "boss", frozenset()),
    ]
    client_ids = (f"c{i}" for i in itertools.count())
    allowed_total = 0
    for principal in principals:
        before = groups.stored_together
        ordered = sorted(cases, key=lambda c: c.id.bytes)
        answers = await _post_in_one_group(
            groups, [_request(principal, c.id, next(client_ids)) for c in ordered]
        )
        policy = [
            policies.can_view_conversation(
                principal,
                c,
                is_participant=isinstance(principal, AgentPrincipal)
                and principal.agent_id == me
                and c.id == joined,
            )
            for c in ordered
        ]
        decided = []
        for answer in answers:
            if isinstance(answer, ParleyError):
                assert answer.code is ErrorCode.NOT_FOUND
            decided.append(isinstance(answer, PostResult))
        assert decided == policy
        allowed = sum(policy)
        allowed_total += allowed
        # Every allowed post was stored by the set-based statement.
        assert groups.stored_together - before == allowed
    assert 0 < allowed_total < len(principals) * len(cases)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM messages") == allowed_total
        assert await conn.fetchval("SELECT sum(last_seq) FROM conversations") == allowed_total


async def test_a_client_id_stored_meanwhile_by_another_connection(
    pool: asyncpg.Pool, clean_database: str
) -> None:
    """The statement cannot see a post another transaction has not committed yet; the unique
    index makes it wait, refuses it after that commit, and parley_post decides one by one."""
    groups = PostGroups(pool)
    async with pool.acquire() as conn:
        ann = await _customer(conn)
        a = (await _conversation(conn, ann.customer_id)).id
        elsewhere = (await _conversation(conn, ann.customer_id)).id
    others = await create_pool(clean_database, min_size=1, max_size=1)
    try:
        other = await others.acquire()
        transaction = other.transaction()
        await transaction.start()
        await message_store.post(
            other,
            conversation_id=elsewhere,
            sender_kind=ann.kind,
            sender_id=ann.id,
            client_id="raced",
            body="first",
            visibility=Visibility.PUBLIC,
            metadata={},
            attachment_ids=[],
        )
        requests = [_request(ann, a, f"a{i}") for i in range(3)] + [_request(ann, a, "raced")]
        posting = asyncio.ensure_future(_post_in_one_group(groups, requests))

        async def waiting_on_the_other() -> bool:
            # Asked outside the other's transaction, which keeps its first view of the activity.
            async with pool.acquire() as observer:
                waiting = await observer.fetchval(
                    """SELECT count(*) FROM pg_stat_activity
                        WHERE wait_event_type = 'Lock' AND query LIKE '%parley_post_group%'"""
                )
            return bool(waiting)

        try:
            await eventually(waiting_on_the_other)
            await transaction.commit()
        finally:
            await others.release(other)  # rolls back what a failure left open
        answers = await posting
    finally:
        await others.close()
    assert [(a.created, a.seq) for a in answers[:3] if isinstance(a, PostResult)] == [
        (True, 1),
        (True, 2),
        (True, 3),
    ]
    assert isinstance(answers[3], ParleyError) and answers[3].code is ErrorCode.CONFLICT
    assert groups.stored_together == 0
    async with pool.acquire() as conn:
        assert await _stored(conn, a) == [(1, "a0"), (2, "a1"), (3, "a2")]


async def test_grouped_posts_update_the_conversation_rows_in_place(
    pool: asyncpg.Pool, clean_database: str
) -> None:
    groups = PostGroups(pool)
    rounds = 100
    observer = await asyncpg.connect(clean_database)
    async with pool.acquire() as conn:
        people = [await _customer(conn) for _ in range(3)]
        convs = [(await _conversation(conn, p.customer_id)).id for p in people]
        await conn.execute("SELECT pg_stat_force_next_flush()")
        await conn.execute("SELECT 1")  # the flush happens when the session goes idle
    start = {t: await _table_updates(observer, t) for t in ("conversations", "read_cursors")}
    for i in range(rounds):
        requests = [
            _request(p, c, f"{n}-{i}-{j}")
            for n, (p, c) in enumerate(zip(people, convs, strict=True))
            for j in range(2)
        ]
        await _post_in_one_group(groups, sorted(requests, key=lambda r: r.conversation_id.bytes))
    assert groups.stored_together == rounds * 6
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_stat_force_next_flush()")
        await conn.execute("SELECT 1")

    async def counted(table: str, least: int) -> tuple[int, int] | None:
        updates, hot = await _table_updates(observer, table)
        done = (updates - start[table][0], hot - start[table][1])
        return done if done[0] >= least else None

    conversation_updates, conversation_hot = await eventually(
        lambda: counted("conversations", rounds * 3)
    )
    cursor_updates, cursor_hot = await eventually(lambda: counted("read_cursors", (rounds - 1) * 3))
    await observer.close()
    assert conversation_updates == rounds * 3  # one update per conversation per group
    assert cursor_updates == (rounds - 1) * 3  # the first group inserted the cursors
    assert conversation_hot >= conversation_updates * 0.95
    assert cursor_hot >= cursor_updates * 0.95
