"""Applies the numbered plain-SQL migrations in order, each in its own transaction."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

import asyncpg

log = logging.getLogger(__name__)

# Any constant works; every Parley process takes this advisory lock to migrate one at a time.
_MIGRATION_LOCK = 0x5041524C  # "PARL"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def default_sql_dir() -> Traversable:
    """The migrations shipped in the package (server/sql links to the top-level sql/ folder)."""
    return resources.files("server").joinpath("sql")


def load_migrations(sql_dir: Traversable) -> list[Migration]:
    if not sql_dir.is_dir():
        raise FileNotFoundError(f"no migrations directory at {sql_dir} (PARLEY_SQL_DIR)")
    migrations = []
    files = [entry for entry in sql_dir.iterdir() if entry.name.endswith(".sql")]
    for entry in sorted(files, key=lambda e: e.name):
        match = _FILE_NAME.match(entry.name)
        if not match:
            raise ValueError(f"migration file name must look like 0001_name.sql: {entry.name}")
        migrations.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ValueError("two migration files share a version number")
    return migrations


async def migrate(conn: asyncpg.Connection, sql_dir: Traversable | None = None) -> list[Migration]:
    """Apply pending migrations; return the ones applied. Safe to run from many processes."""
    migrations = load_migrations(sql_dir or default_sql_dir())
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
        applied = {row["version"]: row["checksum"] for row in rows}
        done = []
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    log.warning(
                        "migration %04d_%s changed after it was applied; edit with a new file",
                        migration.version,
                        migration.name,
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            log.info("applied migration %04d_%s", migration.version, migration.name)
            done.append(migration)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)


async def migrate_dsn(dsn: str, sql_dir: Traversable | None = None) -> list[Migration]:
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate(conn, sql_dir)
    finally:
        await conn.close()
