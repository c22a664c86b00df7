"""Find the help-center passages that may answer a question (pgvector plus lexical evidence)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
import numpy as np

from ..store import knowledge as store
from ..store import knowledge_search as search
from .answer_types import PLATFORM_MATCH_BONUS, missing_evidence, platform_matches
from .calibration import DECLINE_SCORE
from .embeddings import Embedder
from .lexical import IndexedChunk, LexicalIndex, hybrid_score
from .passages import PassageIndex, PassageScores, mixed_cosine
from .retrieval_eval import ARTICLES, DECLINE_THRESHOLD, LEXICAL_WEIGHT, SECOND_PASSAGE_MARGIN
from .specificity import NEUTRAL, ChunkVectors, decision_score
from .unknown_names import unknown_name, vocabulary_ranks

# Chunks fetched per question. An article scores as its best chunk, so ranking articles
# only needs enough chunks to reach `ARTICLES` distinct ones; 20 does with room to spare
# (the demo's articles have 2-5 chunks) and stays below HNSW's default ef_search of 40.
CANDIDATE_CHUNKS = 20
# Chunks with the most lexical evidence that are scored too when the vector search missed
# them: an acronym or a product name MiniLM does not know is found this way.
LEXICAL_CANDIDATES = 10
# Chunks whose best paragraph is nearest the question, scored too when the vector search of
# whole chunks missed them: the answer is one line of a long section.
PASSAGE_CANDIDATES = 10


@dataclass(frozen=True, slots=True)
class Passage:
    """A chunk of an article, with its hybrid score for the question (retrieval_eval)."""

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
    score: float  # its best chunk's hybrid score


@dataclass(frozen=True, slots=True)
class Retrieval:
    """What the knowledge base has for one question."""

    question: str
    articles: tuple[RankedArticle, ...]  # best first, at most ARTICLES
    passages: tuple[Passage, ...]  # best first, from those articles
    threshold: float
    calibrated: bool = False  # the threshold comes from `parley kb calibrate`
    specificity: float = NEUTRAL  # how far the nearest chunk stands out (specificity.py)
    unknown_name: str | None = None  # a name the knowledge base never mentions (unknown_names)
    # What the question asks for that none of the passages names ("price" or "platform";
    # answer_types.py)
    missing_evidence: str | None = None

    @property
    def top_score(self) -> float:
        return self.articles[0].score if self.articles else 0.0

    @property
    def score(self) -> float:
        """The decline score: the best article's score plus a share of the specificity, less
        a penalty when the question names something the knowledge base never mentions and
        one when it asks for a price or a platform none of the passages names."""
        if not self.articles:
            return 0.0
        return decision_score(
            self.top_score,
            self.specificity,
            self.unknown_name is not None,
            self.missing_evidence is not None,
        )

    @property
    def answerable(self) -> bool:
        """The first gate: below the threshold the question is off-topic for this help
        center. Passing it does not mean the answer is there (docs/retrieval.md)."""
        return bool(self.passages) and self.score >= self.threshold


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The knowledge base as of one version: its lexical and passage indexes and decline
    threshold."""

    version: tuple[Any, ...]
    index: LexicalIndex
    passages: PassageIndex
    chunks: ChunkVectors
    threshold: float
    calibrated: bool
    word_ranks: Mapping[str, int]  # unknown_names.vocabulary_ranks


