"""Measure article retrieval and the decline threshold on the demo help center, in memory."""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from server.assistant.answer_types import PLATFORM_MATCH_BONUS, missing_evidence, platform_matches
from server.assistant.chunking import Chunk, ChunkOptions, chunk_article, first_heading_title
from server.assistant.embeddings import Embedder, LocalMiniLM
from server.assistant.lexical import IndexedChunk, LexicalIndex, hybrid_score, tokenize
from server.assistant.passages import PassageIndex, mixed_cosine, passage_texts
from server.assistant.ranking_candidates import candidate_rankings
from server.assistant.specificity import ChunkVectors, decision_score
from server.assistant.unknown_names import unknown_name, vocabulary_ranks

DEMO_KB = Path(__file__).with_name("kb_demo")
NONE_LABEL = "NONE"
RRF_K = 60
FUSION_WEIGHTS = (0.9, 0.8, 0.7, 0.5)
# The lexical evidence's share of the hybrid score: cosine + LEXICAL_WEIGHT x evidence.
# Measured on three knowledge bases (docs/retrieval.md, "Hybrid ranking").
LEXICAL_WEIGHT = 0.3
# Decline when the decline score (the best hybrid score plus a share of the question's
# specificity, less a penalty for a name the knowledge base never mentions and one for a
# price question whose passages never mention money: specificity.py) is below this, unless
# the knowledge base was calibrated (`parley kb calibrate`). The zero-config default errs
# towards answering: on the four evaluation sets it declines 2 of 241 answerable questions
# (docs/retrieval.md, "Version 4", "Version 6" and "Version 7").
DECLINE_THRESHOLD = 0.50
# docs/retrieval.md: the right article is in the top 3 for 96% of answerable questions but
# first for only 85%, so the answer step sees the best passages of three articles.
ARTICLES = 3
# A second passage of the same article is passed on when it scores nearly as well as the
# first: answers spread over two sections of one article are common in help centers.
SECOND_PASSAGE_MARGIN = 0.05
SWEEP = (0.40, 0.45, 0.48, 0.50, 0.52, 0.55, 0.60, 0.65)
# Other mixes of the chunk's cosine with its passages' (docs/retrieval.md, "Passages"):
# name -> (chunk, best paragraph, heading path, evidence) weights.
PASSAGE_MIXES = {
    "hybrid, chunk vectors only": (1.0, 0.0, 0.0, LEXICAL_WEIGHT),
    "best paragraph alone": (0.0, 1.0, 0.0, 0.0),
    "0.5 chunk + 0.5 paragraph": (0.5, 0.5, 0.0, 0.0),
    "0.5 chunk + 0.5 paragraph + 0.2 evidence": (0.5, 0.5, 0.0, 0.2),
    "0.4 chunk + 0.4 paragraph + 0.2 heading + 0.2 evidence": (0.4, 0.4, 0.2, 0.2),
}

Ranking = list[tuple[str, float]]  # (article slug, score), best first


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    text: str


@dataclass(frozen=True)
class EvalQuestion:
    text: str
    expected: frozenset[str]  # empty: the help center cannot answer it

    @property
    def in_scope(self) -> bool:
        return bool(self.expected)


@dataclass(frozen=True)
class RankingScore:
    name: str
    recall_at_1: float
    recall_at_3: float
    mrr: float
    misses: tuple[str, ...] = ()  # in-scope questions whose top-1 article was wrong


@dataclass(frozen=True)
class EvalReport:
    rankings: list[RankingScore]
    in_scope_top: list[float]  # decline score per answerable question
    in_scope_hit: list[bool]  # the hybrid ranking put a right article first
    none_top: list[float]  # decline score per out-of-scope question
    threshold: float
    articles: int
    chunks: int
    questions: int
    seconds: float = 0.0
    embedder: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    def score(self, name: str) -> RankingScore:
        return next(r for r in self.rankings if r.name == name)

    @property
    def none_declined(self) -> float:
        return _share(self.none_top, lambda s: s < self.threshold)

    @property
    def in_scope_declined(self) -> float:
        return _share(self.in_scope_top, lambda s: s < self.threshold)

    def sweep_row(self, threshold: float) -> tuple[float, float, float]:
        """(answerable declined, out-of-scope declined, answerable answered from the right
        article) at `threshold`, as shares."""
        answered_right = sum(
            hit and top >= threshold
            for top, hit in zip(self.in_scope_top, self.in_scope_hit, strict=True)
        )
        return (
            _share(self.in_scope_top, lambda s: s < threshold),
            _share(self.none_top, lambda s: s < threshold),
            answered_right / max(len(self.in_scope_top), 1),
        )


