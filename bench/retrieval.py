"""Retrieval benchmark: import N articles, then time each question through the live retriever
(hybrid) and through the previous dense-only query as the baseline. Embedded PostgreSQL and
the local MiniLM model.

    python bench/retrieval.py [--articles 1000] [--rounds 1] [--copies 0]

The articles are the three evaluation knowledge bases (demo, tmux, SQLite FAQ) plus articles
recombined from their paragraphs up to N; the questions are the three evaluation sets.
With --copies K, every imported article is then copied K times in SQL, vectors included (no
embedding): retrieval latency at (K + 1) x N articles without paying for their import.
Prints one JSON document; docs/retrieval.md records the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.actions.knowledge import KnowledgeBase
from server.actions.knowledge_import import import_files, read_sources
from server.assistant.embeddings import LocalMiniLM
from server.assistant.retrieval import Retriever
from server.assistant.retrieval_eval import DEMO_KB, load_questions
from server.embedded import EmbeddedPostgres
from server.kb_cli import ProgressPrinter
from server.store import knowledge as store
from server.store.db import create_pool
from server.store.migrations import migrate_dsn

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "retrieval"
SETS = (DEMO_KB, DATA / "tmux", DATA / "sqlite_faq")


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
        started = time.perf_counter()
        items = await import_files(
            KnowledgeBase(pool, model), sources, ProgressPrinter("importing")
        )
        import_seconds = time.perf_counter() - started
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