class Retriever:
    """Ranks articles by their best chunk: the cosine of the question (with the knowledge
    base's common words halved) with the chunk, its best paragraph and its heading path,
    plus lexical evidence of the question's informative words."""

    def __init__(
        self,
        db: asyncpg.Pool,
        embedder: Embedder,
        *,
        threshold: float = DECLINE_THRESHOLD,
        articles: int = ARTICLES,
        candidates: int = CANDIDATE_CHUNKS,
        lexical_weight: float = LEXICAL_WEIGHT,
    ) -> None:
        self._db = db
        self._embedder = embedder
        self.default_threshold = threshold
        self._articles = articles
        self._candidates = candidates
        self._lexical_weight = lexical_weight
        self._snapshot: _Snapshot | None = None
        self._rebuilding = asyncio.Lock()

    @property
    def threshold(self) -> float:
        """The threshold the last retrieval used (the default before any)."""
        return self._snapshot.threshold if self._snapshot else self.default_threshold

    async def retrieve(self, question: str) -> Retrieval:
        async with self._db.acquire() as conn:
            snapshot = await self._current(conn)
        stripped = snapshot.index.strip_common(question)
        vectors = await self._embedder.embed(
            [question] if stripped == question else [question, stripped]
        )
        # The mean of the two cosines is the cosine with the mean vector times its length:
        # pgvector ranks by the direction, the length rescales the scores.
        mean = [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]
        length = math.sqrt(sum(x * x for x in mean)) or 1.0
        evidence = snapshot.index.evidence(question)
        # Products over every passage and chunk vector (milliseconds at 1,000 articles): off
        # the loop.
        inside, specificity = await asyncio.to_thread(
            _in_memory_scores, snapshot, np.asarray(mean, dtype=np.float32)
        )
        dims = self._embedder.dimensions
        async with self._db.acquire() as conn:
            matches = await store.nearest_chunks(
                conn, self._embedder.name, dims, mean, self._candidates
            )
            seen = {m.chunk_id for m in matches}
            extra = [i for i in snapshot.index.best(evidence, LEXICAL_CANDIDATES) if i not in seen]
            extra += [i for i in inside.best(PASSAGE_CANDIDATES) if i not in seen]
            matches += await search.score_chunks(conn, dims, mean, list(dict.fromkeys(extra)))
        platform = platform_matches(question, [_passage_text(_passage(m)) for m in matches])
        fused = []
        for m, names_platform in zip(matches, platform, strict=True):
            cosine = m.score * length
            heading, paragraph = inside.get(m.chunk_id) or (cosine, cosine)
            score = hybrid_score(
                mixed_cosine(cosine, heading, paragraph),
                evidence.get(m.chunk_id, 0.0),
                self._lexical_weight,
            )
            score += PLATFORM_MATCH_BONUS if names_platform else 0.0
            fused.append(msgspec.structs.replace(m, score=score))
        fused.sort(key=lambda m: m.score, reverse=True)
        found = rank(question, fused, snapshot.threshold, self._articles)
        return Retrieval(
            found.question,
            found.articles,
            found.passages,
            found.threshold,
            snapshot.calibrated,
            specificity,
            unknown_name(question, snapshot.index, snapshot.word_ranks),
            missing_evidence(question, _answer_passage_texts(found)),
        )

    async def _current(self, conn: asyncpg.Connection) -> _Snapshot:
        version = await search.version(conn, self._embedder.name)
        snapshot = self._snapshot
        if snapshot is not None and snapshot.version == version:
            return snapshot
        async with self._rebuilding:
            if self._snapshot is not None and self._snapshot.version == version:
                return self._snapshot
            chunks = await search.searchable_chunks(conn, self._embedder.name)
            # Tokenizing thousands of chunks takes a noticeable fraction of a second: off the
            # event loop, so sockets keep flowing while an edited knowledge base is re-read.
            index = await asyncio.to_thread(
                LexicalIndex,
                [
                    IndexedChunk(c.chunk_id, c.slug, " ".join((c.title, *c.heading_path, c.text)))
                    for c in chunks
                ],
            )
            passages = await asyncio.to_thread(
                PassageIndex,
                [(c.chunk_id, c.passage_vectors) for c in chunks],
                self._embedder.dimensions,
            )
            vectors = await asyncio.to_thread(
                ChunkVectors, [c.embedding for c in chunks], self._embedder.dimensions
            )
            ranks = await asyncio.to_thread(vocabulary_ranks)  # read once per process
            calibration = await search.get_calibration(conn, self._embedder.name)
            threshold = self.default_threshold
            if not _applies(calibration):
                calibration = None  # made for an older decline score: recalibrate
            if calibration is not None:
                threshold = float(calibration["threshold"])
            self._snapshot = _Snapshot(
                version, index, passages, vectors, threshold, calibration is not None, ranks
            )
            return self._snapshot


def _applies(calibration: dict[str, Any] | None) -> bool:
    return (
        calibration is not None
        and isinstance(calibration.get("threshold"), (int, float))
        and calibration.get("decline_score") == DECLINE_SCORE
    )


def _in_memory_scores(
    snapshot: _Snapshot, query: np.ndarray[Any, np.dtype[np.float32]]
) -> tuple[PassageScores, float]:
    return snapshot.passages.cosines(query), snapshot.chunks.specificity(query)


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


def _answer_passage_texts(found: Retrieval) -> list[str]:
    """What the answer step is given: every passage of the best articles."""
    return [_passage_text(p) for p in found.passages]


def _passage_text(passage: Passage) -> str:
    """A passage as the answer step reads it: its title and headings (as they are embedded),
    then its text."""
    return f"{passage.section}\n\n{passage.text}"


def _passage(match: store.ChunkMatch) -> Passage:
    return Passage(
        slug=match.slug,
        title=match.title,
        url=match.source_url,
        heading_path=tuple(match.heading_path),
        text=match.text,
        score=round(float(match.score), 4),
    )
