"""Knowledge-base fixtures: the real local model, a database holding the demo help center
(embedded once per session), and a local OpenAI-protocol server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from server.actions.knowledge import KnowledgeBase
from server.actions.knowledge_import import import_files, read_sources
from server.assistant.embeddings import LocalMiniLM, Vector, shared_local_minilm
from server.assistant.retrieval import Retriever
from server.assistant.retrieval_eval import DEMO_KB
from server.embedded import EmbeddedPostgres
from server.store.db import create_pool
from server.store.migrations import migrate_dsn


class RecordingEmbedder:
    """The real model, remembering what it was asked to embed (to tell re-embedded chunks
    from reused ones), and able to fail on demand like a remote embedder can."""

    def __init__(self, inner: LocalMiniLM) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimensions = inner.dimensions
        self.calls: list[list[str]] = []
        self.fail_next = 0

    @property
    def texts(self) -> list[str]:
        return [text for call in self.calls for text in call]

    async def embed(self, texts: list[str]) -> list[Vector]:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("embedding service unreachable")
        self.calls.append(list(texts))
        return await self.inner.embed(texts)


@pytest.fixture(scope="session")
def minilm() -> LocalMiniLM:
    model = shared_local_minilm()
    model.load()
    return model


@pytest_asyncio.fixture(scope="session")
async def demo_kb_url(embedded_postgres: EmbeddedPostgres, minilm: LocalMiniLM) -> str:
    """A database with the demo help center imported through the real actions, once."""
    dsn = embedded_postgres.create_database("parley_kb_demo")
    await migrate_dsn(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        sources, errors = read_sources([DEMO_KB])
        items = await import_files(KnowledgeBase(pool, minilm), sources)
        assert not errors and all(i.outcome == "created" for i in items), items
    finally:
        await pool.close()
    return dsn


@pytest_asyncio.fixture(scope="session")
async def demo_pool(demo_kb_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(demo_kb_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
def demo_retriever(demo_pool: asyncpg.Pool, minilm: LocalMiniLM) -> Retriever:
    return Retriever(demo_pool, minilm)


@pytest_asyncio.fixture
async def pool(clean_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(clean_database, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
def recorder(minilm: LocalMiniLM) -> RecordingEmbedder:
    return RecordingEmbedder(minilm)


@pytest.fixture
def kb(pool: asyncpg.Pool, recorder: RecordingEmbedder) -> KnowledgeBase:
    return KnowledgeBase(pool, recorder)
