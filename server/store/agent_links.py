"""Agents linked to an outside identity (a Supabase Auth user), and agents provisioned from one."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from ..core.models import Agent, AgentRole
from .rows import to_struct

_COLUMNS = "id, email, display_name, role, max_chats, is_active, avatar_url, created_at"
# No password can match this, so a provisioned agent signs in through Supabase only until an
# admin sets a password.
NO_PASSWORD = "!supabase"


async def by_supabase_user(conn: asyncpg.Connection, user_id: str) -> Agent | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM agents WHERE supabase_user_id = $1", user_id)
    return to_struct(Agent, row) if row else None


async def linked_user(conn: asyncpg.Connection, agent_id: UUID) -> str | None:
    user_id: str | None = await conn.fetchval(
        "SELECT supabase_user_id FROM agents WHERE id = $1", agent_id
    )
    return user_id


async def link(conn: asyncpg.Connection, agent_id: UUID, user_id: str) -> bool:
    """Link an agent not linked yet; False when it is already someone else's."""
    status = await conn.execute(
        """
        UPDATE agents SET supabase_user_id = $2, updated_at = now()
         WHERE id = $1 AND supabase_user_id IS NULL
        """,
        agent_id,
        user_id,
    )
    return str(status) == "UPDATE 1"


async def provision(
    conn: asyncpg.Connection, *, email: str, display_name: str, role: AgentRole, user_id: str
) -> Agent | None:
    """A new agent in the default team, linked at once; None if the email is taken meanwhile."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO agents (email, display_name, role, password_hash, supabase_user_id)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT DO NOTHING
        RETURNING {_COLUMNS}
        """,
        email,
        display_name,
        str(role),
        NO_PASSWORD,
        user_id,
    )
    if row is None:
        return None
    await conn.execute(
        "INSERT INTO agent_teams (agent_id, team_id) SELECT $1, id FROM teams WHERE is_default",
        row["id"],
    )
    return to_struct(Agent, row)


async def lock_by_email(conn: asyncpg.Connection, email: str) -> UUID | None:
    """The agent with this email (any case), locked for the rest of the transaction."""
    agent_id: UUID | None = await conn.fetchval(
        "SELECT id FROM agents WHERE lower(email) = lower($1) FOR UPDATE", email
    )
    return agent_id
