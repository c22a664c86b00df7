"""What an agent's conversation list shows besides the conversation: who, the last message,
unread counts, read state and how long the customer has waited for a reply."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg


async def for_agent(
    conn: asyncpg.Connection, conversation_ids: list[UUID], agent_id: UUID
) -> dict[UUID, dict[str, Any]]:
    """One round trip for a whole page. The last message is the last one a person wrote (the
    assistant's answers and Parley's notes, such as a hand-over brief, would hide what the
    customer said); `unread` counts messages after the agent's read cursor
    that someone else wrote; `waiting_since` is the first customer message after the last
    public staff reply (null when the customer is not waiting for one)."""
    rows = await conn.fetch(
        """
        SELECT c.id,
               cu.id AS customer_id, cu.name AS customer_name, cu.email AS customer_email,
               cu.identity_verified,
               lm.seq AS last_seq, lm.body AS last_body, lm.sender_kind AS last_sender_kind,
               lm.visibility AS last_visibility, lm.created_at AS last_created_at,
               coalesce(mine.read_seq, 0) AS my_read_seq,
               coalesce(theirs.delivered_seq, 0) AS customer_delivered_seq,
               coalesce(theirs.read_seq, 0) AS customer_read_seq,
               (SELECT count(*) FROM messages m
                 WHERE m.conversation_id = c.id AND m.seq > coalesce(mine.read_seq, 0)
                   AND NOT (m.sender_kind = 'agent' AND m.sender_id = $2)) AS unread,
               (SELECT min(m.created_at) FROM messages m
                 WHERE m.conversation_id = c.id AND m.sender_kind = 'customer'
                   AND m.seq > coalesce((
                       SELECT max(r.seq) FROM messages r
                        WHERE r.conversation_id = c.id AND r.visibility = 'public'
                          AND r.sender_kind IN ('agent', 'assistant')), 0)) AS waiting_since
          FROM conversations c
          JOIN customers cu ON cu.id = c.customer_id
          LEFT JOIN LATERAL (
              SELECT m.seq, m.body, m.sender_kind, m.visibility, m.created_at FROM messages m
               WHERE m.conversation_id = c.id AND m.sender_kind IN ('customer', 'agent')
               ORDER BY m.seq DESC LIMIT 1) lm ON true
          LEFT JOIN read_cursors mine
                 ON mine.conversation_id = c.id AND mine.reader_kind = 'agent'
                AND mine.reader_id = $2
          LEFT JOIN LATERAL (
              SELECT max(r.delivered_seq) AS delivered_seq, max(r.read_seq) AS read_seq
                FROM read_cursors r
               WHERE r.conversation_id = c.id AND r.reader_kind = 'customer') theirs ON true
         WHERE c.id = ANY ($1::uuid[])
        """,
        conversation_ids,
        agent_id,
    )
    return {r["id"]: _summary(r) for r in rows}


def _summary(row: asyncpg.Record) -> dict[str, Any]:
    last = None
    if row["last_seq"] is not None:
        last = {
            "seq": row["last_seq"],
            "body": (row["last_body"] or "")[:200],
            "sender_kind": row["last_sender_kind"],
            "visibility": row["last_visibility"],
            "created_at": row["last_created_at"],
        }
    return {
        "customer": {
            "id": row["customer_id"],
            "name": row["customer_name"],
            "email": row["customer_email"],
            "identity_verified": row["identity_verified"],
        },
        "last_message": last,
        "unread": row["unread"],
        "my_read_seq": row["my_read_seq"],
        "customer_delivered_seq": row["customer_delivered_seq"],
        "customer_read_seq": row["customer_read_seq"],
        "waiting_since": row["waiting_since"],
    }
