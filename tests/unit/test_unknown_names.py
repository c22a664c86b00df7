"""Names a question uses that the knowledge base never mentions (a decline signal)."""

from __future__ import annotations

import dataclasses

import pytest

from server.assistant.lexical import IndexedChunk, LexicalIndex
from server.assistant.retrieval import rank
from server.assistant.specificity import NEUTRAL, UNKNOWN_NAME_PENALTY, decision_score
from server.assistant.unknown_names import COMMON_WORD_IDS, unknown_name, vocabulary_ranks
from server.store.knowledge import ChunkMatch

# A stand-in for the tokenizer's vocabulary: lower ids are more frequent words.
RANKS = {"password": 20786, "monday": 6928, "tokyo": 5522, "netflix": 20907, "reset": 25141}
INDEX = LexicalIndex(
    [
        IndexedChunk(1, "reset-password", "Reset your password from the sign-in page"),
        IndexedChunk(2, "google-calendar", "Connect Google Calendar and Outlook"),
        IndexedChunk(3, "mobile-apps", "The iOS and Android apps sync every Monday"),
        IndexedChunk(4, "errors", "An import error or an attribute error names the module"),
    ]
)


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("how do I reset my Netflix password", "netflix"),  # a frequent-enough word, ranked rare
        ("can I connect my iCloud calendar", "icloud"),  # not a whole word of the vocabulary
        ("does it integrate with Salesforce?", "salesforce"),
        ("Is there an official GUI. Salesforce too", "gui"),  # all capitals
        ("I use Salesfroce daily", "salesfroce"),  # a typo of nothing the base knows
        ("does it sync with HubSpot", "hubspot"),  # a compound of words it does not know
    ],
)
def test_a_rare_name_the_knowledge_base_never_mentions_is_found(question: str, name: str) -> None:
    assert unknown_name(question, INDEX, RANKS) == name


@pytest.mark.parametrize(
    "question",
    [
        "how do I reset my netflix password",  # not written as a name
        "Netflix is what I watch, how do I reset my password",  # capital only to start
        "Connect my Google calendar",  # the knowledge base knows it
        "connect my Googel calendar",  # a typo of a word it knows
        "I'm travelling to Tokyo on Monday",  # frequent words: places and days
        "HOW DO I RESET MY NETFLIX PASSWORD",  # shouting says nothing about names
        "How Do I Reset My Netflix Password",  # nor does title case
        "my Password expires in 2025",  # known, and digits are no names
        "two files import each other and I get an ImportError",  # words it knows, run together
        "setting _MyClass__x gives an error",  # code
        "r'C:\\temp\\' gives a syntax error",  # a path
        "the Sync.Interval setting is ignored",  # a dotted name is code
        "",
    ],
)
def test_nothing_is_found_where_nothing_is_an_unknown_rare_name(question: str) -> None:
    assert unknown_name(question, INDEX, RANKS) is None


# A help center whose articles happen to use the parts of product names as plain words.
WITH_PARTS = LexicalIndex(
    [
        IndexedChunk(1, "billing", "Pay your invoice online; share it with a pal at any point"),
        IndexedChunk(2, "setup", "Quick start: connect the hub in a quiet spot, keep your books"),
        IndexedChunk(3, "games", "Play at the station; one drive home; git is not needed"),
        IndexedChunk(4, "errors", "An import error or a key error names the module"),
    ]
)


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("can I pay with PayPal", "paypal"),
        ("does it sync with HubSpot", "hubspot"),
        ("can I import my QuickBooks file", "quickbook"),
        ("can I open files from SharePoint", "sharepoint"),
        ("does it work on PlayStation", "playstation"),
        ("can I back up to OneDrive", "onedrive"),
        ("log in with GitHub", "github"),
        ("can I book through Booking.com", "booking"),  # a domain is a name, not code
        ("does it sync with Salesforce/HubSpot?", "salesforce"),  # names, not a path
    ],
)
def test_a_product_name_is_a_name_even_when_its_parts_are_known(question: str, name: str) -> None:
    assert unknown_name(question, WITH_PARTS, RANKS) == name


@pytest.mark.parametrize(
    "question", ["I get an ImportError", "a KeyError when I run it", "setting os.path fails"]
)
def test_an_error_class_of_known_words_is_code(question: str) -> None:
    assert unknown_name(question, WITH_PARTS, RANKS) is None


def test_without_the_word_list_the_signal_is_off() -> None:
    assert unknown_name("does it integrate with Salesforce", INDEX, {}) is None


def test_the_pinned_tokenizer_ranks_words_by_frequency() -> None:
    ranks = vocabulary_ranks()
    assert ranks["the"] < ranks["meeting"] < COMMON_WORD_IDS <= ranks["netflix"]
    assert ranks["monday"] < COMMON_WORD_IDS and ranks["tokyo"] < COMMON_WORD_IDS
    assert "salesforce" not in ranks and "##force" not in ranks  # pieces are no words


def test_an_unknown_name_lowers_the_decision_score() -> None:
    assert decision_score(0.9, 2.0, names_unknown=True) == pytest.approx(
        decision_score(0.9, 2.0) - UNKNOWN_NAME_PENALTY
    )


def test_a_retrieval_that_names_something_unknown_can_be_declined() -> None:
    found = rank("reset my Netflix password", [_match("reset-password", 0.6)], threshold=0.5)
    assert found.answerable and found.score == pytest.approx(0.6 + 0.06 * NEUTRAL)
    named = dataclasses.replace(found, unknown_name="netflix")
    assert named.score == pytest.approx(found.score - UNKNOWN_NAME_PENALTY)
    assert not named.answerable  # 0.78 - 0.5 is below the threshold


def _match(slug: str, score: float) -> ChunkMatch:
    return ChunkMatch(1, slug, slug.title(), None, [], "text", score)
