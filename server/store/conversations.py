"""Conversations: the rows, their participants, and the agent-facing list query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from ..core.models import Conversation, ConversationStatus
from ..core.policies import ListingScope
from .rows import to_struct, to_structs

# A message moves last_message_at, not updated_at (an update of unindexed columns only stays
# HOT: sql/0011_post_in_one_statement.sql); what clients see as updated_at is the latest of both.
_ACTIVITY = "greatest(c.updated_at, c.last_message_at)"

_COLUMNS = f"""
    c.id, c.customer_id, c.status, c.assigned_agent_id, c.team_id, c.last_seq, c.metadata,
    c.created_at, {_ACTIVITY} AS updated_at, c.last_message_at, c.resolved_at, c.priority,
    c.waiting, c.queued_at, c.assigned_at, c.owner
"""


async def get(conn: asyncpg.Connection, conversation_id: UUID) -> Conversation | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM conversations c WHERE c.id = $1", conversation_id
    )
    return to_struct(Conversation, row) if row else None


@dataclass(frozen=True, slots=True)
class ConversationContext:
    conversation: Conversation
    is_participant: bool  # the asking agent joined it
    customer_name: str | None


async def get_context(
    conn: asyncpg.Connection, conversation_id: UUID, agent_id: UUID | None
) -> ConversationContext | None:
    """A conversation with what authorization and message building need, in one round trip."""
    row = await conn.fetchrow(
        f"""
        SELECT {_COLUMNS}, cu.name AS customer_name,
               ($2::uuid IS NOT NULL AND EXISTS (
                   SELECT 1 FROM conversation_participants p
                    WHERE p.conversation_id = c.id AND p.agent_id = $2)) AS is_participant
          FROM conversations c JOIN customers cu ON cu.id = c.customer_id
         WHERE c.id = $1
        """,
        conversation_id,
        agent_id,
    )
    if row is None:
        return None
    record = dict(row)
    is_participant = bool(record.pop("is_participant"))
    customer_name = record.pop("customer_name")
    return ConversationContext(to_struct(Conversation, record), is_participant, customer_name)


async def create(
    conn: asyncpg.Connection,
    *,
    customer_id: UUID,
    team_id: UUID | None,
    metadata: dict[str, Any],
) -> Conversation:
    row = await conn.fetchrow(
        f"""
        INSERT INTO conversations AS c (customer_id, team_id, metadata)
        VALUES ($1, $2, $3)
        RETURNING {_COLUMNS}
        """,
        customer_id,
        team_id,
        metadata,
    )
    return to_struct(Conversation, row)


async def latest_for_customer(
    conn: asyncpg.Connection, customer_id: UUID, *, open_only: bool
) -> Conversation | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_COLUMNS} FROM conversations c
         WHERE c.customer_id = $1 AND (NOT $2 OR c.status = 'open')
         ORDER BY c.created_at DESC LIMIT 1
        """,
        customer_id,
        open_only,
    )
    return to_struct(Conversation, row) if row else None


async def list_for_customer(
    conn: asyncpg.Connection,
    customer_id: UUID,
    limit: int,
    status: ConversationStatus | None = None,
) -> list[Conversation]:
    # The status is filtered before the limit: a page of `limit` of that status, newest first.
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM conversations c
         WHERE c.customer_id = $1 AND ($3::text IS NULL OR c.status = $3)
         ORDER BY c.created_at DESC LIMIT $2
        """,
        customer_id,
        limit,
        status.value if status is not None else None,
    )
    return to_structs(Conversation, rows)


async def list_page(
    conn: asyncpg.Connection,
    *,
    status: ConversationStatus | None,
    assignee: UUID | None,
    unassigned: bool,
    scope: ListingScope | None,
    before: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Conversation]:
    """Newest-updated first, keyset-paginated on (updated_at, id).

    `scope` (core.policies.listing_scope) limits the page to what a non-admin agent may see:
    assigned to them, joined, or waiting for one of their teams; None means no limit (admins).
    """
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM conversations c
         WHERE ($1::text IS NULL OR c.status = $1)
           AND ($2::uuid IS NULL OR c.assigned_agent_id = $2)
           AND (NOT $3 OR c.assigned_agent_id IS NULL)
           AND ($4::uuid IS NULL
                OR (c.assigned_agent_id IS NULL
                    AND (c.team_id IS NULL OR c.team_id = ANY ($8::uuid[])))
                OR c.assigned_agent_id = $4
                OR EXISTS (SELECT 1 FROM conversation_participants p
                            WHERE p.conversation_id = c.id AND p.agent_id = $4))
           AND ($5::timestamptz IS NULL OR ({_ACTIVITY}, c.id) < ($5, $6::uuid))
         ORDER BY {_ACTIVITY} DESC, c.id DESC
         LIMIT $7
        """,
        str(status) if status else None,
        assignee,
        unassigned,
        scope.agent_id if scope else None,
        before[0] if before else None,
        before[1] if before else None,
        limit,
        list(scope.team_ids) if scope else [],
    )
    return to_structs(Conversation, rows)


