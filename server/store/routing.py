"""Routing in PostgreSQL: teams, who waits, who is assigned, and the assignment history.

PostgreSQL is the truth for routing; Redis holds the fast, atomic copy. Assignments are guarded
here as well (the agent's row is locked while their open conversations are counted), so even a
Redis that lost or garbled its state cannot push an agent past capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from ..core.models import Conversation, Customer, Owner
from ..core.routing import TeamSettings, team_settings
from .conversations import _COLUMNS
from .rows import to_struct


@dataclass(frozen=True, slots=True)
class Team:
    id: UUID
    slug: str
    name: str
    is_default: bool
    settings: TeamSettings


def _team(row: asyncpg.Record) -> Team:
    return Team(
        row["id"], row["slug"], row["name"], row["is_default"], team_settings(row["settings"])
    )


async def teams(conn: asyncpg.Connection) -> list[Team]:
    rows = await conn.fetch("SELECT id, slug, name, is_default, settings FROM teams ORDER BY name")
    return [_team(r) for r in rows]


async def team_by_slug_or_default(conn: asyncpg.Connection, slug: str | None) -> Team | None:
    row = await conn.fetchrow(
        """
        SELECT id, slug, name, is_default, settings FROM teams
         WHERE ($1::text IS NOT NULL AND slug = $1) OR ($1::text IS NULL AND is_default)
        """,
        slug,
    )
    return _team(row) if row else None


async def team(conn: asyncpg.Connection, team_id: UUID) -> Team | None:
    row = await conn.fetchrow(
        "SELECT id, slug, name, is_default, settings FROM teams WHERE id = $1", team_id
    )
    return _team(row) if row else None


async def team_ids_of_agent(conn: asyncpg.Connection, agent_id: UUID) -> list[UUID]:
    rows = await conn.fetch("SELECT team_id FROM agent_teams WHERE agent_id = $1", agent_id)
    return [r["team_id"] for r in rows]


# An agent's capacity: their own max_chats, else the smallest capacity_default among their
# teams' routing settings; NULL leaves it to PARLEY_DEFAULT_MAX_CHATS.
EFFECTIVE_MAX_CHATS = """
    coalesce(a.max_chats, (
        SELECT min((tm.settings->>'capacity_default')::int)
          FROM agent_teams at JOIN teams tm ON tm.id = at.team_id
         WHERE at.agent_id = a.id AND tm.settings ? 'capacity_default'))
