"""The admin audit log: append-only rows of who changed what, when."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg


async def add(
    conn: asyncpg.Connection,
    *,
    actor_id: UUID | None,
    actor_name: str,
    action: str,
    target_kind: str,
    target_id: str | None,
    details: dict[str, Any],
) -> None:
    await conn.execute(
        """
        INSERT INTO audit_log (actor_id, actor_name, action, target_kind, target_id, details)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        actor_id,
        actor_name,
        action,
        target_kind,
        target_id,
        details,
    )


async def page(
    conn: asyncpg.Connection,
    *,
    before_id: int | None,
    limit: int,
    action_prefix: str | None = None,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT id, actor_id, actor_name, action, target_kind, target_id, details, created_at
          FROM audit_log
         WHERE ($1::bigint IS NULL OR id < $1)
           AND ($2::text IS NULL OR action LIKE $2 || '%')
         ORDER BY id DESC
         LIMIT $3
        """,
        before_id,
        action_prefix,
        limit,
    )
    return [dict(r) for r in rows]
