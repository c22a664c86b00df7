"""Names in a question that the knowledge base never mentions (a near-domain decline signal)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache

from .embeddings import TOKENIZER_SHA256, ModelFileError, default_tokenizer_path, verify_file
from .lexical import LexicalIndex, tokenize

# The model's WordPiece vocabulary lists whole words by how often they occur in its training
# text (English Wikipedia and books), after 1,996 reserved entries and single characters. An
# id below this is one of the ~6,000 most frequent words ("Monday", "Tokyo", "Berlin"); a
# rarer word, or one the vocabulary splits into pieces, is a name the customer chose
# ("Netflix", "Salesforce", "iCloud", "HIPAA"). Fitted leaving one evaluation set out
# (docs/retrieval.md, "Version 6").
COMMON_WORD_IDS = 8000
_SENTENCE_END = ".!?:"
# Code and paths are not names: "_MyClass__x", "C:\\temp", "os.path", "a=b" (docs/retrieval.md,
# "Version 7": a programming FAQ's questions quote them). "AT&T" and "Disney+" still are.
_CODE = re.compile(r"[\\/_=(){}\[\]<>|`]|[a-z0-9][.:][a-z0-9]", re.IGNORECASE)
# Names, not code: a web address ("Booking.com") and names joined by a slash
# ("Salesforce/HubSpot", "Xero/QuickBooks").
_NOT_CODE = re.compile(
    r"[\w-]+\.(?:com|net|org|io|co|ai|app|dev|de|fr|es|uk|me|so|tv)"
    r"|[A-Z][A-Za-z]+(?:/[A-Z][A-Za-z]+)+"
)
# The parts of a compound written in CamelCase: "AttributeError" is "Attribute" + "Error".
_CAMEL_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
# Only an error class is read as its parts: product names are compounds of plain words too
# ("SharePoint", "QuickBooks", "PayPal"), whose parts most help centers use.
_ERROR_CLASS_ENDINGS = frozenset({"error", "exception", "warning"})


@lru_cache(maxsize=1)
def vocabulary_ranks() -> Mapping[str, int]:
    """Whole word -> its id in the pinned tokenizer's vocabulary (lower ids: more frequent);
    empty when the tokenizer is not installed, which turns the signal off."""
    try:
        path = default_tokenizer_path()
        verify_file(path, TOKENIZER_SHA256)
    except ModelFileError:
        return {}
    vocabulary: dict[str, int] = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
    return {word: rank for word, rank in vocabulary.items() if not word.startswith("##")}


def unknown_name(question: str, index: LexicalIndex, ranks: Mapping[str, int]) -> str | None:
    """The first word the customer wrote as a name (a capital letter that does not just start
    a sentence) that is rare in general language and that the knowledge base does not
    contain, not even a typo or two away; None when there is none.

    "How do I reset my Netflix password" on a help center that never mentions Netflix is
    near the password-reset article, but that article does not answer it. Questions written
    mostly in capitals say nothing about names and are left alone.
    """
    if not ranks:
        return None
    words = [(m.start(), m.group()) for m in re.finditer(r"\S+", question)]
    lettered = [w for _, w in words if any(c.isalpha() for c in w)]
    if sum(_starts_upper(w) for w in lettered) * 2 > len(lettered):
        return None
    for start, word in words:
        if not any(c.isupper() for c in word):
            continue
        before = question[:start].rstrip()
        if (not before or before[-1] in _SENTENCE_END) and not any(c.isupper() for c in word[1:]):
            continue  # a capital only because the sentence starts here
        core = word.strip(".,!?;:\"'()")
        if _CODE.search(core) and not _NOT_CODE.fullmatch(core):
            continue
        for term in tokenize(word):
            if term.isdigit() or ranks.get(term, COMMON_WORD_IDS) < COMMON_WORD_IDS:
                continue
            if not index.knows(term) and not _known_compound(core, index):
                return term
    return None


def _known_compound(word: str, index: LexicalIndex) -> bool:
    """Whether a CamelCase error class is made of words the knowledge base knows
    ("ImportError" where the articles speak of import errors), so it names nothing new.
    "SharePoint" is a name wherever the articles say "share" and "point"."""
    parts = [part for part in _CAMEL_PART.findall(word) if len(part) >= 3]
    return (
        len(parts) > 1
        and parts[-1].lower() in _ERROR_CLASS_ENDINGS
        and all(index.knows(t) for part in parts for t in tokenize(part))
    )


def _starts_upper(word: str) -> bool:
    first = next((c for c in word if c.isalpha()), "")
    return first.isupper()
