"""Citations: passages grouped into numbered sources, and the model's [n] markers renumbered
so that [1] is always the first entry of the answer's citation list."""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec

from .retrieval import Passage

_MARKER = re.compile(r"\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")
# An unfinished marker at the end of streamed text ("... [1" or "[1, "): held back until
# its "]" arrives, so renumbering never changes text that was already sent.
_OPEN_MARKER = re.compile(r"\[[\d,\s]{0,12}$")
_REPEATED = re.compile(r"(\[\d+\])\1+")


class Citation(msgspec.Struct, frozen=True):
    slug: str
    title: str
    url: str | None
    score: float


def group_sources(passages: Sequence[Passage]) -> list[list[Passage]]:
    """Passages grouped by article, in the order the articles first appear: one source
    number per article, whatever number of its sections were retrieved."""
    groups: dict[str, list[Passage]] = {}
    for passage in passages:
        groups.setdefault(passage.slug, []).append(passage)
    return list(groups.values())


def citation_of(source: Sequence[Passage]) -> Citation:
    best = max(source, key=lambda p: p.score)
    return Citation(best.slug, best.title, best.url, best.score)


class CitationRenderer:
    """Rewrites source numbers in the model's text to citation numbers by first mention;
    markers naming no source are dropped."""

    def __init__(self, sources: Sequence[Sequence[Passage]]) -> None:
        self._sources = sources
        self._order: list[int] = []  # source numbers, in citation order

    @property
    def citations(self) -> list[Citation]:
        return [citation_of(self._sources[number - 1]) for number in self._order]

    def render(self, text: str) -> str:
        # "[1][1]" (two sections of one article) reads as one citation.
        return _REPEATED.sub(r"\1", _MARKER.sub(self._replace, text))

    def safe_prefix(self, text: str) -> str:
        """The longest prefix of streamed text that cannot end inside a marker."""
        match = _OPEN_MARKER.search(text)
        return text[: match.start()] if match else text

    def _replace(self, match: re.Match[str]) -> str:
        rendered = []
        for part in match.group(1).split(","):
            number = int(part)
            if not 1 <= number <= len(self._sources):
                continue
            if number not in self._order:
                self._order.append(number)
            marker = f"[{self._order.index(number) + 1}]"
            if marker not in rendered:
                rendered.append(marker)
        return "".join(rendered)
