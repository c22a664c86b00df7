"""Report figures per day and team, straight from the records: conversations, assignment
events, the assistant's events. Days are UTC calendar days."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

Key = tuple[date, UUID | None]


async def daily(
    conn: asyncpg.Connection, start: date, end: date, team_id: UUID | None
) -> dict[Key, dict[str, Any]]:
    """Figures keyed by (day, team) for start <= day <= end."""
    args = (start, end, team_id)
    rows: dict[Key, dict[str, Any]] = {}

    def put(records: list[asyncpg.Record]) -> None:
        for r in records:
            entry = rows.setdefault((r["day"], r["team_id"]), {})
            entry.update({k: v for k, v in dict(r).items() if k not in ("day", "team_id")})

    put(
        await conn.fetch(
            """
            SELECT (c.created_at AT TIME ZONE 'UTC')::date AS day, c.team_id,
                   count(*) AS conversations,
                   avg(extract(epoch FROM c.first_response_at - c.created_at))
                       AS first_response_avg
              FROM conversations c
             WHERE c.created_at >= $1::date AND c.created_at < $2::date + 1
               AND ($3::uuid IS NULL OR c.team_id = $3)
             GROUP BY 1, 2
            """,
            *args,
        )
    )
    put(
        await conn.fetch(
            """
            SELECT (c.resolved_at AT TIME ZONE 'UTC')::date AS day, c.team_id,
                   count(*) AS resolved,
                   avg(extract(epoch FROM c.resolved_at - c.created_at)) AS resolution_avg
              FROM conversations c
             WHERE c.status = 'resolved'
               AND c.resolved_at >= $1::date AND c.resolved_at < $2::date + 1
               AND ($3::uuid IS NULL OR c.team_id = $3)
             GROUP BY 1, 2
            """,
            *args,
        )
    )
    put(
        await conn.fetch(
            """
            SELECT (e.created_at AT TIME ZONE 'UTC')::date AS day, e.team_id,
                   count(*) AS assigned,
                   avg(e.wait_seconds) AS wait_avg,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY e.wait_seconds) AS wait_median
              FROM assignment_events e
             WHERE e.kind IN ('assigned', 'claimed')
               AND e.created_at >= $1::date AND e.created_at < $2::date + 1
               AND ($3::uuid IS NULL OR e.team_id = $3)
             GROUP BY 1, 2
            """,
            *args,
        )
    )
    put(
        await conn.fetch(
            """
            SELECT (a.created_at AT TIME ZONE 'UTC')::date AS day, c.team_id,
                   count(*) FILTER (WHERE a.kind = 'resolved') AS assistant_resolved,
                   count(*) FILTER (WHERE a.kind = 'stepped_back') AS handovers
              FROM assistant_events a JOIN conversations c ON c.id = a.conversation_id
             WHERE a.kind IN ('resolved', 'stepped_back')
               AND a.created_at >= $1::date AND a.created_at < $2::date + 1
               AND ($3::uuid IS NULL OR c.team_id = $3)
             GROUP BY 1, 2
            """,
            *args,
        )
    )
    return rows


async def handover_reasons(
    conn: asyncpg.Connection, start: date, end: date, team_id: UUID | None
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT coalesce(a.reason, 'unknown') AS reason, count(*) AS count
          FROM assistant_events a JOIN conversations c ON c.id = a.conversation_id
         WHERE a.kind = 'stepped_back'
           AND a.created_at >= $1::date AND a.created_at < $2::date + 1
           AND ($3::uuid IS NULL OR c.team_id = $3)
         GROUP BY 1 ORDER BY 2 DESC, 1
        """,
        start,
        end,
        team_id,
    )
    return [dict(r) for r in rows]
