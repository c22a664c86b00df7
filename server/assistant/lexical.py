"""The lexical half of hybrid retrieval: query terms weighted by rarity, typo-tolerant."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

# Function words that only add noise to lexical matching of short customer questions.
_STOPWORD_TEXT = """
    a an and are as at be by can do does for from how i if in is it its me my of on or our so
    that the their them there this to up us we what when where which who why will with you
    your im dont doesnt cant
"""
# How customers phrase a request, whatever it is about ("I want to...", "is it possible to...",
# "please"). Counted as informative, these words gave evidence to any chunk that happens to
# contain them and diluted the question's real terms (docs/retrieval.md, "Version 5").
_REQUEST_TEXT = "want wanna need like please possible way tell wondering trying hi hello thanks"
REQUEST_WORDS = frozenset(_REQUEST_TEXT.split())
STOPWORDS = frozenset(_STOPWORD_TEXT.split()) | REQUEST_WORDS
# A term found in more than this share of the articles says nothing about which article
# answers (the product's own name, "account", "settings"): it is dropped from the question
# before embedding and carries no lexical weight (docs/retrieval.md, "Query handling").
COMMON_SHARE = 0.5
# Knowledge bases this small have no meaningful document frequencies.
MIN_ARTICLES_FOR_COMMON = 8
# A query word unknown to the knowledge base is matched to known words this close
# (Damerau-Levenshtein: a swapped pair of letters is one edit), shorter words stricter.
TYPO_MIN_LENGTH = 4
TYPO_LONG_WORD = 8
TYPO_MATCHES = 3
TYPO_WEIGHT = 0.8  # a corrected word is weaker evidence than the word itself


def tokenize(text: str, stopwords: frozenset[str] = STOPWORDS) -> list[str]:
    """Lower-case word tokens without stopwords; a trailing plural 's' is dropped so
    'invoices' matches 'invoice' (deliberately no real stemmer: docs/retrieval.md,
    "Version 5")."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("'", ""))
    return [
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
        for w in words
        if w not in stopwords
    ]


@dataclass(frozen=True, slots=True)
class IndexedChunk:
    """What the lexical index needs of a chunk: its id, its article and the searchable text."""

    chunk_id: int
    slug: str
    text: str


class LexicalIndex:
    """Term statistics of one knowledge base, for query handling and lexical evidence.

    The evidence score of a chunk for a question is the share of the question's information
    (the sum of the idf of its informative terms) that the chunk contains. Unlike raw BM25
    it has a fixed scale, 0 to 1, so it can be added to a cosine with one weight on every
    knowledge base, and it is high only when the words that make the question specific are
    in the passage: what separates "does it integrate with Salesforce" from the
    integrations article it resembles.
    """

    def __init__(
        self, chunks: Iterable[IndexedChunk], stopwords: frozenset[str] = STOPWORDS
    ) -> None:
        self._stopwords = stopwords
        self._ids: list[int] = []
        self._postings: dict[str, list[int]] = {}
        terms_by_article: dict[str, set[str]] = {}
        for position, chunk in enumerate(chunks):
            self._ids.append(chunk.chunk_id)
            terms = set(tokenize(chunk.text, stopwords))
            terms_by_article.setdefault(chunk.slug, set()).update(terms)
            for term in terms:
                self._postings.setdefault(term, []).append(position)
        self.articles = len(terms_by_article)
        self._article_df = Counter(t for terms in terms_by_article.values() for t in terms)
        n = max(len(self._ids), 1)
        self._idf = {
            term: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5))
            for term, p in self._postings.items()
        }
        self._unknown_idf = math.log(1 + (n + 0.5) / 0.5)
        self._vocabulary = sorted(self._idf)

    def __len__(self) -> int:
        return len(self._ids)

    def is_common(self, term: str) -> bool:
        if self.articles < MIN_ARTICLES_FOR_COMMON:
            return False
        return self._article_df.get(term, 0) > COMMON_SHARE * self.articles

    def strip_common(self, question: str) -> str:
        """The question without words found in most articles; the question itself when
        nothing would be left."""
        words = question.split()
        kept = [
            w for w in words if not any(self.is_common(t) for t in tokenize(w, self._stopwords))
        ]
        return " ".join(kept) if kept else question

    def expand(self, term: str) -> list[tuple[str, float]]:
        """The term itself when the knowledge base knows it; otherwise the known words a
        typo or two away, weighted a little lower."""
        if term in self._idf or len(term) < TYPO_MIN_LENGTH or term.isdigit():
            return [(term, 1.0)]
        edits = 1 if len(term) < TYPO_LONG_WORD else 2
        found = process.extract(
            term,
            self._vocabulary,
            scorer=DamerauLevenshtein.distance,
            score_cutoff=edits,
            limit=TYPO_MATCHES,
        )
        return [(word, TYPO_WEIGHT) for word, _, _ in found] or [(term, 1.0)]

    def knows(self, term: str) -> bool:
        """Whether the knowledge base has the term, or a word a typo or two away from it."""
        return any(word in self._idf for word, _ in self.expand(term))

    def evidence(self, question: str) -> dict[int, float]:
        """chunk id -> share (0-1) of the question's informative terms found in the chunk;
        chunks with none are left out."""
        total = 0.0
        found: dict[int, float] = {}
        for term in set(tokenize(question, self._stopwords)):
            candidates = self.expand(term)
            if any(self.is_common(word) for word, _ in candidates if word in self._idf):
                continue
            weight = max((self._idf.get(w, 0.0) for w, _ in candidates), default=0.0)
            weight = weight or self._unknown_idf  # unknown words count against coverage
            total += weight
            best: dict[int, float] = {}
            for word, factor in candidates:
                for position in self._postings.get(word, ()):
                    best[position] = max(best.get(position, 0.0), factor)
            for position, factor in best.items():
                found[position] = found.get(position, 0.0) + weight * factor
        if not total:
            return {}
        return {self._ids[p]: share / total for p, share in found.items()}

    def best(self, evidence: dict[int, float], limit: int) -> list[int]:
        return [i for i, _ in sorted(evidence.items(), key=lambda kv: kv[1], reverse=True)][:limit]


def hybrid_score(cosine: float, evidence: float, weight: float) -> float:
    """Fused chunk score: the cosine plus a fixed share of the lexical evidence."""
    return cosine + weight * evidence
