"""Knowledge-base changes: save and delete articles, re-embed them when the model changes."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import asyncpg

from ..assistant.chunking import Chunk, ChunkOptions, chunk_article
from ..assistant.embeddings import Embedder, Vector
from ..core.errors import ErrorCode, ParleyError, not_found
from ..core.knowledge import ArticleDraft, validate_draft
from ..store import knowledge as store
from ..store.knowledge import IndexStatus, NewChunk
from .knowledge_vectors import ChunkVectors, EmbeddingFailed, embed_texts, texts_of, vectors_for

log = logging.getLogger(__name__)

# Advisory-lock namespace for saves of one article; the second key is the slug's hash.
_SAVE_LOCK = 0x5041524F
# Imports embed the new chunks of several articles and their passages in one call
# (embed_ahead): one trip to the model's thread instead of two per article, each distinct
# text once, and texts of similar length from many articles batched together, so little
# padding (docs/retrieval.md, "Speed").
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
    `vectors` (text -> vector, from embed_ahead) spares embedding those texts."""
    return await _save(kb, validate_draft(draft), mode="upsert", reembed=reembed, vectors=vectors)


async def embed_ahead(kb: KnowledgeBase, drafts: Sequence[ArticleDraft]) -> dict[str, Vector]:
    """Vectors (text -> vector) for everything the saves of `drafts` would embed: the chunks
    their stored articles do not already have for this model, and those chunks' passages,
    each distinct text once, in one embedding call. A failure returns nothing: each save
    then embeds on its own and records its own failure."""
    chunks = {d.slug: chunk_draft(kb, d) for d in drafts}
    async with kb.db.acquire() as conn:
        stored = await store.stored_chunk_hashes(conn, list(chunks), kb.model)
    wanted = [
        chunk
        for slug, article_chunks in chunks.items()
        for chunk in article_chunks
        if chunk.content_hash not in stored.get(slug, ())
    ]
    try:
        return await embed_texts(kb.embedder, texts_of(wanted))
    except EmbeddingFailed:
        log.warning("embedding %d chunks ahead failed; saving one by one", len(wanted))
        return {}


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
        try:
            # The article is still saved if this fails (an admin's edit is never lost) but
            # marked failed, and its old chunks go: answering from removed text is worse.
            embedded, error = await vectors_for(kb.embedder, fresh, vectors or {}), None
        except EmbeddingFailed as exc:
            embedded, error = {}, exc.message
        article_id = existing.id if existing else await store.insert_article(conn, draft)
        if article_id is None:  # created by a writer that does not take the lock
            raise ParleyError(ErrorCode.CONFLICT, "the article was created meanwhile")
        if existing:
            await store.update_article(conn, article_id, draft)
        new_chunks = [] if error else _new_chunks(chunks, reuse, embedded)
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


def _new_chunks(
    chunks: Sequence[Chunk], reuse: dict[int, int], vectors: dict[int, ChunkVectors]
) -> list[NewChunk]:
    return [
        NewChunk(
            ordinal=c.ordinal,
            heading_path=c.heading_path,
            text=c.text,
            content_hash=c.content_hash,
            embedding=vectors[c.ordinal].embedding if c.ordinal in vectors else None,
            reuse_id=reuse.get(c.ordinal),
            passage_vectors=vectors[c.ordinal].passages if c.ordinal in vectors else None,
        )
        for c in chunks
    ]
