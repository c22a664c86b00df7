"""Group commit: posts that arrive while a statement is in flight go together in the next one.

Each statement is one transaction and one WAL flush, whatever it holds, so under load the
messages share them (bench/message_db.py, `grouped`). A caller's answer still comes after the
commit of the statement that stored its message. Posts with attachments or a guard, which
are rare, go on their own (`messages.post`).

A group of _SET_BASED_FROM posts or more is stored by one set-based statement
(parley_post_group, sql/0014): one update per conversation, one insert, one cursor upsert per
sender, instead of a parley_post call per post, about half the PostgreSQL time per message in
large groups (bench/post_parts.py). What it leaves to parley_post (a retry, a refusal, a
reopen...) and smaller groups go through parley_post, post by post, in one statement.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from ..core.models import SenderKind, Visibility
from ..core.policies import ViewScope
from . import messages
from .messages import PostResult

# Rows run in order: parley_post is volatile, so each call sees the ones before it (the same
# client id twice is a duplicate, seqs follow each other).
_POST_GROUP = """
    SELECT p.* FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[],
                           $6::text[], $7::jsonb[], $8::uuid[], $9::uuid[], $10::text[])
                    WITH ORDINALITY AS x(conversation_id, sender_kind, sender_id, client_id,
                                         body, visibility, metadata, viewer_customer,
                                         viewer_agent, viewer_teams, n)
    CROSS JOIN LATERAL parley_post(x.conversation_id, x.sender_kind, x.sender_id, x.client_id,
                                   x.body, x.visibility, x.metadata, '{}'::uuid[], NULL, NULL,
                                   x.viewer_customer, x.viewer_agent,
                                   string_to_array(x.viewer_teams, ',')::uuid[]) AS p
     ORDER BY x.n
"""

_POST_SET = "SELECT * FROM parley_post_group($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
# Below this many posts the set-based statement's fixed cost is more than it saves
# (bench/post_parts.py, µs of PostgreSQL per post: alone ~600 against ~500 per row, about even
# at two, ~170 against ~215 at four).
_SET_BASED_FROM = 4


@dataclass(frozen=True, slots=True)
class PostRequest:
    conversation_id: UUID
    sender_kind: SenderKind
    sender_id: UUID | None
    client_id: str | None
    body: str
    visibility: Visibility
    metadata: dict[str, Any]
    scope: ViewScope | None


Waiting = tuple[PostRequest, asyncio.Future[PostResult]]


class PostGroups:
    """One statement in flight per process; whatever arrives meanwhile waits for the next."""

    def __init__(self, pool: asyncpg.Pool, *, limit: int = 200) -> None:
        self._pool = pool
        self._limit = limit
        self._waiting: list[Waiting] = []
        self._flushing: asyncio.Task[None] | None = None
        self.statements = 0  # statements sent, and the posts they held (for measurements)
        self.posts = 0
        self.stored_together = 0  # posts the set-based statement stored

    async def post(self, request: PostRequest) -> PostResult:
        """Store the message; answers after the commit, as messages.post does."""
        answer: asyncio.Future[PostResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, answer))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        return await answer

    async def _flush(self) -> None:
        try:
            while self._waiting:
                group = self._waiting[: self._limit]
                del self._waiting[: self._limit]
                await self._send(group)
        finally:
            self._flushing = None

    async def _send(self, group: list[Waiting]) -> None:
        # Locks are taken conversation by conversation in id order (each one's posts still in
        # arrival order), so two processes' statements can never wait for each other.
        ordered = sorted(group, key=lambda item: item[0].conversation_id.bytes)
        try:
            async with self._pool.acquire() as conn:
                self.statements += 1
                self.posts += len(ordered)
                left = ordered
                if len(ordered) >= _SET_BASED_FROM:
                    left = await self._send_set_based(conn, ordered)
                if left:
                    await _send_per_post(conn, left)
        except BaseException as exc:
            # The connection failed (or the server is stopping): nobody is left waiting.
            failure = exc if isinstance(exc, Exception) else ConnectionError("post interrupted")
            for _, answer in ordered:
                if not answer.done():
                    answer.set_exception(failure)
            if not isinstance(exc, Exception):
                raise

    async def _send_set_based(
        self, conn: asyncpg.Connection, group: list[Waiting]
    ) -> list[Waiting]:
        """Store what the set-based statement can; answer those, return the others."""
        try:
            rows = await _post_set(conn, [request for request, _ in group])
        except asyncpg.PostgresError:
            # A client id another process stored meanwhile (the unique index refused the
            # insert, the statement rolled back): parley_post answers with the original.
            return group
        left = []
        for (request, answer), row in zip(group, rows, strict=True):
            if not row["done"]:
                left.append((request, answer))
            elif not answer.done():
                self.stored_together += 1
                answer.set_result(messages.result_of(request.conversation_id, row))
        return left


async def _send_per_post(conn: asyncpg.Connection, group: list[Waiting]) -> None:
    """parley_post for each post, in one statement; one by one when one of them is refused."""
    if len(group) > 1:
        try:
            rows = await _post_group(conn, [request for request, _ in group])
        except asyncpg.PostgresError:
            pass  # one of them was refused and the statement rolled back: one by one
        else:
            for (request, answer), row in zip(group, rows, strict=True):
                if not answer.done():
                    answer.set_result(messages.result_of(request.conversation_id, row))
            return
    for request, answer in group:
        try:
            result = await post_one(conn, request)
        except Exception as exc:
            if not answer.done():
                answer.set_exception(exc)
        else:
            if not answer.done():
                answer.set_result(result)


async def post_one(conn: asyncpg.Connection, request: PostRequest) -> PostResult:
    """One request through `parley_post` on its own statement (what a group falls back to)."""
    return await messages.post(
        conn,
        conversation_id=request.conversation_id,
        sender_kind=request.sender_kind,
        sender_id=request.sender_id,
        client_id=request.client_id,
        body=request.body,
        visibility=request.visibility,
        metadata=request.metadata,
        attachment_ids=[],
        scope=request.scope,
    )


async def _post_group(conn: asyncpg.Connection, group: list[PostRequest]) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(_POST_GROUP, *_columns(group))
    return rows


async def _post_set(conn: asyncpg.Connection, group: list[PostRequest]) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(_POST_SET, *_columns(group))
    return rows


def _columns(group: list[PostRequest]) -> tuple[list[Any], ...]:
    """The posts as one array per field, as both statements take them."""
    scopes = [request.scope for request in group]
    return (
        [r.conversation_id for r in group],
        [str(r.sender_kind) for r in group],
        [r.sender_id for r in group],
        [r.client_id for r in group],
        [r.body for r in group],
        [str(r.visibility) for r in group],
        [r.metadata for r in group],
        [s.customer_id if s else None for s in scopes],
        [s.agent_id if s else None for s in scopes],
        [",".join(str(t) for t in s.team_ids) if s and s.agent_id else None for s in scopes],
    )
