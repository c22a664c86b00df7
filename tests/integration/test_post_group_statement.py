"""Groups of posts stored by one set-based statement (parley_post_group) against real
PostgreSQL: the answers are those parley_post gives post by post, and whatever is unusual (a
retry, a repeated client id, a refusal, a conflict, a reopen) is decided by parley_post while
the rest of the group is stored."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg
import msgspec

from server.core import policies
from server.core.errors import ErrorCode, ParleyError
from server.core.models import (
    AgentPrincipal,
    AgentRole,
    Conversation,
    CustomerPrincipal,
    Principal,
    Visibility,
)
from server.store import conversations, customers
from server.store import messages as message_store
from server.store.messages import PostResult
from server.store.post_groups import PostGroups, PostRequest, post_one
from tests.integration.test_post_statement import _agent, _conversation


def _request(
    who: Principal,
    conversation_id: uuid.UUID,
    client_id: str | None,
    visibility: Visibility = Visibility.PUBLIC,
) -> PostRequest:
    return PostRequest(
        conversation_id=conversation_id,
        sender_kind=who.kind,
        sender_id=who.id,
        client_id=client_id,
        body=f"message {client_id}",
        visibility=visibility,
        metadata={"n": client_id},
        scope=policies.view_scope(who),
    )


async def _post_in_one_group(
    groups: PostGroups, requests: Sequence[PostRequest]
) -> list[PostResult | BaseException]:
    """Send all the requests while nothing else is in flight: they share one group."""
    return await asyncio.gather(*(groups.post(r) for r in requests), return_exceptions=True)


async def _stored(conn: asyncpg.Connection, conversation_id: uuid.UUID) -> list[tuple[int, str]]:
    rows = await conn.fetch(
        "SELECT seq, client_id FROM messages WHERE conversation_id = $1 ORDER BY seq",
        conversation_id,
    )
    return [(r["seq"], r["client_id"]) for r in rows]


def _outcome(answer: PostResult | BaseException) -> ErrorCode | tuple[bool, int]:
    if isinstance(answer, ParleyError):
        return answer.code
    assert isinstance(answer, PostResult), answer
    return answer.created, answer.seq


async def _customer(conn: asyncpg.Connection, name: str | None = "Ann") -> CustomerPrincipal:
    customer = CustomerPrincipal(uuid.uuid4())
    await customers.upsert(conn, customer.customer_id, name=name, email=None, attributes={})
    return customer


def _check_answers(
    before: dict[uuid.UUID, Conversation],
    requests: Sequence[PostRequest],
    answers: Sequence[PostResult | BaseException],
    names: dict[uuid.UUID, str | None],
) -> None:
    """What parley_post answers post after post: each post's conversation as it was just
    before it (the posts before it in the group counted), its seq next in line."""
    last: dict[uuid.UUID, tuple[int, datetime | None]] = {
        cid: (c.last_seq, c.last_message_at) for cid, c in before.items()
    }
    for request, answer in zip(requests, answers, strict=True):
        assert isinstance(answer, PostResult)
        cid = request.conversation_id
        seq, message_at = last[cid]
        original = before[cid]
        assert (answer.seq, answer.created, answer.status, answer.reopened) == (
            seq + 1,
            True,
            "open",
            False,
        )
        updated_at = max(original.updated_at, message_at or original.updated_at)
        assert answer.conversation == msgspec.structs.replace(
            original, last_seq=seq, last_message_at=message_at, updated_at=updated_at
        )
        expected_name = names[original.customer_id] if request.sender_kind == "customer" else None
        assert answer.customer_name == expected_name
        last[cid] = (answer.seq, answer.created_at)


async def _scenario(conn: asyncpg.Connection) -> tuple[list[PostRequest], dict, dict, uuid.UUID]:
    """Three conversations, posts by their customers and an agent, several per conversation."""
    agent = AgentPrincipal(await _agent(conn, "helper"), AgentRole.AGENT, "helper", frozenset())
    people = [await _customer(conn, name) for name in ("Ann", None, "Bo")]
    convs = [await _conversation(conn, p.customer_id, assignee=agent.agent_id) for p in people]
    # One of them has history: its seq, cursor and activity time go on from there.
    await message_store.post(
        conn,
        conversation_id=convs[2].id,
        sender_kind=people[2].kind,
        sender_id=people[2].id,
        client_id="earlier",
        body="hi",
        visibility=Visibility.PUBLIC,
        metadata={},
        attachment_ids=[],
    )
    before = {c.id: await conversations.get(conn, c.id) for c in convs}
    a, b, c = (conv.id for conv in convs)
    requests = [
        _request(people[0], a, "a1"),
        _request(agent, a, "a2", Visibility.INTERNAL),
        _request(people[0], a, "a3"),
        _request(people[1], b, "b1"),
        _request(agent, b, "b2"),
        _request(people[2], c, "c1"),
        _request(people[2], c, None),
    ]
    names = {p.customer_id: name for p, name in zip(people, ("Ann", None, "Bo"), strict=True)}
    return requests, before, names, agent.agent_id


async def test_a_set_based_group_answers_as_parley_post_one_by_one(pool: asyncpg.Pool) -> None:
    groups = PostGroups(pool)
    async with pool.acquire() as conn:
        together, before_together, names, agent_id = await _scenario(conn)
        one_by_one, before_one_by_one, more_names, _ = await _scenario(conn)
    ordered = sorted(together, key=lambda r: r.conversation_id.bytes)  # as the group sends them
    answers = await _post_in_one_group(groups, ordered)
    assert (groups.statements, groups.stored_together) == (1, len(together))
    _check_answers(before_together, ordered, answers, names)
    # The same posts through parley_post, one statement each, answer alike.
    async with pool.acquire() as conn:
        singles: list[PostResult | BaseException] = []
        for r in sorted(one_by_one, key=lambda r: r.conversation_id.bytes):
            singles.append(await post_one(conn, r))
        _check_answers(
            before_one_by_one,
            sorted(one_by_one, key=lambda r: r.conversation_id.bytes),
            singles,
            more_names,
        )
        # And both left the same rows behind: messages, counters, cursors, first responses.
        for requests in (together, one_by_one):
            a, b, c = dict.fromkeys(r.conversation_id for r in requests)
            assert await _stored(conn, a) == [(1, "a1"), (2, "a2"), (3, "a3")]
            assert await _stored(conn, b) == [(1, "b1"), (2, "b2")]
            assert await _stored(conn, c) == [(1, "earlier"), (2, "c1"), (3, None)]
            rows = await conn.fetch(
                """SELECT c.id, c.last_seq, c.first_response_at IS NOT NULL AS answered,
                          c.last_message_at = max(m.created_at) AS active
                     FROM conversations c JOIN messages m ON m.conversation_id = c.id
                    WHERE c.id = ANY ($1::uuid[]) GROUP BY c.id""",
                [a, b, c],
            )
            # Only b had a public answer from the agent (a's was internal).
            assert {r["id"]: (r["last_seq"], r["answered"], r["active"]) for r in rows} == {
                a: (3, False, True),
                b: (2, True, True),
                c: (3, False, True),
            }
            cursors = await conn.fetch(
                """SELECT conversation_id, reader_kind, delivered_seq, read_seq
                     FROM read_cursors WHERE conversation_id = ANY ($1::uuid[])""",
                [a, b, c],
            )
            assert sorted((r["conversation_id"], r["reader_kind"], r["delivered_seq"],
                           r["read_seq"]) for r in cursors) == sorted([
                (a, "customer", 3, 3), (a, "agent", 2, 2), (b, "customer", 1, 1),
                (b, "agent", 2, 2), (c, "customer", 3, 3),
            ])  # fmt: skip
        metadata = await conn.fetchval(
            "SELECT metadata FROM messages WHERE client_id = 'a2' AND sender_id = $1 LIMIT 1",
            agent_id,
        )
        assert metadata == {"n": "a2"}


async def test_retries_and_repeats_go_to_parley_post_and_the_rest_is_stored_together(
    pool: asyncpg.Pool,
) -> None:
    groups = PostGroups(pool)
    async with pool.acquire() as conn:
        ann, bo, cy = [await _customer(conn) for _ in range(3)]
        a, b, c = [(await _conversation(conn, who.customer_id)).id for who in (ann, bo, cy)]
    (earlier,) = await _post_in_one_group(groups, [_request(ann, a, "old")])
    assert isinstance(earlier, PostResult) and earlier.created
    requests = sorted(
        [
            _request(ann, a, "old"),  # a retry of a message from an earlier group
            _request(ann, a, "a-new"),
            _request(bo, b, "twice"),  # the same client id twice in this group
            _request(bo, b, "twice"),
            _request(cy, c, "c1"),
            _request(cy, c, "c2"),
        ],
        key=lambda r: r.conversation_id.bytes,
    )
    answers = await _post_in_one_group(groups, requests)
    assert groups.stored_together == 2  # c's two posts; a's and b's went one by one
    by_client: dict[tuple[uuid.UUID, str | None], list[PostResult]] = {}
    for request, answer in zip(requests, answers, strict=True):
        assert isinstance(answer, PostResult)
        by_client.setdefault((request.conversation_id, request.client_id), []).append(answer)
    (retry,) = by_client[a, "old"]
    assert (retry.created, retry.id, retry.seq) == (False, earlier.id, earlier.seq)
    assert [(r.created, r.seq) for r in by_client[a, "a-new"]] == [(True, 2)]
    first, again = by_client[b, "twice"]
    assert (first.created, again.created) == (True, False)
    assert (again.id, again.seq) == (first.id, first.seq) and first.seq == 1
    assert [(r.created, r.seq) for r in by_client[c, "c1"] + by_client[c, "c2"]] == [
        (True, 1),
        (True, 2),
    ]
    async with pool.acquire() as conn:
        assert await _stored(conn, a) == [(1, "old"), (2, "a-new")]
        assert await _stored(conn, b) == [(1, "twice")]
        assert await _stored(conn, c) == [(1, "c1"), (2, "c2")]


async def test_a_refusal_or_a_conflict_fails_alone(pool: asyncpg.Pool) -> None:
    groups = PostGroups(pool)
    async with pool.acquire() as conn:
        ann, bo, stranger = [await _customer(conn) for _ in range(3)]
        a = (await _conversation(conn, ann.customer_id)).id
        a_other = (await _conversation(conn, ann.customer_id)).id
        b = (await _conversation(conn, bo.customer_id)).id
    (used,) = await _post_in_one_group(groups, [_request(ann, a_other, "used")])
    assert isinstance(used, PostResult)
    requests = sorted(
        [
            _request(ann, a, "a1"),
            _request(stranger, a, "intruder"),  # may not see a: not_found, nothing stored
            _request(ann, a, "used"),  # used in a_other already: a conflict
            _request(ann, a, "a2"),
            _request(bo, b, "b1"),
            _request(bo, b, "b2"),
        ],
        key=lambda r: r.conversation_id.bytes,
    )
    answers = await _post_in_one_group(groups, requests)
    outcome = {r.client_id: _outcome(answer) for r, answer in zip(requests, answers, strict=True)}
    assert outcome == {
        "a1": (True, 1),
        "intruder": ErrorCode.NOT_FOUND,
        "used": ErrorCode.CONFLICT,
        "a2": (True, 2),
        "b1": (True, 1),
        "b2": (True, 2),
    }
    assert groups.stored_together == 2
    async with pool.acquire() as conn:
        assert await _stored(conn, a) == [(1, "a1"), (2, "a2")]
        assert await _stored(conn, b) == [(1, "b1"), (2, "b2")]
        assert await _stored(conn, a_other) == [(1, "used")]
        assert await conn.fetchval("SELECT last_seq FROM conversations WHERE id = $1", a) == 2


async def test_a_customer_reopens_a_resolved_conversation_inside_a_group(
    pool: asyncpg.Pool,
) -> None:
    groups = PostGroups(pool)
    async with pool.acquire() as conn:
        agent = AgentPrincipal(await _agent(conn, "a"), AgentRole.AGENT, "a", frozenset())
        ann, bo = await _customer(conn), await _customer(conn)
        a = (await _conversation(conn, ann.customer_id, assignee=agent.agent_id)).id
        b = (await _conversation(conn, bo.customer_id)).id
        await conn.execute(
            "UPDATE conversations SET status = 'resolved', resolved_at = now() WHERE id = $1", a
        )
        resolved = await conversations.get(conn, a)
    requests = sorted(
        [
            _request(agent, a, "note"),  # an agent's post leaves it resolved
            _request(ann, a, "back"),  # the customer's reopens it
            _request(ann, a, "more"),
            _request(bo, b, "b1"),
        ],
        key=lambda r: r.conversation_id.bytes,
    )
    answers = dict(
        zip(
            (r.client_id for r in requests), await _post_in_one_group(groups, requests), strict=True
        )
    )
    note, back, more = answers["note"], answers["back"], answers["more"]
    assert isinstance(note, PostResult) and isinstance(back, PostResult)
    assert isinstance(more, PostResult) and resolved is not None
    assert (note.status, note.reopened, note.conversation) == ("resolved", False, resolved)
    assert (back.seq, back.status, back.reopened) == (2, "open", True)
    assert back.conversation.status == "resolved"
    assert (more.seq, more.reopened, more.conversation.status) == (3, False, "open")
    assert more.conversation.resolved_at is None
    assert groups.stored_together == 1  # b's post
    async with pool.acquire() as conn:
        after = await conversations.get(conn, a)
        assert after is not None and (after.status, after.resolved_at) == ("open", None)
        assert await _stored(conn, a) == [(1, "note"), (2, "back"), (3, "more")]
