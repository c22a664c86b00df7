"""Attachment records; the bytes live in a BlobStore."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from ..core.models import Attachment, SenderKind
from .rows import to_struct

_COLUMNS = "id, conversation_id, filename, content_type, size_bytes, created_at"
_JOINED_COLUMNS = "a.id, a.conversation_id, a.filename, a.content_type, a.size_bytes, a.created_at"


async def create(
    conn: asyncpg.Connection,
    *,
    attachment_id: UUID,
    conversation_id: UUID,
    uploader_kind: SenderKind,
    uploader_id: UUID | None,
    filename: str,
    content_type: str,
    size_bytes: int,
    storage_key: str,
) -> Attachment:
    row = await conn.fetchrow(
        f"""
        INSERT INTO attachments (id, conversation_id, uploader_kind, uploader_id, filename,
                                 content_type, size_bytes, storage_key)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_COLUMNS}
        """,
        attachment_id,
        conversation_id,
        str(uploader_kind),
        uploader_id,
        filename,
        content_type,
        size_bytes,
        storage_key,
    )
    return to_struct(Attachment, row)


async def get_with_key(
    conn: asyncpg.Connection, attachment_id: UUID
) -> tuple[Attachment, str, str | None] | None:
    """The attachment, its storage key, and the visibility of the message it was sent in
    (None while it is not sent yet)."""
    row = await conn.fetchrow(
        f"""
        SELECT {_JOINED_COLUMNS},
               a.storage_key, m.visibility AS message_visibility
          FROM attachments a LEFT JOIN messages m ON m.id = a.message_id
         WHERE a.id = $1
        """,
        attachment_id,
    )
    if row is None:
        return None
    record = dict(row)
    key = record.pop("storage_key")
    visibility = record.pop("message_visibility")
    return to_struct(Attachment, record), key, visibility


async def delete_unsent_older_than(
    conn: asyncpg.Connection, seconds: int, *, limit: int
) -> list[str]:
    """Delete up to `limit` uploads never sent in a message and older than `seconds`; their
    storage keys. A send links an attachment by updating its row, so a row is either sent or
    deleted here, never both (SKIP LOCKED lets processes sweep side by side)."""
    rows = await conn.fetch(
        """
        DELETE FROM attachments
         WHERE id IN (SELECT id FROM attachments
                       WHERE message_id IS NULL AND created_at < now() - make_interval(secs => $1)
                       ORDER BY created_at LIMIT $2
                         FOR UPDATE SKIP LOCKED)
           AND message_id IS NULL
        RETURNING storage_key
        """,
        float(seconds),
        limit,
    )
    return [r["storage_key"] for r in rows]
