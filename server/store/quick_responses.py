"""Quick responses in PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from ..core.errors import ErrorCode, ParleyError
from ..core.models import QuickResponse, QuickResponseScope
from .rows import to_struct, to_structs

_COLUMNS = "id, scope, team_id, owner_agent_id, shortcut, title, body, created_at, updated_at"


def _conflict(shortcut: str) -> ParleyError:
    return ParleyError(
        ErrorCode.CONFLICT,
        f"the shortcut /{shortcut} is already used in this scope; choose another",
        details={"field": "shortcut"},
    )


async def get(conn: asyncpg.Connection, response_id: UUID) -> QuickResponse | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM quick_responses WHERE id = $1", response_id)
    return to_struct(QuickResponse, row) if row else None


async def search(
    conn: asyncpg.Connection,
    *,
    agent_id: UUID,
    team_ids: list[UUID] | None,
    query: str | None,
    scope: QuickResponseScope | None = None,
    limit: int = 500,
) -> list[QuickResponse]:
    """Global ones, team ones (of team_ids; None means every team) and the agent's personal
    ones, optionally matching `query` in the shortcut, title or body."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM quick_responses
         WHERE (scope = 'global'
                OR (scope = 'team' AND ($2::uuid[] IS NULL OR team_id = ANY ($2::uuid[])))
                OR (scope = 'personal' AND owner_agent_id = $1))
           AND ($3::text IS NULL OR shortcut ILIKE '%' || $3 || '%' OR title ILIKE '%' || $3 || '%'
                OR body ILIKE '%' || $3 || '%')
           AND ($4::text IS NULL OR scope = $4)
         ORDER BY shortcut, scope, id
         LIMIT $5
        """,
        agent_id,
        team_ids,
        _escape_like(query) if query else None,
        str(scope) if scope else None,
        limit,
    )
    return to_structs(QuickResponse, rows)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True, slots=True)
class Fields:
    """What a quick response says and who may use it (everything but its id and times)."""

    scope: QuickResponseScope
    team_id: UUID | None
    owner_agent_id: UUID | None
    shortcut: str
    title: str
    body: str

    def values(self) -> tuple[object, ...]:
        return (
            str(self.scope),
            self.team_id,
            self.owner_agent_id,
            self.shortcut,
            self.title,
            self.body,
        )


async def create(conn: asyncpg.Connection, fields: Fields, *, created_by: UUID) -> QuickResponse:
    try:
        row = await conn.fetchrow(
            f"""
            INSERT INTO quick_responses
                   (scope, team_id, owner_agent_id, shortcut, title, body, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            RETURNING {_COLUMNS}
            """,
            *fields.values(),
            created_by,
        )
    except asyncpg.UniqueViolationError as exc:
        raise _conflict(fields.shortcut) from exc
    return to_struct(QuickResponse, row)


async def update(
    conn: asyncpg.Connection, response_id: UUID, fields: Fields
) -> QuickResponse | None:
    try:
        row = await conn.fetchrow(
            f"""
            UPDATE quick_responses
               SET scope = $2, team_id = $3, owner_agent_id = $4, shortcut = $5, title = $6,
                   body = $7, updated_at = now()
             WHERE id = $1
            RETURNING {_COLUMNS}
            """,
            response_id,
            *fields.values(),
        )
    except asyncpg.UniqueViolationError as exc:
        raise _conflict(fields.shortcut) from exc
    return to_struct(QuickResponse, row) if row else None


async def delete(conn: asyncpg.Connection, response_id: UUID) -> bool:
    deleted = await conn.execute("DELETE FROM quick_responses WHERE id = $1", response_id)
    return bool(deleted.endswith(" 1"))
