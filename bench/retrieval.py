"""Retrieval benchmark: import N articles, then time each question through the live retriever
(hybrid) and through the previous dense-only query as the baseline. Embedded PostgreSQL and
the local MiniLM model.

    python bench/retrieval.py [--articles 1000] [--rounds 1] [--copies 0] [--baseline 0]

The articles are the four evaluation knowledge bases (demo, tmux, SQLite FAQ, Evolution) plus
articles recombined from their paragraphs up to N; the questions are the four evaluation sets.
With --baseline B, B of the articles (a fixed random sample) are first imported twice, each
time into a fresh database: one at a time, each embedding its own chunks (the import before
embed_ahead), and with import_files, --baseline-rounds times, alternating which goes first.
With --copies K, every imported article is then copied K times in SQL, vectors included (no
embedding): retrieval latency at (K + 1) x N articles without paying for their import.
Prints one JSON document; docs/retrieval.md records the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.actions.knowledge import KnowledgeBase, upsert_article
from server.actions.knowledge_import import (
    SourceFile,
    draft_from_file,
    import_files,
    read_sources,
)
from server.assistant.embeddings import LocalMiniLM
from server.assistant.retrieval import Retriever
from server.assistant.retrieval_eval import DEMO_KB, load_questions
from server.embedded import EmbeddedPostgres
from server.kb_cli import ProgressPrinter
from server.store import knowledge as store
from server.store.db import create_pool
from server.store.migrations import migrate_dsn

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "retrieval"
SETS = (DEMO_KB, DATA / "tmux", DATA / "sqlite_faq", DATA / "evolution")


def write_articles(folder: Path, count: int) -> None:
    real = [p for kb in SETS for p in sorted(kb.glob("*.md"))]
    paragraphs = [
        block
        for p in real
        for block in p.read_text(encoding="utf-8").split("\n\n")
        if block.strip() and not block.startswith("#")
    ]
    for path in real[:count]:
        (folder / f"{path.parent.name}-{path.name}").write_text(path.read_text(encoding="utf-8"))
    rng = random.Random(14)
    for number in range(max(count - len(real), 0)):
        words = rng.sample(paragraphs, 4)
        title = " ".join(rng.choice(words).split()[:5])
        body = "\n\n".join(f"## Part {i + 1}\n\n{text}" for i, text in enumerate(words))
        (folder / f"mixed-{number:04d}.md").write_text(f"# Notes {number}: {title}\n\n{body}\n")


async def copy_articles(conn: asyncpg.Connection, copies: int) -> None:
    """Copies of every article and its chunks (same text and vectors, new slugs)."""
    await conn.execute(
        """
        WITH originals AS (SELECT * FROM kb_articles),
             copied AS (
               INSERT INTO kb_articles (slug, title, body, content_hash, index_status,
                                        embedding_model, indexed_at)
               SELECT o.slug || '-copy-' || n, o.title || ' (' || n || ')', o.body,
                      o.content_hash, o.index_status, o.embedding_model, now()
                 FROM originals o, generate_series(1, $1) n
               RETURNING id, slug)
        INSERT INTO kb_chunks (article_id, ordinal, heading_path, text, content_hash,
                               embedding_model, embedding, passage_vectors)
        SELECT copied.id, c.ordinal, c.heading_path, c.text, c.content_hash,
               c.embedding_model, c.embedding, c.passage_vectors
          FROM copied
          JOIN originals o ON copied.slug LIKE o.slug || '-copy-%'
                          AND copied.slug ~ ('^' || o.slug || '-copy-[0-9]+$')
          JOIN kb_chunks c ON c.article_id = o.id
        """,
        copies,
    )


async def import_both_ways(
    postgres: EmbeddedPostgres, model: LocalMiniLM, sources: list[SourceFile], rounds: int
) -> dict[str, list[float]]:
    """Seconds per article for the same articles, each time into a fresh database: saved and
    embedded one at a time (the import before embed_ahead), and by import_files, alternating
    which goes first so that a change of machine load hits both."""
    seconds: dict[str, list[float]] = {"one_at_a_time": [], "import_files": []}
    for number in range(rounds):
        ways = list(seconds) if number % 2 == 0 else list(reversed(seconds))
        for way in ways:
            dsn = postgres.create_database(f"parley_bench_import_{way}_{number}")
            await migrate_dsn(dsn)
            pool = await create_pool(dsn, min_size=1, max_size=2)
            try:
                kb = KnowledgeBase(pool, model)
                started = time.perf_counter()
                if way == "one_at_a_time":
                    for source in sources:
                        await upsert_article(kb, draft_from_file(source.name, source.data))
                else:
                    await import_files(kb, sources)
                seconds[way].append(round((time.perf_counter() - started) / len(sources), 3))
            finally:
                await pool.close()
    return seconds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(
    args: argparse.Namespace, postgres: EmbeddedPostgres, work: Path
) -> dict[str, object]:
    dsn = postgres.create_database("parley_bench_retrieval")
    await migrate_dsn(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=4)
    model = LocalMiniLM()
    model.load()
    try:
        folder = work / "articles"
        folder.mkdir()
        write_articles(folder, args.articles)
        sources, errors = read_sources([folder])
        load_before = os.getloadavg()[0]
        baseline = None
        if args.baseline:
            sample = random.Random(14).sample(sources, min(args.baseline, len(sources)))
            baseline = await import_both_ways(postgres, model, sample, args.baseline_rounds)
        started = time.perf_counter()
        items = await import_files(
            KnowledgeBase(pool, model), sources, ProgressPrinter("importing")
        )
        import_seconds = time.perf_counter() - started
        load_after = os.getloadavg()[0]
        problems = [i for i in items if i.outcome not in ("created", "updated")]
        if args.copies:
            async with pool.acquire() as conn:
                await copy_articles(conn, args.copies)
        questions = [q.text for kb in SETS for q in load_questions(kb / "eval.tsv")]
        retriever = Retriever(pool, model)
        await retriever.retrieve("warm up")
        hybrid, dense = [], []
        for _ in range(args.rounds):
            for question in questions:
                t0 = time.perf_counter()
                await retriever.retrieve(question)
                hybrid.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                (vector,) = await model.embed([question])
                async with pool.acquire() as conn:
                    await store.nearest_chunks(conn, model.name, model.dimensions, vector, 20)
                dense.append((time.perf_counter() - t0) * 1000)
        async with pool.acquire() as conn:
            chunks = await conn.fetchval("SELECT count(*) FROM kb_chunks")
            articles = await conn.fetchval("SELECT count(*) FROM kb_articles")
        return {
            "imported_articles": len(items),
            "articles": articles,
            "chunks": chunks,
            "import_problems": len(problems) + len(errors),
            "import_seconds": round(import_seconds, 1),
            "import_seconds_per_article": round(import_seconds / max(len(items), 1), 3),
            "baseline_seconds_per_article": baseline,
            "load_average_1min": [round(load_before, 1), round(load_after, 1)],
            "questions": len(hybrid),
            "hybrid_ms": {
                "p50": round(statistics.median(hybrid), 1),
                "p95": round(percentile(hybrid, 0.95), 1),
                "max": round(max(hybrid), 1),
            },
            "dense_only_baseline_ms": {
                "p50": round(statistics.median(dense), 1),
                "p95": round(percentile(dense, 0.95), 1),
                "max": round(max(dense), 1),
            },
        }
    finally:
        model.close()
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--copies", type=int, default=0, help="SQL copies of each article")
    parser.add_argument("--baseline", type=int, default=0, help="articles imported both ways")
    parser.add_argument("--baseline-rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "postgres", durable=False)
        postgres.start()
        try:
            print(json.dumps(asyncio.run(run(args, postgres, Path(tmp))), indent=2))
        finally:
            postgres.stop()


if __name__ == "__main__":
    main()
