"""One-time password-reset links: only a hash of each link's secret is stored."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def create(
    conn: asyncpg.Connection,
    *,
    token_hash: str,
    agent_id: UUID,
    created_by: UUID | None,
    ttl_seconds: int,
) -> datetime:
    """A new link; earlier unused links of the same agent stop working. Its expiry."""
    await conn.execute(
        "UPDATE password_resets SET used_at = now() WHERE agent_id = $1 AND used_at IS NULL",
        agent_id,
    )
    expires_at: datetime = await conn.fetchval(
        """
        INSERT INTO password_resets (token_hash, agent_id, created_by, expires_at)
        VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING expires_at
        """,
        token_hash,
        agent_id,
        created_by,
        float(ttl_seconds),
    )
    return expires_at


async def use(conn: asyncpg.Connection, token_hash: str) -> UUID | None:
    """Spend a valid link (unused, not expired): the agent it was for, else None. Atomic, so a
    link can be used once even when two requests race."""
    found: UUID | None = await conn.fetchval(
        """
        UPDATE password_resets SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
        RETURNING agent_id
        """,
        token_hash,
    )
    return found
