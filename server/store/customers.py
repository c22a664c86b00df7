"""Customers: visitors become rows when they first start a conversation."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from ..core.models import Customer
from .rows import to_struct

_COLUMNS = "id, name, email, attributes, identity_verified, created_at"


async def get(conn: asyncpg.Connection, customer_id: UUID) -> Customer | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM customers WHERE id = $1", customer_id)
    return to_struct(Customer, row) if row else None


async def upsert(
    conn: asyncpg.Connection,
    customer_id: UUID,
    *,
    name: str | None,
    email: str | None,
    attributes: dict[str, Any],
) -> Customer:
    """Create the visitor's row, or fill in what they told us since (never erase a known value)."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO customers AS c (id, name, email, attributes) VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO UPDATE
           SET name = coalesce(excluded.name, c.name),
               email = coalesce(excluded.email, c.email),
               attributes = c.attributes || excluded.attributes,
               updated_at = now()
        RETURNING {_COLUMNS}
        """,
        customer_id,
        name,
        email,
        attributes,
    )
    return to_struct(Customer, row)


async def owner_of_external_id(conn: asyncpg.Connection, external_id: str) -> UUID | None:
    """The customer a site's user id is bound to, if any."""
    found: UUID | None = await conn.fetchval(
        "SELECT id FROM customers WHERE external_id = $1", external_id
    )
    return found


async def external_id_of(conn: asyncpg.Connection, customer_id: UUID) -> str | None:
    found: str | None = await conn.fetchval(
        "SELECT external_id FROM customers WHERE id = $1", customer_id
    )
    return found


async def bind_identity(
    conn: asyncpg.Connection,
    customer_id: UUID,
    *,
    external_id: str,
    name: str | None,
    email: str | None,
) -> None:
    """Mark a customer as the verified holder of a site's user id (creating the row if new)."""
    await conn.execute(
        """
        INSERT INTO customers AS c (id, external_id, identity_verified, name, email)
        VALUES ($1, $2, true, $3, $4)
        ON CONFLICT (id) DO UPDATE
           SET external_id = excluded.external_id,
               identity_verified = true,
               name = coalesce(excluded.name, c.name),
               email = coalesce(excluded.email, c.email),
               updated_at = now()
        """,
        customer_id,
        external_id,
        name,
        email,
    )


async def token_versions(conn: asyncpg.Connection, customer_ids: list[UUID]) -> dict[UUID, int]:
    """Token versions of many visitors in one query; those with no row yet are left out (their
    version is 0: nothing has been revoked for them)."""
    rows = await conn.fetch(
        "SELECT id, token_version FROM customers WHERE id = ANY ($1::uuid[])", customer_ids
    )
    return {r["id"]: int(r["token_version"]) for r in rows}


async def bump_token_version(conn: asyncpg.Connection, customer_id: UUID) -> int:
    return int(
        await conn.fetchval(
            "UPDATE customers SET token_version = token_version + 1 WHERE id = $1"
            " RETURNING token_version",
            customer_id,
        )
    )
