"""Applies the numbered plain-SQL migrations in order, each in its own transaction."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

import asyncpg

from .lockdown import lock_down, schema_objects
from .pooler import resolve_pooler

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


class MigrationError(RuntimeError):
    """The database cannot be migrated as configured; the message says what to change."""


_SCHEMA_MIGRATIONS = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        checksum   text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
    )
"""


async def migrate(conn: asyncpg.Connection, sql_dir: Traversable | None = None) -> list[Migration]:
    """Apply pending migrations; return the ones applied. Safe to run from many processes.

    Each migration is one transaction that starts by taking a transaction-scoped advisory
    lock, so racing processes take turns, and nothing outlives the transaction: this works
    through a transaction-mode pooler, where two transactions may use two server sessions.
    """
    migrations = load_migrations(sql_dir or default_sql_dir())
    await _check_vector_reachable(conn)
    done: list[Migration] = []
    while True:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(_SCHEMA_MIGRATIONS)
            rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
            applied = {row["version"]: row["checksum"] for row in rows}
            if not done:
                _warn_changed(migrations, applied)
            pending = [m for m in migrations if m.version not in applied]
            if not pending:
                return done
            migration = pending[0]
            await _apply(conn, migration)
        log.info("applied migration %04d_%s", migration.version, migration.name)
        done.append(migration)


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    before = await schema_objects(conn)
    try:
        await conn.execute(migration.sql)
    except asyncpg.InsufficientPrivilegeError as exc:
        raise MigrationError(
            f"migration {migration.version:04d}_{migration.name} needs a privilege this role "
            f"lacks ({exc.message}); an extension such as vector must be installed by an "
            "administrator (on Supabase: Database > Extensions)"
        ) from exc
    # What a migration creates is locked down in its own transaction: no moment when
    # Supabase's default grants to its API roles would expose it.
    await lock_down(conn, await schema_objects(conn) - before)
    await conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
        migration.version,
        migration.name,
        migration.checksum,
    )


def _warn_changed(migrations: list[Migration], applied: dict[int, str]) -> None:
    for migration in migrations:
        if applied.get(migration.version, migration.checksum) != migration.checksum:
            log.warning(
                "migration %04d_%s changed after it was applied; edit with a new file",
                migration.version,
                migration.name,
            )


async def _check_vector_reachable(conn: asyncpg.Connection) -> None:
    """pgvector installed in a schema this role does not search (Supabase puts extensions
    in `extensions`) would make every `vector` in the schema and the queries fail later."""
    schema = await conn.fetchval(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'vector'"
    )
    if schema is None or await conn.fetchval("SELECT $1 = ANY(current_schemas(false))", schema):
        return
    role = await conn.fetchval("SELECT current_user")
    raise MigrationError(
        f"the vector extension is installed in schema {schema}, which is not on the "
        f"search_path of role {role}; run: ALTER ROLE {role} SET search_path = "
        f'"$user", public, {schema}'
    )


async def migrate_dsn(dsn: str, sql_dir: Traversable | None = None) -> list[Migration]:
    dsn, _ = resolve_pooler(dsn, "auto")
    # A migration prepares few statements: none are cached, so any pooler mode is safe.
    conn = await asyncpg.connect(dsn, statement_cache_size=0)
    try:
        return await migrate(conn, sql_dir)
    finally:
        await conn.close()
