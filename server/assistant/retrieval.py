"""Find the help-center passages that may answer a question (pgvector, dense MiniLM ranking)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from ..store import knowledge as store
from .embeddings import Embedder
from .retrieval_eval import DECLINE_THRESHOLD

# docs/retrieval.md: the right article is in the top 3 for 96% of answerable questions but
# first for only 85%, so the answer step sees the best passages of three articles.
ARTICLES = 3
# Chunks fetched per question. An article scores as its best chunk, so ranking articles
# only needs enough chunks to reach `ARTICLES` distinct ones; 20 does with room to spare
# (the demo's articles have 2-5 chunks) and stays below HNSW's default ef_search of 40.
CANDIDATE_CHUNKS = 20
# A second passage of the same article is passed on when it scores nearly as well as the
# first: answers spread over two sections of one article are common in help centers.
SECOND_PASSAGE_MARGIN = 0.05


@dataclass(frozen=True, slots=True)
class Passage:
    """A chunk of an article, with its cosine similarity to the question."""

    slug: str
    title: str
    url: str | None
    heading_path: tuple[str, ...]
    text: str
    score: float

    @property
    def section(self) -> str:
        return " > ".join((self.title, *self.heading_path))


@dataclass(frozen=True, slots=True)
class RankedArticle:
    slug: str
    title: str
    url: str | None
    score: float  # its best chunk's cosine


@dataclass(frozen=True, slots=True)
class Retrieval:
    """What the knowledge base has for one question."""

    question: str
    articles: tuple[RankedArticle, ...]  # best first, at most ARTICLES
    passages: tuple[Passage, ...]  # best first, from those articles
    threshold: float

    @property
    def top_score(self) -> float:
        return self.articles[0].score if self.articles else 0.0

    @property
    def answerable(self) -> bool:
        """The first gate: below the threshold the question is off-topic for this help
        center. Passing it does not mean the answer is there (docs/retrieval.md)."""
        return bool(self.passages) and self.top_score >= self.threshold


class Retriever:
    """Embeds a question and ranks articles by their best chunk in PostgreSQL."""

    def __init__(
        self,
        db: asyncpg.Pool,
        embedder: Embedder,
        *,
        threshold: float = DECLINE_THRESHOLD,
        articles: int = ARTICLES,
        candidates: int = CANDIDATE_CHUNKS,
    ) -> None:
        self._db = db
        self._embedder = embedder
        self.threshold = threshold
        self._articles = articles
        self._candidates = candidates

    async def retrieve(self, question: str) -> Retrieval:
        (vector,) = await self._embedder.embed([question])
        async with self._db.acquire() as conn:
            matches = await store.nearest_chunks(
                conn, self._embedder.name, self._embedder.dimensions, vector, self._candidates
            )
        return rank(question, matches, self.threshold, self._articles)


def rank(
    question: str, matches: Sequence[store.ChunkMatch], threshold: float, limit: int = ARTICLES
) -> Retrieval:
    """Articles by best chunk; passages: each top article's best chunk, plus its second best
    when that is within SECOND_PASSAGE_MARGIN. `matches` arrive best first."""
    by_article: dict[str, list[store.ChunkMatch]] = {}
    for match in matches:
        if match.slug in by_article or len(by_article) < limit:
            by_article.setdefault(match.slug, []).append(match)
    articles, passages = [], []
    for chunks in by_article.values():
        best = chunks[0]
        articles.append(RankedArticle(best.slug, best.title, best.source_url, best.score))
        passages.append(_passage(best))
        if len(chunks) > 1 and chunks[1].score >= best.score - SECOND_PASSAGE_MARGIN:
            passages.append(_passage(chunks[1]))
    passages.sort(key=lambda p: p.score, reverse=True)
    return Retrieval(question, tuple(articles), tuple(passages), threshold)


def _passage(match: store.ChunkMatch) -> Passage:
    return Passage(
        slug=match.slug,
        title=match.title,
        url=match.source_url,
        heading_path=tuple(match.heading_path),
        text=match.text,
        score=round(float(match.score), 4),
    )
