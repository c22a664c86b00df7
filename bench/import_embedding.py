"""Import speed without the database's noise: the model time of importing N articles, the
import's embedding calls before and after they were merged, interleaved, on the same texts.

    python bench/import_embedding.py [--articles 200] [--rounds 3] [--budgets 1024] [--database]

"before" embeds as the import did until the merge: per group of about 64 chunks, the
chunks' own texts in one call, then each article's passages (heading path and paragraphs)
in a call of its own, every call sorted by character length into batches of 8. "after"
embeds each group's distinct texts (chunks and passages) in one call, as `embed_ahead`
does now, with the model's batches of at most BATCH_TOKENS padded tokens (or each of
--budgets, to compare them; "512/1" is 512 tokens on one intra-op thread). Every way must
give every text the same vector bit for bit; the run stops otherwise. With --database,
the import itself is then timed with every vector already known (a lookup instead of the
model): what the import costs besides the model. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.retrieval import write_articles
from server.actions.knowledge import EMBED_AHEAD_CHUNKS, KnowledgeBase
from server.actions.knowledge_import import draft_from_file, import_files, read_sources
from server.actions.knowledge_vectors import texts_of
from server.assistant.chunking import Chunk, chunk_article
from server.assistant.embeddings import BATCH_TOKENS, LocalMiniLM, Vector
from server.assistant.passages import passage_texts
from server.embedded import EmbeddedPostgres
from server.store.db import create_pool
from server.store.migrations import migrate_dsn

Article = list[Chunk]


def groups_of(articles: Sequence[Article]) -> list[list[Article]]:
    """The import's groups: about EMBED_AHEAD_CHUNKS chunks' worth of articles each."""
    groups: list[list[Article]] = [[]]
    chunks = 0
    for article in articles:
        if chunks >= EMBED_AHEAD_CHUNKS:
            groups.append([])
            chunks = 0
        groups[-1].append(article)
        chunks += len(article)
    return groups


def encode_before(model: LocalMiniLM, texts: list[str]) -> NDArray[np.float32]:
    """The model's batching before: sorted by characters, 8 texts a batch, each batch
    tokenized and padded on its own."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    result = np.empty((len(texts), model.dimensions), dtype=np.float32)
    for start in range(0, len(order), 8):
        batch = order[start : start + 8]
        encodings = model._tokenizer.encode_batch([texts[i] for i in batch])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        result[batch] = model._run(ids, mask)
    return result


def before(model: LocalMiniLM, groups: list[list[Article]]) -> dict[str, bytes]:
    vectors: dict[str, bytes] = {}
    for group in groups:
        texts = [c.embedding_text for article in group for c in article]
        rows = encode_before(model, texts)
        vectors.update(zip(texts, (row.tobytes() for row in rows), strict=True))
        for article in group:
            texts = [p for c in article for p in passage_texts(c)]
            rows = encode_before(model, texts)
            vectors.update(zip(texts, (row.tobytes() for row in rows), strict=True))
    return vectors


def after(model: LocalMiniLM, groups: list[list[Article]]) -> dict[str, bytes]:
    vectors: dict[str, bytes] = {}
    for group in groups:
        texts = texts_of(c for article in group for c in article)
        rows = model.encode(texts)
        vectors.update(zip(texts, (row.tobytes() for row in rows), strict=True))
    return vectors


def with_budget(
    budget: int, threads: int
) -> Callable[[LocalMiniLM, list[list[Article]]], dict[str, bytes]]:
    model = LocalMiniLM(batch_tokens=budget, threads=threads or None)
    model.load()
    return lambda _, groups: after(model, groups)


class KnownVectors:
    """An embedder answering from vectors computed beforehand: the import without the model."""

    def __init__(self, model: LocalMiniLM, vectors: dict[str, bytes]) -> None:
        self.name, self.dimensions = model.name, model.dimensions
        self.vectors = vectors

    async def embed(self, texts: list[str]) -> list[Vector]:
        return [np.frombuffer(self.vectors[t], dtype=np.float32).tolist() for t in texts]


async def import_without_model(
    folder: Path, work: Path, embedder: KnownVectors
) -> dict[str, float]:
    postgres = EmbeddedPostgres(work / "postgres", durable=False)
    postgres.start()
    try:
        dsn = postgres.create_database("parley_bench_import")
        await migrate_dsn(dsn)
        pool = await create_pool(dsn, min_size=1, max_size=4)
        try:
            sources, _ = read_sources([folder])
            started = time.perf_counter()
            items = await import_files(KnowledgeBase(pool, embedder), sources)
            seconds = time.perf_counter() - started
        finally:
            await pool.close()
    finally:
        postgres.stop()
    assert all(i.outcome == "created" for i in items), items
    return {"seconds": round(seconds, 2), "seconds_per_article": round(seconds / len(items), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--budgets", default=str(BATCH_TOKENS), help="padded tokens a batch")
    parser.add_argument("--database", action="store_true", help="also time the import's rest")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        folder = Path(tmp) / "articles"
        folder.mkdir()
        write_articles(folder, args.articles)
        sources, _ = read_sources([folder])
        drafts = [draft_from_file(s.name, s.data) for s in sources]
        articles = [chunk_article(d.body, fallback_title=d.title) for d in drafts]
        groups = groups_of(articles)
        model = LocalMiniLM()
        model.load()
        ways: dict[str, Callable[[LocalMiniLM, list[list[Article]]], dict[str, bytes]]]
        ways = {"before": before}
        for budget in args.budgets.split(","):
            tokens, _, threads = budget.partition("/")
            ways[f"after_{budget}"] = with_budget(int(tokens), int(threads or 0))
        seconds: dict[str, list[float]] = {way: [] for way in ways}
        loads: list[float] = []
        results: dict[str, dict[str, bytes]] = {}
        for number in range(args.rounds):
            for way in list(ways) if number % 2 == 0 else list(reversed(ways)):
                loads.append(round(os.getloadavg()[0], 1))
                started = time.perf_counter()
                results[way] = ways[way](model, groups)
                seconds[way].append(round(time.perf_counter() - started, 2))
        if any(vectors != results["before"] for vectors in results.values()):
            raise SystemExit("the ways gave different vectors")
        report: dict[str, object] = {
            "articles": len(articles),
            "chunks": sum(len(a) for a in articles),
            "texts_embedded": {
                "before": sum(len(a) for a in articles)
                + sum(len(passage_texts(c)) for a in articles for c in a),
                "after": sum(len(texts_of(c for a in g for c in a)) for g in groups),
            },
            "identical_vectors": len(results["before"]),
            "seconds": seconds,
            "median_seconds": {way: statistics.median(s) for way, s in seconds.items()},
            "load_average_1min": loads,
        }
        if args.database:
            embedder = KnownVectors(model, results["before"])
            report["import_without_model"] = asyncio.run(
                import_without_model(folder, Path(tmp), embedder)
            )
        model.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
