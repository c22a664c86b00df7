"""Migrations apply from zero, are idempotent, and are safe when processes race."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from server.embedded import EmbeddedPostgres
from server.store.migrations import default_sql_dir, load_migrations, migrate_dsn


async def test_from_zero_then_idempotent_then_concurrent(
    embedded_postgres: EmbeddedPostgres,
) -> None:
    name = f"mig_{uuid.uuid4().hex[:8]}"
    dsn = embedded_postgres.create_database(name)
    try:
        files = load_migrations(default_sql_dir())
        applied = await migrate_dsn(dsn)
        assert [m.version for m in applied] == [m.version for m in files]
        assert await migrate_dsn(dsn) == []
        conn = await asyncpg.connect(dsn)
        try:
            recorded = await conn.fetch(
                "SELECT version, checksum FROM schema_migrations ORDER BY 1"
            )
            assert [(r["version"], r["checksum"]) for r in recorded] == [
                (m.version, m.checksum) for m in files
            ]
            assert await conn.fetchval(
                "SELECT to_regprocedure('parley_post_message(uuid,text,uuid,text,text,text,jsonb,uuid[],text[],uuid)')"
            )
        finally:
            await conn.close()
    finally:
        embedded_postgres.drop_database(name)

    racing = f"race_{uuid.uuid4().hex[:8]}"
    dsn = embedded_postgres.create_database(racing)
    try:
        results = await asyncio.gather(*(migrate_dsn(dsn) for _ in range(4)))
        # Racers take turns one migration at a time: each migration applied exactly once.
        assert sorted(m.version for r in results for m in r) == [m.version for m in files]
    finally:
        embedded_postgres.drop_database(racing)
