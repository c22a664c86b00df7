"""What retrieval reads of a conversation: a short follow-up with the customer's previous
message, and never more than two bounded messages (answer.retrieval_query, answer.bounded)."""

from __future__ import annotations

from server.assistant.answer import MAX_QUESTION_CHARS, bounded, retrieval_query
from server.assistant.prompts import Turn


def test_a_short_follow_up_is_read_with_the_previous_question() -> None:
    history = [Turn("customer", "how do I export my invoices"), Turn("assistant", "Open Reports.")]
    assert retrieval_query("as pdf?", history) == "how do I export my invoices\nas pdf?"
    assert retrieval_query("how do I export my invoices as pdf", history) == (
        "how do I export my invoices as pdf"
    )


def test_many_pages_from_a_customer_are_cut_before_retrieval() -> None:
    # The evidence rules and the lexical index scan every character: a customer's paste of
    # many pages is cut, in the question and in the earlier message a follow-up brings along.
    pasted = "error 1.2.3.4 " * 5_000
    assert len(bounded(pasted)) == MAX_QUESTION_CHARS
    query = retrieval_query("why?", [Turn("customer", pasted)])
    assert query.endswith("\nwhy?") and len(query) == MAX_QUESTION_CHARS + len("\nwhy?")
