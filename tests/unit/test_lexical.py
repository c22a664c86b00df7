"""Query handling of hybrid retrieval: common words, typo expansion, lexical evidence."""

from __future__ import annotations

from server.assistant.lexical import (
    REQUEST_WORDS,
    STOPWORDS,
    IndexedChunk,
    LexicalIndex,
    hybrid_score,
    tokenize,
)

ARTICLES = {
    "billing": "Lumen billing: annual plans are charged once a year, monthly plans every month.",
    "refunds": "Lumen refunds: ask within 30 days and the money goes back to your card.",
    "sso": "Lumen single sign-on with Okta and Azure AD for Business workspaces.",
    "calendar": "Connect Lumen to Google Calendar or Outlook to sync your events.",
    "contact": "Contact Lumen support by chat or email, Lumen answers within a day.",
    "mobile": "The Lumen apps for iPhone and Android show your calendar.",
    "export": "Export your Lumen data as CSV from the workspace settings.",
    "delete": "Deleting a Lumen workspace removes every booking page.",
}


def _index() -> LexicalIndex:
    return LexicalIndex(
        IndexedChunk(number, slug, text) for number, (slug, text) in enumerate(ARTICLES.items())
    )


def test_a_word_in_most_articles_is_common_and_dropped_from_the_question() -> None:
    index = _index()
    assert index.is_common("lumen") and not index.is_common("refund")
    assert index.strip_common("does Lumen do refunds") == "does do refunds"
    assert index.strip_common("Lumen") == "Lumen"  # nothing would be left


def test_evidence_is_the_share_of_informative_terms_found() -> None:
    evidence = _index().evidence("Lumen refunds to my card")
    assert evidence[1] == 1.0  # "refund" and "card" are both in the refunds article
    assert all(share < 1.0 for chunk, share in evidence.items() if chunk != 1)


def test_a_typo_still_finds_the_word_a_little_weaker() -> None:
    index = _index()
    assert index.expand("refnd") == [("refund", 0.8)]  # "refnds" after the plural rule
    assert index.expand("okta") == [("okta", 1.0)]
    assert index.evidence("refnds")[1] == 0.8


def test_a_word_the_knowledge_base_never_uses_lowers_the_evidence() -> None:
    index = _index()
    covered = index.evidence("annual plans")[0]
    uncovered = index.evidence("annual plans salesforce")[0]
    assert covered == 1.0 and 0 < uncovered < covered


def test_request_phrasing_is_no_evidence() -> None:
    # "want" is in the refunds article only; asking "I want..." must not point there.
    chunks = {**ARTICLES, "refunds": ARTICLES["refunds"] + " Tell us if you want a refund."}
    index = LexicalIndex(
        IndexedChunk(n, slug, text) for n, (slug, text) in enumerate(chunks.items())
    )
    assert tokenize("I want to export, is it possible please?") == ["export"]
    assert index.evidence("I want to export my data please") == index.evidence("export my data")
    assert index.evidence("I want to export my data please")[6] == 1.0
    assert 1 not in index.evidence("I want to export my data please")
    # Version 4 counted them: the refunds article got a share and the export article less.
    older = LexicalIndex(
        (IndexedChunk(n, slug, text) for n, (slug, text) in enumerate(chunks.items())),
        STOPWORDS - REQUEST_WORDS,
    )
    assert older.evidence("I want to export my data please")[1] > 0
    assert older.evidence("I want to export my data please")[6] < 1.0


def test_hybrid_score_adds_a_share_of_the_evidence() -> None:
    assert hybrid_score(0.5, 1.0, 0.3) == 0.8
    assert hybrid_score(0.5, 0.0, 0.3) == 0.5
