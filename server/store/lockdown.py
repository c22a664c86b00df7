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
