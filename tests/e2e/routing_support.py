"""Helpers for routing tests: customers who wait, agents who come and go, and PostgreSQL checks."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from tests.support import (
    Client,
    RunningServer,
    agent,
    agent_token,
    customer,
    eventually,  # noqa: F401  (used by the tests that import it from here)
)


async def waiting_customer(server: RunningServer, **start: Any) -> tuple[Client, str]:
    cust = await customer(server.url)
    started = await cust.ok("start_conversation", start)
    cust.started = started  # type: ignore[attr-defined]
    return cust, started["conversation"]["id"]


async def online_agent(
    server: RunningServer,
    name: str,
    *,
    max_chats: int | None = None,
    teams: tuple[str, ...] = ("support",),
) -> tuple[uuid.UUID, str, Client]:
    agent_id, token = await agent_token(server, name=name, max_chats=max_chats, teams=teams)
    client = await agent(server.url, token)
    return agent_id, token, client


async def assignee(server: RunningServer, conversation_id: str) -> uuid.UUID | None:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        return await conn.fetchval(
            "SELECT assigned_agent_id FROM conversations WHERE id = $1", uuid.UUID(conversation_id)
        )
    finally:
        await conn.close()


async def assignees(
    server: RunningServer, conversation_ids: list[str]
) -> dict[str, uuid.UUID | None]:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT id, assigned_agent_id FROM conversations WHERE id = ANY ($1::uuid[])",
            [uuid.UUID(c) for c in conversation_ids],
        )
        return {str(r["id"]): r["assigned_agent_id"] for r in rows}
    finally:
        await conn.close()


async def set_team_mode(server: RunningServer, slug: str, **settings: Any) -> None:
    import json

    conn = await asyncpg.connect(server.settings.database_url)
    try:
        await conn.execute(
            "UPDATE teams SET settings = settings || $2::jsonb WHERE slug = $1",
            slug,
            json.dumps(settings),
        )
    finally:
        await conn.close()


async def add_team(server: RunningServer, slug: str, name: str) -> uuid.UUID:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        return await conn.fetchval(
            "INSERT INTO teams (slug, name) VALUES ($1, $2) RETURNING id", slug, name
        )
    finally:
        await conn.close()
