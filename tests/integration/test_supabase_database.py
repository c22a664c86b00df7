"""A database set up the way Supabase sets one up: Parley migrates as a role that is not a
superuser, finds pgvector in the `extensions` schema, and nothing it creates is reachable by
the API roles `anon` and `authenticated`."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from server.embedded import EmbeddedPostgres
from server.store.lockdown import apply_admin_read
from server.store.migrations import MigrationError, default_sql_dir, load_migrations, migrate_dsn

OWNER = "parley_owner"  # plays Supabase's `postgres` role: owns the tables, not a superuser
API_ROLES = ("anon", "authenticated")

# Supabase's roles: the API roles cannot log in; PostgREST logs in as `authenticator`, which
# may only switch to them, and inherits nothing.
ROLES = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
        CREATE ROLE authenticator LOGIN NOINHERIT;
        GRANT anon, authenticated TO authenticator;
        CREATE ROLE {OWNER} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
SELECT pg_reload_conf();
"""

# What Supabase does in a project database: extensions in their own schema, and the API
# roles granted everything on whatever the owner creates in `public` from then on.
PROJECT = f"""
CREATE SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO {OWNER}, anon, authenticated;
GRANT USAGE ON SCHEMA public TO anon, authenticated;
ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated;
ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated;
ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated;
"""

# A migration written after this one: what it creates must be locked down too.
FUTURE = """
CREATE TABLE future_things (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text);
CREATE VIEW future_view AS SELECT id, note FROM future_things;
CREATE FUNCTION parley_future() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM future_things';
"""


def _dsn(server: EmbeddedPostgres, database: str, user: str = "parley") -> str:
    return f"postgresql://{user}@127.0.0.1:{server.port}/{database}"