"""


async def effective_max_chats(conn: asyncpg.Connection, agent_id: UUID) -> int | None:
    value: int | None = await conn.fetchval(
        f"SELECT {EFFECTIVE_MAX_CHATS} FROM agents a WHERE a.id = $1", agent_id
    )
    return value


@dataclass(frozen=True, slots=True)
class RoutableAgent:
    id: UUID
    max_chats: int | None  # effective: see EFFECTIVE_MAX_CHATS
    team_ids: list[UUID]
    open_assigned: int


async def routable_agents(
    conn: asyncpg.Connection, agent_id: UUID | None = None
) -> list[RoutableAgent]:
    """Active agents with their teams and current load (all, or one)."""
    rows = await conn.fetch(
        f"""
        SELECT a.id, {EFFECTIVE_MAX_CHATS} AS max_chats,
               coalesce(array_agg(t.team_id) FILTER (WHERE t.team_id IS NOT NULL), '{{}}')
                   AS team_ids,
               (SELECT count(*) FROM conversations c
                 WHERE c.assigned_agent_id = a.id AND c.status = 'open') AS open_assigned
          FROM agents a LEFT JOIN agent_teams t ON t.agent_id = a.id
         WHERE a.is_active AND ($1::uuid IS NULL OR a.id = $1)
         GROUP BY a.id
        """,
        agent_id,
    )
    return [
        RoutableAgent(r["id"], r["max_chats"], list(r["team_ids"]), r["open_assigned"])
        for r in rows
    ]


async def enter_queue(
    conn: asyncpg.Connection,
    conversation_id: UUID,
    *,
    team_id: UUID | None,
    priority: int | None,
    new_place: bool,
    kind: str,
    actor_kind: str,
    actor_id: UUID | None,
    reason: str | None,
) -> tuple[Conversation, Team | None] | None:
    """Put an open conversation in its team's line (the default team when it has none) and
    record it in the history, in one statement. It keeps its original place unless new_place
    (a reopen starts a new wait). Returns the conversation and its team; None when it is not
    open."""
    row = await conn.fetchrow(
        f"""
        WITH moved AS (
            UPDATE conversations c
               SET waiting = true,
                   team_id = coalesce($2, c.team_id,
                                      (SELECT id FROM teams WHERE is_default LIMIT 1)),
                   priority = coalesce($3, c.priority),
                   queued_at = CASE WHEN $4 OR c.queued_at IS NULL THEN now()
                                    ELSE c.queued_at END,
                   -- Back in line after a person had it: it waits for a person again.
                   owner = CASE WHEN c.owner = 'human' THEN 'queue' ELSE c.owner END,
                   assigned_agent_id = NULL,
                   assigned_at = NULL,
                   agent_replied_at = NULL,
                   updated_at = now()
             WHERE c.id = $1 AND c.status = 'open'
            RETURNING c.*
        ), logged AS (
            INSERT INTO assignment_events (conversation_id, kind, team_id, actor_kind, actor_id,
                                           reason)
            SELECT id, $5, team_id, $6, $7, $8 FROM moved
        )
        SELECT {_COLUMNS}, t.slug AS team_slug, t.name AS team_name,
               t.is_default AS team_is_default, t.settings AS team_settings
          FROM moved c LEFT JOIN teams t ON t.id = c.team_id
        """,
        conversation_id,
        team_id,
        priority,
        new_place,
        kind,
        actor_kind,
        actor_id,
        reason,
    )
    if row is None:
        return None
    team = None
    if row["team_slug"] is not None:
        team = Team(
            row["team_id"],
            row["team_slug"],
            row["team_name"],
            row["team_is_default"],
            team_settings(row["team_settings"]),
        )
    fields = {k: v for k, v in row.items() if k in _CONVERSATION_FIELDS}
    return to_struct(Conversation, fields), team


async def leave_queue(conn: asyncpg.Connection, conversation_id: UUID) -> None:
    await conn.execute(
        "UPDATE conversations SET waiting = false, updated_at = now() WHERE id = $1",
        conversation_id,
    )


@dataclass(frozen=True, slots=True)
class Assignment:
    conversation: Conversation
    # Before the assignment: who owned it, the assistant's answer in flight (now stopped), and
    # why the assistant stepped back (None if it did not).
    previous_owner: Owner
    stopped_run: UUID | None
    handoff_reason: str | None
    agent_name: str
    customer: Customer

    @property
    def assistant_took_part(self) -> bool:
        return self.previous_owner is Owner.ASSISTANT or self.handoff_reason is not None


_CONVERSATION_FIELDS = frozenset(Conversation.__struct_fields__)


async def record_assignment(
    conn: asyncpg.Connection,
    conversation_id: UUID,
    agent_id: UUID,
    *,
    default_capacity: int,
    kind: str = "assigned",
    team_id: UUID | None = None,
    actor_kind: str = "system",
    actor_id: UUID | None = None,
) -> Assignment | None:
    """Assign a waiting conversation and record it in the history, unless the agent is
    inactive or at capacity or the conversation stopped waiting (sql/0007_assign.sql: one
    round trip). Runs inside the caller's transaction."""
    row = await conn.fetchrow(
        "SELECT * FROM parley_assign($1, $2, $3, $4, $5, $6, $7)",
        conversation_id,
        agent_id,
        default_capacity,
        kind,
        team_id,
        actor_kind,
        actor_id,
    )
    return _assignment(row) if row is not None else None


async def record_assignments(
    conn: asyncpg.Connection,
    pairs: list[tuple[UUID, UUID]],
    *,
    default_capacity: int,
    team_id: UUID | None,
) -> dict[UUID, Assignment]:
    """Several (conversation, agent) assignments in one round trip, made one after another in
    the given order (each sees the ones before it: capacity holds within the batch). Returns
    the ones made, by conversation. Runs inside the caller's transaction."""
    rows = await conn.fetch(
        """
        SELECT a.*
          FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS p (conversation_id, agent_id, n)
         CROSS JOIN LATERAL parley_assign(p.conversation_id, p.agent_id, $3, 'assigned', $4,
                                          'system', NULL) a
         ORDER BY p.n
        """,
        [c for c, _ in pairs],
        [a for _, a in pairs],
        default_capacity,
        team_id,
    )
    return {row["id"]: _assignment(row) for row in rows}


