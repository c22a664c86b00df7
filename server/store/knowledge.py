"""Knowledge-base articles and their embedded chunks (plain SQL over pgvector)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from ..core.knowledge import ArticleDraft
from .rows import to_struct, to_structs

Vector = Sequence[float]

# Model names end up as literals in index predicates and queries (see vector_index_name), so
# they are restricted to characters that need no quoting.
_MODEL_NAME = re.compile(r"^[A-Za-z0-9._:/-]{1,100}$")
# pgvector's HNSW index takes at most 2,000 dimensions for `vector`.
MAX_INDEXED_DIMENSIONS = 2000
_INDEX_LOCK = 0x5041524B  # "PARK": one process at a time creates a model's index


class IndexStatus:
    PENDING = "pending"
    INDEXED = "indexed"
    FAILED = "failed"


class ArticleSummary(msgspec.Struct, frozen=True):
    id: UUID
    slug: str
    title: str
    source_url: str | None
    tags: list[str]
    content_hash: str
    index_status: str
    index_error: str | None
    embedding_model: str | None
    chunk_count: int
    indexed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class StoredArticle(msgspec.Struct, frozen=True):
    id: UUID
    slug: str
    title: str
    body: str
    source_url: str | None
    tags: list[str]
    content_hash: str
    index_status: str
    index_error: str | None
    embedding_model: str | None
    chunk_count: int
    indexed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class StoredChunk(msgspec.Struct, frozen=True):
    id: int
    ordinal: int
    heading_path: list[str]
    text: str
    content_hash: str
    embedding_model: str
    embedded_at: datetime
    has_passages: bool  # its passage vectors were stored (sql/0012)


class ChunkMatch(msgspec.Struct, frozen=True):
    """A chunk near a question, with its article, scored by cosine similarity."""

    chunk_id: int
    slug: str
    title: str
    source_url: str | None
    heading_path: list[str]
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class NewChunk:
    """A chunk to store: a fresh vector, or `reuse_id` to keep an existing row's vector."""

    ordinal: int
    heading_path: Sequence[str]
    text: str
    content_hash: str
    embedding: Vector | None = None
    reuse_id: int | None = None
    # The passage vectors (passages.passage_texts) as float32 rows; stored with `embedding`.
    passage_vectors: bytes | None = None


def check_model_name(model: str) -> str:
    if not _MODEL_NAME.fullmatch(model):
        raise ValueError(f"embedding model name {model!r} must match {_MODEL_NAME.pattern}")
    return model


def vector_index_name(model: str) -> str:
    """The partial HNSW index of one model's vectors (the migration creates the default's)."""
    digest = hashlib.sha256(check_model_name(model).encode()).hexdigest()[:12]
    return f"kb_chunks_hnsw_{digest}"


def vector_literal(vector: Vector) -> str:
    """pgvector's text form. Sent as text and cast in SQL: no client-side codec is needed,
    and the pool may be created before the extension exists."""
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


_ARTICLE_COLUMNS = """
    a.id, a.slug, a.title, a.source_url, a.tags, a.content_hash, a.index_status,
    a.index_error, a.embedding_model, a.indexed_at, a.created_at, a.updated_at,
    (SELECT count(*) FROM kb_chunks c
      WHERE c.article_id = a.id AND c.embedding_model = a.embedding_model)::int AS chunk_count
"""


async def ensure_vector_index(conn: asyncpg.Connection, model: str, dimensions: int) -> bool:
    """Create the model's HNSW index unless it exists; True when it was created."""
    if not 1 <= dimensions <= MAX_INDEXED_DIMENSIONS:
        raise ValueError(f"HNSW indexes take 1 to {MAX_INDEXED_DIMENSIONS} dimensions")
    name = vector_index_name(model)
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name)
    if exists:
        return False
    # Transaction-scoped: pooled connections are released without a reset (store/db.py).
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _INDEX_LOCK)
        if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name):
            return False
        await conn.execute(
            f"CREATE INDEX {name} ON kb_chunks "
            f"USING hnsw ((embedding::vector({int(dimensions)})) vector_cosine_ops) "
            f"WHERE embedding_model = '{check_model_name(model)}'"
        )
        return True


