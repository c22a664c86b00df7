"""Transaction-scoped advisory locks that serialise a few rare races (released at commit).

Transaction-scoped on purpose: they hold nothing between transactions, so they also work
through a pooler in transaction mode."""

from __future__ import annotations

from uuid import UUID

import asyncpg

# Namespaces for hashtextextended(key, seed): one seed per kind of lock.
_CUSTOMER_START = 7
_EXTERNAL_IDENTITY = 11
_BOOTSTRAP = 0x5041524D  # one fixed key: only one process seeds an empty database


async def customer_start(conn: asyncpg.Connection, customer_id: UUID) -> None:
    """Two tabs starting at the same instant must end up in the same conversation."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text, $2))",
        str(customer_id),
        _CUSTOMER_START,
    )


async def external_identity(conn: asyncpg.Connection, user_id: str) -> None:
    """Two first visits of the same verified user at once must not create two owners."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text, $2))", user_id, _EXTERNAL_IDENTITY
    )


async def bootstrap(conn: asyncpg.Connection, key: int = _BOOTSTRAP) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", key)
