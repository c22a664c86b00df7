"""What hybrid retrieval reads: the chunks' words, scores of chosen chunks, the calibration."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from .knowledge import ChunkMatch, Vector, check_model_name, get_state, set_state, vector_literal
from .rows import to_structs


class SearchableChunk(msgspec.Struct, frozen=True):
    chunk_id: int
    slug: str
    title: str
    heading_path: list[str]
    text: str
    passage_vectors: bytes | None  # float32 rows (sql/0012)
    embedding: list[float] | None = None  # the chunk's own vector (decline specificity)


def calibration_key(model: str) -> str:
    """kb_state key of the decline calibration: scores are comparable only within a model."""
    return f"calibration:{check_model_name(model)}"


async def version(conn: asyncpg.Connection, model: str) -> tuple[Any, ...]:
    """Changes whenever an article or chunk of `model`, or the calibration, changes: the
    in-memory lexical index and threshold are rebuilt then (one cheap query per question)."""
    row = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM kb_articles),
               (SELECT max(indexed_at) FROM kb_articles),
               (SELECT max(updated_at) FROM kb_articles),
               (SELECT count(*) FROM kb_chunks WHERE embedding_model = $1),
               (SELECT max(id) FROM kb_chunks WHERE embedding_model = $1),
               (SELECT updated_at FROM kb_state WHERE key = $2)
        """,
        model,
        calibration_key(model),
    )
    return tuple(row) if row is not None else ()


async def searchable_chunks(conn: asyncpg.Connection, model: str) -> list[SearchableChunk]:
    rows = await conn.fetch(
        """
        SELECT c.id AS chunk_id, a.slug, a.title, c.heading_path, c.text, c.passage_vectors,
               c.embedding::real[] AS embedding
          FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
         WHERE c.embedding_model = $1
         ORDER BY c.id
        """,
        model,
    )
    return to_structs(SearchableChunk, rows)


async def score_chunks(
    conn: asyncpg.Connection, dimensions: int, query: Vector, ids: list[int]
) -> list[ChunkMatch]:
    """The given chunks with their cosine to `query` (lexical candidates the vector search
    did not return)."""
    if not ids:
        return []
    dims = int(dimensions)
    rows = await conn.fetch(
        f"""
        SELECT c.id AS chunk_id, a.slug, a.title, a.source_url, c.heading_path, c.text,
               1 - (c.embedding::vector({dims}) <=> $1::text::vector({dims})) AS score
          FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
         WHERE c.id = ANY($2::bigint[])
        """,
        vector_literal(query),
        ids,
    )
    return to_structs(ChunkMatch, rows)


async def get_calibration(conn: asyncpg.Connection, model: str) -> dict[str, Any] | None:
    value = await get_state(conn, calibration_key(model))
    return value if isinstance(value, dict) else None


async def set_calibration(conn: asyncpg.Connection, model: str, value: dict[str, Any]) -> None:
    await set_state(conn, calibration_key(model), value)


async def clear_calibration(conn: asyncpg.Connection, model: str) -> None:
    await conn.execute("DELETE FROM kb_state WHERE key = $1", calibration_key(model))
