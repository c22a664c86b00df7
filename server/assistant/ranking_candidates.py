"""Ranking changes measured and not taken (docs/retrieval.md, "Version 5"), as evaluation rows."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from .lexical import REQUEST_WORDS, STOPWORDS, IndexedChunk, LexicalIndex
from .passages import PassageIndex, mixed_cosine

if TYPE_CHECKING:
    from .embeddings import Embedder
    from .retrieval_eval import EmbeddedKnowledgeBase

# Phrases that say how a customer asks, not what about. Removed from the question before it is
# embedded by the "question cleaned" row.
_REQUEST_PHRASES = (
    r"hi+|hello|hey|thanks?( you)?|thx|please|pls|plz",
    r"(can|could|would) you (please )?(tell|show|explain to) me",
    r"(how|where|when) (do|can|could|should|would) (i|we|you)",
    r"how to",
    r"is (it|there) (possible|a way) (to|for me to|for us to)?",
    r"is there (a|any) way (to|for me to)?",
    r"(i|we) (really )?(want|need|would like|wanna|wish) to",
    r"i'?d like to",
    r"i'?m (trying|looking) to",
    r"(can|could) (i|we)",
    r"what(')?s the (best )?way to",
    r"help me( to)?",
    r"any ideas?",
    r"i was wondering( if)?",
    r"do you know( if| how)?",
    r"is it possible",
)
_REQUEST = re.compile(r"\b(?:" + "|".join(_REQUEST_PHRASES) + r")\b", re.IGNORECASE)

Vector = NDArray[np.float32]
Scores = NDArray[np.float64]
Ranking = list[tuple[str, float]]
# Dense pseudo-relevance feedback: the best of a grid of 2-5 chunks and shares 0.1-0.5.
ROCCHIO_CHUNKS = 3
ROCCHIO_SHARE = 0.3
SECOND_CHUNK_SHARE = 0.1


async def candidate_rankings(
    embedder: Embedder,
    kb: EmbeddedKnowledgeBase,
    questions: Sequence[str],
    means: Vector,
    lexical_weight: float,
    rank: Callable[[Scores], Ranking],
) -> dict[str, list[Ranking]]:
    """The version 5 rows of `retrieval_eval`'s table, for the questions whose ranking
    vectors (the mean with and without common words) are `means`."""
    index, n = kb.index, len(kb.slugs)

    def evidence(found: dict[int, float]) -> NDArray[np.float64]:
        return np.asarray([found.get(i, 0.0) for i in range(n)])

    older = request_words_kept(
        [
            IndexedChunk(i, slug, text)
            for i, (slug, text) in enumerate(zip(kb.slugs, kb.texts, strict=True))
        ]
    )
    cleaned = [clean_question(q) for q in questions]
    as_cleaned = np.asarray(await embedder.embed(cleaned), dtype=np.float32)
    cleaned_bare = np.asarray(
        await embedder.embed([index.strip_common(q) for q in cleaned]), dtype=np.float32
    )
    rows: dict[str, list[Ranking]] = {
        "v4: request words counted as evidence": [],
        "question cleaned of request phrasing": [],
        "Rocchio: 0.3 x mean of the top 3 chunks": [],
        "article: best + 0.1 x second chunk": [],
    }
    for i, (question, mean) in enumerate(zip(questions, means, strict=True)):
        found = evidence(index.evidence(question))
        scores = hybrid_scores(kb.chunk_vectors, kb.passages, mean, found, lexical_weight)
        older_found = evidence(older.evidence(question))
        cleaned_mean = 0.5 * (as_cleaned[i] + cleaned_bare[i])
        cleaned_found = evidence(index.evidence(cleaned[i]))
        moved = rocchio_query(mean, kb.chunk_vectors, scores, ROCCHIO_CHUNKS, ROCCHIO_SHARE)
        for name, ranking in zip(
            rows,
            (
                rank(
                    hybrid_scores(kb.chunk_vectors, kb.passages, mean, older_found, lexical_weight)
                ),
                rank(
                    hybrid_scores(
                        kb.chunk_vectors, kb.passages, cleaned_mean, cleaned_found, lexical_weight
                    )
                ),
                rank(hybrid_scores(kb.chunk_vectors, kb.passages, moved, found, lexical_weight)),
                best_plus_second(scores, kb.slugs, SECOND_CHUNK_SHARE),
            ),
            strict=True,
        ):
            rows[name].append(ranking)
    return rows


def clean_question(text: str) -> str:
    """The question without its request phrasing ("how do I", "is it possible to", "please");
    the question itself when nothing would be left."""
    cleaned = re.sub(r"\s+", " ", _REQUEST.sub(" ", text)).strip(" ,.?!")
    return cleaned or text


def request_words_kept(chunks: Sequence[IndexedChunk]) -> LexicalIndex:
    """The lexical index of version 4, where request words counted as informative."""
    return LexicalIndex(chunks, STOPWORDS - REQUEST_WORDS)


def hybrid_scores(
    chunk_vectors: Vector,
    passages: PassageIndex,
    query: Vector,
    evidence: NDArray[np.float64],
    lexical_weight: float,
) -> Scores:
    """Every chunk's hybrid score for `query` (the live path's formula before the platform
    tie-break of version 8, all chunks in memory); every chunk has passages here, so the
    passage arrays are in chunk order."""
    inside = passages.cosines(query)
    cosines = chunk_vectors @ query
    mixed = np.asarray(
        [
            mixed_cosine(float(c), float(h), float(p))
            for c, h, p in zip(cosines, inside.heading, inside.paragraph, strict=True)
        ]
    )
    return mixed + lexical_weight * evidence


def rocchio_query(
    query: Vector, chunk_vectors: Vector, scores: Scores, top: int, share: float
) -> Vector:
    """Dense pseudo-relevance feedback: the question vector moved `share` of the way towards
    the mean of its `top` best chunks' vectors, at the question vector's length."""
    best = np.argsort(-scores)[:top]
    moved = query + share * chunk_vectors[best].mean(axis=0)
    result: Vector = (moved * (np.linalg.norm(query) / np.linalg.norm(moved))).astype(np.float32)
    return result


def best_plus_second(scores: Scores, slugs: Sequence[str], share: float) -> list[tuple[str, float]]:
    """Articles scored by their best chunk plus `share` of their second best."""
    by_article: dict[str, list[float]] = {}
    for slug, score in zip(slugs, scores.tolist(), strict=True):
        by_article.setdefault(slug, []).append(score)
    ranked = []
    for slug, values in by_article.items():
        values.sort(reverse=True)
        ranked.append((slug, values[0] + share * (values[1] if len(values) > 1 else 0.0)))
    return sorted(ranked, key=lambda item: item[1], reverse=True)