async def _run(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest_asyncio.fixture(scope="session")
async def supabase_roles(embedded_postgres: EmbeddedPostgres) -> EmbeddedPostgres:
    hba = embedded_postgres.cluster_dir / "pg_hba.conf"
    line = f"host all {OWNER},authenticator 127.0.0.1/32 trust\n"
    if line not in hba.read_text():
        with hba.open("a") as out:
            out.write(line)
    await _run(_dsn(embedded_postgres, "postgres"), ROLES)
    return embedded_postgres


async def _project(server: EmbeddedPostgres, *, vector: bool, on_path: bool = True) -> str:
    """A database owned by OWNER, prepared as Supabase prepares one; returns its name."""
    name = f"supa_{uuid.uuid4().hex[:8]}"
    server.create_database(name)
    admin = _dsn(server, name)
    await _run(admin, f"ALTER DATABASE {name} OWNER TO {OWNER};" + PROJECT)
    if vector:
        await _run(admin, "CREATE EXTENSION vector SCHEMA extensions")
    if on_path:
        await _run(
            admin,
            f'ALTER ROLE {OWNER} IN DATABASE {name} SET search_path = "$user", public, extensions',
        )
    return name


@pytest_asyncio.fixture
async def project(
    supabase_roles: EmbeddedPostgres, tmp_path: Path
) -> AsyncIterator[tuple[str, Path]]:
    """A Supabase-like database migrated by OWNER, with one migration more than today's."""
    name = await _project(supabase_roles, vector=True)
    sql_dir = tmp_path / "sql"
    shutil.copytree(default_sql_dir(), sql_dir)
    (sql_dir / "9999_future.sql").write_text(FUTURE)
    yield name, sql_dir
    supabase_roles.drop_database(name)


async def test_migrates_as_a_role_that_is_not_superuser(
    supabase_roles: EmbeddedPostgres, project: tuple[str, Path]
) -> None:
    name, sql_dir = project
    owner = _dsn(supabase_roles, name, OWNER)
    applied = await migrate_dsn(owner, sql_dir)
    assert [m.version for m in applied] == [m.version for m in load_migrations(sql_dir)]
    conn = await asyncpg.connect(owner)
    try:
        assert (
            await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            is False
        )
        # pgvector was used where it was, not installed a second time.
        assert await conn.fetch(
            "SELECT extnamespace::regnamespace::text AS s FROM pg_extension WHERE extname = 'vector'"
        ) == [("extensions",)]
        assert (
            await conn.fetchval(
                "SELECT atttypid::regtype::text FROM pg_attribute WHERE attrelid = 'kb_chunks'::regclass AND attname = 'embedding'"
            )
            == "vector"
        )
        # The owner is not held back by row-level security on its own tables.
        await conn.execute("INSERT INTO future_things (note) VALUES ('mine')")
        assert await conn.fetchval("SELECT parley_future()") == 1
        assert await conn.fetchval("SELECT note FROM future_view") == "mine"
    finally:
        await conn.close()


async def test_no_parley_object_is_reachable_through_supabase_api_roles(
    supabase_roles: EmbeddedPostgres, project: tuple[str, Path]
) -> None:
    name, sql_dir = project
    await migrate_dsn(_dsn(supabase_roles, name, OWNER), sql_dir)
    conn = await asyncpg.connect(_dsn(supabase_roles, name, "authenticator"))
    try:
        relations = await conn.fetch(
            """
            SELECT c.oid::regclass::text AS name, c.relkind, c.relrowsecurity,
                   (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                     AND NOT a.attisdropped AND a.attidentity = '' AND a.attgenerated = ''
                   ORDER BY a.attnum DESC LIMIT 1) AS col
              FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
             ORDER BY 1
            """
        )
        tables = [r["name"] for r in relations if r["relkind"] in (b"r", b"p")]
        assert len(tables) >= 19 and "future_things" in tables and "schema_migrations" in tables
        assert [
            r["name"] for r in relations if r["relkind"] in (b"r", b"p") and not r["relrowsecurity"]
        ] == []
        refused = []
        for role in API_ROLES:
            await conn.execute(f"SET ROLE {role}")
            for r in relations:
                statements = (
                    f"SELECT * FROM {r['name']}",
                    f"INSERT INTO {r['name']} DEFAULT VALUES",
                    f"UPDATE {r['name']} SET {r['col']} = DEFAULT WHERE false",
                    f"DELETE FROM {r['name']} WHERE false",
                )
                # A view that cannot take writes refuses them whatever the privileges.
                refusals = (
                    (asyncpg.InsufficientPrivilegeError,)
                    if r["relkind"] in (b"r", b"p")
                    else (
                        asyncpg.InsufficientPrivilegeError,
                        asyncpg.ObjectNotInPrerequisiteStateError,
                    )
                )
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(statements[0])
                refused.append(statements[0])
                for sql in statements[1:]:
                    with pytest.raises(refusals):
                        await conn.execute(sql)
                    refused.append(sql)
            for function in ("parley_future()", "parley_post_message", "parley_assign"):
                oids = await conn.fetch(
                    "SELECT oid FROM pg_proc WHERE proname = $1", function.rstrip("()")
                )
                assert len(oids) >= 1
                for row in oids:
                    assert (
                        await conn.fetchval(
                            "SELECT has_function_privilege($1::text, $2::oid, 'EXECUTE')",
                            role,
                            row["oid"],
                        )
                        is False
                    )
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("SELECT parley_future()")
            await conn.execute("RESET ROLE")
        assert len(refused) == len(API_ROLES) * len(relations) * 4
    finally:
        await conn.close()


async def test_vector_off_the_search_path_is_a_clear_error(
    supabase_roles: EmbeddedPostgres,
) -> None:
    name = await _project(supabase_roles, vector=True, on_path=False)
    try:
        with pytest.raises(
            MigrationError, match=rf"schema extensions.*ALTER ROLE {OWNER} SET search_path"
        ):
            await migrate_dsn(_dsn(supabase_roles, name, OWNER))
    finally:
        supabase_roles.drop_database(name)


async def test_vector_missing_and_not_allowed_is_a_clear_error_and_nothing_half_done(
    supabase_roles: EmbeddedPostgres,
) -> None:
    name = await _project(supabase_roles, vector=False)
    owner = _dsn(supabase_roles, name, OWNER)
    try:
        with pytest.raises(
            MigrationError, match=r"0003_knowledge_base.*installed by an administrator"
        ):
            await migrate_dsn(owner)
        conn = await asyncpg.connect(owner)
        try:
            assert [
                r["version"]
                for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")
            ] == [1, 2]
            assert await conn.fetchval("SELECT to_regclass('kb_articles')") is None
        finally:
            await conn.close()
    finally:
        supabase_roles.drop_database(name)


async def test_optional_admin_read_policies(
    supabase_roles: EmbeddedPostgres, project: tuple[str, Path]
) -> None:
    name, sql_dir = project
    owner_dsn = _dsn(supabase_roles, name, OWNER)
    await migrate_dsn(owner_dsn, sql_dir)
    owner = await asyncpg.connect(owner_dsn)
    api = await asyncpg.connect(_dsn(supabase_roles, name, "authenticator"))
    claim = ("app_metadata", "parley_role")

    async def visible(role: str, claims: dict[str, object]) -> int:
        async with api.transaction():
            await api.execute(f"SET LOCAL ROLE {role}")
            await api.execute(
                "SELECT set_config('request.jwt.claims', $1, true)", json.dumps(claims)
            )
            return int(await api.fetchval("SELECT count(*) FROM conversations"))

    admin = {"role": "authenticated", "app_metadata": {"parley_role": "admin"}}
    try:
        customer = uuid.uuid4()
        await owner.execute("INSERT INTO customers (id) VALUES ($1)", customer)
        await owner.execute("INSERT INTO conversations (customer_id) VALUES ($1)", customer)
        await apply_admin_read(owner, claim)
        await apply_admin_read(owner, claim)  # already in place: nothing changes
        assert (
            await owner.fetchval(
                "SELECT count(*) FROM pg_policies WHERE policyname = 'parley_supabase_admin_read'"
            )
            == 4
        )

        assert await visible("authenticated", admin) == 1
        assert await visible("authenticated", {"app_metadata": {"parley_role": "agent"}}) == 0
        # user_metadata is the user's own to edit: it gives nothing.
        assert await visible("authenticated", {"user_metadata": {"parley_role": "admin"}}) == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await visible("anon", admin)
        async with api.transaction():
            await api.execute("SET LOCAL ROLE authenticated")
            await api.execute(
                "SELECT set_config('request.jwt.claims', $1, true)", json.dumps(admin)
            )
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await api.execute("UPDATE conversations SET status = 'resolved'")
        async with api.transaction():
            await api.execute("SET LOCAL ROLE authenticated")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await api.execute("SELECT * FROM customers")

        await apply_admin_read(owner, None)  # turned off again
        assert (
            await owner.fetchval(
                "SELECT count(*) FROM pg_policies WHERE policyname = 'parley_supabase_admin_read'"
            )
            == 0
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await visible("authenticated", admin)
    finally:
        await owner.close()
        await api.close()
