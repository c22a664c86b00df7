"""Messages: posting through parley_post and reading history by sequence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from ..core.errors import ErrorCode, NotOwner, ParleyError
from ..core.models import Conversation, Message, SenderKind, Visibility
from ..core.policies import ViewScope
from .rows import to_struct, to_structs

# SQLSTATEs raised by parley_post (sql/0011_post_in_one_statement.sql).
_SQLSTATE_ERRORS = {
    "PL404": (ErrorCode.NOT_FOUND, "conversation not found"),
    "PL409": (ErrorCode.CONFLICT, "this client_id was already used in another conversation"),
    "PL422": (ErrorCode.VALIDATION_FAILED, "attachment not found, not yours, or already sent"),
}


_POST = "SELECT * FROM parley_post($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
_CONVERSATION_FIELDS = tuple(f"c_{name}" for name in Conversation.__struct_fields__ if name != "id")


@dataclass(frozen=True, slots=True)
class PostGuard:
    """Post only while the conversation is open and owned by one of `owners` (and, with `run`,
    while that answer is still the one in flight); checked under the row lock."""

    owners: tuple[str, ...]
    run: UUID | None = None


@dataclass(frozen=True, slots=True)
class PostResult:
    id: UUID
    seq: int
    created_at: datetime
    created: bool  # False when the client id was seen before: this is the original
    status: str
    reopened: bool
    customer_name: str | None  # the sender's name when a customer posts
    conversation: Conversation  # as it was before the post


async def post(
    conn: asyncpg.Connection,
    *,
    conversation_id: UUID,
    sender_kind: SenderKind,
    sender_id: UUID | None,
    client_id: str | None,
    body: str,
    visibility: Visibility,
    metadata: dict[str, Any],
    attachment_ids: list[UUID],
    guard: PostGuard | None = None,
    scope: ViewScope | None = None,
) -> PostResult:
    """Store a message in one statement. With a scope, a conversation outside it is not_found
    and nothing is stored (checked under the conversation's row lock)."""
    args = (
        conversation_id,
        str(sender_kind),
        sender_id,
        client_id,
        body,
        str(visibility),
        metadata,
        attachment_ids,
        list(guard.owners) if guard else None,
        guard.run if guard else None,
        scope.customer_id if scope else None,
        scope.agent_id if scope else None,
        list(scope.team_ids) if scope and scope.agent_id else None,
    )
    try:
        try:
            row = await conn.fetchrow(_POST, *args)
        except asyncpg.UniqueViolationError:
            # A concurrent retry with the same client id won; its row is the answer.
            row = await conn.fetchrow(_POST, *args)
    except asyncpg.PostgresError as exc:
        if getattr(exc, "sqlstate", "") == "PL412":
            raise NotOwner() from exc
        mapped = _SQLSTATE_ERRORS.get(getattr(exc, "sqlstate", "") or "")
        if mapped is None:
            raise
        raise ParleyError(*mapped) from exc
    assert row is not None
    return result_of(conversation_id, row)


def result_of(conversation_id: UUID, row: asyncpg.Record) -> PostResult:
    """A row of parley_post as the store answers it."""
    conversation = to_struct(
        Conversation,
        {"id": conversation_id, **{f[2:]: row[f] for f in _CONVERSATION_FIELDS}},
    )
    return PostResult(
        id=row["id"],
        seq=row["seq"],
        created_at=row["created_at"],
        created=row["created"],
        status=row["status"],
        reopened=row["reopened"],
        customer_name=row["customer_name"],
        conversation=conversation,
    )


_SELECT_MESSAGES = """
    SELECT m.id, m.conversation_id, m.seq, m.sender_kind, m.sender_id, m.client_id, m.body,
           m.visibility, m.metadata, m.created_at,
           CASE m.sender_kind WHEN 'agent' THEN a.display_name
                              WHEN 'customer' THEN cu.name END AS sender_name,
           coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'id', t.id, 'conversation_id', t.conversation_id, 'filename', t.filename,
                        'content_type', t.content_type, 'size_bytes', t.size_bytes,
                        'created_at', t.created_at) ORDER BY t.created_at)
                       FROM attachments t WHERE t.message_id = m.id), '[]'::jsonb) AS attachments
      FROM messages m
      LEFT JOIN agents a ON m.sender_kind = 'agent' AND a.id = m.sender_id
      LEFT JOIN customers cu ON m.sender_kind = 'customer' AND cu.id = m.sender_id
"""


async def get_one(conn: asyncpg.Connection, message_id: UUID) -> Message | None:
    rows = await conn.fetch(_SELECT_MESSAGES + " WHERE m.id = $1", message_id)
    return to_structs(Message, rows)[0] if rows else None


async def after(
    conn: asyncpg.Connection,
    conversation_id: UUID,
    *,
    after_seq: int,
    limit: int,
    visibilities: tuple[Visibility, ...],
    before_seq: int | None = None,
) -> list[Message]:
    """Messages with after_seq < seq (< before_seq), oldest first."""
    rows = await conn.fetch(
        _SELECT_MESSAGES
        + """
         WHERE m.conversation_id = $1 AND m.seq > $2
           AND ($3::bigint IS NULL OR m.seq < $3)
           AND m.visibility = ANY ($4::text[])
         ORDER BY m.seq ASC LIMIT $5
        """,
        conversation_id,
        after_seq,
        before_seq,
        [str(v) for v in visibilities],
        limit,
    )
    return to_structs(Message, rows)


async def before(
    conn: asyncpg.Connection,
    conversation_id: UUID,
    *,
    before_seq: int | None,
    limit: int,
    visibilities: tuple[Visibility, ...],
) -> list[Message]:
    """The `limit` messages just before before_seq (the newest when None), oldest first."""
    rows = await conn.fetch(
        _SELECT_MESSAGES
        + """
         WHERE m.conversation_id = $1
           AND ($2::bigint IS NULL OR m.seq < $2)
           AND m.visibility = ANY ($3::text[])
         ORDER BY m.seq DESC LIMIT $4
        """,
        conversation_id,
        before_seq,
        [str(v) for v in visibilities],
        limit,
    )
    return list(reversed(to_structs(Message, rows)))


async def latest_handover_brief(conn: asyncpg.Connection, conversation_id: UUID) -> Message | None:
    """The newest private hand-over brief (a system note whose metadata holds the hand-over)."""
    rows = await conn.fetch(
        _SELECT_MESSAGES
        + """
         WHERE m.conversation_id = $1 AND m.sender_kind = 'system'
           AND m.visibility = 'internal'
           AND jsonb_typeof(m.metadata -> 'handover') = 'object'
         ORDER BY m.seq DESC LIMIT 1
        """,
        conversation_id,
    )
    return to_structs(Message, rows)[0] if rows else None
