"""A batched, deduplicated import stores exactly the vectors of each text embedded alone,
and still reports every article's progress."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from server.actions import knowledge_import
from server.actions.knowledge import KnowledgeBase, Progress, chunk_draft
from server.actions.knowledge_import import draft_from_file, import_files, read_sources
from server.assistant.embeddings import LocalMiniLM
from server.assistant.passages import passage_texts
from server.store.knowledge import vector_literal
from tests.integration.conftest import RecordingEmbedder

EVOLUTION = Path(__file__).resolve().parents[1] / "data" / "retrieval" / "evolution"
# Two paragraphs that are the same text under one heading: one passage text, embedded once.
REPEATED = """# Repeated notes

## Sync

Sync runs every five minutes while the application is open.

Sync runs every five minutes while the application is open.

## Offline

Changes made offline are sent at the next sync.
"""


def _floats(pgvector_text: str) -> np.ndarray:
    return np.array(pgvector_text.strip("[]").split(","), dtype=np.float32)


async def test_a_batched_import_stores_the_vectors_of_each_text_embedded_alone(
    kb: KnowledgeBase,
    recorder: RecordingEmbedder,
    minilm: LocalMiniLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small groups, so several calls are embedded ahead while earlier groups are saved.
    monkeypatch.setattr(knowledge_import, "EMBED_AHEAD_CHUNKS", 2)
    for path in sorted(EVOLUTION.glob("*.md"))[:7]:
        shutil.copyfile(path, tmp_path / path.name)
    (tmp_path / "repeated-notes.md").write_text(REPEATED)
    (tmp_path / "broken.md").write_bytes(b"\xff\xfe not utf-8")
    sources, unreadable = read_sources([tmp_path])
    assert not unreadable and len(sources) == 9
    told: list[Progress] = []

    items = await import_files(kb, sources, told.append)

    assert [i.outcome for i in items].count("created") == 8
    assert [(i.slug, i.outcome) for i in items if i.outcome != "created"] == [(None, "error")]
    # Every file is counted once, in order, the bad one included.
    assert [(p.done, p.total) for p in told] == [(n, 9) for n in range(1, 10)]
    assert [p.slug for p in told] == [i.slug or i.name for i in items]
    assert len(recorder.calls) >= 3  # several groups embedded ahead

    needed: set[str] = set()
    for source in sources:
        if source.name.endswith("broken.md"):
            continue
        draft = draft_from_file(source.name, source.data)
        async with kb.db.acquire() as conn:
            rows = await conn.fetch(
                """SELECT c.ordinal, c.embedding::text AS embedding, c.passage_vectors
                     FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
                    WHERE a.slug = $1 ORDER BY c.ordinal""",
                draft.slug,
            )
        chunks = chunk_draft(kb, draft)
        assert [r["ordinal"] for r in rows] == [c.ordinal for c in chunks]
        for row, chunk in zip(rows, chunks, strict=True):
            alone = minilm.encode([chunk.embedding_text])[0]
            assert np.array_equal(_floats(row["embedding"]), _floats(vector_literal(alone)))
            passages = [minilm.encode([text])[0] for text in passage_texts(chunk)]
            assert row["passage_vectors"] == np.asarray(passages, dtype="<f4").tobytes()
            needed.update([chunk.embedding_text, *passage_texts(chunk)])
    # Every text the stored vectors came from was embedded exactly once: the repeated
    # paragraph and the heading paths shared by sibling chunks included.
    assert sorted(recorder.texts) == sorted(needed)
