"""Knowledge-base changes: save and delete articles, re-embed them when the model changes."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import asyncpg
import numpy as np

from ..assistant.chunking import Chunk, ChunkOptions, chunk_article
from ..assistant.embeddings import Embedder, Vector
from ..assistant.passages import passage_texts
from ..core.errors import ErrorCode, ParleyError, not_found
from ..core.knowledge import ArticleDraft, validate_draft
from ..store import knowledge as store
from ..store.knowledge import IndexStatus, NewChunk

log = logging.getLogger(__name__)

# Advisory-lock namespace for saves of one article; the second key is the slug's hash.
_SAVE_LOCK = 0x5041524F
# Imports embed the new chunks of several articles in one call (embed_ahead): one trip to
# the model's thread instead of one per article, and chunks of similar length from many
# articles batched together, so less padding (docs/retrieval.md, "Speed").
EMBED_AHEAD_CHUNKS = 64


@dataclass(slots=True)
class KnowledgeBase:
    """What knowledge-base actions and retrieval run with: the pool and the embedder."""

    db: asyncpg.Pool
    embedder: Embedder
    chunking: ChunkOptions = field(default_factory=ChunkOptions)

    @property
    def model(self) -> str:
        return self.embedder.name


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What a save did; `embedded` and `reused` are chunk ordinals of the new version."""

    slug: str
    outcome: str  # created | updated | unchanged
    index_status: str
    embedded: tuple[int, ...] = ()
    reused: tuple[int, ...] = ()
    removed: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int
    slug: str
    detail: str


ProgressCallback = Callable[[Progress], None]


async def prepare(kb: KnowledgeBase) -> None:
    """Make sure the current embedding model has its vector index (idempotent)."""
    async with kb.db.acquire() as conn:
        if await store.ensure_vector_index(conn, kb.model, kb.embedder.dimensions):
            log.info("created the vector index for embedding model %s", kb.model)


async def create_article(kb: KnowledgeBase, draft: ArticleDraft) -> SaveResult:
    """A new article; `conflict` when the slug is taken."""
    return await _save(kb, validate_draft(draft), mode="create")


async def update_article(kb: KnowledgeBase, draft: ArticleDraft) -> SaveResult:
    """Replace an existing article; `not_found` when there is none."""
    return await _save(kb, validate_draft(draft), mode="update")


async def upsert_article(
    kb: KnowledgeBase,
    draft: ArticleDraft,
    *,
    reembed: bool = False,
    vectors: Mapping[str, Vector] | None = None,
) -> SaveResult:
    """Create or replace (imports). With `reembed`, every chunk gets a fresh vector.
    `vectors` (content hash -> vector, from embed_ahead) spares embedding those chunks."""
    return await _save(kb, validate_draft(draft), mode="upsert", reembed=reembed, vectors=vectors)


async def embed_ahead(kb: KnowledgeBase, drafts: Sequence[ArticleDraft]) -> dict[str, Vector]:
    """Vectors for the chunks of `drafts` that their saves would embed (those their stored
    articles do not already have for this model), in one embedding call. A failure returns
    nothing: each save then embeds on its own and records its own failure."""
    chunks = {d.slug: chunk_draft(kb, d) for d in drafts}
    async with kb.db.acquire() as conn:
        stored = await store.stored_chunk_hashes(conn, list(chunks), kb.model)
    wanted: dict[str, str] = {}  # content hash -> text to embed
    for slug, article_chunks in chunks.items():
        for chunk in article_chunks:
            if chunk.content_hash not in stored.get(slug, ()):
                wanted.setdefault(chunk.content_hash, chunk.embedding_text)
    if not wanted:
        return {}
    try:
        vectors = await kb.embedder.embed(list(wanted.values()))
    except Exception:
        log.warning("embedding %d chunks ahead failed; saving one by one", len(wanted))
        return {}
    if len(vectors) != len(wanted):
        return {}
    return dict(zip(wanted, vectors, strict=True))


