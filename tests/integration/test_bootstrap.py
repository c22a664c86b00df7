"""Processes starting together on an empty database agree on one default team."""

from __future__ import annotations

import asyncio

import asyncpg

from server.actions.bootstrap import ensure_default_team


async def test_processes_starting_at_once_create_one_default_team(clean_database: str) -> None:
    connections = [await asyncpg.connect(clean_database) for _ in range(4)]
    try:
        await connections[0].execute("TRUNCATE teams CASCADE")

        # Each in its own transaction, as separate processes run it: none may fail.
        async def start(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await ensure_default_team(conn)

        await asyncio.gather(*(start(conn) for conn in connections))
        teams = await connections[0].fetch("SELECT slug, is_default FROM teams")
        assert [(t["slug"], t["is_default"]) for t in teams] == [("support", True)]
    finally:
        for conn in connections:
            await conn.close()