def _assignment(row: asyncpg.Record) -> Assignment:
    customer = Customer(
        id=row["customer_id"],
        name=row["customer_name"],
        email=row["customer_email"],
        attributes=row["customer_attributes"],
        identity_verified=row["customer_identity_verified"],
        created_at=row["customer_created_at"],
    )
    fields = {k: v for k, v in row.items() if k in _CONVERSATION_FIELDS}
    return Assignment(
        to_struct(Conversation, fields),
        Owner(row["previous_owner"]),
        row["stopped_run"],
        row["previous_handoff_reason"],
        row["agent_name"],
        customer,
    )


async def reassign(
    conn: asyncpg.Connection,
    conversation_id: UUID,
    from_agent: UUID,
    to_agent: UUID,
    *,
    capacity: int,
) -> Conversation | None:
    await conn.execute("SELECT 1 FROM agents WHERE id = $1 FOR UPDATE", to_agent)
    load = await conn.fetchval(
        "SELECT count(*) FROM conversations WHERE assigned_agent_id = $1 AND status = 'open'",
        to_agent,
    )
    if load >= capacity:
        return None
    row = await conn.fetchrow(
        f"""
        UPDATE conversations c
           SET assigned_agent_id = $3, assigned_at = now(), agent_replied_at = NULL,
               updated_at = now(), owner = 'human'
         WHERE c.id = $1 AND c.status = 'open' AND c.assigned_agent_id = $2
        RETURNING {_COLUMNS}
        """,
        conversation_id,
        from_agent,
        to_agent,
    )
    return to_struct(Conversation, row) if row else None


async def add_event(
    conn: asyncpg.Connection,
    *,
    conversation_id: UUID,
    kind: str,
    agent_id: UUID | None = None,
    from_agent_id: UUID | None = None,
    team_id: UUID | None = None,
    actor_kind: str = "system",
    actor_id: UUID | None = None,
    reason: str | None = None,
    wait_seconds: float | None = None,
) -> None:
    await conn.execute(
        """
        INSERT INTO assignment_events (conversation_id, kind, agent_id, from_agent_id, team_id,
                                       actor_kind, actor_id, reason, wait_seconds)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        conversation_id,
        kind,
        agent_id,
        from_agent_id,
        team_id,
        actor_kind,
        actor_id,
        reason,
        wait_seconds,
    )


async def waiting_conversations(conn: asyncpg.Connection) -> list[Conversation]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM conversations c WHERE c.waiting AND c.status = 'open'"
    )
    return [to_struct(Conversation, r) for r in rows]


async def open_assignments(conn: asyncpg.Connection) -> dict[UUID, UUID]:
    rows = await conn.fetch(
        """
        SELECT id, assigned_agent_id FROM conversations
         WHERE status = 'open' AND assigned_agent_id IS NOT NULL
        """
    )
    return {r["id"]: r["assigned_agent_id"] for r in rows}


async def open_assigned_to(conn: asyncpg.Connection, agent_id: UUID) -> list[Conversation]:
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM conversations c
         WHERE c.assigned_agent_id = $1 AND c.status = 'open'
         ORDER BY c.queued_at NULLS LAST
        """,
        agent_id,
    )
    return [to_struct(Conversation, r) for r in rows]


async def queue_entries(
    conn: asyncpg.Connection, conversation_ids: list[UUID]
) -> list[dict[str, Any]]:
    """What agents see of waiting conversations: customer, priority, wait and a preview."""
    rows = await conn.fetch(
        """
        SELECT c.id, c.team_id, c.priority, c.queued_at, c.metadata, c.owner,
               cu.name AS customer_name,
               cu.email AS customer_email,
               (SELECT m.body FROM messages m
                 WHERE m.conversation_id = c.id AND m.visibility = 'public'
                   AND m.sender_kind = 'customer'
                 ORDER BY m.seq DESC LIMIT 1) AS preview
          FROM conversations c JOIN customers cu ON cu.id = c.customer_id
         WHERE c.id = ANY ($1::uuid[])
        """,
        conversation_ids,
    )
    by_id = {r["id"]: dict(r) for r in rows}
    return [by_id[c] for c in conversation_ids if c in by_id]


async def wait_seconds(conn: asyncpg.Connection, conversation_id: UUID) -> float | None:
    value = await conn.fetchval(
        "SELECT extract(epoch FROM now() - queued_at) FROM conversations WHERE id = $1",
        conversation_id,
    )
    return float(value) if value is not None else None
