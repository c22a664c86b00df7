"""Chunking of Markdown, plain text and HTML articles, and the shape of the demo help center."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.assistant.chunking import (
    ChunkOptions,
    chunk_article,
    count_words,
    first_heading_title,
    html_to_text,
    markdown_to_plain,
)

DEMO_KB = Path(__file__).resolve().parents[2] / "server" / "assistant" / "kb_demo"
SMALL = ChunkOptions(target_words=40, max_words=60, min_words=15)


def sentence(n: int, words: int = 10) -> str:
    return " ".join([f"Word{n}"] + ["filler"] * (words - 2) + ["end."])


def paragraph(n: int, sentences: int = 3) -> str:
    return " ".join(sentence(n * 100 + i) for i in range(sentences))


def words_of(text: str) -> list[str]:
    return re.findall(r"\w+", markdown_to_plain(text))


# -- titles -------------------------------------------------------------------------------


def test_title_is_first_level_one_heading() -> None:
    assert first_heading_title("intro\n## Setup\n# Billing FAQ\n", "x") == "Billing FAQ"


def test_title_falls_back_to_first_heading_then_fallback() -> None:
    assert first_heading_title("## Only a section\ntext", "x") == "Only a section"
    assert first_heading_title("no headings at all", "refund-policy") == "refund-policy"


def test_headings_inside_code_fences_are_ignored() -> None:
    text = "```\n# not a title\n```\n# Real title\nbody"
    assert first_heading_title(text, "x") == "Real title"


# -- structure ----------------------------------------------------------------------------


def test_title_becomes_context_not_text() -> None:
    text = f"# Refunds\n\n{paragraph(1)}\n\n## Annual plans\n\n{paragraph(2)}"
    chunks = chunk_article(text, fallback_title="x", options=SMALL)
    assert [c.heading_path for c in chunks] == [(), ("Annual plans",)]
    assert all("# Refunds" not in c.text for c in chunks)
    assert chunks[1].context == "Refunds > Annual plans"
    assert chunks[1].embedding_text.startswith("Refunds > Annual plans\n\n")
    assert [c.ordinal for c in chunks] == [0, 1]


def test_nested_headings_build_a_path_and_reset_on_siblings() -> None:
    text = (
        f"# Guide\n## Setup\n{paragraph(1)}\n### Okta\n{paragraph(2)}\n"
        f"### Entra ID\n{paragraph(3)}\n## Billing\n{paragraph(4)}"
    )
    paths = [c.heading_path for c in chunk_article(text, fallback_title="x", options=SMALL)]
    assert paths == [("Setup",), ("Setup", "Okta"), ("Setup", "Entra ID"), ("Billing",)]


def test_plain_text_without_headings_uses_fallback_title() -> None:
    text = "\n\n".join(paragraph(i) for i in range(4))
    chunks = chunk_article(text, fallback_title="notes", options=SMALL)
    assert {c.article_title for c in chunks} == {"notes"}
    assert words_of("\n".join(c.text for c in chunks)) == words_of(text)


def test_empty_article_has_no_chunks() -> None:
    assert chunk_article("# Title only\n\n", fallback_title="x") == []


# -- sizes and boundaries -----------------------------------------------------------------


def test_long_section_splits_at_paragraphs_within_max() -> None:
    body = "\n\n".join(paragraph(i) for i in range(8))  # 8 x 30 words
    chunks = chunk_article(f"# T\n## S\n{body}", fallback_title="x", options=SMALL)
    assert len(chunks) > 1
    assert all(c.word_count <= SMALL.max_words for c in chunks)
    assert all(c.heading_path == ("S",) for c in chunks)
    assert words_of("\n".join(c.text for c in chunks)) == words_of(body)


def test_long_paragraph_splits_between_sentences() -> None:
    body = paragraph(1, sentences=15)  # one 150-word paragraph
    chunks = chunk_article(body, fallback_title="x", options=SMALL)
    assert len(chunks) >= 3
    assert all(c.text.endswith("end.") and c.text.startswith("Word") for c in chunks)


def test_only_a_giant_sentence_is_cut_mid_sentence() -> None:
    body = " ".join(["word"] * 150) + "."
    chunks = chunk_article(body, fallback_title="x", options=SMALL)
    assert all(c.word_count <= SMALL.max_words for c in chunks)
    assert sum(c.word_count for c in chunks) == 150


def test_list_items_stay_whole() -> None:
    items = "\n".join(f"- {sentence(i, 12)}\n  continued line {i}." for i in range(10))
    chunks = chunk_article(f"# T\n\n{items}", fallback_title="x", options=SMALL)
    assert len(chunks) > 1
    for chunk in chunks:
        lines = chunk.text.splitlines()
        assert lines[0].startswith("- ") and lines[-1].startswith("  continued")


def test_small_sections_merge_and_keep_their_headings() -> None:
    text = "# T\n## A\nShort a.\n## B\nShort b.\n## C\nShort c."
    chunks = chunk_article(text, fallback_title="x", options=SMALL)
    assert len(chunks) == 1
    assert chunks[0].heading_path == ()
    assert "## A" in chunks[0].text and "## C" in chunks[0].text
    assert "\nB\n" in chunks[0].embedding_text


def test_merge_keeps_shared_parent_in_path() -> None:
    text = f"# T\n## Parent\n{paragraph(1, 2)}\n### Tiny\nOne line.\n## Other\n{paragraph(2, 2)}"
    chunks = chunk_article(text, fallback_title="x", options=SMALL)
    assert chunks[0].heading_path == ("Parent",)
    assert "### Tiny" in chunks[0].text


def test_merging_never_exceeds_max() -> None:
    sections = "\n".join(f"## S{i}\n{sentence(i, 14)}" for i in range(12))
    chunks = chunk_article(f"# T\n{sections}", fallback_title="x", options=SMALL)
    assert all(c.word_count <= SMALL.max_words for c in chunks)
    assert all(c.word_count >= SMALL.min_words for c in chunks)


# -- hashes -------------------------------------------------------------------------------


def test_hash_is_stable_and_changes_only_with_its_chunk() -> None:
    first = f"# T\n## A\n{paragraph(1)}\n## B\n{paragraph(2)}"
    second = first.replace("Word200", "Changed200")
    old = chunk_article(first, fallback_title="x", options=SMALL)
    again = chunk_article(first, fallback_title="x", options=SMALL)
    new = chunk_article(second, fallback_title="x", options=SMALL)
    assert [c.content_hash for c in old] == [c.content_hash for c in again]
    assert old[0].content_hash == new[0].content_hash
    assert old[1].content_hash != new[1].content_hash
    assert re.fullmatch(r"[0-9a-f]{64}", old[0].content_hash)


def test_hash_changes_when_the_title_changes() -> None:
    body = f"\n## A\n{paragraph(1)}"
    old = chunk_article(f"# Old{body}", fallback_title="x")
    new = chunk_article(f"# New{body}", fallback_title="x")
    assert old[0].content_hash != new[0].content_hash


# -- markup -------------------------------------------------------------------------------


def test_markdown_to_plain_drops_markup() -> None:
    text = "Open **Settings → Billing** and `copy` [the guide](https://x.example/a).\n| --- |"
    assert markdown_to_plain(text) == "Open Settings → Billing and copy the guide."


def test_html_to_text_keeps_structure_and_drops_scripts() -> None:
    html = (
        "<html><head><title>ignored</title><style>p{}</style></head><body>"
        "<nav>Home | Docs</nav><h1>Reset   your password</h1>"
        "<p>Click <b>Forgot</b> &amp; wait.<br>Then go.</p><script>alert(1)</script>"
        "<h2>Rules</h2><ul><li>Valid 60 minutes</li><li>Works once</li></ul>"
        "<table><tr><th>Plan</th><th>Limit</th></tr><tr><td>Team</td><td>60</td></tr></table>"
        "<pre>a  b\n  indented</pre></body></html>"
    )
    assert html_to_text(html) == (
        "# Reset your password\n\nClick Forgot & wait.\nThen go.\n\n## Rules\n\n"
        "- Valid 60 minutes\n- Works once\n\nPlan | Limit\nTeam | 60\n\na  b\n  indented"
    )


def test_html_article_chunks_like_markdown() -> None:
    html = f"<h1>Webhooks</h1><p>{paragraph(1)}</p><h2>Retries</h2><p>{paragraph(2)}</p>"
    chunks = chunk_article(html_to_text(html), fallback_title="page.html", options=SMALL)
    assert [c.context for c in chunks] == ["Webhooks", "Webhooks > Retries"]


# -- the demo help center -----------------------------------------------------------------


def demo_articles() -> list[Path]:
    return sorted(DEMO_KB.glob("*.md"))


def test_demo_articles_have_the_agreed_shape() -> None:
    articles = demo_articles()
    assert 32 <= len(articles) <= 36
    for path in articles:
        text = path.read_text(encoding="utf-8")
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", path.stem), path.name
        assert text.startswith("# "), path.name
        assert "\n## " in text, path.name
        assert 150 <= count_words(text) <= 500, path.name


@pytest.mark.parametrize("path", demo_articles(), ids=lambda p: p.stem)
def test_demo_articles_chunk_within_bounds(path: Path) -> None:
    options = ChunkOptions()
    chunks = chunk_article(path.read_text(encoding="utf-8"), fallback_title=path.stem)
    assert chunks
    assert all(c.word_count <= options.max_words for c in chunks)
    assert len({c.content_hash for c in chunks}) == len(chunks)


def test_demo_eval_file_is_well_formed() -> None:
    slugs = {p.stem for p in demo_articles()}
    rows = [line.split("\t") for line in (DEMO_KB / "eval.tsv").read_text().splitlines()]
    assert all(len(row) == 2 and row[0].strip() for row in rows)
    labels = [row[1].split(",") for row in rows]
    assert sum(label == ["NONE"] for label in labels) >= 8
    assert sum(label != ["NONE"] for label in labels) >= 48
    assert {s for label in labels for s in label if s != "NONE"} <= slugs
