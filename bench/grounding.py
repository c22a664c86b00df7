"""How well the grounding check tells answers from hedges that cite a passage, on the four
evaluation knowledge bases, without a model (no network, a few seconds).

    python bench/grounding.py

Answers: for each answerable question, the sentence of a right article that shares the most
words with the question, cited (what a grounded reply restates), and its first eight words
alone (a terse paraphrase keeps few of the passage's words). Hedges: eight ways models
say "the passages do not say" about the question, citing the right article, and three more
that also name the article's title; for out-of-scope questions the article sharing the most
words with the question stands in for the retrieved one. Two other articles of the same
knowledge base are given alongside, as retrieval gives several. Prints a Markdown table.
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.assistant.grounding import grounded, words
from server.assistant.retrieval_eval import DEMO_KB, load_questions

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "retrieval"
SETS = (DEMO_KB, DATA / "tmux", DATA / "sqlite_faq", DATA / "evolution")
TERSE_WORDS = 8  # a model's short paraphrase keeps only a few of the passage's words
HEDGES = (
    "The passages do not say {q} [1].",
    "I'm sorry, but our help center doesn't cover {q} [1].",
    "Unfortunately, the articles don't mention anything about {q} [1].",
    "There is no information about {q} in the available documentation [1].",
    "I couldn't find details on {q}; please contact our support team [1].",
    "The help center does not specify {q} [1].",
    "I'm not sure about {q}, the article doesn't explain it [1].",
    "It isn't mentioned in the provided sources whether {q} [1].",
)
TITLED_HEDGES = (
    "The article on {t} does not say {q} [1].",
    "Our guide to {t} doesn't cover {q} [1].",
    "{t} is described, but not {q} [1].",
)


def sentences(text: str) -> list[str]:
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    parts = re.split(r"(?<=[.!?])\s+|\n+", body)
    return [p.strip(" -1.") for p in parts if len(p.split()) >= 4]


def best_sentence(article: str, question: str) -> str:
    asked = words(question)
    return max(sentences(article), key=lambda s: len(words(s) & asked))


def measure(kb: Path, rng: random.Random) -> dict[str, tuple[int, int]]:
    articles = {p.stem: p.read_text(encoding="utf-8") for p in sorted(kb.glob("*.md"))}
    titles = {slug: text.splitlines()[0].lstrip("# ") for slug, text in articles.items()}
    counts = {"answers": [0, 0], "terse answers": [0, 0], "hedges": [0, 0],
              "titled hedges": [0, 0]}  # fmt: skip
    for question in load_questions(kb / "eval.tsv"):
        q = question.text.rstrip("?! ")
        if question.expected:
            slug = sorted(question.expected)[0]
        else:
            slug = max(articles, key=lambda s: len(words(articles[s]) & words(q)))
        others = [articles[s] for s in rng.sample(sorted(set(articles) - {slug}), 2)]
        cited = [articles[slug]]
        if question.expected:
            answer = best_sentence(articles[slug], q) + " [1]."
            counts["answers"][0] += grounded(answer, q, cited, others, [titles[slug]])
            counts["answers"][1] += 1
            terse = " ".join(answer.split()[:TERSE_WORDS]) + " [1]."
            counts["terse answers"][0] += grounded(terse, q, cited, others, [titles[slug]])
            counts["terse answers"][1] += 1
        for kind, templates in (("hedges", HEDGES), ("titled hedges", TITLED_HEDGES)):
            for template in templates:
                hedge = template.format(q=q, t=titles[slug].lower())
                counts[kind][0] += grounded(hedge, q, cited, others, [titles[slug]])
                counts[kind][1] += 1
    return {kind: (passed, total) for kind, (passed, total) in counts.items()}


def main() -> None:
    rng = random.Random(14)
    print(
        "| set | answers passed | their first 8 words passed | hedges passed "
        "| hedges naming the article passed |"
    )
    print("| --- | --- | --- | --- | --- |")
    for kb in SETS:
        result = measure(kb, rng)
        cells = [f"{p} / {t} ({p / t:.1%})" for p, t in result.values()]
        print(f"| {kb.name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