async def list_articles(
    conn: asyncpg.Connection, *, title_query: str | None, limit: int, offset: int
) -> list[ArticleSummary]:
    pattern = None
    if title_query:
        escaped = re.sub(r"([\\%_])", r"\\\1", title_query)
        pattern = f"%{escaped}%"
    rows = await conn.fetch(
        f"""
        SELECT {_ARTICLE_COLUMNS} FROM kb_articles a
         WHERE $1::text IS NULL OR a.title ILIKE $1 OR a.slug ILIKE $1
         ORDER BY a.title, a.slug LIMIT $2 OFFSET $3
        """,
        pattern,
        limit,
        offset,
    )
    return to_structs(ArticleSummary, rows)


async def get_article(conn: asyncpg.Connection, slug: str) -> StoredArticle | None:
    row = await conn.fetchrow(
        f"SELECT {_ARTICLE_COLUMNS}, a.body FROM kb_articles a WHERE a.slug = $1", slug
    )
    return to_struct(StoredArticle, row) if row else None


async def lock_article(conn: asyncpg.Connection, slug: str) -> StoredArticle | None:
    """The article row, locked until the transaction ends (writers of one slug take turns)."""
    await conn.execute("SELECT 1 FROM kb_articles WHERE slug = $1 FOR UPDATE", slug)
    return await get_article(conn, slug)


async def insert_article(conn: asyncpg.Connection, draft: ArticleDraft) -> UUID | None:
    """Insert; None when the slug is taken (the caller decides whether that is a conflict)."""
    article_id: UUID | None = await conn.fetchval(
        """
        INSERT INTO kb_articles (slug, title, body, source_url, tags, content_hash)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (slug) DO NOTHING RETURNING id
        """,
        draft.slug,
        draft.title,
        draft.body,
        draft.source_url,
        list(draft.tags),
        draft.content_hash,
    )
    return article_id


async def update_article(conn: asyncpg.Connection, article_id: UUID, draft: ArticleDraft) -> None:
    await conn.execute(
        """
        UPDATE kb_articles
           SET title = $2, body = $3, source_url = $4, tags = $5, content_hash = $6,
               updated_at = now()
         WHERE id = $1
        """,
        article_id,
        draft.title,
        draft.body,
        draft.source_url,
        list(draft.tags),
        draft.content_hash,
    )


async def set_index_status(
    conn: asyncpg.Connection,
    article_id: UUID,
    status: str,
    *,
    model: str | None,
    error: str | None = None,
) -> None:
    await conn.execute(
        """
        UPDATE kb_articles
           SET index_status = $2, embedding_model = $3, index_error = $4,
               indexed_at = CASE WHEN $2 = 'indexed' THEN now() ELSE indexed_at END
         WHERE id = $1
        """,
        article_id,
        status,
        model,
        error,
    )


async def delete_article(conn: asyncpg.Connection, slug: str) -> bool:
    deleted = await conn.fetchval("DELETE FROM kb_articles WHERE slug = $1 RETURNING id", slug)
    return deleted is not None


async def chunks_of(
    conn: asyncpg.Connection, article_id: UUID, model: str | None = None
) -> list[StoredChunk]:
    rows = await conn.fetch(
        """
        SELECT id, ordinal, heading_path, text, content_hash, embedding_model, embedded_at,
               passage_vectors IS NOT NULL AS has_passages
          FROM kb_chunks
         WHERE article_id = $1 AND ($2::text IS NULL OR embedding_model = $2)
         ORDER BY embedding_model, ordinal
        """,
        article_id,
        model,
    )
    return to_structs(StoredChunk, rows)


async def stored_chunk_hashes(
    conn: asyncpg.Connection, slugs: Sequence[str], model: str
) -> dict[str, set[str]]:
    """Content hashes of the chunks each of these articles has for `model`."""
    rows = await conn.fetch(
        """
        SELECT a.slug, c.content_hash
          FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
         WHERE a.slug = ANY($1::text[]) AND c.embedding_model = $2
        """,
        list(slugs),
        model,
    )
    hashes: dict[str, set[str]] = {}
    for row in rows:
        hashes.setdefault(row["slug"], set()).add(row["content_hash"])
    return hashes


