"""PgBouncer in transaction mode (Supabase's pooler) in front of the real PostgreSQL: what breaks
through it, and that the pool, migrations and the knowledge base do not."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from server.actions import knowledge as actions
from server.actions.knowledge import KnowledgeBase
from server.actions.knowledge_import import seed_demo_if_empty
from server.assistant.embeddings import LocalMiniLM
from server.assistant.retrieval import Retriever
from server.core.knowledge import ArticleDraft
from server.embedded import EmbeddedPostgres
from server.store import knowledge as store
from server.store.db import create_pool
from server.store.migrations import default_sql_dir, load_migrations
from tests.pgbouncer import PgBouncer

ROOT = Path(__file__).resolve().parents[2]


async def test_a_cached_statement_breaks_through_the_pooler(
    clean_database: str, pgbouncer: PgBouncer
) -> None:
    """Why the setting exists: asyncpg's named statements live in one server session."""
    dsn = pgbouncer.dsn(clean_database.rsplit("/", 1)[1])
    first, second = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        assert await first.fetchval("SELECT 1 + $1::int", 1) == 2  # prepared by name on server A
        async with second.transaction():  # pins server A: the pooler hands it out last-used first
            await second.execute("SELECT 1")
            with pytest.raises(asyncpg.InvalidSQLStatementNameError):
                await first.fetchval("SELECT 1 + $1::int", 1)  # runs on server B
    finally:
        await first.close()
        await second.close()


async def test_a_pooled_pool_shares_server_sessions_safely(
    clean_database: str, pgbouncer: PgBouncer
) -> None:
    pool = await create_pool(
        pgbouncer.dsn(clean_database.rsplit("/", 1)[1]),
        min_size=1,
        max_size=10,
        pooler="transaction",
    )

    async def query(n: int) -> int:
        async with pool.acquire() as conn:
            return await conn.fetchval("SELECT $1::int + 1", n)

    try:
        # Ten clients over four server connections: a named statement would go missing here.
        assert await asyncio.gather(*(query(n) for n in range(200))) == [n + 1 for n in range(200)]
    finally:
        await pool.close()


def test_two_processes_migrate_at_once_through_the_pooler(
    embedded_postgres: EmbeddedPostgres, pgbouncer: PgBouncer, redis_url: str, tmp_path: Path
) -> None:
    name = f"pooled_{uuid.uuid4().hex[:8]}"
    direct = embedded_postgres.create_database(name)
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": pgbouncer.dsn(name),
        "REDIS_URL": redis_url,
        "PARLEY_DATA_DIR": str(tmp_path),
    }
    try:
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "server", "migrate"],
                cwd=ROOT,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=60)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        files = load_migrations(default_sql_dir())
        # They took turns, one migration at a time: each applied exactly once, by one of them.
        applied = [
            o.strip().splitlines()[-1].removeprefix("migrations: ").split(", ") for o in outputs
        ]
        names = sorted(n for each in applied for n in each if n != "nothing to apply")
        assert names == [f"{m.version:04d}_{m.name}" for m in files]
        recorded = asyncio.run(_versions(direct))
        assert recorded == [m.version for m in files]
    finally:
        embedded_postgres.drop_database(name)


async def _versions(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return [
            r["version"]
            for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")
        ]
    finally:
        await conn.close()


async def test_the_knowledge_base_works_through_the_pooler(
    clean_database: str, pgbouncer: PgBouncer, minilm: LocalMiniLM, tmp_path: Path
) -> None:
    pool = await create_pool(
        pgbouncer.dsn(clean_database.rsplit("/", 1)[1]),
        min_size=1,
        max_size=6,
        pooler="transaction",
    )
    kb = KnowledgeBase(pool, minilm)
    try:
        await actions.prepare(kb)
        # Writers of one slug take turns under a transaction-scoped lock: both land, in turn.
        drafts = [
            ArticleDraft(
                "returns", "Returns", "# Returns\n\nSend parcels back within 30 days for a refund."
            ),
            ArticleDraft(
                "returns", "Returns", "# Returns\n\nSend parcels back within 60 days for a refund."
            ),
        ]
        results = await asyncio.gather(*(actions.upsert_article(kb, d) for d in drafts))
        assert sorted(r.outcome for r in results) == ["created", "updated"]
        async with pool.acquire() as conn:
            article = await store.get_article(conn, "returns")
            assert article is not None and article.index_status == "indexed"
            assert len(await store.chunks_of(conn, article.id)) == 1
        found = await Retriever(pool, minilm).retrieve("How long do I have to send a parcel back?")
        assert [a.slug for a in found.articles] == ["returns"]

        (tmp_path / "shipping.md").write_text(
            "# Shipping\n\nOrders ship within two business days.\n"
        )
        seeded = await asyncio.gather(
            seed_demo_if_empty(kb, tmp_path), seed_demo_if_empty(kb, tmp_path)
        )
        assert seeded == [None, None]  # someone else's help center: left alone by both
    finally:
        await pool.close()
