"""Knowledge-base actions against real PostgreSQL and the real local model: import, edits that
re-embed only what changed, deletes, failures, and switching embedding models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from server.actions import knowledge as actions
from server.actions.knowledge import KnowledgeBase
from server.actions.knowledge_import import import_files, read_sources, seed_demo_if_empty
from server.assistant.embeddings import OpenAIEmbedder
from server.assistant.llm import make_client
from server.assistant.retrieval import Retriever
from server.assistant.retrieval_eval import DEMO_KB
from server.core.errors import ErrorCode, ParleyError
from server.core.knowledge import ArticleDraft
from server.store import knowledge as store
from tests.fake_openai import FakeOpenAI
from tests.integration.conftest import RecordingEmbedder

REFUND = (DEMO_KB / "refund-policy.md").read_text()


async def _chunks(pool: asyncpg.Pool, slug: str) -> list[store.StoredChunk]:
    async with pool.acquire() as conn:
        article = await store.get_article(conn, slug)
        assert article is not None
        return await store.chunks_of(conn, article.id)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


async def test_import_reads_markdown_text_and_html_recursively(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    _write(tmp_path, "refund-policy.md", REFUND)
    _write(tmp_path, "guides/Shipping Times.txt", "Orders ship within two business days.\n")
    _write(tmp_path, "guides/deep/contact.html",
           "<html><head><title>x</title><script>evil()</script></head><body><h1>Contact us</h1>"
           "<p>Write to help@example.test any day.</p></body></html>")  # fmt: skip
    _write(tmp_path, "guides/.hidden/secret.md", "# Secret\n\nnot imported")
    _write(tmp_path, "guides/image.png", "not text")
    sources, errors = read_sources([tmp_path])
    items = await import_files(kb, sources)
    assert not errors
    assert {(i.slug, i.outcome) for i in items} == {
        ("refund-policy", "created"),
        ("shipping-times", "created"),
        ("contact", "created"),
    }
    async with kb.db.acquire() as conn:
        contact = await store.get_article(conn, "contact")
        shipping = await store.get_article(conn, "shipping-times")
    assert contact is not None and contact.title == "Contact us"
    assert "evil" not in contact.body and "help@example.test" in contact.body
    assert shipping is not None and shipping.title == "Shipping Times"  # no heading: file name
    assert [c.ordinal for c in await _chunks(kb.db, "refund-policy")] == [0, 1, 2]


async def test_an_import_embeds_many_articles_per_call(
    kb: KnowledgeBase, recorder: RecordingEmbedder, tmp_path: Path
) -> None:
    for n in range(70):  # one chunk each: a first call of 64 chunks, then one of 6
        _write(tmp_path, f"topic-{n:02d}.md", f"# Topic {n}\n\nHow setting number {n} works.\n")
    sources, _ = read_sources([tmp_path])
    items = await import_files(kb, sources)
    assert [i.outcome for i in items] == ["created"] * 70
    # Everything ahead, in one call per 64 chunks' worth of articles: each chunk's own text,
    # its heading path and its paragraph (three distinct texts per article here).
    assert [len(call) for call in recorder.calls] == [64 * 3, 6 * 3]
    assert len(set(recorder.texts)) == 70 * 3
    assert [len(await _chunks(kb.db, f"topic-{n:02d}")) for n in (0, 69)] == [1, 1]

    calls = len(recorder.calls)
    again = await import_files(kb, sources)
    assert [i.outcome for i in again] == ["unchanged"] * 70 and len(recorder.calls) == calls

    # Embedding ahead fails: every changed article still embeds (and is saved) on its own.
    _write(tmp_path, "topic-03.md", "# Topic 3\n\nHow setting three works now.\n")
    _write(tmp_path, "topic-04.md", "# Topic 4\n\nHow setting four works now.\n")
    recorder.fail_next = 1
    changed = await import_files(kb, read_sources([tmp_path])[0])
    assert [(i.slug, i.outcome) for i in changed if i.outcome != "unchanged"] == [
        ("topic-03", "updated"), ("topic-04", "updated"),
    ]  # fmt: skip
    # The first group's call failed (the second had nothing new): each save embeds its
    # chunk and passages in one call of its own.
    assert [len(call) for call in recorder.calls[calls:]] == [3, 3]


async def test_reimport_embeds_only_the_changed_chunk(
    kb: KnowledgeBase, recorder: RecordingEmbedder
) -> None:
    first = await actions.upsert_article(kb, ArticleDraft("refund-policy", "Refund policy", REFUND))
    assert first.outcome == "created" and first.embedded == (0, 1, 2)
    before = {c.ordinal: c for c in await _chunks(kb.db, "refund-policy")}

    same = await actions.upsert_article(kb, ArticleDraft("refund-policy", "Refund policy", REFUND))
    # One call per embedding save: the chunks and their passages.
    assert same.outcome == "unchanged" and len(recorder.calls) == 1

    edited = REFUND.replace("within 5 to 10 business days", "within 3 to 7 business days")
    recorder.calls.clear()
    result = await actions.upsert_article(
        kb, ArticleDraft("refund-policy", "Refund policy", edited)
    )
    assert (result.outcome, result.embedded, result.reused, result.removed) == (
        "updated",
        (2,),
        (0, 1),
        1,
    )
    # One call: the changed chunk, then its passages (its heading path, then its paragraphs).
    assert len(recorder.calls) == 1
    chunk_text, heading, *paragraphs = recorder.texts
    assert "3 to 7 business days" in chunk_text and chunk_text.startswith(heading + "\n\n")
    assert paragraphs and all(p.startswith(heading + ": ") for p in paragraphs)
    assert sum("3 to 7 business days" in p for p in paragraphs) == 1
    after = {c.ordinal: c for c in await _chunks(kb.db, "refund-policy")}
    for ordinal in (0, 1):  # the same rows, with the vectors from the first import
        assert (after[ordinal].id, after[ordinal].embedded_at) == (
            before[ordinal].id,
            before[ordinal].embedded_at,
        )
    assert after[2].id != before[2].id and after[2].content_hash != before[2].content_hash


async def test_chunks_stored_without_passage_vectors_are_reembedded(
    kb: KnowledgeBase, recorder: RecordingEmbedder
) -> None:
    first = await actions.upsert_article(kb, ArticleDraft("refund-policy", "Refund policy", REFUND))
    assert first.embedded == (0, 1, 2)
    rows = await _chunks(kb.db, "refund-policy")
    assert all(row.has_passages for row in rows)
    async with kb.db.acquire() as conn:
        stored = await conn.fetch(
            "SELECT length(passage_vectors) AS size FROM kb_chunks ORDER BY ordinal"
        )
        # Float32 rows of 384: the heading path plus at least one paragraph per chunk.
        assert all(r["size"] % (4 * 384) == 0 and r["size"] >= 2 * 4 * 384 for r in stored)
        assert await store.articles_needing_index(conn, kb.model) == []
        # As left by a version before sql/0012.
        await conn.execute("UPDATE kb_chunks SET passage_vectors = NULL")
        assert await store.articles_needing_index(conn, kb.model) == ["refund-policy"]
    recorder.calls.clear()
    again = await actions.upsert_article(kb, ArticleDraft("refund-policy", "Refund policy", REFUND))
    assert (again.outcome, again.embedded, again.reused) == ("updated", (0, 1, 2), ())
    assert all(row.has_passages for row in await _chunks(kb.db, "refund-policy"))
    async with kb.db.acquire() as conn:
        assert await store.articles_needing_index(conn, kb.model) == []


async def test_a_new_title_reembeds_every_chunk_and_tags_alone_reembed_none(
    kb: KnowledgeBase, recorder: RecordingEmbedder
) -> None:
    await actions.upsert_article(kb, ArticleDraft("refund-policy", "Refund policy", REFUND))
    tagged = await actions.update_article(
        kb, ArticleDraft("refund-policy", "Refund policy", REFUND, tags=("billing",))
    )
    assert tagged.outcome == "updated" and tagged.embedded == () and tagged.reused == (0, 1, 2)
    retitled = await actions.update_article(
        kb, ArticleDraft("refund-policy", "Refunds", REFUND.replace("# Refund policy", "# Refunds"))
    )
    assert retitled.embedded == (0, 1, 2)  # the title is part of every chunk's embedded text
    assert len(recorder.calls) == 2  # chunks and passages together, twice


async def test_create_update_delete_rules(kb: KnowledgeBase) -> None:
    draft = ArticleDraft("hours", "Opening hours", "We answer chats from 9 to 5 on weekdays.")
    assert (await actions.create_article(kb, draft)).outcome == "created"
    with pytest.raises(ParleyError) as conflict:
        await actions.create_article(kb, draft)
    assert conflict.value.code is ErrorCode.CONFLICT
    with pytest.raises(ParleyError) as missing:
        await actions.update_article(kb, ArticleDraft("nope", "Nope", "text"))
    assert missing.value.code is ErrorCode.NOT_FOUND
    with pytest.raises(ParleyError) as bad:
        await actions.create_article(kb, ArticleDraft("Bad Slug!", "x", "text"))
    assert bad.value.code is ErrorCode.VALIDATION_FAILED

    await actions.delete_article(kb, "hours")
    async with kb.db.acquire() as conn:
        assert await store.get_article(conn, "hours") is None
        assert await conn.fetchval("SELECT count(*) FROM kb_chunks") == 0  # cascaded
    with pytest.raises(ParleyError) as gone:
        await actions.delete_article(kb, "hours")
    assert gone.value.code is ErrorCode.NOT_FOUND


async def test_deleted_articles_are_no_longer_retrieved(
    kb: KnowledgeBase, recorder: RecordingEmbedder
) -> None:
    await actions.upsert_article(kb, ArticleDraft("refund-policy", "Refund policy", REFUND))
    retriever = Retriever(kb.db, recorder)
    found = await retriever.retrieve("can I get my money back on a yearly plan")
    assert found.answerable and found.articles[0].slug == "refund-policy"
    await actions.delete_article(kb, "refund-policy")
    empty = await retriever.retrieve("can I get my money back on a yearly plan")
    assert empty.articles == () and not empty.answerable


async def test_a_failed_embedding_keeps_the_edit_and_drops_stale_chunks(
    kb: KnowledgeBase, recorder: RecordingEmbedder
) -> None:
    await actions.upsert_article(kb, ArticleDraft("refund-policy", "Refund policy", REFUND))
    recorder.fail_next = 1
    edited = REFUND.replace("14 days", "30 days")
    result = await actions.upsert_article(
        kb, ArticleDraft("refund-policy", "Refund policy", edited)
    )
    assert result.index_status == "failed" and "unreachable" in (result.error or "")
    async with kb.db.acquire() as conn:
        article = await store.get_article(conn, "refund-policy")
        assert article is not None and "30 days" in article.body
        assert article.index_status == "failed" and article.chunk_count == 0
        assert await store.articles_needing_index(conn, kb.model) == ["refund-policy"]
    repaired = await actions.reindex(kb, only_stale=True)
    assert [r.slug for r in repaired] == ["refund-policy"] and repaired[0].index_status == "indexed"
    assert len(await _chunks(kb.db, "refund-policy")) == 3


async def test_concurrent_saves_of_one_article_end_consistent(kb: KnowledgeBase) -> None:
    versions = [REFUND.replace("14 days", f"{n} days") for n in (20, 21, 22, 23)]
    results = await asyncio.gather(
        *(actions.upsert_article(kb, ArticleDraft("refund-policy", "Refund policy", v))
          for v in versions)
    )  # fmt: skip
    assert all(r.index_status == "indexed" for r in results)
    async with kb.db.acquire() as conn:
        article = await store.get_article(conn, "refund-policy")
        assert article is not None
    chunks = await _chunks(kb.db, "refund-policy")
    winner = ArticleDraft("refund-policy", "Refund policy", article.body)
    expected = [c.content_hash for c in actions.chunk_draft(kb, winner)]
    assert [c.content_hash for c in chunks] == expected  # the chunks belong to the stored text


async def test_switching_embedding_models_reindexes_into_the_new_space(
    kb: KnowledgeBase, fake_openai: FakeOpenAI
) -> None:
    for slug in ("refund-policy", "reset-password", "time-zones"):
        text = (DEMO_KB / f"{slug}.md").read_text()
        await actions.upsert_article(kb, ArticleDraft(slug, slug, text))
    client = make_client("test-key", fake_openai.base_url, 5.0)
    remote = OpenAIEmbedder(client, "text-embedding-3-small", 64)
    switched = KnowledgeBase(kb.db, remote)
    async with kb.db.acquire() as conn:
        assert await store.articles_needing_index(conn, remote.name) == [
            "refund-policy",
            "reset-password",
            "time-zones",
        ]
    seen: list[tuple[int, int]] = []
    results = await actions.reindex(switched, progress=lambda p: seen.append((p.done, p.total)))
    assert seen == [(1, 3), (2, 3), (3, 3)] and all(r.index_status == "indexed" for r in results)
    assert fake_openai.embedding_requests[0]["dimensions"] == 64
    async with kb.db.acquire() as conn:
        models = await conn.fetch("SELECT DISTINCT embedding_model FROM kb_chunks")
        assert [r["embedding_model"] for r in models] == [remote.name]
        assert await conn.fetchval("SELECT to_regclass($1)", store.vector_index_name(remote.name))
        assert await store.articles_needing_index(conn, remote.name) == []
    found = await Retriever(kb.db, remote, threshold=0.1).retrieve("reset my password")
    await client.close()
    assert found.articles[0].slug == "reset-password"


async def test_the_query_uses_the_models_hnsw_index(
    demo_pool: asyncpg.Pool, demo_retriever: Retriever
) -> None:
    (vector,) = await demo_retriever._embedder.embed(["refund"])
    async with demo_pool.acquire() as conn, conn.transaction():
        # 109 rows: the planner could sort them all; rule out every alternative to the index so
        # the plan shows whether the HNSW index is usable for this query shape at all.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            await conn.execute(f"SET LOCAL {setting} = off")
        name = "all-MiniLM-L6-v2-int8"
        assert store.vector_index_name(name) == "kb_chunks_hnsw_5a02ab285f13"  # the migration's
        await conn.execute("PREPARE nearest AS SELECT id FROM kb_chunks c WHERE c.embedding_model"
                           f" = '{name}' ORDER BY c.embedding::vector(384) <=> $1::text::vector(384)"
                           " LIMIT 20")  # fmt: skip
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        plan = await conn.fetch(f"EXPLAIN EXECUTE nearest('{store.vector_literal(vector)}')")
        await conn.execute("DEALLOCATE nearest")
    assert "kb_chunks_hnsw_5a02ab285f13" in "\n".join(r[0] for r in plan)


async def test_demo_seed_happens_once(kb: KnowledgeBase, tmp_path: Path) -> None:
    _write(tmp_path, "a.md", "# Alpha\n\nAlpha articles explain the first thing.")
    _write(tmp_path, "b.md", "# Beta\n\nBeta articles explain the second thing.")
    async with kb.db.acquire() as conn:  # as if a shutdown interrupted a first seed after "a"
        await store.set_state(conn, "demo_seeded", {"complete": False})
    await actions.upsert_article(
        kb, ArticleDraft("a", "Alpha", "# Alpha\n\nAlpha articles explain the first thing.")
    )
    items = await seed_demo_if_empty(kb, tmp_path)
    assert items is not None and [i.outcome for i in items] == ["unchanged", "created"]
    assert await seed_demo_if_empty(kb, tmp_path) is None
    for slug in ("a", "b"):
        await actions.delete_article(kb, slug)
    assert await seed_demo_if_empty(kb, tmp_path) is None  # emptied on purpose: not re-seeded


async def test_an_existing_help_center_is_never_seeded_over(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    _write(tmp_path, "a.md", "# Alpha\n\nAlpha articles explain the first thing.")
    await actions.upsert_article(kb, ArticleDraft("mine", "Mine", "Our own article."))
    assert await seed_demo_if_empty(kb, tmp_path) is None