async def replace_chunks(
    conn: asyncpg.Connection, article_id: UUID, model: str, chunks: Sequence[NewChunk]
) -> None:
    """Make the article's chunks exactly `chunks`: reused rows keep their vector and
    embedded_at, new ones are inserted, the rest (and every other model's) are deleted.
    Run it inside a transaction: ordinals are only unique again at the commit."""
    keep = [c.reuse_id for c in chunks if c.reuse_id is not None]
    await conn.execute(
        "DELETE FROM kb_chunks WHERE article_id = $1 AND NOT (id = ANY($2::bigint[]))",
        article_id,
        keep,
    )
    kept = [c for c in chunks if c.reuse_id is not None]
    if kept:
        await conn.executemany(
            "UPDATE kb_chunks SET ordinal = $2, heading_path = $3, text = $4 WHERE id = $1",
            [(c.reuse_id, c.ordinal, list(c.heading_path), c.text) for c in kept],
        )
    fresh = [c for c in chunks if c.reuse_id is None]
    if fresh:
        await conn.executemany(
            """
            INSERT INTO kb_chunks (article_id, ordinal, heading_path, text, content_hash,
                                   embedding_model, embedding, passage_vectors)
            VALUES ($1, $2, $3, $4, $5, $6, $7::text::vector, $8)
            """,
            [
                (
                    article_id,
                    c.ordinal,
                    list(c.heading_path),
                    c.text,
                    c.content_hash,
                    model,
                    vector_literal(c.embedding or ()),
                    c.passage_vectors,
                )
                for c in fresh
            ],
        )


async def nearest_chunks(
    conn: asyncpg.Connection, model: str, dimensions: int, query: Vector, limit: int
) -> list[ChunkMatch]:
    """The `limit` chunks of `model` closest to `query` by cosine, best first.

    The model name and dimension are literals, not parameters, so the statement matches the
    model's partial expression index even as a generic prepared plan.
    """
    dims = int(dimensions)
    distance = f"c.embedding::vector({dims}) <=> $1::text::vector({dims})"
    rows = await conn.fetch(
        f"""
        SELECT c.id AS chunk_id, a.slug, a.title, a.source_url, c.heading_path, c.text,
               1 - ({distance}) AS score
          FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
         WHERE c.embedding_model = '{check_model_name(model)}'
         ORDER BY {distance}
         LIMIT $2
        """,
        vector_literal(query),
        limit,
    )
    return to_structs(ChunkMatch, rows)


async def articles_needing_index(conn: asyncpg.Connection, model: str) -> list[str]:
    """Slugs whose chunks are missing, failed, made by another model or without passage
    vectors (embedded before sql/0012)."""
    rows = await conn.fetch(
        """
        SELECT slug FROM kb_articles a
         WHERE index_status <> 'indexed' OR embedding_model IS DISTINCT FROM $1
            OR EXISTS (SELECT 1 FROM kb_chunks c
                        WHERE c.article_id = a.id AND c.passage_vectors IS NULL)
         ORDER BY slug
        """,
        model,
    )
    return [r["slug"] for r in rows]


async def all_slugs(conn: asyncpg.Connection) -> list[str]:
    return [r["slug"] for r in await conn.fetch("SELECT slug FROM kb_articles ORDER BY slug")]


async def count_articles(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM kb_articles"))


async def status_counts(conn: asyncpg.Connection) -> dict[str, Any]:
    articles = await conn.fetch(
        "SELECT index_status, embedding_model, count(*)::int AS n FROM kb_articles "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    chunks = await conn.fetch(
        "SELECT embedding_model, count(*)::int AS n FROM kb_chunks GROUP BY 1 ORDER BY 1"
    )
    return {
        "articles": [dict(r) for r in articles],
        "chunks": {r["embedding_model"]: r["n"] for r in chunks},
    }


async def get_state(conn: asyncpg.Connection, key: str) -> Any:
    return await conn.fetchval("SELECT value FROM kb_state WHERE key = $1", key)


async def set_state(conn: asyncpg.Connection, key: str, value: Any) -> None:
    await conn.execute(
        """
        INSERT INTO kb_state (key, value) VALUES ($1, $2)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
        """,
        key,
        value,
    )
