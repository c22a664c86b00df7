"""Whether a cited sentence says something its cited passage says, not just that it was cited."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# A cited sentence is grounded when it shares at least this many answer-bearing words with
# the passages it cites (docs/assistant.md, "Grounding": measured with bench/grounding.py).
MIN_ANSWER_WORDS = 1
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_MARKER = re.compile(r"\[\d{1,2}(?:\s*,\s*\d{1,2})*\]")
# Function words, and the words a reply uses to talk about the passages or itself rather
# than about the customer's problem: a hedge ("the articles do not mention it [1]") is
# made of these and of the question's own words.
_NOT_ANSWER_BEARING_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either else
    few for from further had has have having he her here hers him his how i if in into is it
    its itself just like may me might more most must my no nor not now of off on once only or
    other our ours out over own same shall she should so some such than that the their them
    then there these they this those through to too under until up us very was we were what
    when where whether which while who whom why will with would yes you your yours
    don doesn didn isn aren wasn weren haven hasn hadn won wouldn couldn shouldn cannot can't
    article articles passage passages source sources help center centre documentation docs
    information info mention mentions mentioned cover covers covered say says said state
    states stated contain contains contained include includes included specify specifies
    specified describe describes described explain explains explained detail details
    provide provides provided answer answers question questions sorry unfortunately however
    please apologies afraid unable able know known sure unclear seem seems appear appears
    anything nothing something available find found specific specifically currently
    regarding related topic
    here's there's it's i'm we're you're let get contact support team reach out
    take make use work need want see look go come give try way thing things
"""
_NOT_ANSWER_BEARING = frozenset(_NOT_ANSWER_BEARING_TEXT.split())


def words(text: str) -> set[str]:
    """Lower-cased word stems: a trailing plural or verb ending does not make a new word."""
    return {_stem(w) for w in _WORD.findall(text.lower())}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def answer_words(
    sentence: str,
    question: str,
    cited: Sequence[str],
    others: Iterable[str] = (),
    titles: Iterable[str] = (),
) -> set[str]:
    """Words of `sentence` that come from the cited passages and not from the question: what
    the sentence tells the customer that the customer did not say. Words of the cited
    articles' `titles` ("the article on refunds does not say...") and words found in every
    passage given (`cited` plus `others`, when there are two or more: the product's name)
    tell nothing either."""
    passage_words = set().union(*(words(text) for text in cited)) if cited else set()
    bearing = (words(_MARKER.sub(" ", sentence)) & passage_words) - words(question)
    for title in titles:
        bearing -= words(title)
    bearing -= {_stem(w) for w in _NOT_ANSWER_BEARING}
    given = [*cited, *others]
    if len(given) >= 2:
        first, *rest = [words(text) for text in given]
        bearing -= first.intersection(*rest)
    return {w for w in bearing if len(w) >= 3 or w.isdigit()}


def grounded(
    sentence: str,
    question: str,
    cited: Sequence[str],
    others: Iterable[str] = (),
    titles: Iterable[str] = (),
) -> bool:
    return len(answer_words(sentence, question, cited, others, titles)) >= MIN_ANSWER_WORDS