async def add_participant(conn: asyncpg.Connection, conversation_id: UUID, agent_id: UUID) -> None:
    await conn.execute(
        """
        INSERT INTO conversation_participants (conversation_id, agent_id) VALUES ($1, $2)
        ON CONFLICT DO NOTHING
        """,
        conversation_id,
        agent_id,
    )


async def set_status(
    conn: asyncpg.Connection, conversation_id: UUID, status: ConversationStatus
) -> Conversation | None:
    row = await conn.fetchrow(
        f"""
        UPDATE conversations c
           SET status = $2,
               updated_at = now(),
               resolved_at = CASE WHEN $2 = 'resolved' THEN now() ELSE NULL END
         WHERE c.id = $1
        RETURNING {_COLUMNS}
        """,
        conversation_id,
        str(status),
    )
    return to_struct(Conversation, row) if row else None


async def joined_of(
    conn: asyncpg.Connection, agent_id: UUID, conversation_ids: list[UUID]
) -> set[UUID]:
    """Which of these conversations the agent joined."""
    rows = await conn.fetch(
        """
        SELECT conversation_id FROM conversation_participants
         WHERE agent_id = $1 AND conversation_id = ANY ($2::uuid[])
        """,
        agent_id,
        conversation_ids,
    )
    return {r["conversation_id"] for r in rows}


async def set_priority(
    conn: asyncpg.Connection, conversation_id: UUID, priority: int, *, touch: bool = True
) -> None:
    """Move a conversation up or down its line (`touch`: count it as activity)."""
    if touch:
        await conn.execute(
            "UPDATE conversations SET priority = $2, updated_at = now() WHERE id = $1",
            conversation_id,
            priority,
        )
    else:
        await conn.execute(
            "UPDATE conversations SET priority = $2 WHERE id = $1", conversation_id, priority
        )


async def routing_state(conn: asyncpg.Connection, conversation_id: UUID) -> asyncpg.Record | None:
    """What a claim needs to know: team_id, waiting, status, owner."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT team_id, waiting, status, owner FROM conversations WHERE id = $1",
        conversation_id,
    )
    return row


async def place_in_line(conn: asyncpg.Connection, conversation_id: UUID) -> asyncpg.Record | None:
    """A waiting conversation's team_id, priority and queued_at (None when not waiting)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT team_id, priority, queued_at FROM conversations WHERE id = $1 AND waiting",
        conversation_id,
    )
    return row


async def still_waiting(
    conn: asyncpg.Connection, conversation_ids: list[UUID], team_id: UUID
) -> set[UUID]:
    rows = await conn.fetch(
        "SELECT id FROM conversations WHERE id = ANY ($1::uuid[]) AND waiting AND team_id = $2",
        conversation_ids,
        team_id,
    )
    return {r["id"] for r in rows}


async def waiting_of_customers(conn: asyncpg.Connection, customer_ids: list[UUID]) -> list[UUID]:
    """The open conversations in line of these customers (many at once: a storm of departures)."""
    rows = await conn.fetch(
        "SELECT id FROM conversations"
        " WHERE customer_id = ANY ($1::uuid[]) AND waiting AND status = 'open'",
        customer_ids,
    )
    return [r["id"] for r in rows]