async def delete_article(kb: KnowledgeBase, slug: str) -> None:
    async with kb.db.acquire() as conn:
        if not await store.delete_article(conn, slug):
            raise not_found("article")


async def reindex(
    kb: KnowledgeBase,
    *,
    only_stale: bool = False,
    progress: ProgressCallback | None = None,
) -> list[SaveResult]:
    """Re-embed every article (or only those not indexed with the current model).

    Articles are done one at a time, each in its own transaction, so retrieval keeps working
    for the rest while a large help center is re-embedded.
    """
    await prepare(kb)
    async with kb.db.acquire() as conn:
        slugs = await (
            store.articles_needing_index(conn, kb.model) if only_stale else store.all_slugs(conn)
        )
    results = []
    for done, slug in enumerate(slugs, start=1):
        async with kb.db.acquire() as conn:
            article = await store.get_article(conn, slug)
        if article is None:  # deleted meanwhile
            continue
        draft = ArticleDraft(
            article.slug, article.title, article.body, article.source_url, tuple(article.tags)
        )
        result = await _save(kb, draft, mode="update", reembed=not only_stale)
        results.append(result)
        if progress:
            progress(Progress(done, len(slugs), slug, f"{len(result.embedded)} chunks embedded"))
    return results


def chunk_draft(kb: KnowledgeBase, draft: ArticleDraft) -> list[Chunk]:
    return chunk_article(draft.body, fallback_title=draft.title, options=kb.chunking)


async def _save(
    kb: KnowledgeBase,
    draft: ArticleDraft,
    *,
    mode: str,
    reembed: bool = False,
    vectors: Mapping[str, Vector] | None = None,
) -> SaveResult:
    chunks = chunk_draft(kb, draft)
    async with kb.db.acquire() as conn, conn.transaction():
        # Writers of one slug take turns for the whole save, embedding included: each then
        # sees what the previous one stored, reuses its vectors, and the last one wins. The
        # lock is transaction-scoped, so it also holds through a transaction-mode pooler.
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _SAVE_LOCK, draft.slug)
        existing = await store.get_article(conn, draft.slug)
        old = await store.chunks_of(conn, existing.id, kb.model) if existing else []
        _check_mode(mode, existing is not None)
        if existing and not reembed and _unchanged(kb, existing, draft, old):
            return SaveResult(draft.slug, "unchanged", existing.index_status)
        reuse = {} if reembed else _reusable(old, chunks)
        fresh = [c for c in chunks if c.ordinal not in reuse]
        embedded, error = await _embed(kb, fresh, vectors or {})
        passages, error = await _embed_passages(kb, fresh) if not error else ({}, error)
        article_id = existing.id if existing else await store.insert_article(conn, draft)
        if article_id is None:  # created by a writer that does not take the lock
            raise ParleyError(ErrorCode.CONFLICT, "the article was created meanwhile")
        if existing:
            await store.update_article(conn, article_id, draft)
        new_chunks = [] if error else _new_chunks(chunks, reuse, embedded, passages)
        await store.replace_chunks(conn, article_id, kb.model, new_chunks)
        status = IndexStatus.FAILED if error else IndexStatus.INDEXED
        await store.set_index_status(conn, article_id, status, model=kb.model, error=error)
    return SaveResult(
        slug=draft.slug,
        outcome="updated" if existing else "created",
        index_status=status,
        embedded=() if error else tuple(sorted(embedded)),
        reused=() if error else tuple(sorted(reuse)),
        removed=len(old) - (0 if error else len(reuse)),
        error=error,
    )


def _check_mode(mode: str, exists: bool) -> None:
    if mode == "create" and exists:
        raise ParleyError(ErrorCode.CONFLICT, "an article with this slug already exists")
    if mode == "update" and not exists:
        raise not_found("article")


