"""The check a streamed reply passes before a customer sees it: grounded citations, hedges
declined or left out, whole sentences only."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.assistant.citations import group_sources
from server.assistant.grounding import answer_words, grounded
from server.assistant.reply_gate import ReplyGate
from server.assistant.retrieval import Passage

EVOLUTION = Path(__file__).resolve().parents[1] / "data" / "retrieval" / "evolution"


def article(slug: str) -> str:
    return (EVOLUTION / f"{slug}.md").read_text(encoding="utf-8")


def title(slug: str) -> str:
    return article(slug).splitlines()[0].lstrip("# ")


# Replies written the way chat models paraphrase a help article, and hedges the way they
# dodge, each citing the article a retriever would give for the question.
CASES = [
    ("how do I make a backup of my mail", "backup-restore", True,
     "Choose File > Back up Evolution Data, pick a folder and let Evolution close [1]."),
    ("does the backup include my spam training", "backup-restore", True,
     "No: Bogofilter and SpamAssassin keep their data in hidden folders you copy yourself [1]."),
    ("switch the calendar to 24 hour clock", "calendar-layout-general-formatting", True,
     "Under Preferences > Calendar and Tasks > General > Time format, pick twenty-four-hour [1]."),
    ("pictures in emails don't load", "mail-displaying-images-in-html", True,
     "Remote images are blocked for privacy; press Ctrl+I to load them for one message [1]."),
    ("write my emails in vim", "mail-composer-external-editor", True,
     "Enable the External Editor plugin and set its command to your editor [1]."),
    ("my messages are stuck in the outbox", "mail-not-sent", True,
     "Check the recipients' addresses and your SMTP settings, and make sure you are online [1]."),
    ("is there an Evolution app for iPhone", "mail-working-offline", False,
     "The help center doesn't mention an iPhone app for Evolution [1]."),
    ("is there an Evolution app for iPhone", "mail-working-offline", False,
     "Working offline is covered, but an app for the iPhone is not [1]."),
    ("does Evolution run on Windows 11", "import-apps-outlook", False,
     "I can't confirm whether Evolution runs on Windows 11 from what I have here [1]."),
    ("how much does an Evolution business licence cost", "intro-first-run", False,
     "Pricing for a business licence of Evolution isn't something I can see [1]."),
    ("can Evolution translate emails", "mail-composer-spellcheck", False,
     "Sorry, there's nothing on translating emails in the spell checking article [1]."),
    ("what's the phone number of Evolution's support", "problems-reporting-bugs", False,
     "Unfortunately I couldn't find a phone number for Evolution's support [1]."),
]  # fmt: skip


@pytest.mark.parametrize(("question", "slug", "expected", "reply"), CASES)
def test_paraphrased_answers_are_grounded_and_hedges_are_not(
    question: str, slug: str, expected: bool, reply: str
) -> None:
    others = [article("intro-main-window"), article("mail-folders")]
    found = answer_words(reply, question, [article(slug)], others, [title(slug)])
    assert grounded(reply, question, [article(slug)], others, [title(slug)]) is expected, found


def test_words_found_in_every_passage_or_the_question_bear_no_answer() -> None:
    passages = ["Lumen refunds cards in 5 days.", "Lumen invoices monthly."]
    assert answer_words("Lumen refunds it [1].", "refund?", passages[:1], passages[1:]) == set()
    assert answer_words("Cards take 5 days [1].", "refund?", passages[:1], passages[1:]) == {
        "card", "5", "days",
    }  # fmt: skip


def sources() -> list[list[Passage]]:
    texts = {
        "refunds": "Card refunds usually appear within 5 to 10 business days, depending on your "
        "bank. Bank-transfer refunds take up to 15 business days.",
        "invoices": "Invoices are emailed to the billing contact on the first of each month.",
    }
    return group_sources(
        [Passage(slug, slug.title(), None, (), text, 0.6) for slug, text in texts.items()]
    )


QUESTION = "how long until a refund shows up on my card?"


def feed_in_pieces(gate: ReplyGate, reply: str, size: int = 4) -> list[str]:
    """What the gate let through after each piece, as a stream would see it."""
    seen = []
    for end in range(size, len(reply) + size, size):
        gate.feed(reply[:end])
        seen.append(gate.accepted)
    gate.finish(reply)
    return seen


def test_nothing_passes_before_a_grounded_citation_then_whole_sentences() -> None:
    gate = ReplyGate(QUESTION, sources(), phrases=False)
    reply = "Sure! Card refunds take 5 to 10 business days [1]. It depends on your bank [1]. Done"
    seen = feed_in_pieces(gate, reply)
    assert seen[0] == "" and "Sure!" not in seen[5]  # held with the uncited greeting
    assert sorted(set(seen)) == [
        "",
        "Sure! Card refunds take 5 to 10 business days [1].",
        "Sure! Card refunds take 5 to 10 business days [1]. It depends on your bank [1].",
    ]
    assert gate.accepted == reply and not gate.declined and gate.left_out == 0


def test_a_reply_opening_with_a_hedge_is_declined_at_once() -> None:
    gate = ReplyGate(QUESTION, sources(), phrases=False)
    gate.feed("I'm not able to say how long a card refund takes [1]. But Card refunds take")
    assert gate.declined and gate.accepted == ""


def test_a_later_hedge_is_left_out_and_an_uncited_reply_is_declined() -> None:
    gate = ReplyGate(QUESTION, sources(), phrases=False)
    gate.finish("Card refunds take 5 to 10 business days [1]. Nothing says how PayPal works [2].")
    assert gate.accepted == "Card refunds take 5 to 10 business days [1]." and gate.left_out == 1
    uncited = ReplyGate(QUESTION, sources(), phrases=False)
    uncited.finish("Card refunds take 5 to 10 business days.")
    assert uncited.declined and uncited.accepted == ""
    invalid = ReplyGate(QUESTION, sources(), phrases=False)
    invalid.finish("Card refunds take 5 to 10 business days [3].")  # no third passage given
    assert invalid.declined


def test_the_phrase_list_is_only_the_fallback_for_models_without_tools() -> None:
    reply = "I don't know, but card refunds take 5 to 10 business days [1]."
    with_tools = ReplyGate(QUESTION, sources(), phrases=False)
    with_tools.finish(reply)
    assert not with_tools.declined  # grounded: the structured signal and grounding decide
    without = ReplyGate(QUESTION, sources(), phrases=True)
    without.finish(reply)
    assert without.declined
    token = ReplyGate(QUESTION, sources(), phrases=True)
    token.finish("NO_ANSWER")
    assert token.declined
