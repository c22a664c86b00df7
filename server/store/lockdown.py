"""Keeps Parley's tables out of reach of Supabase's auto-generated API (anon, authenticated)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

# The roles Supabase's REST and GraphQL APIs run as; absent on plain PostgreSQL.
API_ROLES = ("anon", "authenticated")


@dataclass(frozen=True, slots=True)
class Objects:
    """Relations (tables, views, sequences) and functions of the current schema, by oid."""

    relations: frozenset[int]
    functions: frozenset[int]

    def __sub__(self, other: Objects) -> Objects:
        return Objects(self.relations - other.relations, self.functions - other.functions)


async def schema_objects(conn: asyncpg.Connection) -> Objects:
    """What the current schema holds, leaving out what belongs to an extension (pgvector)."""
    rows = await conn.fetch(
        """
        SELECT c.oid, 'r' AS kind FROM pg_class c
         WHERE c.relnamespace = current_schema()::regnamespace
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                           AND d.objid = c.oid AND d.deptype = 'e')
        UNION ALL
        SELECT p.oid, 'f' FROM pg_proc p
         WHERE p.pronamespace = current_schema()::regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                           AND d.objid = p.oid AND d.deptype = 'e')
        """
    )
    return Objects(
        frozenset(r["oid"] for r in rows if r["kind"] == "r"),
        frozenset(r["oid"] for r in rows if r["kind"] == "f"),
    )


async def lock_down(conn: asyncpg.Connection, objects: Objects) -> None:
    """Row-level security with no policy on every table, and no privilege for the API roles.

    The owner (Parley's own role) bypasses row-level security, so Parley is unaffected.
    Privileges are revoked as well because views ignore the caller's row-level security,
    and Supabase grants its API roles everything on new objects in `public` by default.
    """
    roles = await conn.fetch("SELECT rolname FROM pg_roles WHERE rolname = ANY($1)", API_ROLES)
    grantees = ", ".join(["PUBLIC", *(f'"{r["rolname"]}"' for r in roles)])
    relations = await conn.fetch(
        "SELECT oid::regclass::text AS name, relkind::text FROM pg_class WHERE oid = ANY($1)",
        list(objects.relations),
    )
    for relation in relations:
        if relation["relkind"] in ("r", "p"):
            await conn.execute(f"ALTER TABLE {relation['name']} ENABLE ROW LEVEL SECURITY")
        await conn.execute(f"REVOKE ALL ON {relation['name']} FROM {grantees}")
    functions = await conn.fetch(
        "SELECT oid::regprocedure::text AS name FROM pg_proc WHERE oid = ANY($1)",
        list(objects.functions),
    )
    for function in functions:
        await conn.execute(f"REVOKE ALL ON FUNCTION {function['name']} FROM {grantees}")


# Optional (PARLEY_SUPABASE_ADMIN_READ): what a team's own Supabase users who are Parley admins
# may read directly, for dashboards and reports. Never written to that way.
ADMIN_READABLE = ("conversations", "messages", "assignment_events", "assistant_events")
_ADMIN_READ_POLICY = "parley_supabase_admin_read"


async def apply_admin_read(conn: asyncpg.Connection, claim_path: tuple[str, ...] | None) -> None:
    """Let `authenticated` users whose JWT has "admin" at `claim_path` read ADMIN_READABLE;
    with None, take that away again. Nothing happens where there is no `authenticated` role.

    The claims are what PostgREST puts in `request.jwt.claims` for each request; the path
    should be under app_metadata, which users cannot change themselves.
    """
    if not await conn.fetchval("SELECT true FROM pg_roles WHERE rolname = 'authenticated'"):
        return
    path = "{" + ",".join(claim_path or ()) + "}"
    condition = (
        f"(nullif(current_setting('request.jwt.claims', true), '')::jsonb #>> '{path}') = 'admin'"
    )
    # Changing a policy locks its table against every query: only touch what must change.
    current = {
        r["tablename"]: r["qual"]
        for r in await conn.fetch(
            "SELECT tablename, qual FROM pg_policies WHERE policyname = $1"
            " AND schemaname = current_schema()",
            _ADMIN_READ_POLICY,
        )
    }
    async with conn.transaction():
        for table in ADMIN_READABLE:
            if await conn.fetchval("SELECT to_regclass($1)", table) is None:
                continue
            if claim_path is None and table not in current:
                continue
            if claim_path is not None and f"'{path}'" in current.get(table, ""):
                continue
            await conn.execute(f"DROP POLICY IF EXISTS {_ADMIN_READ_POLICY} ON {table}")
            if claim_path is None:
                await conn.execute(f"REVOKE SELECT ON {table} FROM authenticated")
                continue
            await conn.execute(
                f"CREATE POLICY {_ADMIN_READ_POLICY} ON {table} FOR SELECT TO authenticated "
                f"USING ({condition})"
            )
            await conn.execute(f"GRANT SELECT ON {table} TO authenticated")
