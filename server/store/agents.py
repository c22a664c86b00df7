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


async def get_with_hash_by_email(conn: asyncpg.Connection, email: str) -> tuple[Agent, str] | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS}, password_hash FROM agents WHERE lower(email) = lower($1)", email
    )
    if row is None:
        return None
    record = dict(row)
    password_hash = record.pop("password_hash")
    return to_struct(Agent, record), password_hash


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
