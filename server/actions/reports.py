"""Reports for admins: volume, waits, response and resolution times, the assistant's share,
per day and team, as rows (for tables and charts) and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from ..core.errors import invalid
from ..store import reports as report_store
from ..store import routing as routing_store
from .context import Services

MAX_DAYS = 366
COLUMNS = (
    "day",
    "team",
    "conversations",
    "assigned",
    "resolved",
    "wait_avg",
    "wait_median",
    "first_response_avg",
    "resolution_avg",
    "assistant_resolved",
    "handovers",
)
_SECONDS = ("wait_avg", "wait_median", "first_response_avg", "resolution_avg")


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    end = end or today
    start = start or end - timedelta(days=13)
    if start > end:
        raise invalid("from must not be after to")
    if (end - start).days >= MAX_DAYS:
        raise invalid(f"a report covers at most {MAX_DAYS} days")
    return start, end


async def report(
    services: Services, start: date, end: date, team_id: UUID | None
) -> dict[str, Any]:
    async with services.db.acquire() as conn:
        figures = await report_store.daily(conn, start, end, team_id)
        reasons = await report_store.handover_reasons(conn, start, end, team_id)
        teams: dict[UUID | None, str] = {t.id: t.name for t in await routing_store.teams(conn)}
    rows = []
    for (day, team), values in sorted(
        figures.items(), key=lambda item: (item[0][0], teams.get(item[0][1]) or "")
    ):
        row: dict[str, Any] = {
            "day": day.isoformat(),
            "team_id": str(team) if team else None,
            "team": teams.get(team) if team else None,
        }
        for column in COLUMNS[2:]:
            value = values.get(column)
            if column in _SECONDS:
                row[column] = round(float(value), 1) if value is not None else None
            else:
                row[column] = int(value or 0)
        rows.append(row)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "days": [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)],
        "rows": rows,
        "totals": _totals(rows),
        "handover_reasons": reasons,
    }


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def total(column: str) -> int:
        return sum(int(r[column]) for r in rows)

    def weighted(column: str, weight: str) -> float | None:
        pairs = [(r[column], r[weight]) for r in rows if r[column] is not None and r[weight]]
        count = sum(w for _, w in pairs)
        return round(sum(v * w for v, w in pairs) / count, 1) if count else None

    return {
        "conversations": total("conversations"),
        "assigned": total("assigned"),
        "resolved": total("resolved"),
        "assistant_resolved": total("assistant_resolved"),
        "handovers": total("handovers"),
        "wait_avg": weighted("wait_avg", "assigned"),
        "first_response_avg": weighted("first_response_avg", "conversations"),
        "resolution_avg": weighted("resolution_avg", "resolved"),
    }


def as_csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in data["rows"]:
        writer.writerow([_cell(row.get(c)) for c in COLUMNS])
    return out.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A team name starting with = + - @ must not turn into a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