def _unchanged(
    kb: KnowledgeBase,
    existing: store.StoredArticle,
    draft: ArticleDraft,
    old: Sequence[store.StoredChunk],
) -> bool:
    return (
        all(row.has_passages for row in old)
        and existing.content_hash == draft.content_hash
        and existing.source_url == draft.source_url
        and tuple(existing.tags) == draft.tags
        and existing.index_status == IndexStatus.INDEXED
        and existing.embedding_model == kb.model
    )


def _reusable(old: Sequence[store.StoredChunk], chunks: Sequence[Chunk]) -> dict[int, int]:
    """New chunk ordinal -> id of an old row with the same content hash (each used once)."""
    by_hash: dict[str, list[int]] = defaultdict(list)
    for row in old:
        if row.has_passages:  # older rows are re-embedded to get them (sql/0012)
            by_hash[row.content_hash].append(row.id)
    reuse = {}
    for chunk in chunks:
        ids = by_hash.get(chunk.content_hash)
        if ids:
            reuse[chunk.ordinal] = ids.pop(0)
    return reuse


async def _embed(
    kb: KnowledgeBase, chunks: Sequence[Chunk], ready: Mapping[str, Vector]
) -> tuple[dict[int, list[float]], str | None]:
    """Vectors by chunk ordinal: from `ready` (embedded ahead) where there, else embedded now."""
    found = {c.ordinal: list(ready[c.content_hash]) for c in chunks if c.content_hash in ready}
    chunks = [c for c in chunks if c.ordinal not in found]
    if not chunks:
        return found, None
    try:
        vectors = await kb.embedder.embed([c.embedding_text for c in chunks])
    except Exception as exc:
        # The article is still saved (an admin's edit is never lost) but marked failed, and
        # its old chunks go: answering from text that was just removed would be worse.
        log.exception("embedding %d chunks failed", len(chunks))
        return {}, f"embedding failed: {type(exc).__name__}: {exc}"[:500]
    if len(vectors) != len(chunks) or any(len(v) != kb.embedder.dimensions for v in vectors):
        return {}, "embedding failed: the model returned vectors of the wrong shape"
    return found | {c.ordinal: v for c, v in zip(chunks, vectors, strict=True)}, None


async def _embed_passages(
    kb: KnowledgeBase, chunks: Sequence[Chunk]
) -> tuple[dict[int, bytes], str | None]:
    """Each chunk's passage vectors (heading path, then paragraphs) as float32 rows, by
    ordinal: a second call after the chunks' own, so batching chunks is not disturbed."""
    if not chunks:
        return {}, None
    groups = [passage_texts(c) for c in chunks]
    texts = [text for group in groups for text in group]
    try:
        vectors = await kb.embedder.embed(texts)
    except Exception as exc:
        log.exception("embedding the passages of %d chunks failed", len(chunks))
        return {}, f"embedding failed: {type(exc).__name__}: {exc}"[:500]
    if len(vectors) != len(texts) or any(len(v) != kb.embedder.dimensions for v in vectors):
        return {}, "embedding failed: the model returned vectors of the wrong shape"
    found, start = {}, 0
    for chunk, group in zip(chunks, groups, strict=True):
        rows = np.asarray(vectors[start : start + len(group)], dtype="<f4")
        found[chunk.ordinal] = rows.tobytes()
        start += len(group)
    return found, None


def _new_chunks(
    chunks: Sequence[Chunk],
    reuse: dict[int, int],
    vectors: dict[int, list[float]],
    passages: dict[int, bytes],
) -> list[NewChunk]:
    return [
        NewChunk(
            ordinal=c.ordinal,
            heading_path=c.heading_path,
            text=c.text,
            content_hash=c.content_hash,
            embedding=vectors.get(c.ordinal),
            reuse_id=reuse.get(c.ordinal),
            passage_vectors=passages.get(c.ordinal),
        )
        for c in chunks
    ]
