"""Answers without a language model: the best passage quoted word for word, with citations."""

from __future__ import annotations

import re

from .chunking import markdown_to_plain
from .citations import Citation, citation_of, group_sources
from .lexical import tokenize
from .retrieval import Retrieval

DECLINE_TEXT = (
    "I don't know the answer to that, and I'd rather not guess. "
    "I can connect you with a person from our team."
)
OFFER_PERSON = "If this doesn't answer your question, I can connect you with a person."
FALLBACK_INTRO = "I can't write a full answer right now, but this is what our help center says:"
EXTRACTIVE_INTRO = "Here is what our help center says:"
# Related articles are named only when they also pass the decline threshold.
MAX_RELATED = 2
# A passage longer than this is trimmed to the paragraphs that share the most words with the
# question (a chunk can hold a whole section: "Monthly plans" and "Annual plans").
TRIM_ABOVE_WORDS = 90
QUOTED_PARAGRAPHS = 2


def quote(text: str) -> str:
    """Markdown block quote of the passage, markup removed (chat clients may show raw text)."""
    lines = markdown_to_plain(text).splitlines()
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def extractive_answer(retrieval: Retrieval, *, intro: str = EXTRACTIVE_INTRO) -> tuple[
    str, list[Citation]
]:  # fmt: skip
    """The top article's best passage quoted, its title cited as [1], and up to two other
    articles above the threshold offered as [2], [3]. Never a word that is not in the help
    center, which is also why it cannot tell an answer from a passage that is merely on topic:
    hence the offer of a person."""
    sources = group_sources(retrieval.passages)
    best = max(sources[0], key=lambda p: p.score)
    citations = [citation_of(sources[0])]
    excerpt = trim(best.text, retrieval.question)
    lines = [intro, "", quote(excerpt), "", f"— {reference(citations[0])} [1]"]
    related = [
        citation_of(source)
        for source in sources[1:]
        if citation_of(source).score >= retrieval.threshold
    ][:MAX_RELATED]
    if related:
        names = ", ".join(f"{reference(c)} [{number}]" for number, c in enumerate(related, start=2))
        lines += ["", f"Related articles: {names}"]
        citations += related
    lines += ["", OFFER_PERSON]
    return "\n".join(lines), citations


def trim(text: str, question: str) -> str:
    """The paragraph of `text` that shares the most words with the question, and the next one
    when it continues it (up to QUOTED_PARAGRAPHS), under the nearest heading above them;
    short passages are kept whole."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    if len(text.split()) <= TRIM_ABOVE_WORDS or len(blocks) <= QUOTED_PARAGRAPHS:
        return text
    wanted = set(tokenize(question))

    def overlap(block: str) -> int:
        return len(wanted & set(tokenize(block)))

    body = [i for i, b in enumerate(blocks) if not b.startswith("#")]
    best = max(body, key=lambda i: (overlap(blocks[i]), -i))  # the earliest of equals
    chosen = [best]
    following = body[body.index(best) + 1 : body.index(best) + QUOTED_PARAGRAPHS]
    for i in following:  # a list after "do this:", or more of the answer
        if blocks[chosen[-1]].endswith(":") or overlap(blocks[i]):
            chosen.append(i)
    heading = next(
        (blocks[i] for i in range(chosen[0] - 1, -1, -1) if blocks[i].startswith("#")), None
    )
    return "\n\n".join(([heading] if heading else []) + [blocks[i] for i in chosen])


def reference(citation: Citation) -> str:
    title = f"“{citation.title}”"
    return f"{title} ({citation.url})" if citation.url else title
