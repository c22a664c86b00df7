"""A question about a price needs a passage that mentions money (answer_types.py)."""

from __future__ import annotations

import pytest

from server.assistant.answer_types import asks_about_money, missing_evidence


@pytest.mark.parametrize(
    "question",
    [
        "how much does the enterprise plan cost?",
        "what are your prices",
        "can I get a refund for my subscription?",
        "is there a student discount",
        "are there any fees for extra users",
        "you charged my card twice",
        "I want my money back",
        "how do I stop paying for this",
        "was kostet die Lizenz?",
        "wie bekomme ich eine Rückerstattung",
        "¿cuánto cuesta el plan anual?",
    ],
)
def test_asks_about_money(question: str) -> None:
    assert asks_about_money(question)


@pytest.mark.parametrize(
    "question",
    [
        "how much storage do I get",
        "what licence is it under",
        "how do I subscribe to a calendar",
        "can I plan a meeting for next week",
        "how do I pay attention to new mail",
        "who is in charge of my account",
    ],
)
def test_questions_that_only_sound_like_money(question: str) -> None:
    assert not asks_about_money(question)


def test_a_price_question_needs_money_in_a_passage() -> None:
    question = "how much does the business licence cost?"
    no_money = [
        "Accounts > Subscriptions\n\nSubscribe to a remote calendar: you pay attention to its"
        " plan and licence.",
        "Calendar > Plans\n\nPlan a meeting with the whole team.",
    ]
    assert missing_evidence(question, no_money) == "price"
    assert missing_evidence(question, []) == "price"
    for money in (
        "The Business plan is $12 per user.",
        "Prices are listed on our pricing page.",
        "Each extra seat is billed monthly.",
        "It costs 10 EUR a month.",
        "Refunds reach your card within 5 days.",
        "Die Lizenz ist kostenlos.",
        "El precio incluye todas las funciones.",
    ):
        assert missing_evidence(question, [*no_money, money]) is None, money


def test_other_questions_need_no_particular_evidence() -> None:
    assert missing_evidence("how do I add a calendar", ["Nothing about money here."]) is None
