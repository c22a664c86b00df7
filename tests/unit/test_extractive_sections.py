"""Extractive answers quote the part of a passage that answers, not the whole section."""

from __future__ import annotations

from server.assistant.extractive import extractive_answer, trim
from server.assistant.retrieval import Passage, RankedArticle, Retrieval

PLANS = """## Monthly plans

Monthly plans are billed on the same day every month and can be cancelled at any time. You keep
access until the end of the month you paid for, and nothing is refunded for the rest of it.

## Annual plans

Annual plans are billed once a year at a discount of two months. If you cancel an annual plan in
the first 30 days, we refund it in full; after that, the plan runs until the end of the year.

## Changing plans

Upgrades take effect at once and are charged pro rata; downgrades take effect at the next renewal
date, and seats above the new plan's limit are removed then."""


def test_a_long_passage_is_trimmed_to_the_paragraph_that_answers() -> None:
    excerpt = trim(PLANS, "can I get a refund on an annual plan after cancelling")
    assert excerpt.startswith("## Annual plans\n\nAnnual plans are billed once a year")
    assert "Monthly plans are billed" not in excerpt
    assert "Upgrades take effect" in excerpt  # the neighbouring paragraph, up to two


def test_a_short_passage_is_quoted_whole() -> None:
    short = "Refunds reach your card within 5 to 10 business days.\n\nBank transfers take longer."
    assert trim(short, "annual refund") == short


def test_the_extractive_answer_quotes_the_trimmed_section_and_cites_the_article() -> None:
    passage = Passage("plans", "Plans and billing", None, ("Plans",), PLANS, 0.7)
    retrieval = Retrieval(
        "refund for an annual plan?", (RankedArticle("plans", "Plans and billing", None, 0.7),),
        (passage,), 0.33,
    )  # fmt: skip
    text, citations = extractive_answer(retrieval)
    assert "> Annual plans are billed once a year" in text.replace("\n", " ").replace(">  ", "> ")
    assert "Monthly plans are billed" not in text
    assert [c.slug for c in citations] == ["plans"] and "“Plans and billing” [1]" in text
