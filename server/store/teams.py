"""Teams as admins manage them: names, routing settings (JSON) and members."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from ..core.errors import ErrorCode, ParleyError


async def list_all(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT t.id, t.slug, t.name, t.is_default, t.settings, t.created_at,
               coalesce(array_agg(m.agent_id) FILTER (WHERE m.agent_id IS NOT NULL), '{}')
                   AS member_ids,
               (SELECT count(*) FROM conversations c WHERE c.team_id = t.id AND c.waiting)
                   AS waiting
          FROM teams t LEFT JOIN agent_teams m ON m.team_id = t.id
         GROUP BY t.id
         ORDER BY t.name
        """
    )
    return [dict(r) | {"member_ids": list(r["member_ids"])} for r in rows]


async def get(conn: asyncpg.Connection, team_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT id, slug, name, is_default, settings, created_at FROM teams WHERE id = $1",
        team_id,
    )
    return dict(row) if row else None


async def create(
    conn: asyncpg.Connection, *, slug: str, name: str, settings: dict[str, Any]
) -> dict[str, Any]:
    try:
        row = await conn.fetchrow(
            """
            INSERT INTO teams (slug, name, settings) VALUES ($1, $2, $3)
            RETURNING id, slug, name, is_default, settings, created_at
            """,
            slug,
            name,
            settings,
        )
    except asyncpg.UniqueViolationError as exc:
        raise ParleyError(
            ErrorCode.CONFLICT, f"a team with the slug {slug!r} already exists"
        ) from exc
    return dict(row)


async def update(
    conn: asyncpg.Connection, team_id: UUID, *, name: str, settings: dict[str, Any]
) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """
        UPDATE teams SET name = $2, settings = $3, updated_at = now() WHERE id = $1
        RETURNING id, slug, name, is_default, settings, created_at
        """,
        team_id,
        name,
        settings,
    )
    return dict(row) if row else None


async def member_ids(conn: asyncpg.Connection, team_id: UUID) -> list[UUID]:
    rows = await conn.fetch("SELECT agent_id FROM agent_teams WHERE team_id = $1", team_id)
    return [r["agent_id"] for r in rows]


async def ids(conn: asyncpg.Connection) -> set[UUID]:
    return {r["id"] for r in await conn.fetch("SELECT id FROM teams")}


async def ensure_default(conn: asyncpg.Connection) -> None:
    """A fresh install has one team, "Support", that new conversations and agents join.
    Processes starting together on an empty database may both try: one insert wins."""
    await conn.execute(
        """
        INSERT INTO teams (slug, name, is_default)
        SELECT 'support', 'Support', true
         WHERE NOT EXISTS (SELECT 1 FROM teams WHERE is_default)
        ON CONFLICT DO NOTHING
        """
    )


async def join_default(conn: asyncpg.Connection, agent_id: UUID) -> None:
    await conn.execute(
        "INSERT INTO agent_teams (agent_id, team_id) SELECT $1, id FROM teams WHERE is_default",
        agent_id,
    )


async def default_name(conn: asyncpg.Connection) -> str | None:
    name: str | None = await conn.fetchval("SELECT name FROM teams WHERE is_default LIMIT 1")
    return name
