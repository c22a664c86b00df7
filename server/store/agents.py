"""Agents: accounts, roles and capacity."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from ..core.models import Agent, AgentRole
from .rows import to_struct, to_structs

_COLUMNS = "id, email, display_name, role, max_chats, is_active, avatar_url, created_at"


async def get(conn: asyncpg.Connection, agent_id: UUID) -> Agent | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM agents WHERE id = $1", agent_id)
    return to_struct(Agent, row) if row else None


async def get_with_hash_by_email(
    conn: asyncpg.Connection, email: str
) -> tuple[Agent, str, int] | None:
    """The agent, their password hash and their token version."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS}, password_hash, token_version FROM agents"
        " WHERE lower(email) = lower($1)",
        email,
    )
    if row is None:
        return None
    record = dict(row)
    password_hash = record.pop("password_hash")
    version = record.pop("token_version")
    return to_struct(Agent, record), password_hash, version


async def get_with_hash(conn: asyncpg.Connection, agent_id: UUID) -> tuple[Agent, str] | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS}, password_hash FROM agents WHERE id = $1", agent_id
    )
    if row is None:
        return None
    record = dict(row)
    password_hash = record.pop("password_hash")
    return to_struct(Agent, record), password_hash


async def get_session(
    conn: asyncpg.Connection, agent_id: UUID
) -> tuple[Agent, int, list[UUID]] | None:
    """What a token check needs in one round trip: the agent, their token version, their teams."""
    row = await conn.fetchrow(
        f"""
        SELECT {_COLUMNS}, token_version,
               ARRAY(SELECT team_id FROM agent_teams t WHERE t.agent_id = agents.id) AS team_ids
          FROM agents WHERE id = $1
        """,
        agent_id,
    )
    if row is None:
        return None
    record = dict(row)
    version = record.pop("token_version")
    team_ids = list(record.pop("team_ids"))
    return to_struct(Agent, record), version, team_ids


async def set_password(conn: asyncpg.Connection, agent_id: UUID, new_hash: str) -> int | None:
    """A new password ends every session: the token version moves on. The new version."""
    version: int | None = await conn.fetchval(
        """
        UPDATE agents SET password_hash = $2, token_version = token_version + 1,
                          updated_at = now()
         WHERE id = $1 RETURNING token_version
        """,
        agent_id,
        new_hash,
    )
    return version


async def bump_token_version(conn: asyncpg.Connection, agent_id: UUID) -> int | None:
    version: int | None = await conn.fetchval(
        "UPDATE agents SET token_version = token_version + 1 WHERE id = $1 RETURNING token_version",
        agent_id,
    )
    return version


async def get_by_email(conn: asyncpg.Connection, email: str) -> Agent | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM agents WHERE lower(email) = lower($1)", email
    )
    return to_struct(Agent, row) if row else None


async def create(
    conn: asyncpg.Connection,
    *,
    email: str,
    display_name: str,
    role: AgentRole,
    password_hash: str,
    max_chats: int | None = None,
) -> Agent:
    row = await conn.fetchrow(
        f"""
        INSERT INTO agents (email, display_name, role, password_hash, max_chats)
        VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}
        """,
        email,
        display_name,
        str(role),
        password_hash,
        max_chats,
    )
    return to_struct(Agent, row)


async def update_password_hash(conn: asyncpg.Connection, agent_id: UUID, new_hash: str) -> None:
    await conn.execute(
        "UPDATE agents SET password_hash = $2, updated_at = now() WHERE id = $1",
        agent_id,
        new_hash,
    )


async def count(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM agents"))


async def list_all(conn: asyncpg.Connection) -> list[Agent]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM agents ORDER BY display_name, id")
    return to_structs(Agent, rows)


async def list_with_teams(conn: asyncpg.Connection) -> list[tuple[Agent, list[UUID], int]]:
    """Every account, active or not, with its teams and open assigned conversations."""
    rows = await conn.fetch(
        f"""
        SELECT {", ".join("a." + c.strip() for c in _COLUMNS.split(","))},
               coalesce(array_agg(t.team_id) FILTER (WHERE t.team_id IS NOT NULL), '{{}}')
                   AS team_ids,
               (SELECT count(*) FROM conversations c
                 WHERE c.assigned_agent_id = a.id AND c.status = 'open') AS load
          FROM agents a LEFT JOIN agent_teams t ON t.agent_id = a.id
         GROUP BY a.id
         ORDER BY a.display_name, a.id
        """
    )
    result = []
    for row in rows:
        record = dict(row)
        team_ids = list(record.pop("team_ids"))
        load = int(record.pop("load"))
        result.append((to_struct(Agent, record), team_ids, load))
    return result


async def update(
    conn: asyncpg.Connection,
    agent_id: UUID,
    *,
    display_name: str,
    role: AgentRole,
    max_chats: int | None,
    is_active: bool,
) -> Agent | None:
    row = await conn.fetchrow(
        f"""
        UPDATE agents SET display_name = $2, role = $3, max_chats = $4, is_active = $5,
                          updated_at = now()
         WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        agent_id,
        display_name,
        str(role),
        max_chats,
        is_active,
    )
    return to_struct(Agent, row) if row else None


async def set_teams(conn: asyncpg.Connection, agent_id: UUID, team_ids: list[UUID]) -> None:
    await conn.execute("DELETE FROM agent_teams WHERE agent_id = $1", agent_id)
    await conn.execute(
        """
        INSERT INTO agent_teams (agent_id, team_id)
        SELECT $1, id FROM teams WHERE id = ANY ($2::uuid[])
        """,
        agent_id,
        team_ids,
    )


async def team_ids(conn: asyncpg.Connection, agent_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT team_id FROM agent_teams WHERE agent_id = $1 ORDER BY team_id", agent_id
    )
    return [r["team_id"] for r in rows]


async def active_names(conn: asyncpg.Connection) -> dict[UUID, tuple[str, str]]:
    """Every active agent's display name and role, by id."""
    rows = await conn.fetch("SELECT id, display_name, role FROM agents WHERE is_active")
    return {r["id"]: (r["display_name"], r["role"]) for r in rows}