def load_articles(directory: Path = DEMO_KB) -> list[Article]:
    return [
        Article(path.stem, first_heading_title(text, path.stem), text)
        for path in sorted(directory.glob("*.md"))
        for text in [path.read_text(encoding="utf-8")]
    ]


def load_questions(path: Path = DEMO_KB / "eval.tsv") -> list[EvalQuestion]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        text, labels = line.split("\t")
        slugs = frozenset(s.strip() for s in labels.split(",")) - {NONE_LABEL}
        questions.append(EvalQuestion(text.strip(), slugs))
    return questions


class BM25:
    """Okapi BM25 over a fixed list of documents."""

    def __init__(self, documents: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self._k1, self._b = k1, b
        self._docs = [Counter(tokenize(d)) for d in documents]
        self._lengths = np.array([sum(c.values()) for c in self._docs], dtype=np.float64)
        self._average = float(self._lengths.mean()) if len(self._docs) else 0.0
        frequency = Counter(term for doc in self._docs for term in doc)
        n = len(self._docs)
        # The "+1" form of idf stays positive for terms found in most documents.
        self._idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}

    def scores(self, query: str) -> NDArray[np.float64]:
        result = np.zeros(len(self._docs))
        norm = self._k1 * (1 - self._b + self._b * self._lengths / max(self._average, 1e-9))
        for term in set(tokenize(query)):
            idf = self._idf.get(term)
            if idf is None:
                continue
            tf = np.array([doc[term] for doc in self._docs], dtype=np.float64)
            result += idf * tf * (self._k1 + 1) / (tf + norm)
        return result


def rank_articles(chunk_scores: NDArray[np.float64], chunk_slugs: Sequence[str]) -> Ranking:
    """An article scores as its best chunk: one matching section is enough to answer."""
    best: dict[str, float] = {}
    for slug, score in zip(chunk_slugs, chunk_scores.tolist(), strict=True):
        best[slug] = max(score, best.get(slug, -math.inf))
    return sorted(best.items(), key=lambda item: item[1], reverse=True)


def answer_passage_texts(
    chunk_scores: NDArray[np.float64], chunk_slugs: Sequence[str], texts: Sequence[str]
) -> list[str]:
    """The passages the live path gives the answer step (retrieval.rank): the best chunk of each
    of the ARTICLES best articles, and its second best when that is within
    SECOND_PASSAGE_MARGIN."""
    chosen: dict[str, list[int]] = {}
    for i in (int(i) for i in np.argsort(-chunk_scores)):
        slug = chunk_slugs[i]
        if slug not in chosen:
            if len(chosen) < ARTICLES:
                chosen[slug] = [i]
        elif len(chosen[slug]) < 2 and (
            chunk_scores[i] >= chunk_scores[chosen[slug][0]] - SECOND_PASSAGE_MARGIN
        ):
            chosen[slug].append(i)
    return [texts[i] for picked in chosen.values() for i in picked]


def reciprocal_rank_fusion(rankings: Sequence[Ranking], k: int = RRF_K) -> Ranking:
    fused: dict[str, float] = {}
    for ranking in rankings:
        for position, (slug, _) in enumerate(ranking, start=1):
            fused[slug] = fused.get(slug, 0.0) + 1.0 / (k + position)
    return sorted(fused.items(), key=lambda item: item[1], reverse=True)


def weighted_fusion(dense: Ranking, lexical: Ranking, dense_weight: float) -> Ranking:
    """dense_weight * cosine + (1 - dense_weight) * BM25 scaled to [0, 1] by the query's best
    BM25 score. Unlike RRF this keeps how much better the winner is, not just its rank."""
    top = max((score for _, score in lexical), default=0.0) or 1.0
    lexical_scores = dict(lexical)
    fused = {
        slug: dense_weight * score + (1 - dense_weight) * lexical_scores.get(slug, 0.0) / top
        for slug, score in dense
    }
    return sorted(fused.items(), key=lambda item: item[1], reverse=True)


def score_ranking(
    name: str, questions: Sequence[EvalQuestion], rankings: Sequence[Ranking]
) -> RankingScore:
    hits_1 = hits_3 = 0
    reciprocal = 0.0
    misses = []
    answerable = [(q, r) for q, r in zip(questions, rankings, strict=True) if q.in_scope]
    for question, ranking in answerable:
        slugs = [slug for slug, _ in ranking]
        first = next((i for i, s in enumerate(slugs) if s in question.expected), None)
        hits_1 += first == 0
        hits_3 += first is not None and first < 3
        reciprocal += 0.0 if first is None else 1.0 / (first + 1)
        if first != 0:
            misses.append(
                f"{question.text} -> {slugs[0]} (want {','.join(sorted(question.expected))})"
            )
    count = max(len(answerable), 1)
    return RankingScore(name, hits_1 / count, hits_3 / count, reciprocal / count, tuple(misses))


