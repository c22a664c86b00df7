"""Read cursors: how far each participant has received and read a conversation."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from ..core.models import ReceiptKind, SenderKind


@dataclass(frozen=True, slots=True)
class Cursor:
    delivered_seq: int
    read_seq: int
    moved: bool


async def advance(
    conn: asyncpg.Connection,
    *,
    conversation_id: UUID,
    reader_kind: SenderKind,
    reader_id: UUID,
    kind: ReceiptKind,
    seq: int,
) -> Cursor | None:
    """Move a cursor forward (never back), capped at the conversation's last sequence.

    Reading implies delivery, so a read also moves the delivered cursor. Returns None when the
    conversation does not exist.
    """
    row = await conn.fetchrow(
        """
        WITH target AS (
            SELECT least($5::bigint, c.last_seq) AS seq FROM conversations c WHERE c.id = $1
        ), before AS (
            SELECT r.delivered_seq, r.read_seq FROM read_cursors r
             WHERE r.conversation_id = $1 AND r.reader_kind = $2 AND r.reader_id = $3
        ), upserted AS (
            INSERT INTO read_cursors AS r (conversation_id, reader_kind, reader_id,
                                           delivered_seq, read_seq)
            SELECT $1, $2, $3, t.seq, CASE WHEN $4 = 'read' THEN t.seq ELSE 0 END FROM target t
            ON CONFLICT (conversation_id, reader_kind, reader_id) DO UPDATE
               SET delivered_seq = greatest(r.delivered_seq, excluded.delivered_seq),
                   read_seq = greatest(r.read_seq, excluded.read_seq),
                   updated_at = now()
            RETURNING r.delivered_seq, r.read_seq
        )
        SELECT u.delivered_seq, u.read_seq,
               (coalesce(b.delivered_seq, 0) <> u.delivered_seq
                OR coalesce(b.read_seq, 0) <> u.read_seq) AS moved
          FROM upserted u LEFT JOIN before b ON true
        """,
        conversation_id,
        str(reader_kind),
        reader_id,
        str(kind),
        seq,
    )
    if row is None:
        return None
    return Cursor(row["delivered_seq"], row["read_seq"], bool(row["moved"]))
