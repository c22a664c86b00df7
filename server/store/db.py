"""The asyncpg pool: JSON codecs and connection settings in one place."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


def _encode_json(value: Any) -> str:
    return _json_encode(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=_encode_json, decoder=_json_decode, schema="pg_catalog"
        )


async def create_pool(dsn: str, *, min_size: int, max_size: int) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        # Statements are prepared per connection; keep the cache modest and let it recycle.
        statement_cache_size=256,
        max_inactive_connection_lifetime=300,
        command_timeout=30,
        server_settings={"application_name": "parley"},
    )
    assert pool is not None
    return pool