@dataclass(frozen=True)
class EmbeddedKnowledgeBase:
    """A knowledge base chunked and embedded in memory as the live path stores it: every
    chunk's own vector, its passages, and the lexical index over the chunks' texts."""

    chunks: list[tuple[str, Chunk]]  # (article slug, chunk), in article order
    slugs: list[str]
    texts: list[str]
    index: LexicalIndex
    chunk_vectors: NDArray[np.float32]
    passages: PassageIndex


async def embed_knowledge_base(
    embedder: Embedder, articles: Sequence[Article], options: ChunkOptions | None = None
) -> EmbeddedKnowledgeBase:
    chunks = [
        (article.slug, chunk)
        for article in articles
        for chunk in chunk_article(article.text, fallback_title=article.slug, options=options)
    ]
    slugs = [slug for slug, _ in chunks]
    texts = [chunk.embedding_text for _, chunk in chunks]
    index = LexicalIndex(
        IndexedChunk(i, slug, text) for i, (slug, text) in enumerate(zip(slugs, texts, strict=True))
    )
    chunk_vectors = np.asarray(await embedder.embed(texts), dtype=np.float32)
    groups = [passage_texts(chunk) for _, chunk in chunks]
    passage_vectors = np.asarray(
        await embedder.embed([t for group in groups for t in group]), dtype="<f4"
    )
    bounds = np.cumsum([0, *(len(g) for g in groups)])
    passages = PassageIndex(
        ((i, passage_vectors[bounds[i] : bounds[i + 1]].tobytes()) for i in range(len(groups))),
        embedder.dimensions,
    )
    return EmbeddedKnowledgeBase(chunks, slugs, texts, index, chunk_vectors, passages)


async def evaluate(
    embedder: Embedder,
    kb_dir: Path = DEMO_KB,
    options: ChunkOptions | None = None,
    threshold: float = DECLINE_THRESHOLD,
) -> EvalReport:
    """Embed every chunk and question, rank articles four ways and score them."""
    started = time.perf_counter()
    articles = load_articles(kb_dir)
    questions = load_questions(kb_dir / "eval.tsv")
    kb = await embed_knowledge_base(embedder, articles, options)
    chunks, slugs, texts, index = kb.chunks, kb.slugs, kb.texts, kb.index
    chunk_vectors, passages = kb.chunk_vectors, kb.passages
    question_vectors = np.asarray(
        await embedder.embed([q.text for q in questions]), dtype=np.float32
    )
    stripped_vectors = np.asarray(
        await embedder.embed([index.strip_common(q.text) for q in questions]), dtype=np.float32
    )
    # Vectors are unit length, so the dot product is the cosine similarity.
    cosines = question_vectors @ chunk_vectors.T
    handled = 0.5 * (cosines + stripped_vectors @ chunk_vectors.T)
    bm25 = BM25(texts)
    dense = [rank_articles(row.astype(np.float64), slugs) for row in cosines]
    lexical = [rank_articles(bm25.scores(q.text), slugs) for q in questions]
    # Every chunk has passages here, so the passage arrays are in chunk order.
    means = 0.5 * (question_vectors + stripped_vectors)
    mixes: dict[str, list[Ranking]] = {name: [] for name in PASSAGE_MIXES}
    hybrid = []
    whole = ChunkVectors(chunk_vectors.tolist(), embedder.dimensions)
    specificity = [whole.specificity(mean) for mean in means]
    ranks = vocabulary_ranks()
    names = [unknown_name(q.text, index, ranks) is not None for q in questions]
    missing = []
    for question, row, mean in zip(questions, handled, means, strict=True):
        found = index.evidence(question.text)
        evidence = np.asarray([found.get(i, 0.0) for i in range(len(row))])
        inside = passages.cosines(mean)
        for name, (chunk, paragraph, heading, lexical_weight) in PASSAGE_MIXES.items():
            score = chunk * row + paragraph * inside.paragraph + heading * inside.heading
            mixes[name].append(rank_articles(score + lexical_weight * evidence, slugs))
        fused = [
            hybrid_score(mixed_cosine(float(c), float(h), float(p)), float(e), LEXICAL_WEIGHT)
            + (PLATFORM_MATCH_BONUS if named else 0.0)
            for c, h, p, e, named in zip(
                row,
                inside.heading,
                inside.paragraph,
                evidence,
                platform_matches(question.text, texts),
                strict=True,
            )
        ]
        hybrid.append(rank_articles(np.asarray(fused), slugs))
        shown = answer_passage_texts(np.asarray(fused), slugs, texts)
        missing.append(missing_evidence(question.text, shown) is not None)
    rankings: dict[str, list[Ranking]] = {
        "dense": dense,
        "dense, common terms halved": [rank_articles(r.astype(np.float64), slugs) for r in handled],
        "bm25": lexical,
        "rrf": [reciprocal_rank_fusion([d, b]) for d, b in zip(dense, lexical, strict=True)],
    }
    for weight in FUSION_WEIGHTS:
        rankings[f"weighted {weight:.1f}"] = [
            weighted_fusion(d, b, weight) for d, b in zip(dense, lexical, strict=True)
        ]
    rankings.update(mixes)
    rankings.update(
        await candidate_rankings(
            embedder,
            kb,
            [q.text for q in questions],
            means,
            LEXICAL_WEIGHT,
            lambda scores: rank_articles(scores, slugs),
        )
    )
    rankings["hybrid"] = hybrid
    top = [
        (ranking[0][0], decision_score(ranking[0][1], z, named, missing))
        for ranking, z, named, missing in zip(hybrid, specificity, names, missing, strict=True)
    ]
    answerable = [(q, t) for q, t in zip(questions, top, strict=True) if q.in_scope]
    return EvalReport(
        rankings=[score_ranking(name, questions, r) for name, r in rankings.items()],
        in_scope_top=[score for _, (_, score) in answerable],
        in_scope_hit=[slug in q.expected for q, (slug, _) in answerable],
        none_top=[score for q, (_, score) in zip(questions, top, strict=True) if not q.in_scope],
        threshold=threshold,
        articles=len(articles),
        chunks=len(chunks),
        questions=len(questions),
        seconds=time.perf_counter() - started,
        embedder=embedder.name,
    )


