"""The asyncpg pool: JSON codecs and connection settings in one place."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from .pooler import resolve_pooler

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


def _encode_json(value: Any) -> str:
    return _json_encode(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=_encode_json, decoder=_json_decode, schema="pg_catalog"
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL):
    one more round trip on every release, for state Parley never leaves behind (its advisory
    locks are transaction-scoped, store/locks.py; no LISTEN, no session SET, no cursor outside
    a transaction). Behind a transaction pooler the session it would reset is not ours anyway."""


async def create_pool(
    dsn: str, *, min_size: int, max_size: int, pooler: str = "none"
) -> asyncpg.Pool:
    """A pool for `dsn`; `pooler` is a POOLER_MODES value (see `resolve_pooler`)."""
    dsn, pooled = resolve_pooler(dsn, pooler)
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        # Statements are prepared per connection; keep the cache modest and let it recycle.
        # Behind a transaction pooler a named statement may be missing on the next server
        # connection, so none are kept: each query is prepared unnamed in its own round trip.
        statement_cache_size=0 if pooled else 256,
        max_inactive_connection_lifetime=300,
        command_timeout=30,
        server_settings={"application_name": "parley"},
    )
    assert pool is not None
    return pool
