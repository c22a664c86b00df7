"""Admin overrides of environment settings: one JSON document per area."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg


async def get(conn: asyncpg.Connection, key: str) -> dict[str, Any]:
    value = await conn.fetchval("SELECT value FROM settings WHERE key = $1", key)
    return dict(value) if isinstance(value, dict) else {}


async def put(conn: asyncpg.Connection, key: str, value: dict[str, Any], updated_by: UUID) -> None:
    await conn.execute(
        """
        INSERT INTO settings (key, value, updated_by) VALUES ($1, $2, $3)
        ON CONFLICT (key) DO UPDATE
           SET value = excluded.value, updated_by = excluded.updated_by, updated_at = now()
        """,
        key,
        value,
        updated_by,
    )