def _share(values: Sequence[float], predicate: Callable[[float], bool]) -> float:
    return sum(1 for v in values if predicate(v)) / max(len(values), 1)


def _distribution_row(label: str, values: Sequence[float]) -> str:
    p = np.percentile(values, [5, 25, 50, 75, 95])
    cells = [len(values), min(values), *p.tolist(), max(values)]
    return (
        f"| {label} | "
        + " | ".join(str(c) if isinstance(c, int) else f"{c:.3f}" for c in cells)
        + " |"
    )


def _sweep_line(report: EvalReport, threshold: float) -> str:
    declined, none_declined, answered = report.sweep_row(threshold)
    return f"| {threshold:.2f} | {declined:.1%} | {none_declined:.1%} | {answered:.1%} |"


def format_report(report: EvalReport, show_misses: bool = False) -> str:
    """The measurements as Markdown tables (pasted into docs/retrieval.md)."""
    lines = [
        f"{report.articles} articles, {report.chunks} chunks, {report.questions} questions "
        f"({len(report.in_scope_top)} answerable, {len(report.none_top)} out of scope); "
        f"embedder {report.embedder}; {report.seconds:.1f} s",
        "",
        "| ranking | recall@1 | recall@3 | MRR |",
        "| --- | --- | --- | --- |",
        *(
            f"| {r.name} | {r.recall_at_1:.3f} | {r.recall_at_3:.3f} | {r.mrr:.3f} |"
            for r in report.rankings
        ),
        "",
        "Decline score (best hybrid score + specificity - unknown name) per question:",
        "",
        "| questions | n | min | p5 | p25 | p50 | p75 | p95 | max |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        _distribution_row("answerable", report.in_scope_top),
        _distribution_row("out of scope", report.none_top),
        "",
        "| threshold | answerable declined | out of scope declined | answered, right article |",
        "| --- | --- | --- | --- |",
        *(_sweep_line(report, t) for t in sorted({*SWEEP, report.threshold})),
        "",
        f"Decline threshold {report.threshold:.2f}: declines {report.none_declined:.1%} of "
        f"out-of-scope questions and {report.in_scope_declined:.1%} of answerable ones.",
    ]
    if show_misses:
        for ranking in report.rankings:
            lines += ["", f"Top-1 misses, {ranking.name}:", *(f"- {m}" for m in ranking.misses)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=DEMO_KB, help="folder of *.md and eval.tsv")
    parser.add_argument("--target-words", type=int, default=ChunkOptions.target_words)
    parser.add_argument("--max-words", type=int, default=ChunkOptions.max_words)
    parser.add_argument("--min-words", type=int, default=ChunkOptions.min_words)
    parser.add_argument("--threshold", type=float, default=DECLINE_THRESHOLD)
    parser.add_argument("--misses", action="store_true", help="list top-1 misses")
    args = parser.parse_args(argv)
    options = ChunkOptions(args.target_words, args.max_words, args.min_words)
    embedder = LocalMiniLM()
    report = asyncio.run(evaluate(embedder, args.kb, options, args.threshold))
    embedder.close()
    print(format_report(report, show_misses=args.misses))


if __name__ == "__main__":
    main()
